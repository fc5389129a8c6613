#!/usr/bin/env python3
"""Proves the guard rules both accept the real template and catch what they are meant to catch.

1. Every rule in infra/rules passes (or skips) on infra/template.yaml, as written and as
   deployed (after the offline SAM transform).
2. Every rule file fails on infra/tests/bad-template.yaml with cfn-guard's validation-failure
   exit code (19, not a parse error), and every rule in it reports at least the resources listed
   for it in infra/tests/guard-expectations.txt.
3. Every rule has an expectation line and every expectation names an existing rule.

Run from the repository root: python3 infra/tests/check_guard_rules.py
"""

import re
import shutil
import sys
from pathlib import Path

INFRA = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(INFRA / "scripts"))
from guard_template import (  # noqa: E402  (infra/scripts is put on the path just above)
    GUARD_VALIDATION_FAILED,
    GuardError,
    check_template,
    run_guard,
)

RULES_DIR = INFRA / "rules"
TEMPLATE = INFRA / "template.yaml"
BAD_TEMPLATE = INFRA / "tests" / "bad-template.yaml"
EXPECTATIONS = INFRA / "tests" / "guard-expectations.txt"
RULE_DECLARATION = re.compile(r"^rule\s+([A-Za-z0-9_]+)\s*(?:when\b|\{)", re.MULTILINE)


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

    try:
        report = check_template(TEMPLATE)
    except GuardError as error:
        report = None
        problems.append(str(error))
    if report is not None and not report.passed():
        problems.extend(f"fails on the real template: {line}" for line in report.lines())
    elif report is not None:
        print(f"ok   all {len(all_rules)} rules pass on {TEMPLATE.name} as written and as deployed")

    for rule_file in rule_files:
        try:
            code, reported = run_guard(rule_file, BAD_TEMPLATE)
        except GuardError as error:
            problems.append(str(error))
            continue
        if code != GUARD_VALIDATION_FAILED:
            problems.append(f"{rule_file.name}: exit code {code} on the bad fixture, "
                            f"expected {GUARD_VALIDATION_FAILED}")
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
