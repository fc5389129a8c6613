#!/usr/bin/env bash
# `make invoke-local`: the functions under `cargo lambda watch` (cargo-lambda's Lambda Runtime
# API emulator), offline. Starts the project's Bedrock emulator and moto (DynamoDB and SQS for
# batch-dispatcher), creates the table and queue, points the functions at them, invokes each
# event of events/ with `cargo lambda invoke` on the function listed for it in
# devtools/invoke-local/events.tsv, prints the answers and stops everything it started.
#   infra/scripts/invoke-local.sh                      every event of events.tsv
#   infra/scripts/invoke-local.sh FUNCTION EVENT-FILE  one event
# Logs of the run stay in $INVOKE_LOCAL_DIR (default target/invoke-local): watch.log (the
# functions' own JSON logs), emulator.log, moto.log, and one answer file per event.
# Exit status: 0 when every event was answered, 1 otherwise, 77 when cargo-lambda is missing
# and cannot be installed (tests treat that as a skip).
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/../.."

venv=${TOOLS_VENV:-.tools/venv}
port=${INVOKE_LOCAL_PORT:-}
startup_seconds=${INVOKE_LOCAL_STARTUP_SECONDS:-120}
# The first invocation of each function waits for cargo to build it.
invoke_seconds=${INVOKE_LOCAL_TIMEOUT_SECONDS:-900}
dir=${INVOKE_LOCAL_DIR:-target/invoke-local}
events_table=devtools/invoke-local/events.tsv

fail() { echo "invoke-local: $*" >&2; exit 1; }

# cargo-lambda: the project venv's copy, installed on first use from PyPI (`cargo-lambda`).
export PATH="$PWD/$venv/bin:$PATH"
if ! cargo lambda --version >/dev/null 2>&1; then
    echo "invoke-local: installing cargo-lambda into $venv (first use)" >&2
    if [[ ! -x $venv/bin/python3 ]] || ! "$venv/bin/python3" -m pip install --quiet \
        --disable-pip-version-check cargo-lambda >&2 || ! cargo lambda --version >/dev/null 2>&1; then
        echo "invoke-local: cargo-lambda is not installed and could not be installed with pip" \
            "(run 'make tools' first, and check access to PyPI)" >&2
        exit 77
    fi
fi
if ! "${venv}/bin/python3" -c 'import moto.server' 2>/dev/null; then
    fail "moto is missing from $venv; run 'make tools' (make invoke-local does it first)"
fi

# What to invoke: "event-file function" pairs.
pairs=()
if [[ $# -ge 2 ]]; then
    [[ -f $2 ]] || fail "event file $2 not found"
    pairs+=("$2 $1")
elif [[ $# -eq 1 ]]; then
    fail "give both a function and an event file, or neither"
else
    while IFS=$'\t' read -r event function; do
        [[ -z $event || $event == \#* ]] && continue
        [[ -f events/$event ]] || fail "$events_table lists events/$event, which does not exist"
        pairs+=("events/$event $function")
    done <"$events_table"
fi

rm -rf "$dir"
mkdir -p "$dir"
dir=$(cd "$dir" && pwd)
pids=()
cleanup() {
    exec 9>&- 2>/dev/null || true
    # Each background job runs in its own process group (set -m below): stopping the group
    # also stops what cargo lambda watch started (cargo, the function processes).
    for pid in "${pids[@]}"; do kill -TERM -- "-$pid" 2>/dev/null || kill "$pid" 2>/dev/null || true; done
    for pid in "${pids[@]}"; do wait "$pid" 2>/dev/null || true; done
}
trap cleanup EXIT
trap 'exit 130' INT TERM
set -m

free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1]); s.close()'; }
wait_for_file() {
    for _ in $(seq 1 "$((startup_seconds * 10))"); do [[ -s $1 ]] && return 0; sleep 0.1; done
    fail "$2 did not start within ${startup_seconds}s; see $3"
}
wait_for_port() {
    for _ in $(seq 1 "$startup_seconds"); do
        (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null && return 0
        kill -0 "$2" 2>/dev/null || fail "$3 exited early; see $4"
        sleep 1
    done
    fail "$3 did not listen on 127.0.0.1:$1 within ${startup_seconds}s; see $4"
}

echo "invoke-local: building the Bedrock emulator" >&2
cargo build --quiet -p bedrock-emulator
bin_dir="$(cd "${CARGO_TARGET_DIR:-target}" && pwd)/debug"

# Bedrock emulator; its stdin is a FIFO held by this shell so it stops with us.
mkfifo "$dir/emulator.stdin"
"$bin_dir/bedrock-emulator" --port 0 --port-file "$dir/emulator.port" --exit-on-stdin-close \
    <"$dir/emulator.stdin" >"$dir/emulator.log" 2>&1 &
pids+=($!)
exec 9>"$dir/emulator.stdin"
wait_for_file "$dir/emulator.port" bedrock-emulator "$dir/emulator.log"
bedrock="http://127.0.0.1:$(cat "$dir/emulator.port")"

moto_port=$(free_port)
"$venv/bin/python3" -m moto.server -H 127.0.0.1 -p "$moto_port" >"$dir/moto.log" 2>&1 &
pids+=($!)
wait_for_port "$moto_port" "${pids[-1]}" moto "$dir/moto.log"
moto="http://127.0.0.1:$moto_port"

export AWS_REGION=us-east-1 AWS_DEFAULT_REGION=us-east-1 AWS_ACCESS_KEY_ID=test AWS_SECRET_ACCESS_KEY=test
export AWS_EC2_METADATA_DISABLED=true
python3 devtools/demo_resources.py "$moto" >"$dir/resources.env" || fail "could not create the table and queue on moto; see $dir/moto.log"
# shellcheck disable=SC1091
source "$dir/resources.env"

# The functions inherit these through cargo lambda watch.
export AWS_ENDPOINT_URL_BEDROCK_RUNTIME=$bedrock AWS_ENDPOINT_URL_DYNAMODB=$moto AWS_ENDPOINT_URL_SQS=$moto
export RESULTS_TABLE JOBS_QUEUE_URL RUST_LOG=${RUST_LOG:-info}

port=${port:-$(free_port)}
echo "invoke-local: cargo lambda watch on 127.0.0.1:$port (logs: $dir/watch.log)" >&2
cargo lambda watch --invoke-address 127.0.0.1 --invoke-port "$port" --ignore-changes \
    >"$dir/watch.log" 2>&1 &
pids+=($!)
wait_for_port "$port" "${pids[-1]}" "cargo lambda watch" "$dir/watch.log"

failures=0
for pair in "${pairs[@]}"; do
    event=${pair% *}
    function=${pair##* }
    answer="$dir/$(basename "$event" .json).answer.json"
    echo
    echo "== $function <- $event =="
    status=0
    timeout "$invoke_seconds" cargo lambda invoke --invoke-address 127.0.0.1 --invoke-port "$port" \
        --output-format json --data-file "$event" "$function" >"$answer" 2>"$answer.stderr" || status=$?
    if [[ $status -eq 124 ]]; then
        echo "invoke-local: no answer from $function within ${invoke_seconds}s" \
            "(INVOKE_LOCAL_TIMEOUT_SECONDS); see $dir/watch.log" >&2
        failures=$((failures + 1))
        continue
    elif [[ $status -ne 0 ]]; then
        cat "$answer.stderr" >&2
        echo "invoke-local: cargo lambda invoke failed for $function ($status); see $dir/watch.log" >&2
        failures=$((failures + 1))
        continue
    fi
    python3 devtools/invoke-local/show_answer.py "$answer"
done

echo
echo "invoke-local: logs kept in $dir (watch.log holds the functions' JSON log lines)"
if [[ $failures -gt 0 ]]; then
    echo "invoke-local: $failures of ${#pairs[@]} invocations got no answer" >&2
    exit 1
fi
