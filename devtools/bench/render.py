"""Writes BENCHMARKS.md from the measurements one `make bench` run left in a results
directory, and checks the regression limits of thresholds.toml against them.

Inputs (all written by devtools/lambda-runner/bench.sh into the results directory):
  run.json              machine, revision, command, knobs, wall time, detected features
  runner/KIND--FN.json  `lambda-runner bench ... --json` documents; KIND is init, hit or miss
                        (baseline echo-function) or py-init, py-hit, py-miss (baseline: the
                        Python seed design)
  e2e.json              devtools/bench/e2e.py's document (absent when that step failed)
  batch-N.txt           stdout of the batch throughput benchmark, run N
  commands.txt          every command, one a line
Exit status 1 when a limit is exceeded or a measurement is missing, 0 otherwise.
Stdlib only (tomllib: Python 3.11+).
"""
import argparse
import json
import os
import re
import sys
import tomllib

FUNCTIONS = ["generate-recipe", "embed-text", "batch-dispatcher"]


def load(path):
    try:
        with open(path, encoding="utf-8") as file:
            return json.load(file)
    except (OSError, json.JSONDecodeError):
        return None


def fmt(value, digits=1, unit=""):
    if value is None:
        return "n/a"
    if isinstance(value, int):
        return f"{value}{unit}"
    return f"{value:.{digits}f}{unit}"


def times(value):
    return "–" if value is None else f"{value:.2f}×" if value < 1 else f"{value:.1f}×"


class Results:
    def __init__(self, directory):
        self.dir = directory
        self.run = load(os.path.join(directory, "run.json")) or {}

    def runner(self, kind, function):
        return load(os.path.join(self.dir, "runner", f"{kind}--{function}.json"))

    def ratio(self, kind, function, figure):
        """Subject / baseline for one figure of a runner document."""
        doc = self.runner(kind, function)
        if not doc or not doc.get("baseline"):
            return None
        subject, baseline = pick(doc["subject"], figure), pick(doc["baseline"], figure)
        if subject is None or not baseline:
            return None
        return subject / baseline


def pick(measurement, figure):
    if figure == "p50":
        times_ = measurement.get("initMs") or measurement.get("roundTripUs")
        return times_["p50"] if times_ else None
    if figure == "p99":
        times_ = measurement.get("initMs") or measurement.get("roundTripUs")
        return times_["p99"] if times_ else None
    if figure == "rss":
        return measurement.get("peakRssKib")
    if figure == "cpu":
        return measurement.get("cpuUsPerInvocation")
    return None


def header(out, results):
    run = results.run
    out.append("# Benchmarks\n")
    out.append("Written by `make bench` (`devtools/lambda-runner/bench.sh`, rendered by "
               "`devtools/bench/render.py`); rerun it to refresh every figure. Nothing here is edited by hand.\n")
    out.append(f"- Run: {run.get('started', 'unknown')}, revision {run.get('revision', 'unknown')}")
    out.append(f"- Machine: {run.get('machine', 'unknown')}; load average at the start {run.get('loadAverage', 'unknown')}")
    out.append(f"- Toolchain: {run.get('rustc', 'unknown')}, {run.get('profile', 'release')} profile "
               f"({'fat LTO, 1 codegen unit' if run.get('profile', 'release') == 'release' else 'debug build: figures only show the pipeline runs'}); "
               f"{run.get('python', 'unknown Python')} for the baseline")
    out.append(f"- Command: `{run.get('command', 'make bench')}`, wall time {fmt(run.get('wallSeconds'), 0)} s"
               f" (of which the build {fmt(run.get('buildSeconds'), 0)} s)")
    out.append(f"- CPU share in the comparison with the Python baseline: {run.get('cpuShare', 'unknown')}. "
               "Lambda gives a 512 MB function about 0.29 vCPU. The other tables run unconstrained. On a "
               "loaded machine a process may get less than its quota anyway, so the share bounds from above.\n")


def init_and_warm(out, results):
    out.append("## Init and warm round trips against the runtime's floor\n")
    out.append("How to read this: `lambda-runner` plays the Lambda service on 127.0.0.1 and spawns each "
               "release binary with Lambda's environment; `bedrock-emulator` answers at once (instant "
               "profile) and moto serves DynamoDB and SQS, so these are the functions' own costs. *Init* "
               "is spawn to the first `GET /runtime/invocation/next`; *round trip* is event handed out to "
               "answer posted, one at a time after warm-up; *hit* repeats one event (cache hit after the "
               "first), *miss* varies a field per event. The baseline is `echo-function` "
               "(`lambda_runtime` returning its event), measured interleaved with the function; "
               "\"×\" divides by it. *CPU* is the function process's own CPU time (all threads, user and system, "
               "from `/proc`) per measured invocation: it leaves out the time spent waiting for the emulator "
               "and moto and moves far less with the machine's load than the round trip does. Failures count "
               "answers with status ≥ 400 or batch item failures.\n")
    out.append("| function | spawns | init p50 (ms) | init p90 (ms) | peak RSS after init (KiB) | echo init p50 (ms) | init vs echo |")
    out.append("|---|---:|---:|---:|---:|---:|---:|")
    for function in FUNCTIONS:
        doc = results.runner("init", function)
        if not doc:
            out.append(f"| {function} | measurement failed | | | | | |")
            continue
        s, b = doc["subject"], doc.get("baseline") or {}
        out.append(f"| {function} | {s['spawns']} | {fmt(s['initMs']['p50'])} | {fmt(s['initMs']['p90'])} | "
                   f"{fmt(s.get('peakRssKib'))} | {fmt((b.get('initMs') or {}).get('p50'))} | {times(doc.get('ratioP50'))} |")
    out.append("")
    out.append("| function | events | n | p50 (µs) | p90 (µs) | p99 (µs) | CPU per invocation (µs) | peak RSS (KiB) | failures | echo p50 (µs) | echo CPU (µs) | p50 vs echo | p99 vs echo | CPU vs echo |")
    out.append("|---|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|")
    for function in FUNCTIONS:
        for kind, label in (("hit", "identical (cache hit)"), ("miss", "varying (cache miss)")):
            doc = results.runner(kind, function)
            if not doc:
                out.append(f"| {function} | {label} | measurement failed | | | | | | | | | | | |")
                continue
            s, b = doc["subject"], doc.get("baseline") or {}
            rt = s["roundTripUs"]
            vary = ", ".join(f"`{p}`" for p in s.get("vary", []))
            out.append(f"| {function} | `{s['event']}` {label}{' ' + vary if vary else ''} | {s['count']} | "
                       f"{fmt(rt['p50'], 0)} | {fmt(rt['p90'], 0)} | {fmt(rt['p99'], 0)} | {fmt(pick(s, 'cpu'), 0)} | "
                       f"{fmt(s.get('peakRssKib'))} | {s['failures']} | {fmt((b.get('roundTripUs') or {}).get('p50'), 0)} | "
                       f"{fmt(pick(b, 'cpu'), 0)} | {times(doc.get('ratioP50'))} | {times(doc.get('ratioP99'))} | "
                       f"{times(results.ratio(kind, function, 'cpu'))} |")
    out.append("")


def python_table(out, results):
    out.append("## Against the seed design (Python, boto3, awslambdaric)\n")
    out.append("How to read this: the baseline is what a team would write instead "
               "(`devtools/bench/python-baseline`: a `BedrockClient` over boto3 with the Bedrock guide's "
               "Claude messages body, a keto prompt, an MD5-keyed in-memory cache, one Lambda per job), "
               "started by the official runtime interface client `awslambdaric` from a project-local "
               "virtual environment and driven by the same runner, events and emulator as generate-recipe, "
               "interleaved with it. It trusts the model: no retrieval call, no nutrition, no rule check, "
               "no repair, so the Rust function does strictly more work per miss. \"Rust / Python\" below 1 "
               "means the Rust function is cheaper.\n")
    out.append("| figure | generate-recipe (Rust) | seed design (Python) | Rust / Python |")
    out.append("|---|---:|---:|---:|")
    rows = [
        ("init p50 (ms)", "py-init", "p50", 1),
        ("peak RSS after init (KiB)", "py-init", "rss", 0),
        ("warm round trip, cache hit, p50 (µs)", "py-hit", "p50", 0),
        ("warm round trip, cache hit, p99 (µs)", "py-hit", "p99", 0),
        ("warm round trip, cache miss, p50 (µs)", "py-miss", "p50", 0),
        ("warm round trip, cache miss, p99 (µs)", "py-miss", "p99", 0),
        ("CPU per invocation, cache hit (µs)", "py-hit", "cpu", 0),
        ("CPU per invocation, cache miss (µs)", "py-miss", "cpu", 0),
        ("peak RSS after the cache-miss run (KiB)", "py-miss", "rss", 0),
    ]
    for label, kind, figure, digits in rows:
        doc = results.runner(kind, "generate-recipe")
        if not doc or not doc.get("baseline"):
            out.append(f"| {label} | measurement failed | | |")
            continue
        s, b = pick(doc["subject"], figure), pick(doc["baseline"], figure)
        ratio = s / b if s is not None and b else None
        out.append(f"| {label} | {fmt(s, digits)} | {fmt(b, digits)} | {times(ratio)} |")
    failures = [(k, (results.runner(k, "generate-recipe") or {}).get("baseline") or {}) for k in ("py-hit", "py-miss")]
    for kind, baseline in failures:
        if baseline.get("failures"):
            out.append(f"\nThe Python baseline failed {baseline['failures']} of {baseline['count']} invocations in "
                       f"`{kind}`: {baseline.get('firstFailure')}")
    out.append("")


PATH_LABELS = {"sync": "sync", "stream": "stream", "async": "async"}


def seconds(ms, digits=2):
    return fmt(ms / 1000 if ms is not None else None, digits)


def e2e_runs(e2e):
    """The end-to-end document's runs (older documents held one sync run as `models`)."""
    if not e2e:
        return []
    if "runs" in e2e:
        return e2e["runs"]
    return [{"name": "sync", "path": "sync", "env": [], "models": e2e.get("models", [])}]


def not_measured(s, path):
    """Why a run gave no time to a verified recipe, from what it measured."""
    if path == "stream" and s.get("streamed", 0) == 0:
        return "not measured: no answer came back streamed (" + (", ".join(s["errors"]) or "none") + ")"
    return "not measured: no verified recipe (" + (", ".join(s["errors"]) or "none") + ")"


def e2e_tables(out, results):
    e2e = load(os.path.join(results.dir, "e2e.json"))
    runs = e2e_runs(e2e)
    out.append("## End to end: time to a verified recipe (realistic latency)\n")
    out.append("How to read this: the emulator runs the realistic latency profiles of "
               "`shared/data/model-latency.toml` (time to first token, prefill and output rates per model), "
               "time-scaled so a run is short; a seeded third of first attempts break a diet rule "
               "(`violateFirst` rate 0.33), so about a third of requests need one repair; the plan restarts "
               "with every run, so every path draws the same requests for repair. Each request is a "
               "fresh generate-recipe process through the runner with a varied body (no cache). Times are "
               "*modelled*: the emulator's modelled time of every model call of the request (from "
               "`/_emulator/stats`) plus the functions' own time, real (their time minus the real, scaled "
               "wait for the model). **sync**: `POST /recipes` as an HTTP API event, own time = "
               "`meta.latencyMs` minus the scaled wait. **stream**: the same request as a function URL event, "
               "answered in the Runtime API's streaming mode; the verified recipe is the final `recipe` "
               "event (the sync body, same accounting). **async**: `POST` with `\"mode\": \"async\"` (202), "
               "the message taken from the jobs queue on moto and handed to batch-dispatcher as the SQS "
               "event Lambda delivers, then `GET /recipes/{requestId}` until `succeeded`: time = the POST's "
               "round trip + the hand-off (receive and build the event, real; a deployed event source "
               "mapping adds its own polling delay, not modelled) + batch-dispatcher's modelled model time "
               "and its round trip minus the scaled wait + the GETs' round trips. Round trips are the "
               "runner's, from event handed out to answer posted (process start excluded, as for a warm "
               "function). Only verified recipes are timed; p95 of a small sample is close to its maximum.\n")
    if not e2e:
        out.append("Not measured: the end-to-end step failed (see the run's log).\n")
        return
    out.append(f"Time scale {e2e['timeScale']:g} (a modelled second took {1000 / e2e['timeScale']:.0f} ms), "
               f"{e2e['count']} requests per model and run.\n")
    out.append("| path | run | model | requests | verified | p50 (s) | p95 (s) | requests repaired | functions' own time, mean (ms) | errors |")
    out.append("|---|---|---|---:|---:|---:|---:|---:|---:|---|")
    for run in runs:
        if run["path"] == "sync" and "PROMPT_CACHING=off" in run.get("env", []):
            continue  # shown in the cost table
        for entry in run["models"]:
            s = entry["summary"]
            label = f"{s['model']} ({', '.join(s['modelIds']) or 'n/a'})"
            if s["p50Ms"] is None:
                out.append(f"| {run['path']} | {run['name']} | {label} | {s['requests']} | {s['verified']} | "
                           f"{not_measured(s, run['path'])} | | | | {', '.join(s['errors']) or 'none'} |")
                continue
            out.append(f"| {run['path']} | {run['name']} | {label} | {s['requests']} | {s['verified']} | "
                       f"{seconds(s['p50Ms'])} | {seconds(s['p95Ms'])} | {s['requestsRepaired']} | "
                       f"{fmt(s['meanOwnMs'])} | {', '.join(s['errors']) or 'none'} |")
    out.append("")
    handoffs = [(e["summary"]["model"], e["summary"]["meanHandoffMs"]) for run in runs if run["path"] == "async"
                for e in run["models"] if e["summary"].get("meanHandoffMs") is not None]
    if handoffs:
        out.append("Async hand-off (receive the message from moto and build the SQS event), mean: "
                   + ", ".join(f"{model} {fmt(ms)} ms" for model, ms in handoffs) + ".\n")

    out.append("### Time to the first progress event (stream)\n")
    out.append("How to read this: from the event handed to the function to the first `event: progress` "
               "(sent when attempt 1's first streamed event, `message_start`, arrives: the model's time to "
               "first token). The model time before it is the Titan query's modelled time plus attempt 1's "
               "modelled time to first token (`time_to_first_token_ms` + prefill tokens / input rate of "
               "`shared/data/model-latency.toml`, with that call's token counts from the emulator's "
               "`recentCalls`); the function's own time before it is real: the runner stamps each chunk "
               "of the streamed body as it arrives, minus the real, scaled wait for the model.\n")
    stream_runs = [run for run in runs if run["path"] == "stream"]
    if not stream_runs:
        out.append("Not measured: no stream run in this document.\n")
    else:
        out.append("| model | streamed answers | with a progress event | p50 (s) | p95 (s) | time to the verified recipe, p50 (s) |")
        out.append("|---|---:|---:|---:|---:|---:|")
        for run in stream_runs:
            for entry in run["models"]:
                s = entry["summary"]
                out.append(f"| {s['model']} | {s['streamed']} of {s['requests']} | {s['firstProgressCount']} | "
                           f"{seconds(s['firstProgressP50Ms'])} | {seconds(s['firstProgressP95Ms'])} | "
                           f"{seconds(s['p50Ms'])} |")
        out.append("")

    out.append("## Cost per verified recipe, with and without prompt caching\n")
    out.append("How to read this: tokens and dollars per verified recipe (means), summed over its attempts, as the "
               "service reports them in `meta.usage` and `meta.costUsd` (prices of "
               "`shared/data/model-prices.toml`); the emulator counts tokens with its Korean-aware estimate and "
               "applies Bedrock's caching minimums (docs/latency.md, docs/economics.md). Both runs are the sync "
               "path on the same build and fault plan; `PROMPT_CACHING=off` sends no cache points. Input = "
               "uncached input tokens; cache read is billed at 0.1x the input price, cache write at 1.25x. "
               "The repair share is repairs / all attempts of the verified recipes; the fault plan is set again "
               "at the start of every run, so both runs draw the same requests for repair. \"off / on\" "
               "divides the dollars per recipe.\n")
    costed = [run for run in runs if run["path"] == "sync"]
    if not costed:
        out.append("Not measured: no sync run in this document.\n")
        return
    out.append("| model | prompt caching | verified | attempts per recipe | repair share of attempts | input tokens | cache read | cache write | output tokens | USD per recipe | off / on |")
    out.append("|---|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|")
    on_cost = {}
    for run in costed:
        caching = "off" if "PROMPT_CACHING=off" in run.get("env", []) else "on"
        for entry in run["models"]:
            s = entry["summary"]
            per = s["attempts"] / s["verified"] if s["verified"] else None
            if s["usagePresent"]:
                tokens = (fmt(s["meanUsageInputTokens"], 0), fmt(s["meanUsageCacheReadInputTokens"], 0),
                          fmt(s["meanUsageCacheWriteInputTokens"], 0), fmt(s["meanUsageOutputTokens"], 0))
            else:
                tokens = ("not measured: meta.usage absent",) * 4
            cost = s.get("meanCostUsd") if s["costPresent"] else None
            if caching == "on":
                on_cost[s["model"]] = cost
            base = on_cost.get(s["model"])
            ratio = cost / base if caching == "off" and cost is not None and base else None
            out.append(f"| {s['model']} | {caching} | {s['verified']} of {s['requests']} | {fmt(per, 2)} | "
                       f"{fmt(s['repairShareOfAttempts'], 2)} | {' | '.join(tokens)} | "
                       f"{fmt(cost, 5) if cost is not None else 'not measured'} | "
                       f"{f'{ratio:.3f}×' if ratio is not None else '–'} |")
    out.append("")


BATCH_ROW = re.compile(r"^\| (adaptive \([a-zA-Z]+\)|AIMD concurrency|fixed \d+) \|")


def batch_table(out, results):
    runs = sorted(f for f in os.listdir(results.dir) if re.fullmatch(r"batch-\d+\.txt", f))
    out.append("## Batch throughput under a model quota\n")
    out.append("How to read this: `tests/benches/batch_throughput.rs` (see docs/bench-batch.md) drains "
               f"{results.run.get('batchRequests', 200)} requests through the batch-dispatcher handler in process, against the emulator allowing 600 "
               "Claude calls per minute with 1.5 s per answer; the ceiling is the quota's 10 req/s (for 200 "
               "requests the best possible is 98 % of it: the first answers come one latency after the start). Runs follow each other on the same machine; "
               "compare policies within a run. \"lost\" counts requests dead-lettered or never stored.\n")
    if not runs:
        out.append("Not measured: the batch benchmark did not run.\n")
        return
    table_header = None
    rows = []
    for index, name in enumerate(runs, 1):
        with open(os.path.join(results.dir, name), encoding="utf-8") as file:
            for line in file:
                line = line.rstrip("\n")
                if line.startswith("| policy |") and table_header is None:
                    table_header = line
                elif BATCH_ROW.match(line):
                    rows.append(f"| {index} {line}")
    if not rows or not table_header:
        out.append("Not measured: the batch benchmark printed no table (see the run's log).\n")
        return
    columns = table_header.count("|") - 1
    out.append("| run " + table_header)
    out.append("|---:" + "|---:" * columns + "|")
    out.extend(rows)
    adaptive = [float(m.group(1)) for r in rows if "adaptive" in r for m in [re.search(r"\| (\d+) % \|", r)] if m]
    if adaptive:
        worst, best = min(adaptive), max(adaptive)
        verdict = "met in every run" if worst >= 90 else f"not met in every run; worst {worst:.0f} %, best {best:.0f} %"
        out.append("")
        out.append(f"Adaptive policy over {len(adaptive)} runs: {', '.join(f'{a:.0f} %' for a in adaptive)} of the "
                   f"ceiling (goal 90 %: {verdict}).")
    out.append("")


def check_limits(out, results, thresholds_path):
    with open(thresholds_path, "rb") as file:
        limits = tomllib.load(file).get("limit", [])
    out.append("## Regression limits\n")
    out.append("How to read this: each limit (devtools/bench/thresholds.toml) caps a figure as a multiple of "
               "its baseline in the same run, so machine load moves both sides alike; `make bench` fails when "
               "one is exceeded or cannot be measured.\n")
    out.append("| function | figure | baseline | ratio | limit | passed |")
    out.append("|---|---|---|---:|---:|---|")
    failed = []
    for limit in limits:
        kind, figure = limit["measure"].split("-")
        if limit["baseline"] == "python-baseline":
            kind = "py-" + kind
        ratio = results.ratio(kind, limit["function"], figure)
        passed = ratio is not None and ratio <= limit["max"]
        if not passed:
            failed.append(f"{limit['function']} {limit['measure']} vs {limit['baseline']}: "
                          f"{'not measured' if ratio is None else f'{ratio:.2f}x'} > {limit['max']}x")
        out.append(f"| {limit['function']} | {limit['measure']} | {limit['baseline']} | {times(ratio)} | "
                   f"{limit['max']:g}× | {'yes' if passed else 'NO'} |")
    out.append("")
    return failed


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--results", required=True)
    parser.add_argument("--thresholds", required=True)
    parser.add_argument("--out", required=True)
    parser.add_argument("--report-only", action="store_true", help="report the limits, never fail on them")
    args = parser.parse_args()
    results = Results(args.results)
    out = []
    header(out, results)
    python_table(out, results)
    e2e_tables(out, results)
    batch_table(out, results)
    init_and_warm(out, results)
    failed = check_limits(out, results, args.thresholds)
    out.append("## Commands\n")
    out.append("```sh")
    try:
        with open(os.path.join(args.results, "commands.txt"), encoding="utf-8") as file:
            out.extend(line.rstrip("\n") for line in file)
    except OSError:
        pass
    out.append("```")
    with open(args.out, "w", encoding="utf-8") as file:
        file.write("\n".join(out) + "\n")
    for failure in failed:
        print(f"bench: regression: {failure}", file=sys.stderr)
    return 1 if failed and not args.report_only else 0


if __name__ == "__main__":
    sys.exit(main())
