#!/usr/bin/env bash
# Installs the infrastructure checkers at pinned versions, skipping any already present at that
# version. Pins keep rule behaviour stable in CI; override them through the environment.
set -euo pipefail

cfn_lint_version=${CFN_LINT_VERSION:-1.58.0}
cfn_lint_serverless_version=${CFN_LINT_SERVERLESS_VERSION:-0.3.6}
sam_cli_version=${SAM_CLI_VERSION:-1.170.0}
cfn_guard_version=${CFN_GUARD_VERSION:-3.2.1}

python=${PYTHON:-python3}
pip_installed_version() { "$python" -m pip show "$1" 2>/dev/null | awk '/^Version:/ {print $2}'; }

wanted=()
[[ "$(pip_installed_version cfn-lint)" == "$cfn_lint_version" ]] ||
    wanted+=("cfn-lint==$cfn_lint_version")
[[ "$(pip_installed_version cfn-lint-serverless)" == "$cfn_lint_serverless_version" ]] ||
    wanted+=("cfn-lint-serverless==$cfn_lint_serverless_version")
[[ "$(pip_installed_version aws-sam-cli)" == "$sam_cli_version" ]] ||
    wanted+=("aws-sam-cli==$sam_cli_version")
if ((${#wanted[@]})); then
    echo "pip install ${wanted[*]}"
    "$python" -m pip install --quiet "${wanted[@]}"
else
    echo "cfn-lint, cfn-lint-serverless and aws-sam-cli already at the pinned versions"
fi

if command -v cfn-guard >/dev/null &&
    [[ "$(cfn-guard --version | awk '{print $2}')" == "$cfn_guard_version" ]]; then
    echo "cfn-guard $cfn_guard_version already installed"
else
    echo "cargo install cfn-guard --version $cfn_guard_version --locked (a few minutes)"
    cargo install cfn-guard --version "$cfn_guard_version" --locked
fi
