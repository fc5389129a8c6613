#!/usr/bin/env bash
# `make demo`: the three functions driven through the Lambda Runtime API (the project's own
# lambda-runner plays the Lambda service) against the local Bedrock emulator, and moto for
# DynamoDB/SQS. Prints a Korean keto recipe, one embedding call and one SQS batch event.
# Needs no AWS account; every process it starts is stopped when it exits.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

profile=${DEMO_PROFILE:-debug}
mkdir -p "${CARGO_TARGET_DIR:-target}"
bin="$(cd "${CARGO_TARGET_DIR:-target}" && pwd)/$profile"
work=$(mktemp -d)
pids=()
cleanup() {
    exec 9>&- || true
    for pid in "${pids[@]}"; do kill "$pid" 2>/dev/null || true; wait "$pid" 2>/dev/null || true; done
    rm -rf "$work"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

if [[ $profile == release ]]; then cargo build --release --bins; else cargo build --bins; fi

free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1]); s.close()'; }
wait_for() { for _ in $(seq 1 100); do [[ -s $1 ]] && return 0; sleep 0.1; done; echo "demo: $2 did not start" >&2; exit 1; }

# Bedrock emulator; its stdin is a FIFO held by this shell so it stops with us.
mkfifo "$work/emulator.stdin"
"$bin/bedrock-emulator" --port 0 --port-file "$work/emulator.port" --exit-on-stdin-close \
    <"$work/emulator.stdin" >"$work/emulator.log" 2>&1 &
pids+=($!)
exec 9>"$work/emulator.stdin"
wait_for "$work/emulator.port" bedrock-emulator
bedrock="http://127.0.0.1:$(cat "$work/emulator.port")"

# moto for DynamoDB and SQS, from the project-local tools (`make demo` installs them first).
if ! python3 -c 'import moto.server' 2>/dev/null; then
    echo "demo: moto is missing; run it as 'make demo' (installs .tools/ on first use)" >&2
    exit 1
fi
moto_port=$(free_port)
python3 -m moto.server -H 127.0.0.1 -p "$moto_port" >"$work/moto.log" 2>&1 &
pids+=($!)
moto="http://127.0.0.1:$moto_port"
python3 - "$moto" <<'PY' || { echo "demo: moto did not start" >&2; exit 1; }
import sys, time, urllib.request
for _ in range(100):
    try:
        urllib.request.urlopen(sys.argv[1] + "/moto-api/", timeout=1)
        sys.exit(0)
    except Exception:
        time.sleep(0.2)
sys.exit(1)
PY

export AWS_REGION=us-east-1 AWS_DEFAULT_REGION=us-east-1 AWS_ACCESS_KEY_ID=test AWS_SECRET_ACCESS_KEY=test
export AWS_EC2_METADATA_DISABLED=true
python3 devtools/demo_resources.py "$moto" >"$work/resources.env"
# shellcheck disable=SC1091
source "$work/resources.env"

common=(--env "AWS_ENDPOINT_URL_BEDROCK_RUNTIME=$bedrock" --env "AWS_ENDPOINT_URL_DYNAMODB=$moto"
        --env "AWS_ENDPOINT_URL_SQS=$moto" --env "RESULTS_TABLE=$RESULTS_TABLE" --env "JOBS_QUEUE_URL=$JOBS_QUEUE_URL"
        --env "RUST_LOG=warn")
show_http() { python3 -c 'import json,sys; r=json.load(sys.stdin); print("HTTP", r["statusCode"]); print(json.dumps(json.loads(r["body"]), ensure_ascii=False, indent=2))'; }

echo; echo "== generate-recipe: POST /recipes (events/apigw-post-recipes-keto.json) =="
"$bin/lambda-runner" invoke --bin "$bin/generate-recipe" --event events/apigw-post-recipes-keto.json "${common[@]}" | show_http

echo; echo "== embed-text: direct invocation (events/direct-embeddings.json), vectors summarised =="
"$bin/lambda-runner" invoke --bin "$bin/embed-text" --event events/direct-embeddings.json "${common[@]}" |
    python3 -c 'import json,sys,math; r=json.load(sys.stdin); r["embeddings"]=["%d values, %d non-zero, norm %.3f, first non-zero %s" % (len(v), sum(1 for x in v if x), math.sqrt(sum(x*x for x in v)), [round(x,4) for x in v if x][:3]) for v in r["embeddings"]]; print(json.dumps(r, indent=2))'

echo; echo "== batch-dispatcher: SQS event (events/sqs-batch.json) =="
"$bin/lambda-runner" invoke --bin "$bin/batch-dispatcher" --event events/sqs-batch.json "${common[@]}"
echo "stored outcomes in $RESULTS_TABLE:"
python3 devtools/demo_resources.py "$moto" --show "$RESULTS_TABLE"

echo; echo "== warm-up (events/scheduled-warmup.json) =="
"$bin/lambda-runner" invoke --bin "$bin/generate-recipe" --event events/scheduled-warmup.json "${common[@]}"
