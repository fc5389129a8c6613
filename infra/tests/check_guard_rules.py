#!/usr/bin/env python3
"""Proves the guard rules both accept the real template and catch what they are meant to catch.

1. Every rule in infra/rules passes (or skips) on infra/template.yaml.
2. Every rule file fails on infra/tests/bad-template.yaml with cfn-guard's validation-failure
   exit code (19, not a parse error), and every rule in it reports at least the resources listed
   for it in infra/tests/guard-expectations.txt.
3. Every rule has an expectation line and every expectation names an existing rule.

Run from the repository root: python3 infra/tests/check_guard_rules.py
"""

import json
import re
import shutil
import subprocess
import sys
from pathlib import Path

INFRA = Path(__file__).resolve().parent.parent
RULES_DIR = INFRA / "rules"
TEMPLATE = INFRA / "template.yaml"
BAD_TEMPLATE = INFRA / "tests" / "bad-template.yaml"
EXPECTATIONS = INFRA / "tests" / "guard-expectations.txt"
GUARD_VALIDATION_FAILED = 19
RULE_DECLARATION = re.compile(r"^rule\s+([A-Za-z0-9_]+)\s*(?:when\b|\{)", re.MULTILINE)
RESOURCE_PATH = re.compile(r'"/Resources/([A-Za-z0-9]+)')


def rule_names(rule_file: Path) -> list[str]:
    return RULE_DECLARATION.findall(rule_file.read_text(encoding="utf-8"))


def read_expectations() -> dict[str, set[str]]:
    expected: dict[str, set[str]] = {}
    for line in EXPECTATIONS.read_text(encoding="utf-8").splitlines():
        line = line.strip()
        if not line or line.startswith("#"):
            continue
        name, _, resources = line.partition(":")
        expected[name.strip()] = set(resources.split())
    return expected


def run_guard(rules: Path, data: Path) -> tuple[int, list[dict]]:
    result = subprocess.run(
        ["cfn-guard", "validate", "--rules", str(rules), "--data", str(data),
         "--show-summary", "none", "--output-format", "json"],
        capture_output=True, text=True, check=False,
    )
    documents, decoder, text, position = [], json.JSONDecoder(), result.stdout, 0
    while True:
        while position < len(text) and text[position].isspace():
            position += 1
        if position >= len(text):
            break
        document, position = decoder.raw_decode(text, position)
        documents.extend(document if isinstance(document, list) else [document])
    if result.returncode not in (0, GUARD_VALIDATION_FAILED):
        sys.stderr.write(result.stderr)
    return result.returncode, documents


def reported_resources(documents: list[dict]) -> dict[str, set[str]]:
    reported: dict[str, set[str]] = {}
    for document in documents:
        for finding in document.get("not_compliant", []):
            rule = finding.get("Rule", {})
            ids = set(RESOURCE_PATH.findall(json.dumps(rule)))
            reported.setdefault(rule.get("name", "?"), set()).update(ids)
    return reported


def main() -> int:
    if shutil.which("cfn-guard") is None:
        print("cfn-guard not found on PATH; install it with `make install-infra-tools` "
              "(cargo install cfn-guard --locked).", file=sys.stderr)
        return 2
    problems: list[str] = []
    rule_files = sorted(RULES_DIR.glob("*.guard"))
    all_rules = {name: path for path in rule_files for name in rule_names(path)}
    expectations = read_expectations()

    for name in sorted(set(all_rules) - set(expectations)):
        problems.append(f"{name}: no line in {EXPECTATIONS.name}")
    for name in sorted(set(expectations) - set(all_rules)):
        problems.append(f"{name}: listed in {EXPECTATIONS.name} but no such rule")

    code, documents = run_guard(RULES_DIR, TEMPLATE)
    failing = reported_resources(documents)
    if code != 0 or failing:
        for name, ids in sorted(failing.items()):
            problems.append(f"{name}: fails on the real template ({', '.join(sorted(ids))})")
        if not failing:
            problems.append(f"cfn-guard exited {code} on the real template")
    else:
        print(f"ok   all {len(all_rules)} rules pass on {TEMPLATE.name}")

    for rule_file in rule_files:
        code, documents = run_guard(rule_file, BAD_TEMPLATE)
        if code != GUARD_VALIDATION_FAILED:
            problems.append(f"{rule_file.name}: exit code {code} on the bad fixture, "
                            f"expected {GUARD_VALIDATION_FAILED}")
        reported = reported_resources(documents)
        for name in rule_names(rule_file):
            missing = expectations.get(name, set()) - reported.get(name, set())
            if name not in reported:
                problems.append(f"{name}: passes on the bad fixture")
            elif missing:
                problems.append(f"{name}: does not report {', '.join(sorted(missing))}")
            else:
                print(f"ok   {name} fails on the bad fixture "
                      f"({', '.join(sorted(reported[name]))})")

    for problem in problems:
        print(f"FAIL {problem}", file=sys.stderr)
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
