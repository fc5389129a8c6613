#!/usr/bin/env bash
# Benchmarks the three Lambda functions the way Lambda runs them, next to what a team would
# write instead, and writes BENCHMARKS.md. Needs nothing set up by hand: `make bench` installs
# the project-local Python tools (moto) and the baseline's venv, then calls this script.
#
# Steps, each measured through devtools/lambda-runner (the Lambda Runtime API on 127.0.0.1):
#   1. release build of the functions, the emulator and the runner
#   2. bedrock-emulator (instant) and moto (DynamoDB, SQS) with the demo's table and queue
#   3. init and warm round trips (cache hit and miss) of every function, against echo-function
#   4. generate-recipe against the Python seed design (devtools/bench/python-baseline, run by
#      awslambdaric), both under Lambda's CPU share for 512 MB when the machine allows it
#   5. end to end under the realistic latency profiles, a third of first attempts needing a
#      repair: time to a verified recipe per model on the sync, stream and async paths, time
#      to the first progress event, tokens and cost with prompt caching on and off
#      (devtools/bench/e2e.py)
#   6. batch throughput under a model quota (tests/benches/batch_throughput.rs), several runs
#   7. devtools/bench/render.py writes the report and checks devtools/bench/thresholds.toml;
#      the script fails on a regression or a failed measurement
#
# Knobs (environment):
#   BENCH_SPAWNS=20 BENCH_COUNT=1000 BENCH_WARMUP=20     init spawns, warm invocations
#   BENCH_PY_SPAWNS=10 BENCH_PY_COUNT=200                 the same for the Python comparison
#   BENCH_E2E_COUNT=30 BENCH_TIME_SCALE=20                end-to-end requests per model and path, time scale
#   BENCH_BATCH_RUNS=3 BENCH_BATCH_REQUESTS=200 BENCH_BATCH_POLICIES=adaptive,fixed10,fixed100
#   BENCH_CPU_SHARE=0.29   vCPU share applied in step 4 (0 = none)
#   BENCH_OUT=BENCHMARKS.md   BENCH_SKIP_BUILD=1 (reuse the existing build)
#   BENCH_PROFILE=release (dev: the debug build, for the smoke run)   BENCH_CHECK_LIMITS=1 (0: report only)
#   BENCH_VENV=.tools/bench-venv   BENCH_TOOLS_VENV=.tools/venv (moto)
# Every process this script starts is stopped when it exits, however it exits.
set -euo pipefail

cd "$(dirname "${BASH_SOURCE[0]}")/../.."
started_at=$(date +%s)

spawns=${BENCH_SPAWNS:-20}
count=${BENCH_COUNT:-1000}
warmup=${BENCH_WARMUP:-20}
py_spawns=${BENCH_PY_SPAWNS:-10}
py_count=${BENCH_PY_COUNT:-200}
e2e_count=${BENCH_E2E_COUNT:-30}
time_scale=${BENCH_TIME_SCALE:-20}
batch_runs=${BENCH_BATCH_RUNS:-3}
batch_requests=${BENCH_BATCH_REQUESTS:-200}
batch_policies=${BENCH_BATCH_POLICIES:-adaptive,fixed10,fixed100}
cpu_share=${BENCH_CPU_SHARE:-0.29}
out=${BENCH_OUT:-BENCHMARKS.md}
bench_venv=${BENCH_VENV:-.tools/bench-venv}
tools_venv=${BENCH_TOOLS_VENV:-.tools/venv}
profile=${BENCH_PROFILE:-release}
check_limits=${BENCH_CHECK_LIMITS:-1}
case $profile in
    release) release="${CARGO_TARGET_DIR:-target}/release"; profile_flag=(--release) ;;
    dev) release="${CARGO_TARGET_DIR:-target}/debug"; profile_flag=() ;;
    *) echo "bench: BENCH_PROFILE must be release or dev" >&2; exit 2 ;;
esac
functions="generate-recipe embed-text batch-dispatcher"

work=$(mktemp -d)
results="$work/results"
mkdir -p "$results/runner"
pids=()
cgroup=""
cleanup() {
    local pid
    for pid in "${pids[@]}"; do
        kill "$pid" 2>/dev/null || true
        wait "$pid" 2>/dev/null || true
    done
    if [[ -n $cgroup && -d $cgroup ]]; then rmdir "$cgroup" 2>/dev/null || true; fi
    rm -rf "$work"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# A step that fails is noted and the run goes on; the report shows what is missing.
failures=()
note_failure() { failures+=("$1"); echo "bench: FAILED: $1" >&2; }

build_seconds=0
if [[ -z ${BENCH_SKIP_BUILD:-} ]]; then
    echo "bench: cargo build ${profile_flag[*]}" >&2
    build_start=$(date +%s)
    cargo build "${profile_flag[@]}" -p generate-recipe -p embed-text -p batch-dispatcher \
        -p bedrock-emulator -p lambda-runner
    build_seconds=$(($(date +%s) - build_start))
fi
runner="$release/lambda-runner"
echo_function="$release/echo-function"
for binary in "$runner" "$echo_function" "$release/bedrock-emulator" $(printf "$release/%s " $functions); do
    [[ -x $binary ]] || { echo "bench: $binary is missing; build the workspace first" >&2; exit 1; }
done
for python in "$bench_venv/bin/python3" "$tools_venv/bin/python3"; do
    [[ -x $python ]] || { echo "bench: $python is missing; run 'make bench' (it installs it)" >&2; exit 1; }
done
python_baseline=devtools/bench/python-baseline/bootstrap

# shellcheck source=devtools/local-servers.sh
source devtools/local-servers.sh

# Starts bedrock-emulator with extra arguments and sets emulator_url. Its stdin is a FIFO held
# open by this shell (not a subshell), so it stops when the shell goes away for any reason.
emulator_url=""
start_emulator() {
    local name=$1 fd
    shift
    mkfifo "$work/$name.stdin"
    "$release/bedrock-emulator" --port 0 --port-file "$work/$name.port" --exit-on-stdin-close "$@" \
        <"$work/$name.stdin" >"$work/$name.log" 2>&1 &
    pids+=($!)
    exec {fd}>"$work/$name.stdin"
    for _ in $(seq 300); do
        [[ -s $work/$name.port ]] && break
        kill -0 "${pids[-1]}" 2>/dev/null || { cat "$work/$name.log" >&2; exit 1; }
        sleep 0.1
    done
    [[ -s $work/$name.port ]] || { echo "bench: bedrock-emulator ($name) did not start" >&2; exit 1; }
    emulator_url="http://127.0.0.1:$(cat "$work/$name.port")"
}

start_emulator emulator
endpoint=$emulator_url
echo "bench: bedrock-emulator at $endpoint" >&2

# moto for DynamoDB and SQS, from the project-local tools venv, with the demo's resources.
start_moto "$tools_venv/bin/python3" bench
python3 devtools/demo_resources.py "$moto" >"$work/resources.env"
# shellcheck disable=SC1091
source "$work/resources.env"
echo "bench: moto at $moto, table $RESULTS_TABLE" >&2

commands=()
# Keeps the machine's own paths and ports out of the committed report.
redact() {
    local line=$1
    line=${line//"$release"/target/${release##*/}}
    line=${line//"$work"/WORK}
    line=${line//"$endpoint"/http://127.0.0.1:EMULATOR}
    line=${line//"$moto"/http://127.0.0.1:MOTO}
    line=${line//"$RESULTS_TABLE"/RESULTS_TABLE}
    line=${line//"$JOBS_QUEUE_URL"/JOBS_QUEUE_URL}
    echo "$line"
}
# Runs one lambda-runner benchmark, its JSON document into $1.
measure() {
    local file=$1
    shift
    local line
    line=$(printf '%q ' "$@")
    commands+=("$(redact "${line% }")")
    echo "bench: $(redact "$*")" >&2
    if ! "$@" --json >"$file"; then
        rm -f "$file"
        note_failure "$(redact "${line% }")"
    fi
}

service_env=(--env "AWS_ENDPOINT_URL_BEDROCK_RUNTIME=$endpoint" --env "AWS_ENDPOINT_URL_DYNAMODB=$moto"
    --env "AWS_ENDPOINT_URL_SQS=$moto" --env "RESULTS_TABLE=$RESULTS_TABLE" --env "JOBS_QUEUE_URL=$JOBS_QUEUE_URL")

event_of() {
    case $1 in
        generate-recipe) echo events/apigw-post-recipes-keto.json ;;
        embed-text) echo events/apigw-post-embeddings.json ;;
        batch-dispatcher) echo events/sqs-batch.json ;;
    esac
}
vary_of() {
    case $1 in
        generate-recipe) echo "--vary /body/profile/budget" ;;
        embed-text) echo "--vary /body/texts/0" ;;
        batch-dispatcher) echo "--vary /Records/0/body/requestId --vary /Records/0/body/request/profile/budget" ;;
    esac
}

# Step 3: every function against echo-function, unconstrained.
for function in $functions; do
    measure "$results/runner/init--$function.json" "$runner" bench init --bin "$release/$function" \
        --spawns "$spawns" --baseline "$echo_function" "${service_env[@]}"
done
for function in $functions; do
    event=$(event_of "$function")
    measure "$results/runner/hit--$function.json" "$runner" bench warm --bin "$release/$function" \
        --event "$event" --count "$count" --warmup "$warmup" --baseline "$echo_function" "${service_env[@]}"
    read -r -a vary <<<"$(vary_of "$function")"
    measure "$results/runner/miss--$function.json" "$runner" bench warm --bin "$release/$function" \
        --event "$event" --count "$count" --warmup "$warmup" "${vary[@]}" --baseline "$echo_function" \
        "${service_env[@]}"
done

# Step 4: generate-recipe against the Python seed design. Lambda gives a 512 MB function about
# 0.29 vCPU; with a writable cgroup (v1 cpu controller or v2 cpu.max) both run inside one with
# that quota, each started through a small wrapper that joins the group and execs it (the
# runner's init figure then includes one /bin/sh start for both).
cpu_method="unconstrained: no writable CPU cgroup on this machine, both run on the shared CPUs"
py_subject="$release/generate-recipe"
py_baseline="$python_baseline"
quota_us=$(python3 -c "print(int(float('$cpu_share') * 100000))")
if ((quota_us > 0)); then
    group_name="ai-chef-bench-$$"
    if [[ -w /sys/fs/cgroup/cpu ]] && mkdir "/sys/fs/cgroup/cpu/$group_name" 2>/dev/null; then
        cgroup="/sys/fs/cgroup/cpu/$group_name"
        echo 100000 >"$cgroup/cpu.cfs_period_us"
        echo "$quota_us" >"$cgroup/cpu.cfs_quota_us"
    elif [[ -f /sys/fs/cgroup/cgroup.controllers ]] && mkdir "/sys/fs/cgroup/$group_name" 2>/dev/null; then
        cgroup="/sys/fs/cgroup/$group_name"
        echo "$quota_us 100000" >"$cgroup/cpu.max" 2>/dev/null || { rmdir "$cgroup"; cgroup=""; }
    fi
    if [[ -n $cgroup ]]; then
        mkdir -p "$work/cpu-share/rust" "$work/cpu-share/python"
        wrap() {
            local wrapper=$1 program
            program=$(realpath "$2")
            printf '#!/bin/sh\necho $$ > %q/cgroup.procs\ncd %q\nexec %q\n' \
                "$cgroup" "$(dirname "$program")" "$program" >"$wrapper"
            chmod +x "$wrapper"
        }
        wrap "$work/cpu-share/rust/generate-recipe" "$release/generate-recipe"
        wrap "$work/cpu-share/python/python-baseline" "$python_baseline"
        py_subject="$work/cpu-share/rust/generate-recipe"
        py_baseline="$work/cpu-share/python/python-baseline"
        cpu_method="a CPU cgroup with quota ${quota_us} µs per 100000 µs (${cpu_share} vCPU), both processes in it"
    fi
fi
event=$(event_of generate-recipe)
measure "$results/runner/py-init--generate-recipe.json" "$runner" bench init --bin "$py_subject" \
    --label generate-recipe --spawns "$py_spawns" --baseline "$py_baseline" --memory-mb 512 "${service_env[@]}"
measure "$results/runner/py-hit--generate-recipe.json" "$runner" bench warm --bin "$py_subject" \
    --label generate-recipe --event "$event" --count "$py_count" --warmup "$warmup" --baseline "$py_baseline" \
    --memory-mb 512 "${service_env[@]}"
measure "$results/runner/py-miss--generate-recipe.json" "$runner" bench warm --bin "$py_subject" \
    --label generate-recipe --event "$event" --count "$py_count" --warmup "$warmup" --vary /body/profile/budget \
    --baseline "$py_baseline" --memory-mb 512 "${service_env[@]}"
throttled=""
if [[ -n $cgroup ]]; then
    throttled=$(awk '/^nr_periods|^nr_throttled/ {printf "%s %s ", $1, $2}' "$cgroup/cpu.stat" 2>/dev/null || true)
fi

# Step 5: end to end under the realistic profiles, a seeded third of first attempts altered.
faults='{"violateFirst": {"violation": "salty", "rate": 0.33, "seed": 7}}'
start_emulator realistic --latency realistic --time-scale "$time_scale" --faults "$faults"
realistic=$emulator_url
e2e_env=()
for pair in "AWS_ENDPOINT_URL_BEDROCK_RUNTIME=$realistic" "AWS_ENDPOINT_URL_DYNAMODB=$moto" \
    "AWS_ENDPOINT_URL_SQS=$moto" "RESULTS_TABLE=$RESULTS_TABLE" "JOBS_QUEUE_URL=$JOBS_QUEUE_URL"; do
    e2e_env+=(--env "$pair")
done
# Four runs: sync with prompt caching on (the default, stated), the function URL stream, async
# through the jobs queue and batch-dispatcher, and sync again with caching off (the cost
# comparison). Whether a path works is measured, never assumed: a path that does not answer
# (a buffered answer to the function URL, no queued message) shows as such in the report.
e2e_command=(python3 devtools/bench/e2e.py --runner "$runner" --bin "$release/generate-recipe"
    --dispatcher "$release/batch-dispatcher" --event "$(event_of generate-recipe)"
    --stream-event events/function-url-post-recipes-keto.json --get-event events/apigw-get-recipe.json
    --moto "$moto" --jobs-queue-url "$JOBS_QUEUE_URL" --emulator "$realistic" --time-scale "$time_scale"
    --count "$e2e_count" --run sync:sync:PROMPT_CACHING=on --run stream:stream --run async:async
    --run sync-uncached:sync:PROMPT_CACHING=off "${e2e_env[@]}")
line="bedrock-emulator --latency realistic --time-scale $time_scale --faults '$faults'; $(printf '%q ' "${e2e_command[@]}")"
line=${line//"$realistic"/http://127.0.0.1:REALISTIC_EMULATOR}
commands+=("$(redact "${line% }")")
echo "bench: end to end ($e2e_count requests per model and path, time scale $time_scale)" >&2
if ! "${e2e_command[@]}" >"$results/e2e.json"; then
    rm -f "$results/e2e.json"
    note_failure "end to end (devtools/bench/e2e.py)"
fi

# Step 6: batch throughput, several runs of the same build.
batch_command=(cargo bench -p ai-chef-tests --profile dev --bench batch_throughput)
commands+=("BENCH_REQUESTS=$batch_requests BENCH_POLICIES=$batch_policies ${batch_command[*]}  # $batch_runs runs")
for run in $(seq "$batch_runs"); do
    echo "bench: batch throughput, run $run of $batch_runs" >&2
    if ! BENCH_REQUESTS=$batch_requests BENCH_POLICIES=$batch_policies "${batch_command[@]}" \
        >"$results/batch-$run.txt"; then
        note_failure "batch throughput run $run"
    fi
done

# Step 7: the report.
revision=$(git rev-parse --short HEAD 2>/dev/null || echo "no commit")
if [[ -n $(git status --porcelain 2>/dev/null) ]]; then revision="$revision (with uncommitted changes)"; fi
cpu=$(grep -m1 'model name' /proc/cpuinfo 2>/dev/null | cut -d: -f2- | sed 's/^ *//' || true)
memory=$(awk '/MemTotal/ {printf "%.1f GiB", $2 / 1048576}' /proc/meminfo 2>/dev/null || true)
knobs=""
for knob in BENCH_SPAWNS BENCH_COUNT BENCH_WARMUP BENCH_PY_SPAWNS BENCH_PY_COUNT BENCH_E2E_COUNT \
    BENCH_TIME_SCALE BENCH_BATCH_RUNS BENCH_BATCH_REQUESTS BENCH_BATCH_POLICIES BENCH_CPU_SHARE; do
    if [[ -n ${!knob:-} ]]; then knobs+="$knob=$(printf '%q' "${!knob}") "; fi
done
printf '%s\n' "${commands[@]}" >"$results/commands.txt"
BENCH_RUN_REVISION=$revision \
    BENCH_RUN_MACHINE="$(nproc) CPUs, ${cpu:-unknown CPU}, ${memory:-unknown memory}, $(uname -sr)" \
    BENCH_RUN_LOAD="$(cut -d' ' -f1-3 /proc/loadavg)" \
    BENCH_RUN_RUSTC="$(rustc --version 2>/dev/null || echo unknown)" \
    BENCH_RUN_PYTHON="$("$bench_venv/bin/python3" --version 2>&1), awslambdaric $("$bench_venv/bin/python3" -c 'import importlib.metadata as m; print(m.version("awslambdaric"))'), boto3 $("$bench_venv/bin/python3" -c 'import importlib.metadata as m; print(m.version("boto3"))')" \
    BENCH_RUN_COMMAND="${knobs}${BENCH_COMMAND:-make bench}" \
    BENCH_RUN_STARTED="$(date -u -d "@$started_at" '+%Y-%m-%d %H:%M UTC')" \
    BENCH_RUN_WALL=$(($(date +%s) - started_at)) BENCH_RUN_BUILD=$build_seconds \
    BENCH_RUN_CPU="$cpu_method${throttled:+ (cgroup cpu.stat after the runs: $throttled)}" \
    BENCH_RUN_PROFILE=$profile BENCH_RUN_BATCH_REQUESTS=$batch_requests \
    python3 - "$results/run.json" <<'PY'
import json, os, sys
env = os.environ
json.dump({
    "revision": env["BENCH_RUN_REVISION"], "machine": env["BENCH_RUN_MACHINE"],
    "loadAverage": env["BENCH_RUN_LOAD"], "rustc": env["BENCH_RUN_RUSTC"],
    "python": env["BENCH_RUN_PYTHON"], "command": env["BENCH_RUN_COMMAND"],
    "started": env["BENCH_RUN_STARTED"], "wallSeconds": int(env["BENCH_RUN_WALL"]),
    "buildSeconds": int(env["BENCH_RUN_BUILD"]), "cpuShare": env["BENCH_RUN_CPU"],
    "profile": env["BENCH_RUN_PROFILE"],
    "batchRequests": int(env["BENCH_RUN_BATCH_REQUESTS"]),
}, open(sys.argv[1], "w"), indent=1)
PY
mkdir -p "$(dirname "$out")"
status=0
python3 devtools/bench/render.py --results "$results" --thresholds devtools/bench/thresholds.toml \
    --out "$out" $( ((check_limits)) || echo --report-only) || status=$?
echo "bench: wrote $out" >&2
if ((${#failures[@]})); then
    echo "bench: ${#failures[@]} measurement(s) failed:" >&2
    printf '  %s\n' "${failures[@]}" >&2
    exit 1
fi
exit "$status"
