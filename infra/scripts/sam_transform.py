#!/usr/bin/env python3
"""Expands a SAM template into the CloudFormation template SAM would deploy, offline.

    python3 infra/scripts/sam_transform.py infra/template.yaml OUTPUT.json [--region us-east-1]

The guard rules run on this output as well as on the source, because the SAM transform creates
resources the source never shows: the Lambda permissions of every event, the function URL's
resource policy, the roles SAM writes for `Policies`, and the OpenAPI operations it adds for
HttpApi events (without `security` when the path is not in the API's DefinitionBody).

It uses aws-sam-translator, the library behind `sam validate` and CloudFormation's own
AWS::Serverless transform. Nothing here calls AWS: the translator resolves AWS managed policy
names from the map bundled with it, and the loader below refuses to fetch the rest from IAM.
Parameters keep their defaults; conditions and intrinsics stay unresolved, as CloudFormation
would receive them.
"""

import argparse
import json
import logging
import os
import sys
from pathlib import Path


class OfflineManagedPolicyLoader:
    """Stands in for samtranslator's ManagedPolicyLoader, which lists policies through IAM.

    The translator asks it only for a name missing from its bundled map; an empty answer makes
    the name pass through unchanged, so the guard rules still see it.
    """

    def load(self) -> dict[str, str]:
        return {}


def point_local_code_at_s3(template: dict) -> None:
    """Replaces local CodeUri paths with S3 locations, as `sam package` does after a build.

    The transform accepts only S3 code locations; the bucket and key never reach a rule.
    """
    function_globals = template.get("Globals", {}).get("Function", {})
    if isinstance(function_globals.get("CodeUri"), str):
        function_globals["CodeUri"] = "s3://local-build/globals.zip"
    for logical_id, resource in template.get("Resources", {}).items():
        properties = resource.get("Properties") or {}
        if resource.get("Type") == "AWS::Serverless::Function" and isinstance(
            properties.get("CodeUri"), str
        ):
            properties["CodeUri"] = f"s3://local-build/{logical_id}.zip"


def transform_file(source: Path, region: str) -> dict:
    # The translator derives the partition from the SDK's region settings.
    os.environ.setdefault("AWS_DEFAULT_REGION", region)
    os.environ.setdefault("AWS_REGION", region)
    # The translator warns about usage metrics it would publish inside CloudFormation.
    logging.getLogger("samtranslator").setLevel(logging.ERROR)
    from samtranslator.translator.transform import transform
    from samtranslator.yaml_helper import yaml_parse

    template = yaml_parse(source.read_text(encoding="utf-8"))
    point_local_code_at_s3(template)
    parameter_values = {"AWS::Region": region}
    return transform(template, parameter_values, OfflineManagedPolicyLoader())


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("source", type=Path)
    parser.add_argument("output", type=Path)
    parser.add_argument("--region", default="us-east-1")
    args = parser.parse_args()
    try:
        transformed = transform_file(args.source, args.region)
    except Exception as error:  # the translator reports template errors as several types
        print(f"sam_transform: {args.source}: {error}", file=sys.stderr)
        return 1
    args.output.write_text(json.dumps(transformed, indent=1, sort_keys=True), encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main())
