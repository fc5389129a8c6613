#!/usr/bin/env bash
# The playground with everything it needs: builds the functions and the front, starts moto
# (DynamoDB and SQS for async recipes and batches) from the project-local tools, creates the
# results table and the jobs queue, then runs the front (which starts the Bedrock emulator
# in-process and the functions under the Lambda runner).
#
#   play.sh serve            serve on 127.0.0.1:$PLAY_PORT (default 8080) until Ctrl-C
#   play.sh run CMD...       serve on a free port, run CMD with PLAY_URL set (and `{PLAY_URL}`
#                            in its arguments replaced by it), then stop
#
# Every process it starts is stopped when it exits.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/../.."

mode=${1:-serve}
shift || true
profile=${PLAY_PROFILE:-debug}
target_dir=${CARGO_TARGET_DIR:-target}
work=$(mktemp -d)
pids=()
cleanup() {
    exec 9>&- 2>/dev/null || true
    for pid in "${pids[@]}"; do kill "$pid" 2>/dev/null || true; wait "$pid" 2>/dev/null || true; done
    rm -rf "$work"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

build_args=(-p playground -p generate-recipe -p embed-text -p batch-dispatcher)
if [[ $profile == release ]]; then cargo build --release "${build_args[@]}"; else cargo build "${build_args[@]}"; fi
mkdir -p "$target_dir"
bin="$(cd "$target_dir" && pwd)/$profile"

# shellcheck source=devtools/local-servers.sh
source devtools/local-servers.sh

if ! python3 -c 'import moto.server' 2>/dev/null; then
    echo "play: moto is missing; run this through make (make play installs .tools/ on first use)" >&2
    exit 1
fi
start_moto python3 play

export AWS_REGION=us-east-1 AWS_DEFAULT_REGION=us-east-1 AWS_ACCESS_KEY_ID=test AWS_SECRET_ACCESS_KEY=test
export AWS_EC2_METADATA_DISABLED=true
python3 devtools/demo_resources.py "$moto" >"$work/resources.env"
# shellcheck disable=SC1091
source "$work/resources.env"

front_args=(--bin-dir "$bin"
    --env "AWS_ENDPOINT_URL_DYNAMODB=$moto" --env "AWS_ENDPOINT_URL_SQS=$moto"
    --env "AWS_ENDPOINT_URL_CLOUDWATCH=$moto"
    --env "RESULTS_TABLE=$RESULTS_TABLE" --env "JOBS_QUEUE_URL=$JOBS_QUEUE_URL"
    --env "RUST_LOG=${PLAY_FUNCTION_LOG:-warn}"
    --function-output "${PLAY_FUNCTION_OUTPUT:-quiet}")

case $mode in
serve)
    RUST_LOG=${RUST_LOG:-info} "$bin/playground" --port "${PLAY_PORT:-8080}" "${front_args[@]}"
    ;;
run)
    # The front's stdin is a FIFO held by this shell, so it stops with us whatever happens;
    # --lifetime-secs bounds it in any case.
    mkfifo "$work/front.stdin"
    RUST_LOG=${RUST_LOG:-warn} "$bin/playground" --port 0 --port-file "$work/front.port" \
        --exit-on-stdin-close --lifetime-secs "${PLAY_LIFETIME_SECS:-1800}" "${front_args[@]}" \
        <"$work/front.stdin" >"$work/front.log" 2>&1 &
    pids+=($!)
    exec 9>"$work/front.stdin"
    for _ in $(seq 1 300); do [[ -s $work/front.port ]] && break; sleep 0.1; done
    if [[ ! -s $work/front.port ]]; then
        echo "play: the front did not start" >&2
        cat "$work/front.log" >&2
        exit 1
    fi
    export PLAY_URL="http://127.0.0.1:$(cat "$work/front.port")"
    echo "play: front at $PLAY_URL"
    command=("${@//\{PLAY_URL\}/$PLAY_URL}")
    status=0
    "${command[@]}" || status=$?
    if [[ $status -ne 0 ]]; then
        echo "play: '$*' failed ($status); last lines of the front's log:" >&2
        tail -n 40 "$work/front.log" >&2
    fi
    exit $status
    ;;
*)
    echo "usage: play.sh serve | play.sh run CMD..." >&2
    exit 2
    ;;
esac
