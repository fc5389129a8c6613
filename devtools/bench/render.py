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
               "\"×\" divides by it. Failures count answers with status ≥ 400 or batch item failures.\n")
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
    out.append("| function | events | n | p50 (µs) | p90 (µs) | p99 (µs) | peak RSS (KiB) | failures | echo p50 (µs) | p50 vs echo | p99 vs echo |")
    out.append("|---|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|")
    for function in FUNCTIONS:
        for kind, label in (("hit", "identical (cache hit)"), ("miss", "varying (cache miss)")):
            doc = results.runner(kind, function)
            if not doc:
                out.append(f"| {function} | {label} | measurement failed | | | | | | | | |")
                continue
            s, b = doc["subject"], doc.get("baseline") or {}
            rt = s["roundTripUs"]
            vary = ", ".join(f"`{p}`" for p in s.get("vary", []))
            out.append(f"| {function} | `{s['event']}` {label}{' ' + vary if vary else ''} | {s['count']} | "
                       f"{fmt(rt['p50'], 0)} | {fmt(rt['p90'], 0)} | {fmt(rt['p99'], 0)} | {fmt(s.get('peakRssKib'))} | "
                       f"{s['failures']} | {fmt((b.get('roundTripUs') or {}).get('p50'), 0)} | "
                       f"{times(doc.get('ratioP50'))} | {times(doc.get('ratioP99'))} |")
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


def e2e_tables(out, results):
    e2e = load(os.path.join(results.dir, "e2e.json"))
    features = results.run.get("features", {})
    out.append("## End to end: time to a verified recipe (realistic latency)\n")
    out.append("How to read this: the emulator runs the realistic latency profiles of "
               "`shared/data/model-latency.toml` (time to first token, prefill and output rates per model), "
               "time-scaled so a run is short; a seeded third of first attempts break a diet rule "
               "(`violateFirst` rate 0.33), so about a third of requests need one repair. Each request is a "
               "fresh generate-recipe process through the runner with a varied body (no cache). Times are "
               "*modelled*: the emulator's modelled time of every model call of the request (from "
               "`/_emulator/stats`) plus the function's own time (`meta.latencyMs` minus the real, scaled "
               "wait). Only 200 answers count as verified recipes; p95 of a small sample is close to its "
               "maximum.\n")
    if not e2e:
        out.append("Not measured: the end-to-end step failed (see the run's log).\n")
    else:
        out.append(f"Time scale {e2e['timeScale']:g} (a modelled second took {1000 / e2e['timeScale']:.0f} ms), "
                   f"{e2e['count']} requests per model.\n")
        out.append("| path | model | requests | verified | p50 (s) | p95 (s) | requests repaired | function's own time, mean (ms) | errors |")
        out.append("|---|---|---:|---:|---:|---:|---:|---:|---|")
        for entry in e2e["models"]:
            s = entry["summary"]
            p50 = s["p50Ms"] / 1000 if s["p50Ms"] is not None else None
            p95 = s["p95Ms"] / 1000 if s["p95Ms"] is not None else None
            out.append(f"| sync | {s['model']} ({', '.join(s['modelIds']) or 'n/a'}) | {s['requests']} | {s['verified']} | "
                       f"{fmt(p50, 2)} | {fmt(p95, 2)} | {s['requestsRepaired']} | {fmt(s['meanOwnMs'])} | "
                       f"{', '.join(s['errors']) or 'none'} |")
    out.append(f"| async | sonnet, haiku | not measured: {features.get('async', 'feature absent')} | | | | | | |")
    out.append(f"| stream | sonnet, haiku | not measured: {features.get('stream', 'feature absent')} | | | | | | |")
    out.append("")
    out.append(f"Time to the first progress event (stream): not measured: {features.get('stream', 'feature absent')}.\n")

    out.append("## Cost per verified recipe\n")
    out.append("How to read this: tokens and dollars per verified recipe, summed over its attempts, as the "
               "service reports them in `meta.usage` and `meta.costUsd` (prices from the service's own "
               "configuration); the emulator counts tokens with its Korean-aware estimate "
               "(docs/latency.md). The repair share is repairs / all attempts of the verified recipes.\n")
    if not e2e:
        out.append("Not measured: the end-to-end step failed.\n")
        return
    out.append("| model | prompt caching | attempts per recipe | repair share of attempts | input tokens | output tokens | cache read | cache write | USD per recipe |")
    out.append("|---|---|---:|---:|---:|---:|---:|---:|---:|")
    for entry in e2e["models"]:
        s = entry["summary"]
        per = s["attempts"] / s["verified"] if s["verified"] else None
        caching = features.get("promptCachingSwitch", "as configured (no switch exposed)")
        if s["usagePresent"]:
            tokens = (fmt(s["meanUsageInputTokens"], 0), fmt(s["meanUsageOutputTokens"], 0),
                      fmt(s["meanUsageCacheReadInputTokens"], 0), fmt(s["meanUsageCacheWriteInputTokens"], 0))
        else:
            tokens = (fmt(s["meanInputTokens"], 0) + " (meta.inputTokens)", fmt(s["meanOutputTokens"], 0) + " (meta.outputTokens)",
                      "not measured: meta.usage absent", "not measured: meta.usage absent")
        cost = fmt(s["meanCostUsd"], 5) if s["costPresent"] else "not measured: meta.costUsd absent"
        out.append(f"| {s['model']} | {caching} | {fmt(per, 2)} | {fmt(s['repairShareOfAttempts'], 2)} | "
                   f"{' | '.join(tokens)} | {cost} |")
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
        best = max(adaptive)
        out.append("")
        out.append(f"Adaptive policy over {len(adaptive)} runs: {', '.join(f'{a:.0f} %' for a in adaptive)} of the "
                   f"ceiling (goal 90 %: {'met' if best >= 90 else 'not met'}"
                   f"{'' if best >= 90 else f'; best {best:.0f} %'}).")
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
