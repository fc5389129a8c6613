#!/usr/bin/env bash
# Builds the functions with SAM (cargo-lambda under the hood) and deploys the stack.
# The first deploy is guided and saves its answers to infra/samconfig.toml; later deploys reuse
# that file. Run from the repository root (make deploy does).
set -euo pipefail

template=infra/template.yaml
build_dir=infra/.aws-sam/build
config=$PWD/infra/samconfig.toml
index_meta=shared/data/nutrition-index.meta.json

if ! command -v sam >/dev/null; then
    echo "sam not found; install it with: pip install aws-sam-cli (or make install-infra-tools)" >&2
    exit 2
fi
if ! cargo lambda --version >/dev/null 2>&1; then
    echo "cargo-lambda not found (sam build needs it); install it with: pip install cargo-lambda" >&2
    exit 2
fi

# An index embedded by the local Bedrock emulator has vectors the real Titan model would never
# produce; deploying it would make nutrition retrieval silently wrong.
if [[ -f "$index_meta" ]]; then
    source=$(python3 -c 'import json, sys; print(json.load(open(sys.argv[1])).get("source", ""))' \
        "$index_meta")
    if [[ "$source" == "emulator" ]]; then
        echo "refusing to deploy: $index_meta says the nutrition index was built with the" \
            "emulator. Rebuild it against Bedrock first: make index BEDROCK=aws" >&2
        exit 1
    fi
fi

export SAM_CLI_TELEMETRY=${SAM_CLI_TELEMETRY:-0}

sam build --template "$template" --build-dir "$build_dir"

if [[ -f "$config" ]]; then
    sam deploy --template-file "$build_dir/template.yaml" --config-file "$config" "$@"
else
    echo "no infra/samconfig.toml yet: starting a guided deploy that will save one" \
        "(see infra/samconfig.example.toml)"
    sam deploy --guided --template-file "$build_dir/template.yaml" --config-file "$config" \
        --capabilities CAPABILITY_IAM "$@"
fi
