#!/usr/bin/env bash
# Runs one function locally under `cargo lambda watch` (the Lambda Runtime API emulator),
# invokes it once with an event file and stops the emulator again.
#   infra/scripts/invoke-local.sh [function] [event-file]
# Defaults: generate-recipe with events/apigw-post-recipes-keto.json. Point the function at the
# Bedrock emulator with AWS_ENDPOINT_URL_BEDROCK_RUNTIME=http://127.0.0.1:<port>, or at Bedrock
# itself with AWS credentials in the environment.
set -euo pipefail

function_name=${1:-generate-recipe}
event_file=${2:-events/apigw-post-recipes-keto.json}
port=${INVOKE_LOCAL_PORT:-9000}
startup_seconds=${INVOKE_LOCAL_STARTUP_SECONDS:-60}

if ! cargo lambda --version >/dev/null 2>&1; then
    echo "cargo-lambda not found; install it with: pip install cargo-lambda" >&2
    exit 2
fi
if [[ ! -f "$event_file" ]]; then
    echo "event file $event_file not found" >&2
    exit 2
fi

log=$(mktemp)
cargo lambda watch --invoke-address 127.0.0.1 --invoke-port "$port" >"$log" 2>&1 &
watch_pid=$!
cleanup() {
    kill "$watch_pid" 2>/dev/null || true
    wait "$watch_pid" 2>/dev/null || true
    rm -f "$log"
}
trap cleanup EXIT

for ((second = 0; second < startup_seconds; second++)); do
    if (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null; then
        break
    fi
    if ! kill -0 "$watch_pid" 2>/dev/null; then
        cat "$log" >&2
        echo "cargo lambda watch exited early" >&2
        exit 1
    fi
    sleep 1
done

cargo lambda invoke --invoke-address 127.0.0.1 --invoke-port "$port" \
    --data-file "$event_file" "$function_name"
echo
