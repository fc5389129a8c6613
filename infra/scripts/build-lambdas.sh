#!/usr/bin/env bash
# Cross-compiles the three Lambda functions for arm64 (Graviton) as bootstrap.zip archives and
# prints their sizes. Only the function binaries are built, not the workspace's dev tools.
set -euo pipefail

functions=(generate-recipe embed-text batch-dispatcher)

if ! cargo lambda --version >/dev/null 2>&1; then
    echo "cargo-lambda not found; install it with: pip install cargo-lambda" \
        "(or make install-lambda-tools)" >&2
    exit 2
fi

bins=()
for function in "${functions[@]}"; do bins+=(--bin "$function"); done
cargo lambda build --release --arm64 --output-format zip "${bins[@]}"

target_dir=${CARGO_TARGET_DIR:-target}
for function in "${functions[@]}"; do
    zip="$target_dir/lambda/$function/bootstrap.zip"
    if [[ ! -f "$zip" ]]; then
        echo "missing $zip" >&2
        exit 1
    fi
    printf '%-18s %8d bytes  %s\n' "$function" "$(stat -c %s "$zip")" "$zip"
done
