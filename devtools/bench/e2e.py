"""End-to-end time and cost of a verified recipe on every client path (sync, stream, async),
through lambda-runner, under the Bedrock emulator's realistic latency profiles (time-scaled),
written as one JSON document.

Every request is a fresh function process started by `lambda-runner invoke` with a varied body,
so no cache answers. The emulator's `GET /_emulator/stats` is read before and after: the
difference in `modelledMs` is the modelled time of every model call the request made (Titan
query embedding, first attempt, any repair). Times are *modelled*: that model time plus the
function's own, real time (its time minus the real, scaled wait for the model, modelled / F).

- sync: POST /recipes (HTTP API event). Own time = `meta.latencyMs` - modelled / F.
- stream: POST /recipes as a function URL event, answered in the Runtime API's streaming mode
  (Server-Sent Events). The runner prints when each chunk arrived. The verified recipe is the
  `recipe` event (the sync body, so the same accounting). The first `progress` event follows
  the first answer's first streamed event (`message_start`, which the emulator sends at the
  modelled time to first token), so the model time before it is the Titan query's modelled
  time plus attempt 1's time to first token, `time_to_first_token_ms + prefill tokens / input
  rate` of shared/data/model-latency.toml with the call's own token counts from the emulator's
  `recentCalls`. Time to the first `progress` = that model time + the real arrival time of the
  event minus the real, scaled wait for it (the function's own time up to then).
- async: POST with `"mode": "async"` (202 + Location, one message on the jobs queue); the
  message is received from the queue on moto and handed to batch-dispatcher as the SQS event
  Lambda's event source mapping delivers; then GET /recipes/{requestId} until it shows
  `succeeded`. Time = POST round trip + hand-off (receive and build the event, real) +
  batch-dispatcher (modelled model time + its round trip minus the real model wait) + the GETs'
  round trips. The message is deleted afterwards, as the event source mapping does on success.
  Round trips of buffered answers come from the runner's per-invocation summary on stderr.

A run can set extra function environment (`--run NAME:PATH:KEY=VALUE,...`), e.g. the sync path
again with `PROMPT_CACHING=off` to price what prompt caching saves.

The emulator's fault plan (set by the caller) alters a seeded share of first attempts
(`violateFirst` rate 0.33), so about a third of the requests need one repair. The plan is set
again at the start of every run, so every run draws the same requests for repair and runs
compare like with like (caching on against off, one path against another).

Stdlib only (tomllib: Python 3.11+).
"""
import argparse
import copy
import json
import os
import re
import statistics
import subprocess
import sys
import tempfile
import time
import tomllib
import urllib.request

PATHS = ("sync", "stream", "async")
# The runner's summary line for one invocation: "... in 12.34 ms (request <id>)".
ROUND_TRIP = re.compile(r"^lambda-runner: .* in ([0-9.]+) ms \(request [^)]+\)$", re.MULTILINE)


def stats(emulator):
    with urllib.request.urlopen(emulator + "/_emulator/stats", timeout=10) as response:
        return json.loads(response.read())


def restart_faults(emulator):
    """Sets the emulator's fault plan again, which restarts its seeded draws: every run then
    alters the same first attempts (the n-th request of a run is repaired in every run)."""
    with urllib.request.urlopen(emulator + "/_emulator/faults", timeout=10) as response:
        plan = response.read()
    request = urllib.request.Request(emulator + "/_emulator/faults", data=plan, method="POST",
                                     headers={"Content-Type": "application/json"})
    with urllib.request.urlopen(request, timeout=10) as response:
        response.read()


LATENCY_TOML = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "shared", "data",
                            "model-latency.toml")


def latency_families():
    with open(LATENCY_TOML, "rb") as file:
        return tomllib.load(file)["family"]


def new_calls(before, after):
    """The successful calls made between two stats snapshots, oldest first."""
    made = sum(after.get(f, {}).get("successes", 0) - before.get(f, {}).get("successes", 0)
               for f in ("claude", "titan"))
    recent = after.get("recentCalls", [])
    return recent[len(recent) - made:] if 0 < made <= len(recent) else []


def first_token_ms(call, families):
    """The modelled time to a Claude call's first streamed event, as the emulator paces it."""
    family = next((f for f in families if any(m in call["modelId"] for m in f["matches"])), None)
    if family is None:
        return None
    prefill = call.get("inputTokens", 0) + call.get("cacheCreationInputTokens", 0)
    return family["time_to_first_token_ms"] + prefill / family["input_tokens_per_second"] * 1000


def percentile(values, share):
    """Nearest-rank percentile, the same rule as lambda-runner's summaries."""
    if not values:
        return None
    ordered = sorted(values)
    rank = max(1, -(-len(ordered) * share // 1))
    return ordered[int(rank) - 1]


def invoke(runner, binary, event, env, workdir, name):
    """One `lambda-runner invoke`: (answer document, round trip in ms or None)."""
    path = os.path.join(workdir, name + ".json")
    with open(path, "w", encoding="utf-8") as file:
        json.dump(event, file, ensure_ascii=False)
    command = [runner, "invoke", "--bin", binary, "--event", path, "--timeout-ms", "120000"]
    for pair in env:
        command += ["--env", pair]
    done = subprocess.run(command, capture_output=True, text=True, timeout=300)
    found = ROUND_TRIP.findall(done.stderr)
    round_trip = float(found[-1]) if found else None
    try:
        return json.loads(done.stdout), round_trip
    except json.JSONDecodeError:
        return {"runnerExit": done.returncode, "stderr": done.stderr[-2000:]}, round_trip


def sqs(moto, target, payload):
    """One SQS call on moto (AWS JSON protocol; moto does not verify signatures)."""
    request = urllib.request.Request(moto + "/", data=json.dumps(payload).encode(), headers={
        "Content-Type": "application/x-amz-json-1.0", "X-Amz-Target": "AmazonSQS." + target,
        "Authorization": "AWS4-HMAC-SHA256 Credential=test/20261125/us-east-1/sqs/aws4_request, "
                         "SignedHeaders=host, Signature=0",
    })
    with urllib.request.urlopen(request, timeout=10) as response:
        return json.loads(response.read() or b"{}")


def varied(template, model, index, **extra):
    event = copy.deepcopy(template)
    body = json.loads(event["body"])
    body["model"] = model
    body.setdefault("profile", {})["budget"] = int(body["profile"].get("budget", 15000)) + index + 1
    body.update(extra)
    event["body"] = json.dumps(body, ensure_ascii=False)
    return event


def body_of(answer):
    try:
        return json.loads(answer.get("body") or "{}")
    except (TypeError, json.JSONDecodeError):
        return {}


def parse_sse(body):
    """[(event name, data, offset in the body)] of a Server-Sent Events body."""
    events, offset = [], 0
    for block in body.split("\n\n"):
        start = offset
        offset += len(block.encode("utf-8")) + 2
        name, data = None, ""
        for line in block.splitlines():
            if line.startswith("event: "):
                name = line[len("event: "):]
            elif line.startswith("data: "):
                data += line[len("data: "):]
        if name is None:
            continue
        try:
            events.append((name, json.loads(data), start))
        except json.JSONDecodeError:
            events.append((name, None, start))
    return events


def arrival(arrivals, offset):
    """Milliseconds after hand-out at which the body byte at `offset` arrived."""
    at = None
    for start, millis in arrivals:
        if start > offset:
            break
        at = millis
    return at


def row(model, status, error_code, modelled, own, meta, **extra):
    meta = meta or {}
    result = {
        "model": model,
        "status": status,
        "errorCode": error_code,
        "modelledModelMs": modelled,
        "latencyMs": meta.get("latencyMs"),
        "ownMs": own,
        "endToEndMs": modelled + own if own is not None and status == 200 else None,
        "attempts": meta.get("attempts"),
        "modelId": meta.get("modelId"),
        "inputTokens": meta.get("inputTokens"),
        "outputTokens": meta.get("outputTokens"),
        "usage": meta.get("usage"),
        "costUsd": meta.get("costUsd"),
    }
    result.update(extra)
    return result


def own_time(latency, modelled, scale):
    return max(0.0, latency - modelled / scale) if latency is not None else None


def sync_request(args, env, model, index, workdir):
    before = stats(args.emulator)
    answer, _ = invoke(args.runner, args.bin, varied(args.templates["sync"], model, index), env,
                       workdir, f"sync-{model}-{index}")
    modelled = stats(args.emulator).get("modelledMs", 0) - before.get("modelledMs", 0)
    status, payload = answer.get("statusCode"), body_of(answer)
    meta = payload.get("meta", {}) if status == 200 else {}
    return row(model, status, (payload.get("error") or {}).get("code"), modelled,
               own_time(meta.get("latencyMs"), modelled, args.time_scale), meta)


def stream_request(args, env, model, index, workdir):
    before = stats(args.emulator)
    answer, _ = invoke(args.runner, args.bin, varied(args.templates["stream"], model, index), env,
                       workdir, f"stream-{model}-{index}")
    after = stats(args.emulator)
    modelled = after.get("modelledMs", 0) - before.get("modelledMs", 0)
    streamed = answer.get("streamed")
    if not isinstance(streamed, dict):
        # Answered buffered: the function URL path does not stream in this build.
        return row(model, None, "not streamed", modelled, None, {}, streamed=False)
    events = parse_sse(answer.get("body", ""))
    names = [name for name, _, _ in events]
    final = next(((name, data) for name, data, _ in events if name in ("recipe", "error")), None)
    status, meta, code = None, {}, None
    if final and final[0] == "recipe" and isinstance(final[1], dict):
        status, meta = 200, final[1].get("meta", {})
    elif final and isinstance(final[1], dict):
        status, code = final[1].get("status"), final[1].get("code")
    arrivals = streamed.get("arrivals", [])
    first_progress = None
    progress_at = next((arrival(arrivals, off) for name, _, off in events if name == "progress"), None)
    calls = new_calls(before, after)
    titan = sum(c["modelledMs"] for c in calls if "titan" in c["modelId"])
    first_claude = next((c for c in calls if "titan" not in c["modelId"]), None)
    first_token = first_token_ms(first_claude, args.families) if first_claude else None
    if progress_at is not None and first_token is not None:
        waited = titan + first_token
        first_progress = waited + max(0.0, progress_at - waited / args.time_scale)
    return row(model, status, code, modelled, own_time(meta.get("latencyMs"), modelled, args.time_scale),
               meta, streamed=True, events=names, firstProgressMs=first_progress,
               contentType=(answer.get("headers") or {}).get("content-type"))


def async_request(args, env, model, index, workdir):
    request, post_ms = invoke(args.runner, args.bin, varied(args.templates["sync"], model, index, mode="async"),
                              env, workdir, f"async-post-{model}-{index}")
    accepted = body_of(request)
    request_id = accepted.get("requestId")
    if request.get("statusCode") != 202 or not request_id:
        return row(model, request.get("statusCode"), (accepted.get("error") or {}).get("code") or "not accepted",
                   0, None, {})
    # The hand-off: what Lambda's event source mapping does between the queue and the worker.
    handoff_started = time.perf_counter()
    message = None
    for _ in range(20):
        received = sqs(args.moto, "ReceiveMessage", {
            "QueueUrl": args.jobs_queue_url, "MaxNumberOfMessages": 10, "WaitTimeSeconds": 1,
            "AttributeNames": ["All"], "MessageAttributeNames": ["All"],
        }).get("Messages", [])
        for candidate in received:
            try:
                # An async request is queued as a one-request job named by its request id.
                queued = json.loads(candidate["Body"])
                if request_id in (queued.get("jobId"), queued.get("requestId")):
                    message = candidate
            except (json.JSONDecodeError, AttributeError):
                pass
        if message:
            break
    if message is None:
        return row(model, None, "no queued message", 0, None, {})
    name = args.jobs_queue_url.rstrip("/").rsplit("/", 1)[-1]
    event = {"Records": [{
        "messageId": message["MessageId"], "receiptHandle": message["ReceiptHandle"],
        "body": message["Body"],
        "attributes": {k: str(v) for k, v in message.get("Attributes", {}).items()},
        "messageAttributes": {k: {"stringValue": v.get("StringValue"), "binaryValue": v.get("BinaryValue"),
                                  "stringListValues": [], "binaryListValues": [], "dataType": v.get("DataType")}
                              for k, v in message.get("MessageAttributes", {}).items()},
        "md5OfBody": message.get("MD5OfBody", ""), "eventSource": "aws:sqs",
        "eventSourceARN": f"arn:aws:sqs:us-east-1:123456789012:{name}", "awsRegion": "us-east-1",
    }]}
    handoff_ms = (time.perf_counter() - handoff_started) * 1e3
    before = stats(args.emulator)
    worked, dispatch_ms = invoke(args.runner, args.dispatcher, event, env, workdir, f"async-sqs-{model}-{index}")
    modelled = stats(args.emulator).get("modelledMs", 0) - before.get("modelledMs", 0)
    if worked.get("batchItemFailures") == []:
        sqs(args.moto, "DeleteMessage", {"QueueUrl": args.jobs_queue_url, "ReceiptHandle": message["ReceiptHandle"]})
    get_event = json.loads(json.dumps(args.templates["get"]).replace("REQUEST_ID", request_id))
    get_ms, state, polls = [], {}, 0
    for polls in range(1, 6):
        answer, took = invoke(args.runner, args.bin, get_event, env, workdir, f"async-get-{model}-{index}-{polls}")
        get_ms.append(took)
        state = body_of(answer) if answer.get("statusCode") == 200 else {}
        if state.get("status") in ("succeeded", "failed"):
            break
    real = [post_ms, dispatch_ms, *get_ms]
    own = None
    if None not in real:
        own = post_ms + handoff_ms + max(0.0, dispatch_ms - modelled / args.time_scale) + sum(get_ms)
    if state.get("status") == "succeeded":
        meta = (state.get("result") or {}).get("meta", {})
        return row(model, 200, None, modelled, own, meta, postMs=post_ms, handoffMs=handoff_ms,
                   dispatcherMs=dispatch_ms, getMs=get_ms, polls=polls,
                   roundTripsMissing=None in real)
    error = (state.get("error") or {})
    return row(model, error.get("status"), error.get("code") or state.get("status") or "no result", modelled,
               None, {}, polls=polls)


REQUEST = {"sync": sync_request, "stream": stream_request, "async": async_request}


def summarize(model, rows):
    verified = [r for r in rows if r["status"] == 200]
    e2e = [r["endToEndMs"] for r in verified if r["endToEndMs"] is not None]
    attempts = [r["attempts"] for r in verified if isinstance(r["attempts"], int)]
    usages = [r["usage"] for r in verified if isinstance(r["usage"], dict)]
    costs = [r["costUsd"] for r in verified if isinstance(r["costUsd"], (int, float))]
    owns = [r["ownMs"] for r in verified if r["ownMs"] is not None]
    progress = [r["firstProgressMs"] for r in rows if r.get("firstProgressMs") is not None]
    summary = {
        "model": model,
        "requests": len(rows),
        "verified": len(verified),
        "timed": len(e2e),
        "errors": sorted({str(r["errorCode"] or r["status"]) for r in rows if r["status"] != 200}),
        "p50Ms": percentile(e2e, 0.50),
        "p95Ms": percentile(e2e, 0.95),
        "meanOwnMs": statistics.fmean(owns) if owns else None,
        "attempts": sum(attempts),
        "repairs": sum(a - 1 for a in attempts),
        "repairShareOfAttempts": (sum(a - 1 for a in attempts) / sum(attempts)) if attempts else None,
        "requestsRepaired": sum(1 for a in attempts if a > 1),
        "modelIds": sorted({r["modelId"] for r in verified if r["modelId"]}),
        "meanInputTokens": statistics.fmean([r["inputTokens"] for r in verified if r["inputTokens"] is not None]) if verified else None,
        "meanOutputTokens": statistics.fmean([r["outputTokens"] for r in verified if r["outputTokens"] is not None]) if verified else None,
        "usagePresent": len(usages) == len(verified) and bool(verified),
        "costPresent": len(costs) == len(verified) and bool(verified),
        "streamed": sum(1 for r in rows if r.get("streamed")),
        "firstProgressCount": len(progress),
        "firstProgressP50Ms": percentile(progress, 0.50),
        "firstProgressP95Ms": percentile(progress, 0.95),
    }
    handoffs = [r["handoffMs"] for r in verified if r.get("handoffMs") is not None]
    if handoffs:
        summary["meanHandoffMs"] = statistics.fmean(handoffs)
    if summary["usagePresent"]:
        for key in ("inputTokens", "outputTokens", "cacheReadInputTokens", "cacheWriteInputTokens"):
            summary["meanUsage" + key[0].upper() + key[1:]] = statistics.fmean([u.get(key, 0) for u in usages])
    if summary["costPresent"]:
        summary["meanCostUsd"] = statistics.fmean(costs)
    return summary


def parse_run(text):
    """NAME:PATH[:KEY=VALUE,...] -> (name, path, [KEY=VALUE, ...])."""
    parts = text.split(":", 2)
    if len(parts) < 2 or parts[1] not in PATHS:
        raise argparse.ArgumentTypeError(f"{text!r}: want NAME:PATH[:KEY=VALUE,...] with PATH one of {PATHS}")
    extra = [pair for pair in (parts[2].split(",") if len(parts) > 2 else []) if pair]
    if any("=" not in pair for pair in extra):
        raise argparse.ArgumentTypeError(f"{text!r}: environment entries are KEY=VALUE")
    return parts[0], parts[1], extra


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runner", required=True)
    parser.add_argument("--bin", required=True, help="generate-recipe")
    parser.add_argument("--dispatcher", help="batch-dispatcher (the async path)")
    parser.add_argument("--event", required=True, help="HTTP API POST /recipes event")
    parser.add_argument("--stream-event", help="function URL POST /recipes event (the stream path)")
    parser.add_argument("--get-event", help="HTTP API GET /recipes/REQUEST_ID event (the async path)")
    parser.add_argument("--moto", help="moto base URL (the async path's jobs queue)")
    parser.add_argument("--jobs-queue-url", help="the queue generate-recipe sends async requests to")
    parser.add_argument("--emulator", required=True, help="emulator base URL")
    parser.add_argument("--time-scale", type=float, required=True)
    parser.add_argument("--count", type=int, default=30)
    parser.add_argument("--models", default="sonnet,haiku")
    parser.add_argument("--env", action="append", default=[], help="KEY=VALUE for the functions")
    parser.add_argument("--run", action="append", type=parse_run, default=[],
                        help="NAME:PATH[:KEY=VALUE,...], in order (default: sync:sync)")
    args = parser.parse_args()
    runs = args.run or [("sync", "sync", [])]
    needs = {"stream": ["stream_event"], "async": ["dispatcher", "get_event", "moto", "jobs_queue_url"]}
    for _, path, _ in runs:
        missing = [f"--{flag.replace('_', '-')}" for flag in needs.get(path, []) if not getattr(args, flag)]
        if missing:
            parser.error(f"the {path} path needs {', '.join(missing)}")
    args.templates = {}
    args.families = latency_families()
    for key, path in (("sync", args.event), ("stream", args.stream_event), ("get", args.get_event)):
        if path:
            with open(path, encoding="utf-8") as file:
                args.templates[key] = json.load(file)
    result = {"timeScale": args.time_scale, "count": args.count, "runs": []}
    with tempfile.TemporaryDirectory() as workdir:
        for name, path, extra in runs:
            env = args.env + extra
            entry = {"name": name, "path": path, "env": extra, "models": []}
            restart_faults(args.emulator)
            for model in args.models.split(","):
                started = time.perf_counter()
                rows = [REQUEST[path](args, env, model, i, workdir) for i in range(args.count)]
                summary = summarize(model, rows)
                summary["wallSeconds"] = time.perf_counter() - started
                print(f"e2e: {name} ({path}) {model}: {summary['verified']}/{summary['requests']} verified, "
                      f"p50 {summary['p50Ms']} ms, first progress p50 {summary['firstProgressP50Ms']} ms, "
                      f"errors {summary['errors']}", file=sys.stderr)
                entry["models"].append({"summary": summary, "requests": rows})
            result["runs"].append(entry)
    json.dump(result, sys.stdout, indent=1)


if __name__ == "__main__":
    main()
