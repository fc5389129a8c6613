#!/usr/bin/env bash
# Benchmarks the three Lambda functions the way Lambda runs them, and writes BENCHMARKS.md.
#
# Builds the workspace in release mode, starts bedrock-emulator on a free loopback port,
# then uses lambda-runner to measure, for each function: init time (spawn until the first
# GET /next), warm round trips with identical events (cache hit) and with one field varied
# per event (cache miss), and peak RSS. Every figure comes with the same measurement of
# echo-function, the runtime's own floor, taken in the same run.
#
# Knobs (environment):
#   BENCH_SPAWNS=20 BENCH_COUNT=1000 BENCH_WARMUP=20   sample sizes
#   BENCH_FUNCTIONS="generate-recipe embed-text batch-dispatcher"
#   BENCH_EVENT_<FUNCTION>, BENCH_VARY_<FUNCTION>   event file and space-separated JSON
#                                                   pointers to vary (FUNCTION upper-cased,
#                                                   '-' as '_', e.g. BENCH_VARY_EMBED_TEXT)
#   BENCH_ENV="K=V ..." and BENCH_ENV_<FUNCTION>="K=V ..."   extra function variables
#   BENCH_OUT=BENCHMARKS.md   BENCH_SKIP_BUILD=1 (reuse the existing release build)
# Every process this script starts is stopped when it exits, however it exits.
set -euo pipefail

cd "$(dirname "${BASH_SOURCE[0]}")/../.."

spawns=${BENCH_SPAWNS:-20}
count=${BENCH_COUNT:-1000}
warmup=${BENCH_WARMUP:-20}
functions=${BENCH_FUNCTIONS:-generate-recipe embed-text batch-dispatcher}
out=${BENCH_OUT:-BENCHMARKS.md}
release="${CARGO_TARGET_DIR:-target}/release"

default_event() {
    case $1 in
        generate-recipe) echo events/apigw-post-recipes-keto.json ;;
        embed-text) echo events/apigw-post-embeddings.json ;;
        batch-dispatcher) echo events/sqs-batch.json ;;
        *) echo "" ;;
    esac
}

default_vary() {
    case $1 in
        generate-recipe) echo /body/profile/budget ;;
        embed-text) echo /body/texts/0 ;;
        batch-dispatcher) echo "/Records/0/body/requestId /Records/0/body/request/profile/budget" ;;
        *) echo "" ;;
    esac
}

# The value of BENCH_<KIND>_<FUNCTION> if set, else $3.
setting() {
    local name="BENCH_$1_$(echo "$2" | tr 'a-z-' 'A-Z_')"
    if [[ -n ${!name+set} ]]; then echo "${!name}"; else echo "$3"; fi
}

work=$(mktemp -d)
emulator_pid=""
cleanup() {
    exec 9>&- 2>/dev/null || true
    if [[ -n $emulator_pid ]]; then
        kill "$emulator_pid" 2>/dev/null || true
        wait "$emulator_pid" 2>/dev/null || true
    fi
    rm -rf "$work"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

if [[ -z ${BENCH_SKIP_BUILD:-} ]]; then
    echo "bench: cargo build --release" >&2
    cargo build --release
fi
runner="$release/lambda-runner"
echo_function="$release/echo-function"
for binary in "$runner" "$echo_function" "$release/bedrock-emulator"; do
    [[ -x $binary ]] || { echo "bench: $binary is missing; build the workspace first" >&2; exit 1; }
done

# The emulator reads its stdin from a FIFO whose only writer is this shell: when the
# shell goes away, for whatever reason, the emulator sees end of file and stops.
mkfifo "$work/emulator.stdin"
"$release/bedrock-emulator" --port 0 --port-file "$work/emulator.port" --exit-on-stdin-close \
    <"$work/emulator.stdin" >"$work/emulator.log" 2>&1 &
emulator_pid=$!
exec 9>"$work/emulator.stdin"
for _ in $(seq 300); do
    [[ -s $work/emulator.port ]] && break
    kill -0 "$emulator_pid" 2>/dev/null || { cat "$work/emulator.log" >&2; exit 1; }
    sleep 0.1
done
[[ -s $work/emulator.port ]] || { echo "bench: bedrock-emulator did not start" >&2; exit 1; }
endpoint="http://127.0.0.1:$(cat "$work/emulator.port")"
echo "bench: bedrock-emulator at $endpoint" >&2

commands=()
failures=()
# Runs one lambda-runner command, appending its stdout to $1 and recording the command.
# A failed measurement is noted and the run goes on with the next one.
measure() {
    local table=$1
    shift
    local line
    line=$(printf '%q ' "$@")
    # Keep the machine's own paths and ports out of the committed report.
    line=${line//"$release"/target/release}
    line=${line//"$endpoint"/http://127.0.0.1:PORT}
    commands+=("${line% }")
    echo "bench: $*" >&2
    if ! "$@" >>"$table"; then
        failures+=("${line% }")
    fi
}

env_args() {
    local pair
    for pair in AWS_ENDPOINT_URL_BEDROCK_RUNTIME="$endpoint" ${BENCH_ENV:-} $(setting ENV "$1" ""); do
        printf -- '--env\n%s\n' "$pair"
    done
}

init_table="$work/init.md"
warm_table="$work/warm.md"
first_init=1
for function in $functions; do
    binary="$release/$function"
    mapfile -t envs < <(env_args "$function")
    header=()
    if [[ $first_init == 1 ]]; then header=(--header --print-baseline); first_init=0; fi
    measure "$init_table" "$runner" bench init --bin "$binary" --spawns "$spawns" \
        --baseline "$echo_function" "${envs[@]}" "${header[@]}"
done

first_warm=1
scenarios=""
for function in $functions; do
    binary="$release/$function"
    event=$(setting EVENT "$function" "$(default_event "$function")")
    read -r -a pointers <<<"$(setting VARY "$function" "$(default_vary "$function")")"
    vary_list=""
    for pointer in "${pointers[@]}"; do vary_list+="${vary_list:+, }\`$pointer\`"; done
    scenarios+="| $function | \`$event\` | ${vary_list:-none} |"$'\n'
    mapfile -t envs < <(env_args "$function")
    header=()
    if [[ $first_warm == 1 ]]; then header=(--header); first_warm=0; fi
    measure "$warm_table" "$runner" bench warm --bin "$binary" --event "$event" --count "$count" \
        --warmup "$warmup" --baseline "$echo_function" --print-baseline "${envs[@]}" "${header[@]}"
    vary_args=()
    for pointer in "${pointers[@]}"; do vary_args+=(--vary "$pointer"); done
    if ((${#vary_args[@]})); then
        measure "$warm_table" "$runner" bench warm --bin "$binary" --event "$event" --count "$count" \
            --warmup "$warmup" --baseline "$echo_function" "${vary_args[@]}" "${envs[@]}"
    fi
done

cpu=$(grep -m1 'model name' /proc/cpuinfo 2>/dev/null | cut -d: -f2- | sed 's/^ *//' || true)
memory=$(awk '/MemTotal/ {printf "%.1f GiB", $2 / 1048576}' /proc/meminfo 2>/dev/null || true)
revision=$(git rev-parse --short HEAD 2>/dev/null || echo "no commit")
if [[ -n $(git status --porcelain 2>/dev/null) ]]; then revision="$revision (with uncommitted changes)"; fi
knobs=""
for knob in BENCH_SPAWNS BENCH_COUNT BENCH_WARMUP BENCH_FUNCTIONS BENCH_ENV; do
    if [[ -n ${!knob:-} ]]; then knobs+="$knob=$(printf '%q' "${!knob}") "; fi
done

{
    cat <<EOF
# Benchmarks

Written by \`make bench\` (\`devtools/lambda-runner/bench.sh\`); rerun it to refresh every figure.

- Run: $(date -u '+%Y-%m-%d %H:%M UTC'), revision $revision
- Machine: $(nproc) CPUs, ${cpu:-unknown CPU}, ${memory:-unknown memory}, $(uname -sr)
- Toolchain: $(rustc --version 2>/dev/null || echo unknown), release profile (LTO, 1 codegen unit)
- Command: \`${knobs}make bench\`

## Method

\`lambda-runner\` plays the Lambda service on 127.0.0.1: it serves the Runtime API, spawns
each release binary with the \`AWS_LAMBDA_*\` environment Lambda sets, and points
\`AWS_ENDPOINT_URL_BEDROCK_RUNTIME\` at \`bedrock-emulator\` (no simulated latency), so model
calls cost only the local HTTP round trip and the figures show the functions' own work.

- **Init**: spawn until the function's first \`GET /runtime/invocation/next\`, over
  $spawns fresh processes (one unmeasured start first, so nothing pays for reading the binary
  from disk); peak RSS (VmHWM) right after init, largest of the spawns.
- **Warm round trip**: from the moment \`/next\` hands the event out to the moment the
  function posts its answer, one invocation at a time, after $warmup warm-up invocations.
  *Identical* events repeat the event file (a cache hit after the first); *varying* events
  change the named fields for every invocation (a cache miss each time). Peak RSS after the run.
- **Baseline**: \`echo-function\` (\`lambda_runtime\` + \`service_fn\` returning the event),
  measured in the same run with the same event; its spawns and invocations alternate with
  the function's, so load changes on the machine hit both alike. "vs baseline" divides the
  function's figure by the echo's: the floor set by the runtime and the Runtime API.
- A response with an HTTP status of 400 or more, a non-empty \`batchItemFailures\` or a
  Runtime API error counts as a failure; a row with failures measures error paths.

| function | event | vary (cache miss) |
|---|---|---|
$(printf '%s' "$scenarios")

## Init (cold start)

EOF
    if [[ -s $init_table ]]; then cat "$init_table"; else echo "No init measurement succeeded."; fi
    cat <<EOF

## Warm invocations

EOF
    if [[ -s $warm_table ]]; then cat "$warm_table"; else echo "No warm measurement succeeded."; fi
    echo
    if ((${#failures[@]})); then
        echo "## Failed measurements"
        echo
        for failure in "${failures[@]}"; do echo "- \`$failure\`"; done
        echo
    fi
    echo "## Commands"
    echo
    echo '```sh'
    printf '%s\n' "${commands[@]}"
    echo '```'
} >"$work/BENCHMARKS.md"
mkdir -p "$(dirname "$out")"
mv "$work/BENCHMARKS.md" "$out"
echo "bench: wrote $out" >&2
if ((${#failures[@]})); then
    echo "bench: ${#failures[@]} measurement(s) failed; see $out" >&2
    exit 1
fi
