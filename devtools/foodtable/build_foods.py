#!/usr/bin/env python3
"""Build shared/data/foods.tsv, the food table compiled into the `ai-chef` crate.

Reads the USDA SR28 abbreviated file (figures per 100 g), the hand-curated mapping of SR28 rows
(sr28-foods.map: Korean names, synonyms, categories, household units) and the Korean staples
missing from SR28 (korean-staples.map, MFDS figures), checks them and writes one TSV.

Usage (from the repository root):
    python3 devtools/foodtable/build_foods.py ../shared/data/usda-sr28-abbrev.txt \
        [--out shared/data/foods.tsv]

Standard library only. Exits non-zero, naming the offending line, on any inconsistency.
"""

import argparse
import re
import sys
import unicodedata
from pathlib import Path

HERE = Path(__file__).resolve().parent
CATEGORIES = {
    "beef", "pork", "poultry", "meat", "fish", "crustacean", "mollusc", "dairy", "egg", "honey",
    "other-animal", "vegetable", "fruit", "grain", "legume", "soy", "nut", "seed", "fungi",
    "seaweed", "oil", "sweetener", "seasoning", "beverage",
}
# SR28 ABBREV field positions (0-based), see shared/data README.
F_ID, F_DESC, F_KCAL, F_PROT, F_FAT, F_CARB, F_FIBER, F_SUGAR, F_NA = 0, 1, 3, 4, 5, 7, 8, 9, 15
F_PHOS, F_POTA, F_SATFAT, F_CHOL = 13, 14, 44, 47
F_GMWT = ((48, 49), (50, 51))
# US household volumes used by SR28's GmWt descriptions.
US_ML = {"tbsp": 14.787, "tablespoon": 14.787, "tsp": 4.929, "teaspoon": 4.929, "cup": 236.588}
VOLUME_PREFERENCE = ("tbsp", "tablespoon", "tsp", "teaspoon", "cup")
COLUMNS = [
    "id", "name_en", "name_ko", "synonyms", "categories", "kcal", "protein_g", "fat_g",
    "carbs_g", "fiber_g", "sugar_g", "sodium_mg", "saturated_fat_g", "cholesterol_mg",
    "potassium_mg", "phosphorus_mg", "added_sugar_g", "density_g_per_ml", "units", "source",
    "imputed",
]
EXTRA = ("saturated_fat_g", "cholesterol_mg", "potassium_mg", "phosphorus_mg")


class BuildError(Exception):
    pass


def name_key(text: str) -> str:
    """The crate's light normalisation (matching.rs): NFC, lowercase, parenthesised remarks
    dropped, punctuation and spaces removed. Two rows may not share a key, or matching would
    depend on row order."""
    text = unicodedata.normalize("NFC", text).lower()
    previous = None
    while previous != text:
        previous, text = text, re.sub(r"[(\[{（［][^()\[\]{}（）［］]*[)\]}）］]", " ", text)
    text = re.sub(r"[,./·・;:*~_\-\"'`!?+&]", " ", text)
    return re.sub(r"\s+", "", text)


def read_sr28(path: Path) -> dict:
    rows = {}
    with path.open(encoding="latin-1") as handle:
        for line in handle:
            fields = [f.strip("~") for f in line.rstrip("\r\n").split("^")]
            if len(fields) < 53:
                raise BuildError(f"SR28 line with {len(fields)} fields: {line[:40]!r}")
            rows[fields[F_ID]] = fields
    return rows


def map_lines(path: Path):
    with path.open(encoding="utf-8") as handle:
        for number, line in enumerate(handle, 1):
            line = line.rstrip("\n")
            if not line.strip() or line.lstrip().startswith("#"):
                continue
            yield number, [c.strip() for c in line.split(";")]


def parse_units(text: str, where: str) -> dict:
    units = {}
    for item in filter(None, (p.strip() for p in text.split(","))):
        unit, sep, grams = item.partition("=")
        try:
            value = float(grams)
        except ValueError:
            value = -1.0
        if not sep or not unit.strip() or value <= 0:
            raise BuildError(f"{where}: bad unit `{item}` (want unit=grams)")
        if unit.strip() in units:
            raise BuildError(f"{where}: unit `{unit.strip()}` given twice")
        units[unit.strip()] = value
    return units


def parse_categories(text: str, where: str) -> list:
    cats = [c.strip() for c in text.split("|") if c.strip()]
    unknown = [c for c in cats if c not in CATEGORIES]
    if not cats or unknown:
        raise BuildError(f"{where}: categories {cats} (unknown: {unknown})")
    return cats


def density_from_sr28(fields) -> float | None:
    found = {}
    for grams_at, desc_at in F_GMWT:
        desc = fields[desc_at].strip().lower()
        match = re.match(r"^(\d*\.?\d+)\s+(tbsp|tablespoon|tsp|teaspoon|cup)s?\b", desc)
        if match and fields[grams_at]:
            amount = float(match.group(1))
            found.setdefault(match.group(2), float(fields[grams_at]) / (amount * US_ML[match.group(2)]))
    for unit in VOLUME_PREFERENCE:
        if unit in found:
            return round(found[unit], 2)
    return None


def slice_weight(fields) -> float | None:
    for grams_at, desc_at in F_GMWT:
        if re.match(r"^1 slice\b", fields[desc_at].strip().lower()) and fields[grams_at]:
            return float(fields[grams_at])
    return None


def number(text: str) -> str:
    value = float(text)
    return f"{value:g}"


def sr28_rows(sr28: dict, path: Path):
    for line_no, cols in map_lines(path):
        where = f"{path.name}:{line_no}"
        if len(cols) < 6:
            raise BuildError(f"{where}: expected at least 6 columns, got {len(cols)}")
        ndb, name_en, name_ko, synonyms, categories, units = cols[:6]
        density_text = cols[6] if len(cols) > 6 else ""
        added_text = cols[7] if len(cols) > 7 else ""
        fields = sr28.get(ndb)
        if fields is None:
            raise BuildError(f"{where}: NDB_No {ndb} not in SR28")
        figures, imputed = {}, []
        for key, at in (("kcal", F_KCAL), ("protein_g", F_PROT), ("fat_g", F_FAT),
                        ("carbs_g", F_CARB), ("sodium_mg", F_NA)):
            if fields[at] == "":
                raise BuildError(f"{where}: SR28 {ndb} has no {key}")
            figures[key] = number(fields[at])
        # SR28 leaves fibre/sugar blank for some foods; both are part of the carbohydrate, so
        # 0 is exact when carbohydrate is 0 and a conservative (net-carb-raising) fill otherwise.
        for key, at in (("fiber_g", F_FIBER), ("sugar_g", F_SUGAR)):
            if fields[at] == "":
                figures[key] = "0"
                if float(fields[F_CARB]) > 0:
                    imputed.append(key)
            else:
                figures[key] = number(fields[at])
        # Saturated fat, cholesterol, potassium, phosphorus: blank in SR28 means not analysed;
        # 0 is exact for fat-free or plant foods and recorded as imputed otherwise.
        for key, at in (("saturated_fat_g", F_SATFAT), ("cholesterol_mg", F_CHOL),
                        ("potassium_mg", F_POTA), ("phosphorus_mg", F_PHOS)):
            if fields[at] == "":
                figures[key] = "0"
                imputed.append(key)
            else:
                figures[key] = number(fields[at])
        cats = parse_categories(categories, where)
        figures["added_sugar_g"] = added_sugar(figures["sugar_g"], cats, added_text, where)
        unit_map = parse_units(units, where)
        slice_g = slice_weight(fields)
        if slice_g and "slice" not in unit_map:
            unit_map["slice"] = slice_g
        density = float(density_text) if density_text else (density_from_sr28(fields) or 1.0)
        yield {
            "id": ndb, "name_en": name_en, "name_ko": name_ko,
            "synonyms": [s.strip() for s in synonyms.split("|") if s.strip()],
            "categories": parse_categories(categories, where), **figures,
            "density_g_per_ml": f"{density:g}", "units": unit_map, "source": "USDA SR28",
            "imputed": imputed, "where": where,
        }


def added_sugar(sugar: str, categories: list, share_text: str, where: str) -> str:
    """Sugars that are added, not intrinsic (WHO 'free sugars' without juices): all of a
    sweetener's sugar, the stated share of a sweetened product's (ketchup, gochujang), none
    otherwise. SR28 has no added-sugar column, so the share is the map's judgement."""
    if share_text:
        try:
            share = float(share_text)
        except ValueError:
            share = -1.0
        if not 0.0 <= share <= 1.0:
            raise BuildError(f"{where}: added sugar share `{share_text}` not within 0..1")
    else:
        share = 1.0 if "sweetener" in categories else 0.0
    return number(str(round(float(sugar) * share, 2)))


def mfds_rows(path: Path):
    for line_no, cols in map_lines(path):
        where = f"{path.name}:{line_no}"
        if len(cols) < 13:
            raise BuildError(f"{where}: expected at least 13 columns, got {len(cols)}")
        ident, name_en, name_ko, synonyms, categories = cols[:5]
        if not ident.startswith("MFDS:"):
            raise BuildError(f"{where}: id `{ident}` must start with MFDS:")
        keys = ("kcal", "protein_g", "fat_g", "carbs_g", "fiber_g", "sugar_g", "sodium_mg")
        try:
            figures = {k: number(v) for k, v in zip(keys, cols[5:12])}
        except ValueError as err:
            raise BuildError(f"{where}: {err}") from err
        density_text = cols[13] if len(cols) > 13 else ""
        if len(cols) < 18:
            raise BuildError(f"{where}: expected saturated fat, cholesterol, potassium and "
                             f"phosphorus after the density (18 columns), got {len(cols)}")
        try:
            for key, value in zip(EXTRA, cols[14:18]):
                figures[key] = number(value)
        except ValueError as err:
            raise BuildError(f"{where}: {err}") from err
        cats = parse_categories(categories, where)
        figures["added_sugar_g"] = added_sugar(figures["sugar_g"], cats,
                                               cols[18] if len(cols) > 18 else "", where)
        yield {
            "id": ident, "name_en": name_en, "name_ko": name_ko,
            "synonyms": [s.strip() for s in synonyms.split("|") if s.strip()],
            "categories": parse_categories(categories, where), **figures,
            "density_g_per_ml": f"{float(density_text) if density_text else 1.0:g}",
            "units": parse_units(cols[12], where),
            "source": f"MFDS Korean food composition database ({ident[5:]})",
            "imputed": [], "where": where,
        }


def check(rows: list) -> None:
    ids, keys = {}, {}
    for row in rows:
        if row["id"] in ids:
            raise BuildError(f"{row['where']}: id {row['id']} also at {ids[row['id']]}")
        ids[row["id"]] = row["where"]
        if not row["name_en"] or not row["name_ko"]:
            raise BuildError(f"{row['where']}: empty name")
        for text in [row["name_ko"], row["name_en"], *row["synonyms"]]:
            if any(c in text for c in "\t|;"):
                raise BuildError(f"{row['where']}: `{text}` holds a separator")
            key = name_key(text)
            owner = keys.get(key)
            if owner is not None and owner != row["id"]:
                raise BuildError(f"{row['where']}: name `{text}` also names {owner}")
            keys[key] = row["id"]
        f = {k: float(row[k]) for k in ("kcal", "protein_g", "fat_g", "carbs_g", "fiber_g",
                                         "sugar_g", "sodium_mg", *EXTRA, "added_sugar_g")}
        if f["saturated_fat_g"] > f["fat_g"] + 1e-9 or f["added_sugar_g"] > f["sugar_g"] + 1e-9:
            raise BuildError(f"{row['where']}: saturated fat above fat or added sugar above sugar")
        # Sugar is analysed separately in SR28 and may exceed carbohydrate-by-difference (milk).
        if min(f.values()) < 0 or f["fiber_g"] > f["carbs_g"] + 1e-9 or f["sugar_g"] > 100:
            raise BuildError(f"{row['where']}: inconsistent figures {f}")
        if f["protein_g"] + f["fat_g"] + f["carbs_g"] > 100.5:
            raise BuildError(f"{row['where']}: macros exceed 100 g")


def to_line(row: dict) -> str:
    values = dict(row)
    values["synonyms"] = "|".join(row["synonyms"])
    values["categories"] = "|".join(row["categories"])
    values["units"] = ",".join(f"{u}={g:g}" for u, g in row["units"].items())
    values["imputed"] = ",".join(row["imputed"])
    return "\t".join(str(values[c]) for c in COLUMNS)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("sr28", type=Path, help="path of usda-sr28-abbrev.txt")
    parser.add_argument("--out", type=Path, default=Path("shared/data/foods.tsv"))
    parser.add_argument("--map", type=Path, default=HERE / "sr28-foods.map")
    parser.add_argument("--staples", type=Path, default=HERE / "korean-staples.map")
    args = parser.parse_args()
    try:
        sr28 = read_sr28(args.sr28)
        rows = list(sr28_rows(sr28, args.map)) + list(mfds_rows(args.staples))
        check(rows)
    except (BuildError, OSError) as err:
        print(f"build_foods: {err}", file=sys.stderr)
        return 1
    header = "# AI Chef food table, generated by devtools/foodtable/build_foods.py; do not edit.\n"
    text = header + "\t".join(COLUMNS) + "\n" + "".join(to_line(r) + "\n" for r in rows)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(text, encoding="utf-8")
    sr_count = sum(1 for r in rows if r["source"] == "USDA SR28")
    print(f"build_foods: wrote {len(rows)} rows ({sr_count} SR28, {len(rows) - sr_count} MFDS) "
          f"to {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
