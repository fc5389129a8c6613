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

# shellcheck source=devtools/local-servers.sh
source devtools/local-servers.sh
wait_for() { for _ in $(seq 1 100); do [[ -s $1 ]] && return 0; sleep 0.1; done; echo "demo: $2 did not start" >&2; exit 1; }

# Bedrock emulator; its stdin is a FIFO held by this shell so it stops with us.
mkfifo "$work/emulator.stdin"
# Realistic model latency (docs/latency.md), time-scaled so the demo takes seconds: a Sonnet
# recipe's ~20 s of modelled time passes in about 1 s at the default 20x.
time_scale=${DEMO_TIME_SCALE:-20}
"$bin/bedrock-emulator" --port 0 --port-file "$work/emulator.port" --exit-on-stdin-close \
    --latency realistic --time-scale "$time_scale" \
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
start_moto python3 demo

export AWS_REGION=us-east-1 AWS_DEFAULT_REGION=us-east-1 AWS_ACCESS_KEY_ID=test AWS_SECRET_ACCESS_KEY=test
export AWS_EC2_METADATA_DISABLED=true
python3 devtools/demo_resources.py "$moto" >"$work/resources.env"
# shellcheck disable=SC1091
source "$work/resources.env"

common=(--env "AWS_ENDPOINT_URL_BEDROCK_RUNTIME=$bedrock" --env "AWS_ENDPOINT_URL_DYNAMODB=$moto"
        --env "AWS_ENDPOINT_URL_SQS=$moto" --env "RESULTS_TABLE=$RESULTS_TABLE" --env "JOBS_QUEUE_URL=$JOBS_QUEUE_URL"
        --env "RUST_LOG=warn" --env "MODEL_TIME_SCALE=$time_scale")
show_http() { python3 -c 'import json,sys; r=json.load(sys.stdin); print("HTTP", r["statusCode"]); print(json.dumps(json.loads(r["body"]), ensure_ascii=False, indent=2))'; }

echo; echo "== generate-recipe: POST /recipes (events/apigw-post-recipes-keto.json) =="
"$bin/lambda-runner" invoke --bin "$bin/generate-recipe" --event events/apigw-post-recipes-keto.json "${common[@]}" | show_http

echo; echo "== generate-recipe: POST /recipes with \"mode\": \"async\" (events/apigw-post-recipes-async.json) =="
"$bin/lambda-runner" invoke --bin "$bin/generate-recipe" --event events/apigw-post-recipes-async.json "${common[@]}" >"$work/async.json"
show_http <"$work/async.json"
request_id=$(python3 -c 'import json,sys; print(json.loads(json.load(sys.stdin)["body"])["requestId"])' <"$work/async.json")
echo "-- batch-dispatcher runs the queued request (the SQS event the event source mapping delivers)"
python3 devtools/demo_resources.py "$moto" --sqs-event "$JOBS_QUEUE_URL" >"$work/async-sqs.json"
"$bin/lambda-runner" invoke --bin "$bin/batch-dispatcher" --event "$work/async-sqs.json" "${common[@]}"
echo "-- GET /recipes/$request_id (status and the verified recipe's name, meta)"
sed "s/REQUEST_ID/$request_id/g" events/apigw-get-recipe.json >"$work/get-recipe.json"
"$bin/lambda-runner" invoke --bin "$bin/generate-recipe" --event "$work/get-recipe.json" "${common[@]}" |
    python3 -c 'import json,sys; r=json.load(sys.stdin); b=json.loads(r["body"]); res=b.get("result") or {}; print("HTTP", r["statusCode"], b["status"], (res.get("recipe") or {}).get("recipeName", ""), json.dumps(res.get("meta", b.get("error")), ensure_ascii=False))'

echo; echo "== generate-recipe: function URL stream (events/function-url-post-recipes-keto.json), Sonnet profile at ${time_scale}x speed =="
"$bin/lambda-runner" invoke --bin "$bin/generate-recipe" --event events/function-url-post-recipes-keto.json "${common[@]}" |
    python3 -c '
import json, sys
answer = json.load(sys.stdin)
print("HTTP", answer["statusCode"], answer["headers"].get("content-type", ""), "(%d chunks)" % len(answer["streamed"]["arrivals"]))
for block in answer["body"].split("\n\n"):
    lines = dict(line.split(": ", 1) for line in block.splitlines() if ": " in line)
    if not lines: continue
    data = json.loads(lines.get("data", "{}"))
    if lines.get("event") == "recipe":
        data = {"recipeName": data["recipe"]["recipeName"], "checks": "%d passed" % len(data["checks"]), "meta": data["meta"]}
    print("event:", lines.get("event"), json.dumps(data, ensure_ascii=False)[:300])'

echo; echo "== embed-text: direct invocation (events/direct-embeddings.json), vectors summarised =="
"$bin/lambda-runner" invoke --bin "$bin/embed-text" --event events/direct-embeddings.json "${common[@]}" |
    python3 -c 'import json,sys,math; r=json.load(sys.stdin); r["embeddings"]=["%d values, %d non-zero, norm %.3f, first non-zero %s" % (len(v), sum(1 for x in v if x), math.sqrt(sum(x*x for x in v)), [round(x,4) for x in v if x][:3]) for v in r["embeddings"]]; print(json.dumps(r, indent=2))'

echo; echo "== batch-dispatcher: SQS event (events/sqs-batch.json) =="
"$bin/lambda-runner" invoke --bin "$bin/batch-dispatcher" --event events/sqs-batch.json "${common[@]}"
echo "stored outcomes in $RESULTS_TABLE:"
python3 devtools/demo_resources.py "$moto" --show "$RESULTS_TABLE"

echo; echo "== warm-up (events/scheduled-warmup.json) =="
"$bin/lambda-runner" invoke --bin "$bin/generate-recipe" --event events/scheduled-warmup.json "${common[@]}"
