#!/usr/bin/env python3
"""Applies each risky edit to a copy of infra/template.yaml and expects the guard checks to fail.

The bad fixture proves every rule can fail; this proves the rules catch the mistakes a reviewer
fears most when they are made to the real template, where the surrounding resources are correct
and some of the damage appears only after the SAM transform (an HttpApi event without `Auth`
looks like every other event in the source). For every edit the copy goes through the same
check as the real template (infra/scripts/guard_template.py: rules on the source and on the
transformed template), and the named rule must be among the failures.

Run from the repository root: python3 infra/tests/check_risky_edits.py
"""

import copy
import json
import shutil
import sys
import tempfile
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

INFRA = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(INFRA / "scripts"))
from guard_template import GuardError, check_template  # noqa: E402  (path set just above)

TEMPLATE = INFRA / "template.yaml"

Template = dict


@dataclass(frozen=True)
class RiskyEdit:
    name: str
    caught_by: str
    apply: Callable[[Template], None]


def resources(template: Template) -> dict:
    return template["Resources"]


def properties(template: Template, logical_id: str) -> dict:
    return resources(template)[logical_id]["Properties"]


def role_statements(template: Template, role: str, policy: str) -> list:
    for entry in properties(template, role)["Policies"]:
        if entry["PolicyName"] == policy:
            return entry["PolicyDocument"]["Statement"]
    raise KeyError(f"{role} has no policy {policy}")


def statement_by_sid(statements: list, sid: str) -> dict:
    return next(statement for statement in statements if statement.get("Sid") == sid)


def add_open_http_api_event(template: Template) -> None:
    # A new route on the API whose path the DefinitionBody does not know: SAM adds the
    # operation without security, so the route is public once deployed.
    properties(template, "EmbedTextFunction")["Events"]["ListEmbeddings"] = {
        "Type": "HttpApi",
        "Properties": {"ApiId": {"Ref": "HttpApi"}, "Path": "/embeddings/all", "Method": "GET"},
    }


def open_event_with_authorizer_none(template: Template) -> None:
    event = properties(template, "EmbedTextFunction")["Events"]["PostEmbeddings"]
    event["Properties"]["Auth"] = {"Authorizer": "NONE"}


def drop_operation_security(template: Template) -> None:
    body = properties(template, "HttpApi")["DefinitionBody"]
    del body["paths"]["/batches"]["post"]["security"]


def add_raw_route_without_authorizer(template: Template) -> None:
    resources(template)["DebugRoute"] = {
        "Type": "AWS::ApiGatewayV2::Route",
        "Properties": {"ApiId": {"Ref": "HttpApi"}, "RouteKey": "GET /debug",
                       "AuthorizationType": "NONE"},
    }


def make_function_url_public(template: Template) -> None:
    properties(template, "GenerateRecipeFunction")["FunctionUrlConfig"]["AuthType"] = "NONE"


def add_public_lambda_permission(template: Template) -> None:
    resources(template)["AnyoneMayInvoke"] = {
        "Type": "AWS::Lambda::Permission",
        "Properties": {"Action": "lambda:InvokeFunction",
                       "FunctionName": {"Ref": "GenerateRecipeFunction"}, "Principal": "*"},
    }


def attach_administrator_access(template: Template) -> None:
    properties(template, "GenerateRecipeRole")["ManagedPolicyArns"] = [
        {"Fn::Sub": "arn:${AWS::Partition}:iam::aws:policy/AdministratorAccess"}
    ]


def administrator_access_through_sam_policies(template: Template) -> None:
    function = properties(template, "EmbedTextFunction")
    del function["Role"]
    function["Policies"] = ["AdministratorAccess"]


def trust_any_aws_principal(template: Template) -> None:
    trust = properties(template, "BatchApiRole")["AssumeRolePolicyDocument"]["Statement"][0]
    trust["Principal"] = {"AWS": "*"}


def any_inference_profile(template: Template) -> None:
    statements = role_statements(template, "GenerateRecipeRole", "invoke-models")
    through_profiles = statement_by_sid(statements, "ClaudeModelsThroughProfilesOnly")
    through_profiles["Condition"] = {"StringLike": {"bedrock:InferenceProfileArn": "*"}}


def bedrock_on_every_resource(template: Template) -> None:
    role_statements(template, "BatchWorkerRole", "invoke-models").append(
        {"Effect": "Allow", "Action": "bedrock:InvokeModel", "Resource": "*"}
    )


def drop_region_rule(template: Template) -> None:
    del template["Rules"]["UsRegionForUsInferenceProfiles"]


RISKY_EDITS = [
    RiskyEdit("HttpApi event without Auth on a path the API body lacks",
              "http_api_routes_require_authorisation", add_open_http_api_event),
    RiskyEdit("HttpApi event with Auth.Authorizer NONE",
              "http_api_routes_require_authorisation", open_event_with_authorizer_none),
    RiskyEdit("OpenAPI operation without security",
              "http_api_routes_require_authorisation", drop_operation_security),
    RiskyEdit("raw route with AuthorizationType NONE",
              "http_api_routes_require_authorisation", add_raw_route_without_authorizer),
    RiskyEdit("function URL with AuthType NONE",
              "function_urls_require_iam_auth", make_function_url_public),
    RiskyEdit("function URL with AuthType NONE (SAM's public permission)",
              "lambda_permissions_not_public", make_function_url_public),
    RiskyEdit("Lambda::Permission with Principal \"*\"",
              "lambda_permissions_not_public", add_public_lambda_permission),
    RiskyEdit("AdministratorAccess managed policy on a role",
              "iam_no_admin_managed_policies", attach_administrator_access),
    RiskyEdit("AdministratorAccess through SAM Policies",
              "iam_no_admin_managed_policies", administrator_access_through_sam_policies),
    RiskyEdit("AdministratorAccess through SAM Policies (role not explicit)",
              "functions_use_explicit_role", administrator_access_through_sam_policies),
    RiskyEdit("trust policy with AWS \"*\"",
              "iam_roles_trusted_by_services_only", trust_any_aws_principal),
    RiskyEdit("bedrock:InferenceProfileArn \"*\"",
              "iam_bedrock_invoke_named_models_only", any_inference_profile),
    RiskyEdit("bedrock action on Resource \"*\"",
              "iam_bedrock_invoke_named_models_only", bedrock_on_every_resource),
    RiskyEdit("deploy Region rule removed",
              "template_checks_deploy_region", drop_region_rule),
]


def main() -> int:
    if shutil.which("cfn-guard") is None:
        print("cfn-guard not found on PATH; install it with `make tools`.", file=sys.stderr)
        return 2
    from samtranslator.yaml_helper import yaml_parse

    original = yaml_parse(TEMPLATE.read_text(encoding="utf-8"))
    problems = []
    with tempfile.TemporaryDirectory(prefix="risky-edits-") as scratch:
        baseline = check_template(TEMPLATE)
        if not baseline.passed():
            print("FAIL the real template does not pass; fix it before testing edits:",
                  *baseline.lines(), sep="\n  ", file=sys.stderr)
            return 1
        for index, edit in enumerate(RISKY_EDITS):
            template = copy.deepcopy(original)
            edit.apply(template)
            copy_path = Path(scratch) / f"edit-{index}.json"
            copy_path.write_text(json.dumps(template), encoding="utf-8")
            try:
                report = check_template(copy_path)
            except GuardError as error:
                problems.append(f"{edit.name}: {error}")
                continue
            forms = [form for form, failures in (("source", report.source),
                                                 ("deployed", report.deployed))
                     if edit.caught_by in failures]
            if forms:
                print(f"ok   {edit.name}: caught by {edit.caught_by} ({' and '.join(forms)})")
            else:
                found = "; ".join(report.lines()) or "nothing failed"
                problems.append(f"{edit.name}: {edit.caught_by} did not fail ({found})")
    for problem in problems:
        print(f"FAIL {problem}", file=sys.stderr)
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
