#!/usr/bin/env python3
"""Checks real-dishes.tsv: header, column count, unique ids, known group ids, value domains.

Usage: python3 tests/corpus/dishes/check_corpus.py [--groups FILE] [--sr28 FILE]

--groups  the project's food-group table to take the known group ids from (default: the
          repository's shared/src/rules/groups.rs; a data file with `id = "..."` lines works too).
--sr28    the USDA SR28 ABBREV file; when given, every sodium figure is recomputed from
          sodium-basis.tsv and must match the corpus within 1 % (or 5 mg).
Exits 1 with one line per problem; prints a summary on success.
"""
import argparse
import re
import sys
from collections import Counter
from pathlib import Path

HERE = Path(__file__).resolve().parent
REPO = HERE.parents[2]
COLUMNS = [
    "id", "language", "dish", "ingredients", "servings", "allergen_groups",
    "animal_origin", "sodium_mg_per_serving", "lookalike_negatives", "source",
]
ORIGINS = ("vegan", "vegetarian", "pescatarian", "meat")
ID_PATTERN = re.compile(r"^(ko|en)-\d{3}$")


def known_groups(path: Path) -> tuple:
    """All group ids of the table, and those of kind allergen (None if the table has no kinds).

    Reads the Rust table (`id: "egg", ... kind: GroupKind::Allergen`) or a data file with
    `id = "egg"` ... `kind = "allergen"` entries."""
    text = path.read_text(encoding="utf-8")
    ids = set(re.findall(r'\bid\s*[:=]\s*"([a-z][a-z-]*)"', text))
    if not ids:
        sys.exit(f"no group ids found in {path}")
    pairs = re.findall(
        r'\bid\s*[:=]\s*"([a-z][a-z-]*)"[^}\]]*?\bkind\s*[:=]\s*(?:GroupKind::)?"?(\w+)"?', text)
    allergens = {ident for ident, kind in pairs if kind.lower() == "allergen"}
    return ids, (allergens if pairs else None)


def split_groups(cell: str) -> list:
    return [g for g in cell.split("|") if g] if cell else []


def read_rows(path: Path):
    lines = path.read_text(encoding="utf-8").split("\n")
    body = [line for line in lines if line and not line.startswith("#")]
    return body[0].split("\t"), [line.split("\t") for line in body[1:]]


def sr28_sodium(path: Path) -> dict:
    sodium = {}
    with path.open(encoding="latin-1") as handle:
        for line in handle:
            fields = line.rstrip("\r\n").split("^")
            ndb = fields[0].strip("~")
            if fields[15]:
                sodium[ndb] = float(fields[15])
    return sodium


def check_sodium(rows, sr28_path: Path, problems: list) -> int:
    sodium = sr28_sodium(sr28_path)
    totals = {}
    basis = HERE / "sodium-basis.tsv"
    for number, line in enumerate(basis.read_text(encoding="utf-8").split("\n"), 1):
        if not line or line.startswith("#") or line.startswith("id\t"):
            continue
        cells = line.split("\t")
        if len(cells) != 4:
            problems.append(f"sodium-basis.tsv:{number}: {len(cells)} columns, want 4")
            continue
        dish, ndb, grams, _what = cells
        if ndb not in sodium:
            problems.append(f"sodium-basis.tsv:{number}: SR28 {ndb} unknown or has no sodium")
            continue
        totals[dish] = totals.get(dish, 0.0) + sodium[ndb] * float(grams) / 100.0
    checked = 0
    for row in rows:
        dish, servings, figure = row[0], row[4], row[7]
        if dish in totals:
            want = totals[dish] / int(servings)
            if not figure:
                problems.append(f"{dish}: basis gives {want:.0f} mg a serving, column empty")
                continue
            if abs(float(figure) - want) > max(5.0, 0.01 * want):
                problems.append(f"{dish}: sodium {figure} mg, basis gives {want:.0f} mg")
            checked += 1
        elif figure:
            problems.append(f"{dish}: sodium {figure} mg without a basis in sodium-basis.tsv")
    return checked


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--groups", type=Path, default=REPO / "shared/src/rules/groups.rs")
    parser.add_argument("--sr28", type=Path)
    parser.add_argument("--corpus", type=Path, default=HERE / "real-dishes.tsv")
    args = parser.parse_args()

    groups, allergen_kind = known_groups(args.groups)
    header, rows = read_rows(args.corpus)
    problems = []
    if header != COLUMNS:
        problems.append(f"header {header}, want {COLUMNS}")
    seen = Counter()
    for number, row in enumerate(rows, 2):
        where = f"row {number} ({row[0] if row else '?'})"
        if len(row) != len(COLUMNS):
            problems.append(f"{where}: {len(row)} columns, want {len(COLUMNS)}")
            continue
        ident, language, dish, ingredients, servings, present, origin, sodium, negatives, source = row
        seen[ident] += 1
        if not ID_PATTERN.match(ident) or not ident.startswith(language + "-"):
            problems.append(f"{where}: id {ident!r} does not match language {language!r}")
        if not dish.strip() or not source.strip():
            problems.append(f"{where}: empty dish or source")
        for item in ingredients.split("; "):
            name, bar, amount = item.partition("|")
            if not bar or not name.strip() or not amount.strip() or "|" in amount:
                problems.append(f"{where}: ingredient {item!r} is not name|amount")
        if not servings.isdigit() or int(servings) < 1:
            problems.append(f"{where}: servings {servings!r}")
        if origin not in ORIGINS:
            problems.append(f"{where}: animal_origin {origin!r}")
        if sodium and not sodium.isdigit():
            problems.append(f"{where}: sodium {sodium!r} is not whole milligrams")
        listed = split_groups(present)
        excluded = split_groups(negatives)
        for group in listed + excluded:
            if group not in groups:
                problems.append(f"{where}: unknown group id {group!r}")
        if allergen_kind is not None:
            for group in listed:
                if group in groups and group not in allergen_kind:
                    problems.append(f"{where}: {group!r} is a diet group, not an allergen group")
        for group in (g for g, n in Counter(listed + excluded).items() if n > 1):
            problems.append(f"{where}: group {group!r} listed twice or both present and look-alike")
        if "mackerel" in listed and "fish" not in listed:
            problems.append(f"{where}: a mackerel dish is a fish dish too")
    for ident, count in seen.items():
        if count > 1:
            problems.append(f"id {ident} used {count} times")
    checked = check_sodium(rows, args.sr28, problems) if args.sr28 else None

    for problem in problems:
        print(problem, file=sys.stderr)
    if problems:
        return 1
    by_language = Counter(row[1] for row in rows)
    by_origin = Counter(row[6] for row in rows)
    lookalikes = sum(1 for row in rows if row[8])
    with_sodium = sum(1 for row in rows if row[7])
    used = Counter(g for row in rows for g in split_groups(row[5]))
    print(f"{len(rows)} dishes ({by_language['ko']} ko, {by_language['en']} en); "
          f"origins {dict(by_origin)}; {lookalikes} with look-alikes; {with_sodium} with sodium"
          + (f" ({checked} recomputed from SR28)" if checked is not None else ""))
    print("groups used: " + ", ".join(f"{g} {n}" for g, n in used.most_common()))
    unused = sorted((allergen_kind if allergen_kind is not None else groups) - set(used))
    print("allergen groups not in any dish: " + (", ".join(unused) if unused else "none"))
    return 0


if __name__ == "__main__":
    sys.exit(main())
