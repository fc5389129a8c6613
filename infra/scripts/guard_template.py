#!/usr/bin/env python3
"""Runs the guard rules on a SAM template as written and as deployed (after the SAM transform).

    python3 infra/scripts/guard_template.py [TEMPLATE] [--region us-east-1]

Exit code 0 when every rule in infra/rules passes (or skips) on both forms, 1 when a rule fails
or the transform refuses the template, 2 when cfn-guard is missing. Each failure is printed as
`<form>: <rule>: <resources>`. check-infra runs this on infra/template.yaml; the risky-edit test
(infra/tests/check_risky_edits.py) runs the same function on edited copies.
"""

import argparse
import json
import re
import shutil
import subprocess
import sys
import tempfile
from dataclasses import dataclass, field
from pathlib import Path

INFRA = Path(__file__).resolve().parent.parent
RULES_DIR = INFRA / "rules"
GUARD_VALIDATION_FAILED = 19
RESOURCE_PATH = re.compile(r'"/Resources/([A-Za-z0-9]+)')

sys.path.insert(0, str(Path(__file__).resolve().parent))
import sam_transform  # noqa: E402  (a sibling script, importable once its folder is on the path)


class GuardError(RuntimeError):
    """cfn-guard could not evaluate the rules (a parse error, not a failing rule)."""


@dataclass
class GuardReport:
    """Failing rules of each form of one template, and the transform's refusal if any."""

    source: dict[str, set[str]] = field(default_factory=dict)
    deployed: dict[str, set[str]] = field(default_factory=dict)
    transform_error: str | None = None

    def failing_rules(self) -> set[str]:
        return set(self.source) | set(self.deployed)

    def passed(self) -> bool:
        return not self.failing_rules() and self.transform_error is None

    def lines(self) -> list[str]:
        found = []
        for form, failures in (("source", self.source), ("deployed", self.deployed)):
            for rule, resources in sorted(failures.items()):
                found.append(f"{form}: {rule}: {', '.join(sorted(resources)) or '(template)'}")
        if self.transform_error:
            found.append(f"deployed: SAM transform refused the template: {self.transform_error}")
        return found


def parse_guard_json(stdout: str) -> list[dict]:
    """cfn-guard --output-format json prints one JSON document per data file and rule file."""
    documents, decoder, position = [], json.JSONDecoder(), 0
    while True:
        while position < len(stdout) and stdout[position].isspace():
            position += 1
        if position >= len(stdout):
            return documents
        document, position = decoder.raw_decode(stdout, position)
        documents.extend(document if isinstance(document, list) else [document])


def run_guard(rules: Path, data: Path) -> tuple[int, dict[str, set[str]]]:
    """Exit code of cfn-guard and, per failing rule, the resources it reported."""
    result = subprocess.run(
        ["cfn-guard", "validate", "--rules", str(rules), "--data", str(data),
         "--show-summary", "none", "--output-format", "json"],
        capture_output=True, text=True, check=False,
    )
    if result.returncode not in (0, GUARD_VALIDATION_FAILED):
        raise GuardError(f"cfn-guard exited {result.returncode} on {data}: {result.stderr.strip()}")
    failures: dict[str, set[str]] = {}
    for document in parse_guard_json(result.stdout):
        for finding in document.get("not_compliant", []):
            rule = finding.get("Rule", {})
            ids = set(RESOURCE_PATH.findall(json.dumps(rule)))
            failures.setdefault(rule.get("name", "?"), set()).update(ids)
    if result.returncode == GUARD_VALIDATION_FAILED and not failures:
        failures["?"] = set()
    return result.returncode, failures


def check_template(template: Path, region: str = "us-east-1") -> GuardReport:
    report = GuardReport()
    _, report.source = run_guard(RULES_DIR, template)
    with tempfile.TemporaryDirectory(prefix="guard-") as scratch:
        deployed = Path(scratch) / "deployed.json"
        try:
            transformed = sam_transform.transform_file(template, region)
        except Exception as error:  # the translator reports template errors as several types
            report.transform_error = str(error)
            return report
        deployed.write_text(json.dumps(transformed), encoding="utf-8")
        _, report.deployed = run_guard(RULES_DIR, deployed)
    return report


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("template", type=Path, nargs="?", default=INFRA / "template.yaml")
    parser.add_argument("--region", default="us-east-1")
    args = parser.parse_args()
    if shutil.which("cfn-guard") is None:
        print("cfn-guard not found on PATH; install it with `make tools`.", file=sys.stderr)
        return 2
    rule_count = sum(
        len(re.findall(r"^rule\s+\w+", path.read_text(encoding="utf-8"), re.MULTILINE))
        for path in RULES_DIR.glob("*.guard")
    )
    try:
        report = check_template(args.template, args.region)
    except GuardError as error:
        print(f"FAIL {error}", file=sys.stderr)
        return 1
    for line in report.lines():
        print(f"FAIL {line}", file=sys.stderr)
    if not report.passed():
        return 1
    print(f"ok   all {rule_count} rules pass on {args.template.name} as written and as deployed "
          "(SAM transform)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
