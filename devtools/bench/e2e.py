"""End-to-end time and cost of a verified recipe, through lambda-runner, under the Bedrock
emulator's realistic latency profiles (time-scaled), written as one JSON document.

For every request the driver starts generate-recipe once through `lambda-runner invoke`
(a fresh process, a varied body, so no cache answers), and reads the emulator's
`GET /_emulator/stats` `modelledMs` before and after: the difference is the modelled time of
every model call that request made (Titan query embedding, first attempt, any repair). The
time to a verified recipe is that modelled model time plus the function's own time, which is
`meta.latencyMs` (real) minus the real wait the emulator spent on those calls (modelled / F).

The emulator's fault plan (set by the caller) alters a seeded third of first attempts
(`violateFirst` rate 0.33), so about a third of the requests need one repair.

Cost comes from `meta.usage` / `meta.costUsd` when the service returns them; when it does not,
the document says so ("feature absent") and keeps the token counts the service does return.

Stdlib only, so it runs with any Python 3.9+.
"""
import argparse
import copy
import json
import os
import statistics
import subprocess
import sys
import tempfile
import urllib.request


def stats(emulator):
    with urllib.request.urlopen(emulator + "/_emulator/stats", timeout=10) as response:
        return json.loads(response.read())


def percentile(values, share):
    """Nearest-rank percentile, the same rule as lambda-runner's summaries."""
    if not values:
        return None
    ordered = sorted(values)
    rank = max(1, -(-len(ordered) * share // 1))
    return ordered[int(rank) - 1]


def invoke(runner, binary, event_path, env):
    command = [runner, "invoke", "--bin", binary, "--event", event_path, "--timeout-ms", "120000"]
    for pair in env:
        command += ["--env", pair]
    done = subprocess.run(command, capture_output=True, text=True, timeout=300)
    try:
        return json.loads(done.stdout)
    except json.JSONDecodeError:
        return {"runnerExit": done.returncode, "stderr": done.stderr[-2000:]}


def one_request(args, template, model, index, workdir):
    event = copy.deepcopy(template)
    body = json.loads(event["body"])
    body["model"] = model
    body.setdefault("profile", {})["budget"] = int(body["profile"].get("budget", 15000)) + index + 1
    event["body"] = json.dumps(body, ensure_ascii=False)
    path = os.path.join(workdir, f"{model}-{index}.json")
    with open(path, "w", encoding="utf-8") as file:
        json.dump(event, file, ensure_ascii=False)
    before = stats(args.emulator)
    answer = invoke(args.runner, args.bin, path, args.env)
    after = stats(args.emulator)
    modelled = after.get("modelledMs", 0) - before.get("modelledMs", 0)
    status = answer.get("statusCode")
    try:
        payload = json.loads(answer.get("body") or "{}")
    except (TypeError, json.JSONDecodeError):
        payload = {}
    meta = payload.get("meta", {}) if status == 200 else {}
    latency = meta.get("latencyMs")
    own = max(0.0, latency - modelled / args.time_scale) if latency is not None else None
    return {
        "model": model,
        "status": status,
        "errorCode": (payload.get("error") or {}).get("code"),
        "modelledModelMs": modelled,
        "latencyMs": latency,
        "ownMs": own,
        "endToEndMs": modelled + own if own is not None else None,
        "attempts": meta.get("attempts"),
        "modelId": meta.get("modelId"),
        "inputTokens": meta.get("inputTokens"),
        "outputTokens": meta.get("outputTokens"),
        "usage": meta.get("usage"),
        "costUsd": meta.get("costUsd"),
    }


def summarize(model, rows):
    verified = [r for r in rows if r["status"] == 200]
    e2e = [r["endToEndMs"] for r in verified if r["endToEndMs"] is not None]
    attempts = [r["attempts"] for r in verified if isinstance(r["attempts"], int)]
    usages = [r["usage"] for r in verified if isinstance(r["usage"], dict)]
    costs = [r["costUsd"] for r in verified if isinstance(r["costUsd"], (int, float))]
    summary = {
        "model": model,
        "requests": len(rows),
        "verified": len(verified),
        "errors": sorted({str(r["errorCode"] or r["status"]) for r in rows if r["status"] != 200}),
        "p50Ms": percentile(e2e, 0.50),
        "p95Ms": percentile(e2e, 0.95),
        "meanOwnMs": statistics.fmean([r["ownMs"] for r in verified]) if verified else None,
        "attempts": sum(attempts),
        "repairs": sum(a - 1 for a in attempts),
        "repairShareOfAttempts": (sum(a - 1 for a in attempts) / sum(attempts)) if attempts else None,
        "requestsRepaired": sum(1 for a in attempts if a > 1),
        "modelIds": sorted({r["modelId"] for r in verified if r["modelId"]}),
        "meanInputTokens": statistics.fmean([r["inputTokens"] for r in verified if r["inputTokens"] is not None]) if verified else None,
        "meanOutputTokens": statistics.fmean([r["outputTokens"] for r in verified if r["outputTokens"] is not None]) if verified else None,
        "usagePresent": len(usages) == len(verified) and bool(verified),
        "costPresent": len(costs) == len(verified) and bool(verified),
    }
    if summary["usagePresent"]:
        for key in ("inputTokens", "outputTokens", "cacheReadInputTokens", "cacheWriteInputTokens"):
            summary["meanUsage" + key[0].upper() + key[1:]] = statistics.fmean([u.get(key, 0) for u in usages])
    if summary["costPresent"]:
        summary["meanCostUsd"] = statistics.fmean(costs)
    return summary


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runner", required=True)
    parser.add_argument("--bin", required=True)
    parser.add_argument("--event", required=True)
    parser.add_argument("--emulator", required=True, help="emulator base URL")
    parser.add_argument("--time-scale", type=float, required=True)
    parser.add_argument("--count", type=int, default=30)
    parser.add_argument("--models", default="sonnet,haiku")
    parser.add_argument("--env", action="append", default=[], help="KEY=VALUE for the function")
    args = parser.parse_args()
    with open(args.event, encoding="utf-8") as file:
        template = json.load(file)
    result = {"timeScale": args.time_scale, "count": args.count, "models": []}
    with tempfile.TemporaryDirectory() as workdir:
        for model in args.models.split(","):
            rows = [one_request(args, template, model, i, workdir) for i in range(args.count)]
            summary = summarize(model, rows)
            print(f"e2e: {model}: {summary['verified']}/{summary['requests']} verified, p50 {summary['p50Ms']} ms", file=sys.stderr)
            result["models"].append({"summary": summary, "requests": rows})
    json.dump(result, sys.stdout, indent=1)


if __name__ == "__main__":
    main()
