//! The recipe's nutrition report: grams per line, sums, per-serving figures and energy shares.
//!
//! Rounding happens here, once, so the report carries the figures the contract shows:
//! per-serving values and grams to 0.1, energy shares and the matched mass share to 0.001.

use super::amount::{parse_amount, Amount};
use super::matching::{is_processed_seasoning, normalize_name, FoodMatch, MatchKind};
use super::table::{FoodTable, Nutrients};
use super::units::{generic_grams, grams_for};
use crate::domain::{EnergyShare, FoodRef, IngredientFacts, NutritionReport, PerServing, Recipe};

/// Nutrition of `recipe` from `table`; lines whose name matches no row are listed as unmatched.
pub fn analyze(recipe: &Recipe, table: &FoodTable) -> NutritionReport {
    analyze_with_fallback(recipe, table, &|_| None)
}

/// As [`analyze`], but a name the table cannot match is offered (normalised) to `fallback`,
/// which may return a row index (a retrieval step); such lines get match kind `retrieval`.
/// An index outside the table is ignored.
pub fn analyze_with_fallback(
    recipe: &Recipe,
    table: &FoodTable,
    fallback: &dyn Fn(&str) -> Option<usize>,
) -> NutritionReport {
    let mut total = Nutrients::default();
    let mut matched_count = 0u32;
    let mut unmatched: Vec<String> = Vec::new();
    let mut total_mass = 0.0;
    let mut matched_mass = 0.0;
    let mut facts = Vec::with_capacity(recipe.ingredients.len());

    for line in &recipe.ingredients {
        // A processed seasoning the table does not know (`참치액`) stays unmatched rather than
        // being guessed by retrieval as its raw base food.
        let may_fall_back = !is_processed_seasoning(&line.name);
        let found = table.match_name(&line.name).or_else(|| {
            if !may_fall_back {
                return None;
            }
            fallback(&normalize_name(&line.name))
                .filter(|index| table.get(*index).is_some())
                .map(|index| FoodMatch {
                    index,
                    kind: MatchKind::Retrieval,
                })
        });
        let food = found.and_then(|m| table.get(m.index).map(|food| (m, food)));

        let (quantity, unit, to_taste) = read_amount(&line.amount, &line.unit);
        let grams = quantity.and_then(|q| match food {
            Some((_, food)) => grams_for(food, q, &unit),
            None => generic_grams(q, &unit),
        });
        // Water and ice are not food mass: a litre of water would otherwise dilute the
        // unmatched share of everything else.
        let is_water = food.is_some_and(|(_, f)| WATER_IDS.contains(&f.id.as_str()))
            || (food.is_none() && is_water_name(&line.name));
        if let (Some(g), false) = (grams, is_water) {
            total_mass += g;
        }

        let (food_ref, categories) = match food {
            Some((m, food)) => {
                matched_count += 1;
                if let Some(g) = grams {
                    if !is_water {
                        matched_mass += g;
                    }
                    total.add(&food.per_100g.scaled_to(g));
                }
                (
                    Some(FoodRef {
                        food_id: food.id.clone(),
                        name_en: food.name_en.clone(),
                        name_ko: food.name_ko.clone(),
                        match_kind: m.kind.as_str().to_string(),
                    }),
                    food.categories.clone(),
                )
            }
            None => {
                let name = line.name.trim().to_string();
                if !unmatched.contains(&name) {
                    unmatched.push(name);
                }
                (None, Vec::new())
            }
        };
        facts.push(IngredientFacts {
            name: line.name.clone(),
            food: food_ref,
            grams: round_to(grams.unwrap_or(0.0), 1),
            to_taste,
            categories,
        });
    }

    let servings = f64::from(recipe.servings.max(1));
    let per_serving = per_serving(&total, servings);
    NutritionReport {
        per_serving,
        energy_share: energy_share(&total),
        matched_ingredients: matched_count,
        unmatched_ingredients: unmatched,
        matched_mass_share: if total_mass > 0.0 {
            round_to((matched_mass / total_mass).clamp(0.0, 1.0), 3)
        } else {
            1.0
        },
        ingredients: facts,
    }
}

/// Table rows that are plain water (SR28 14411); ice is frozen water.
const WATER_IDS: &[&str] = &["14411"];

/// Unmatched lines that are water or ice by name (`얼음`, `ice cubes`).
fn is_water_name(name: &str) -> bool {
    let key = normalize_name(name).replace(' ', "");
    [
        "물",
        "얼음",
        "얼음물",
        "water",
        "ice",
        "icecubes",
        "icewater",
    ]
    .contains(&key.as_str())
}

/// The quantity (None when unparsed or to taste), the unit to convert with, and whether the
/// line is "to taste". The line's own unit wins over one written inside the amount.
fn read_amount(amount: &str, unit: &str) -> (Option<f64>, String, bool) {
    let unit_says = parse_amount(unit);
    match parse_amount(amount) {
        Amount::Quantity { value, unit: inner } => {
            let unit = if unit.trim().is_empty() {
                inner.unwrap_or_default()
            } else {
                unit.trim().to_string()
            };
            (Some(value), unit, false)
        }
        Amount::ToTaste => (None, String::new(), true),
        Amount::Unparsed => {
            // Models sometimes put everything in the unit field: amount "", unit "1큰술"/"약간".
            match unit_says {
                Amount::ToTaste => (None, String::new(), true),
                Amount::Quantity { value, unit: inner } if amount.trim().is_empty() => {
                    (Some(value), inner.unwrap_or_default(), false)
                }
                _ => (None, String::new(), false),
            }
        }
    }
}

fn per_serving(total: &Nutrients, servings: f64) -> PerServing {
    let each = |v: f64| round_to(v / servings, 1);
    PerServing {
        kcal: each(total.kcal),
        protein_g: each(total.protein_g),
        fat_g: each(total.fat_g),
        carbs_g: each(total.carbs_g),
        fiber_g: each(total.fiber_g),
        net_carbs_g: each((total.carbs_g - total.fiber_g).max(0.0)),
        sodium_mg: each(total.sodium_mg),
        sugar_g: each(total.sugar_g),
    }
}

/// Shares of macro energy at 4 (protein), 4 (total carbohydrate) and 9 (fat) kcal/g. They sum
/// to 1 whenever that energy is positive (the largest share absorbs the rounding, so none goes
/// negative), else all are 0.
fn energy_share(total: &Nutrients) -> EnergyShare {
    let parts = [
        9.0 * total.fat_g,
        4.0 * total.protein_g,
        4.0 * total.carbs_g,
    ];
    let energy: f64 = parts.iter().sum();
    if !(energy > 0.0 && energy.is_finite()) {
        return EnergyShare::default();
    }
    let mut shares = parts.map(|p| round_to(p / energy, 3));
    let largest = (0..3)
        .max_by(|a, b| parts[*a].total_cmp(&parts[*b]))
        .unwrap_or(0);
    let others: f64 = (0..3).filter(|i| *i != largest).map(|i| shares[i]).sum();
    shares[largest] = round_to(1.0 - others, 3);
    let [fat, protein, carbs] = shares;
    EnergyShare {
        fat,
        protein,
        carbs,
    }
}

fn round_to(value: f64, decimals: i32) -> f64 {
    let factor = 10f64.powi(decimals);
    let rounded = (value * factor).round() / factor;
    if rounded == 0.0 {
        0.0 // no negative zero on the wire
    } else {
        rounded
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::RecipeIngredient;

    fn recipe(servings: u32, lines: &[(&str, &str, &str)]) -> Recipe {
        Recipe {
            recipe_name: "test".into(),
            description: String::new(),
            cooking_time: 10,
            difficulty: "easy".into(),
            servings,
            ingredients: lines
                .iter()
                .map(|(name, amount, unit)| RecipeIngredient {
                    name: (*name).into(),
                    amount: (*amount).into(),
                    unit: (*unit).into(),
                })
                .collect(),
            instructions: vec![],
            nutrition_tips: String::new(),
            keto_notes: None,
        }
    }

    #[test]
    fn pork_belly_and_cabbage_by_hand() {
        // Rows: 삼겹살 10005 = 518 kcal, P 9.34, F 53.01, C 0, fibre 0, sugar 0, Na 32;
        //       양배추 11109 = 25 kcal, P 1.28, F 0.10, C 5.80, fibre 2.5, sugar 3.2, Na 18.
        // 300 g belly + 200 g cabbage, 2 servings, salt "약간" (to taste, 0 g).
        let table = FoodTable::embedded();
        let report = analyze(
            &recipe(
                2,
                &[
                    ("삼겹살", "300", "g"),
                    ("양배추", "200", "g"),
                    ("소금", "약간", ""),
                ],
            ),
            table,
        );
        let p = report.per_serving;
        assert_eq!(p.kcal, 802.0); // (3*518 + 2*25) / 2 = 1604 / 2
        assert_eq!(p.protein_g, 15.3); // (28.02 + 2.56) / 2 = 15.29
        assert_eq!(p.fat_g, 79.6); // (159.03 + 0.2) / 2 = 79.615
        assert_eq!(p.carbs_g, 5.8); // 11.6 / 2
        assert_eq!(p.fiber_g, 2.5); // 5.0 / 2
        assert_eq!(p.net_carbs_g, 3.3); // (11.6 - 5.0) / 2
        assert_eq!(p.sodium_mg, 66.0); // (96 + 36) / 2
        assert_eq!(p.sugar_g, 3.2); // 6.4 / 2
                                    // Energy: P 122.32, C 46.4, F 1433.07 kcal of 1601.79.
        assert_eq!(report.energy_share.protein, 0.076);
        assert_eq!(report.energy_share.carbs, 0.029);
        assert_eq!(report.energy_share.fat, 0.895);
        assert_eq!(report.matched_ingredients, 3);
        assert!(report.unmatched_ingredients.is_empty());
        assert_eq!(report.matched_mass_share, 1.0);
        let salt = &report.ingredients[2];
        assert!(salt.to_taste);
        assert_eq!(salt.grams, 0.0);
        let belly = &report.ingredients[0];
        let food = belly.food.as_ref().unwrap();
        assert_eq!(
            (food.food_id.as_str(), food.match_kind.as_str()),
            ("10005", "exact")
        );
        assert_eq!(belly.categories, vec![crate::domain::Category::Pork]);
    }

    #[test]
    fn eggs_milk_butter_and_an_unknown_by_hand() {
        // 달걀 01123 (개 = 50 g): 143 kcal, P 12.56, F 9.51, C 0.72, sugar 0.37, Na 142.
        // 우유 01077 (density 1.03): 61 kcal, P 3.15, F 3.25, C 4.8, sugar 5.05, Na 43.
        // 버터 01001 (density 0.96): 717 kcal, P 0.85, F 81.11, C 0.06, sugar 0.06, Na 643.
        // 2 개 = 100 g; 1/2 컵 = 100 ml * 1.03 = 103 g; 1 큰술 = 15 ml * 0.96 = 14.4 g.
        let table = FoodTable::embedded();
        let report = analyze(
            &recipe(
                1,
                &[
                    ("달걀", "2", "개"),
                    ("우유", "1/2", "컵"),
                    ("버터", "1", "큰술"),
                    ("unobtainium", "100", "g"),
                ],
            ),
            table,
        );
        let p = report.per_serving;
        assert_eq!(p.kcal, 309.1); // 143 + 62.83 + 103.248 = 309.078
        assert_eq!(p.protein_g, 15.9); // 12.56 + 3.2445 + 0.1224 = 15.9269
        assert_eq!(p.fat_g, 24.5); // 9.51 + 3.3475 + 11.67984 = 24.53734
        assert_eq!(p.carbs_g, 5.7); // 0.72 + 4.944 + 0.00864 = 5.67264
        assert_eq!(p.net_carbs_g, 5.7); // no fibre
        assert_eq!(p.sodium_mg, 278.9); // 142 + 44.29 + 92.592 = 278.882
        assert_eq!(p.sugar_g, 5.6); // 0.37 + 5.2015 + 0.00864 = 5.58014
                                    // Energy: P 63.7076, C 22.69056, F 220.83606 of 307.23422 kcal.
        assert_eq!(report.energy_share.protein, 0.207);
        assert_eq!(report.energy_share.carbs, 0.074);
        assert_eq!(report.energy_share.fat, 0.719);
        assert_eq!(report.matched_ingredients, 3);
        assert_eq!(
            report.unmatched_ingredients,
            vec!["unobtainium".to_string()]
        );
        // 217.4 g matched of 317.4 g.
        assert_eq!(report.matched_mass_share, 0.685);
        let grams: Vec<f64> = report.ingredients.iter().map(|i| i.grams).collect();
        assert_eq!(grams, vec![100.0, 103.0, 14.4, 100.0]);
    }

    #[test]
    fn fallback_supplies_retrieval_matches_and_bad_indices_are_ignored() {
        let table = FoodTable::embedded();
        let cabbage = table.match_name("양배추").unwrap().index;
        let r = recipe(1, &[("xylo-fruit", "100", "g"), ("zzqx", "1", "g")]);
        let report = analyze_with_fallback(&r, table, &|name| {
            (name == "xylo fruit")
                .then_some(cabbage)
                .or(Some(usize::MAX))
        });
        let first = report.ingredients[0].food.as_ref().unwrap();
        assert_eq!(first.match_kind, "retrieval");
        assert_eq!(first.name_ko, "양배추");
        assert_eq!(report.per_serving.kcal, 25.0);
        assert_eq!(report.unmatched_ingredients, vec!["zzqx".to_string()]);
    }

    #[test]
    fn empty_recipe_and_zero_servings_do_not_divide_by_zero() {
        let report = analyze(&recipe(0, &[]), FoodTable::embedded());
        assert_eq!(report.per_serving, PerServing::default());
        assert_eq!(report.energy_share, EnergyShare::default());
        assert_eq!(report.matched_mass_share, 1.0);
        let water = analyze(&recipe(0, &[("물", "500", "ml")]), FoodTable::embedded());
        assert_eq!(water.per_serving.kcal, 0.0);
        assert_eq!(water.energy_share, EnergyShare::default());
        assert_eq!(water.ingredients[0].grams, 500.0);
    }

    #[test]
    fn energy_shares_sum_to_one_and_never_go_negative() {
        for (p, c, f) in [
            (1.0, 1.0, 1.0),
            (0.4995, 0.5005, 0.0),
            (3.0, 0.0, 0.0),
            (1.0, 2.0, 0.001),
        ] {
            let s = energy_share(&Nutrients {
                protein_g: p,
                carbs_g: c,
                fat_g: f,
                ..Nutrients::default()
            });
            assert!((s.fat + s.protein + s.carbs - 1.0).abs() < 1e-9, "{s:?}");
            assert!(s.fat >= 0.0 && s.protein >= 0.0 && s.carbs >= 0.0, "{s:?}");
        }
    }

    #[test]
    fn amount_in_the_unit_field_and_unit_inside_the_amount_are_read() {
        let table = FoodTable::embedded();
        let report = analyze(
            &recipe(
                1,
                &[
                    ("설탕", "", "1큰술"),
                    ("마늘", "3쪽", ""),
                    ("고춧가루", "", "약간"),
                ],
            ),
            table,
        );
        assert_eq!(report.ingredients[0].grams, 12.8); // 15 ml * 0.85 = 12.75
        assert_eq!(report.ingredients[1].grams, 15.0); // 3 * 5 g
        assert!(report.ingredients[2].to_taste);
    }
}
