#!/usr/bin/env bash
# Builds the functions with SAM (cargo-lambda under the hood) and deploys the stack, without
# questions: `make deploy` after `make index BEDROCK=aws`. Run from the repository root.
#
# Settings come from infra/samconfig.toml; the first run copies infra/samconfig.example.toml
# there (git-ignored), so edit that copy for the stack name, Region and parameters. Extra
# arguments go to `sam deploy` (e.g. --parameter-overrides AlarmTopicArn=arn:aws:sns:...).
set -euo pipefail

template=infra/template.yaml
build_dir=infra/.aws-sam/build
config=$PWD/infra/samconfig.toml
example=infra/samconfig.example.toml
index_meta=shared/data/nutrition-index.meta.json
# Source Regions of the us. cross-Region inference profiles the template defaults to; the
# template's UsRegionForUsInferenceProfiles rule refuses any other Region as well.
supported_regions=(us-east-1 us-east-2 us-west-2)

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

if [[ ! -f "$config" ]]; then
    cp "$example" "$config"
    echo "deploy: created infra/samconfig.toml from $example; edit it to change the stack name," \
        "Region or parameters"
fi

# The Region sam deploy will use: the config's, else the SDK environment's.
region=$(python3 - "$config" <<'PY'
import os, sys, tomllib
with open(sys.argv[1], "rb") as handle:
    config = tomllib.load(handle)
deploy = config.get("default", {}).get("deploy", {}).get("parameters", {})
print(deploy.get("region") or os.environ.get("AWS_REGION") or os.environ.get("AWS_DEFAULT_REGION") or "")
PY
)
if [[ -z "$region" ]]; then
    echo "deploy: no Region; set region in infra/samconfig.toml (one of ${supported_regions[*]})" >&2
    exit 2
fi
if [[ " ${supported_regions[*]} " != *" $region "* ]]; then
    echo "deploy: Region $region cannot call the us. inference profiles of Claude;" \
        "use one of ${supported_regions[*]} (region in infra/samconfig.toml)" >&2
    exit 2
fi

if ! command -v sam >/dev/null; then
    echo "sam not found; install it with: make tools" >&2
    exit 2
fi
if ! cargo lambda --version >/dev/null 2>&1; then
    echo "cargo-lambda not found (sam build needs it); install it with: make install-lambda-tools" >&2
    exit 2
fi

export SAM_CLI_TELEMETRY=${SAM_CLI_TELEMETRY:-0}

# --config-file: without it sam build reads samconfig.toml from the current directory, never
# the build section of infra/samconfig.toml. --no-cached: with CodeUri at the repository root,
# SAM's build cache hashes every file under it (target/ holds gigabytes) for each function,
# and the cargo-lambda build it then runs changes target/, so that hash never matches twice;
# cargo's incremental build in target/ is the cache that works.
sam build --config-file "$config" --no-cached --template "$template" --build-dir "$build_dir"

echo "deploy: stack to $region"
sam deploy --config-file "$config" --template-file "$build_dir/template.yaml" --region "$region" \
    --no-fail-on-empty-changeset "$@"
