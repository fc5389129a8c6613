#!/usr/bin/env bash
# Runs the nutrition-index builder against a local Bedrock emulator that lives only as long
# as this script: the emulator reads its standard input from this script and stops when
# that closes (on exit, whatever the exit status). Arguments go to the builder.
set -euo pipefail
cd "$(dirname "$0")/../.."

bin_dir="${CARGO_TARGET_DIR:-target}/debug"
cargo build --quiet -p bedrock-emulator -p nutrition-index

work="$(mktemp -d)"
cleanup() {
    exec 3>&- || true
    rm -rf "$work"
}
trap cleanup EXIT

exec 3> >("$bin_dir/bedrock-emulator" --port 0 --port-file "$work/port" --exit-on-stdin-close \
    >"$work/emulator.log" 2>&1)
for _ in $(seq 1 100); do
    [ -s "$work/port" ] && break
    sleep 0.1
done
if [ ! -s "$work/port" ]; then
    echo "the Bedrock emulator did not start:" >&2
    cat "$work/emulator.log" >&2
    exit 1
fi

env -u AWS_SESSION_TOKEN -u AWS_PROFILE \
    AWS_ENDPOINT_URL_BEDROCK_RUNTIME="http://127.0.0.1:$(cat "$work/port")" \
    AWS_REGION="${AWS_REGION:-us-east-1}" \
    AWS_ACCESS_KEY_ID=emulator AWS_SECRET_ACCESS_KEY=emulator \
    "$bin_dir/nutrition-index" --source emulator "$@"
