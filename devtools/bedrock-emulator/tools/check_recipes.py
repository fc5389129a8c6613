#!/usr/bin/env python3
"""Checks the emulator's built-in recipes against USDA SR28.

For every recipe in recipes/ko.json and recipes/en.json this computes the per-serving
figures from the SR28 rows named below (energy as the 4/4/9 sum of protein, fat and
carbohydrate, the way the service computes energy shares), checks the recipe's own diet
target, the rules every built-in recipe must meet (sodium <= 500 mg and kcal <= 600 per
serving), its hidden metadata (allergens, kcalPerServing), and that the Korean and English
versions of each dish are the same dish. It prints one table row per recipe and exits
non-zero when anything fails.

Usage: check_recipes.py --sr28 PATH/TO/usda-sr28-abbrev.txt [--fix-kcal]
(or set SR28_FILE). --fix-kcal rewrites kcalPerServing from the computed figures.
"""

import argparse
import json
import os
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
RECIPES = HERE.parent / "recipes"

# name (Korean and English) -> (NDB_No, grams per unit, categories, allergen groups)
# Categories: meat, fish, seafood, egg, dairy, honey (anything animal breaks vegan; meat,
# fish and seafood break vegetarian).
SPOON = {"큰술": 15, "tbsp": 15, "작은술": 5, "tsp": 5}
OIL_SPOON = {"큰술": 13.5, "tbsp": 13.5, "작은술": 4.5, "tsp": 4.5}
FOODS = {}


def food(names, ndb, units=None, categories=(), allergens=()):
    for name in names:
        FOODS[name] = {
            "ndb": ndb,
            "units": dict(units or {}),
            "categories": set(categories),
            "allergens": set(allergens),
        }


food(["삼겹살", "pork belly"], "10005", categories=["meat"], allergens=["돼지고기"])
food(["돼지 등심", "pork loin"], "10024", categories=["meat"], allergens=["돼지고기"])
food(["닭다리살", "chicken thigh"], "05096", categories=["meat"], allergens=["닭고기"])
food(["닭가슴살", "chicken breast"], "05062", categories=["meat"], allergens=["닭고기"])
food(["다진 소고기", "lean ground beef"], "23562", categories=["meat"], allergens=["쇠고기"])
food(["연어", "salmon"], "15236", categories=["fish"], allergens=["생선"])
food(["고등어", "mackerel"], "15046", categories=["fish"], allergens=["고등어", "생선"])
# The higher-sodium cod row on purpose: the stricter figure must still pass.
food(["대구", "cod"], "15019", categories=["fish"], allergens=["생선"])
food(["새우", "shrimp"], "15270", categories=["seafood"], allergens=["새우"])
food(["달걀", "egg"], "01123", {"개": 50, "pcs": 50}, ["egg"], ["알류"])
food(["버터", "butter"], "01001", {"큰술": 14.2, "tbsp": 14.2, "작은술": 4.7, "tsp": 4.7}, ["dairy"], ["우유"])
food(["그릭요거트", "greek yogurt"], "01256", categories=["dairy"], allergens=["우유"])
food(["우유", "milk"], "01077", SPOON, ["dairy"], ["우유"])
food(["두부", "firm tofu"], "16426", allergens=["대두"])
food(["콩나물", "soybean sprouts"], "11452", allergens=["대두"])
food(["간장", "soy sauce"], "16123", {"큰술": 16, "tbsp": 16, "작은술": 5.3, "tsp": 5.3}, allergens=["대두", "밀"])
food(["올리브유", "olive oil"], "04053", OIL_SPOON)
food(["참기름", "sesame oil"], "04058", {"큰술": 13.6, "tbsp": 13.6, "작은술": 4.5, "tsp": 4.5}, allergens=["참깨"])
food(["소금", "salt"], "02047", {"작은술": 6, "tsp": 6})
food(["후추", "black pepper"], "02030", {"작은술": 2.3, "tsp": 2.3})
food(["마늘", "garlic"], "11215", {"쪽": 3, "clove": 3})
food(["대파", "green onion"], "11291")
food(["양파", "onion"], "11282")
food(["양배추", "cabbage"], "11109")
food(["배추", "napa cabbage"], "11119")
food(["브로콜리", "broccoli"], "11090")
food(["시금치", "spinach"], "11457")
food(["양송이버섯", "white mushrooms"], "11260")
food(["표고버섯", "shiitake mushrooms"], "11238")
food(["애호박", "zucchini"], "11477")
food(["당근", "carrot"], "11124")
food(["가지", "eggplant"], "11209")
food(["오이", "cucumber"], "11205")
food(["로메인 상추", "romaine lettuce"], "11251")
food(["파프리카", "red bell pepper"], "11821")
food(["피망", "green bell pepper"], "11333")
food(["아스파라거스", "asparagus"], "11011")
food(["아보카도", "avocado"], "09037")
food(["사과", "apple"], "09003")
food(["고구마", "sweet potato"], "11507")
food(["감자", "potato"], "11352")
food(["현미밥", "cooked brown rice"], "20037")
food(["쌀밥", "cooked white rice"], "20451")
food(["퀴노아밥", "cooked quinoa"], "20137")
food(["레몬즙", "lemon juice"], "09152", SPOON)
food(["식초", "cider vinegar"], "02048", SPOON)
food(["호두", "walnuts"], "12155", allergens=["호두", "견과류"])
food(["아몬드", "almonds"], "12061", allergens=["견과류"])

TO_TASTE = {"적당량", "약간", "to taste"}


def load_sr28(path):
    rows = {}
    with open(path, encoding="latin-1") as handle:
        for line in handle:
            fields = line.rstrip("\n").split("^")
            ndb = fields[0].strip("~")

            def number(index):
                text = fields[index].strip()
                return float(text) if text else 0.0

            rows[ndb] = {
                "kcal": number(3),
                "protein": number(4),
                "fat": number(5),
                "carbs": number(7),
                "fiber": number(8),
                "sugar": number(9),
                "sodium": number(15),
            }
    return rows


def grams(ingredient, info):
    amount = ingredient["amount"].strip()
    if amount in TO_TASTE:
        return 0.0
    value = float(amount)
    unit = ingredient["unit"].strip()
    if unit in ("g", "ml"):
        return value
    if unit in info["units"]:
        return value * info["units"][unit]
    raise ValueError(f"no gram weight for unit {unit!r} of {ingredient['name']!r}")


def figures(recipe, sr28, problems):
    total = {k: 0.0 for k in ("kcal", "protein", "fat", "carbs", "fiber", "sugar", "sodium")}
    categories, allergens = set(), set()
    for ingredient in recipe["ingredients"]:
        info = FOODS.get(ingredient["name"])
        if info is None:
            problems.append(f"unknown ingredient {ingredient['name']!r}")
            continue
        categories |= info["categories"]
        allergens |= info["allergens"]
        try:
            weight = grams(ingredient, info)
        except ValueError as error:
            problems.append(str(error))
            continue
        row = sr28[info["ndb"]]
        for key in total:
            total[key] += row[key] * weight / 100.0
    servings = recipe["servings"]
    per = {k: v / servings for k, v in total.items()}
    energy = 4 * per["protein"] + 4 * per["carbs"] + 9 * per["fat"]
    per["energy"] = energy
    per["net"] = per["carbs"] - per["fiber"]
    per["fatShare"] = 9 * per["fat"] / energy if energy else 0.0
    per["proteinShare"] = 4 * per["protein"] / energy if energy else 0.0
    per["carbShare"] = 4 * per["carbs"] / energy if energy else 0.0
    return per, categories, allergens


def target_checks(target, per, categories):
    rules = {
        "keto": [
            ("netCarbs<=5g", per["net"] <= 5),
            ("fat>=70%", per["fatShare"] >= 0.70),
            ("protein 20-25%", 0.20 <= per["proteinShare"] <= 0.25),
        ],
        "low-carb": [
            ("netCarbs<=20g", per["net"] <= 20),
            ("carbs<=26%", per["carbShare"] <= 0.26),
        ],
        "diabetic": [
            ("carbs<=45g", per["carbs"] <= 45),
            ("sugar<=10g", per["sugar"] <= 10),
            ("fiber>=3g", per["fiber"] >= 3),
        ],
        "low-sodium": [("sodium<=600mg", per["sodium"] <= 600)],
        "high-protein": [
            ("protein>=30g", per["protein"] >= 30),
            ("protein>=25%", per["proteinShare"] >= 0.25),
        ],
        "vegetarian": [("noMeatFish", not categories & {"meat", "fish", "seafood"})],
        "vegan": [("noAnimal", not categories & {"meat", "fish", "seafood", "egg", "dairy", "honey"})],
        "weight-loss": [
            ("kcal<=500", per["energy"] <= 500),
            ("fat<=35%", per["fatShare"] <= 0.35),
            ("protein>=20g", per["protein"] >= 20),
        ],
        "balanced": [
            ("carbs 40-65%", 0.40 <= per["carbShare"] <= 0.65),
            ("protein 10-30%", 0.10 <= per["proteinShare"] <= 0.30),
            ("fat 15-35%", 0.15 <= per["fatShare"] <= 0.35),
        ],
    }
    common = [
        ("sodium<=500mg", per["sodium"] <= 500),
        ("kcal<=600", per["energy"] <= 600),
    ]
    return rules[target] + common


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sr28", default=os.environ.get("SR28_FILE"))
    parser.add_argument("--fix-kcal", action="store_true")
    args = parser.parse_args()
    if not args.sr28:
        parser.error("give --sr28 PATH or set SR28_FILE")
    sr28 = load_sr28(args.sr28)
    failures = 0
    by_language = {}
    print(f"{'lang':4} {'target':12} {'id':28} {'kcal':>5} {'net':>5} {'fat%':>5} {'prot%':>5} "
          f"{'carb%':>5} {'protG':>5} {'carbG':>5} {'sugG':>4} {'fibG':>4} {'Na mg':>5}  result")
    for language in ("ko", "en"):
        path = RECIPES / f"{language}.json"
        recipes = json.loads(path.read_text(encoding="utf-8"))
        by_language[language] = recipes
        for recipe in recipes:
            problems = []
            per, categories, allergens = figures(recipe, sr28, problems)
            for rule, passed in target_checks(recipe["target"], per, categories):
                if not passed:
                    problems.append(f"fails {rule}")
            if sorted(allergens) != sorted(recipe["allergens"]):
                problems.append(f"allergens should be {sorted(allergens)}")
            if abs(per["energy"] - recipe["kcalPerServing"]) > 10:
                if args.fix_kcal:
                    recipe["kcalPerServing"] = round(per["energy"])
                else:
                    problems.append(f"kcalPerServing should be {round(per['energy'])}")
            if (recipe["target"] == "keto") != ("ketoNotes" in recipe):
                problems.append("ketoNotes belongs to keto recipes only")
            failures += bool(problems)
            print(f"{language:4} {recipe['target']:12} {recipe['id']:28} {per['energy']:5.0f} "
                  f"{per['net']:5.1f} {per['fatShare']*100:5.1f} {per['proteinShare']*100:5.1f} "
                  f"{per['carbShare']*100:5.1f} {per['protein']:5.1f} {per['carbs']:5.1f} "
                  f"{per['sugar']:4.1f} {per['fiber']:4.1f} {per['sodium']:5.0f}  "
                  + ("ok" if not problems else "; ".join(problems)))
        if args.fix_kcal:
            path.write_text(json.dumps(recipes, ensure_ascii=False, indent=2) + "\n", encoding="utf-8")
    ko, en = by_language["ko"], by_language["en"]
    if [r["id"] for r in ko] != [r["id"] for r in en]:
        print("ko.json and en.json must list the same dishes in the same order")
        failures += 1
    else:
        for a, b in zip(ko, en):
            pairs = zip(a["ingredients"], b["ingredients"])
            if len(a["ingredients"]) != len(b["ingredients"]) or any(
                FOODS.get(x["name"], {}).get("ndb") != FOODS.get(y["name"], {}).get("ndb")
                or x["amount"] not in (y["amount"], "적당량") for x, y in pairs
            ):
                print(f"{a['id']}: the Korean and English ingredient lists differ")
                failures += 1
    print(f"{len(ko) + len(en) - failures} passed, {failures} failed")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
