#!/usr/bin/env bash
# Static checks of infra/template.yaml; needs no AWS credentials and no network.
#   1. cfn-lint with the serverless rules (cfn-lint-serverless)
#   2. sam validate --lint (the SAM transform plus cfn-lint, offline)
#   3. cfn-guard: every rule in infra/rules passes on the template as written and as deployed
#      (expanded offline by aws-sam-translator, infra/scripts/sam_transform.py)
#   4. the guard rules fail, rule by rule, on infra/tests/bad-template.yaml
#   5. each risky edit of the real template (open route, public URL, "*" principals,
#      AdministratorAccess, wildcard Bedrock grants, no Region rule) fails the named rule
# Run from the repository root (make check-infra does).
set -euo pipefail

template=infra/template.yaml
region=${INFRA_LINT_REGION:-us-east-1}

missing=()
command -v cfn-lint >/dev/null || missing+=("cfn-lint (pip install cfn-lint cfn-lint-serverless)")
python3 -c 'import cfn_lint_serverless' 2>/dev/null ||
    missing+=("cfn-lint-serverless (pip install cfn-lint-serverless)")
command -v sam >/dev/null || missing+=("sam (pip install aws-sam-cli)")
python3 -c 'import samtranslator' 2>/dev/null ||
    missing+=("aws-sam-translator (installed with aws-sam-cli)")
command -v cfn-guard >/dev/null || missing+=("cfn-guard (cargo install cfn-guard --locked)")
if ((${#missing[@]})); then
    echo "check-infra: missing tools:" >&2
    printf '  - %s\n' "${missing[@]}" >&2
    echo "Install them all (project-local, into .tools/) with: make tools" >&2
    exit 2
fi

# SAM CLI telemetry is a network call; the newer-version check is best-effort and silent offline.
export SAM_CLI_TELEMETRY=0

step() { printf '\n== %s\n' "$1"; }

step "cfn-lint $(cfn-lint --version | awk '{print $2}') + serverless rules"
cfn-lint --append-rules cfn_lint_serverless.rules -- "$template"
echo "no findings"

step "sam validate --lint ($(sam --version | awk '{print $NF}'))"
# --lint runs the SAM transform and cfn-lint locally. Plain `sam validate` (without --lint)
# calls IAM to expand managed policies and so needs credentials; it is not used.
sam validate --lint --template "$template" --region "$region"

step "cfn-guard $(cfn-guard --version | awk '{print $2}'): infra/rules on $template and its SAM transform"
python3 infra/scripts/guard_template.py "$template" --region "$region"

step "cfn-guard: every rule fails on infra/tests/bad-template.yaml"
python3 infra/tests/check_guard_rules.py

step "risky edits of $template: each fails the rule named for it"
python3 infra/tests/check_risky_edits.py

printf '\ncheck-infra: all checks passed\n'
