//! Household and metric units to grams, per food.
//!
//! Generic units: mass (g, kg, mg, oz, lb, 근 = 600 g), volume (ml, L, 큰술/tbsp = 15 ml,
//! 작은술/tsp = 5 ml, 컵 = 200 ml as Korean recipes use it, cup = 240 ml US, 종이컵 = 180 ml,
//! 꼬집/pinch = 0.3 ml, 국자 = 100 ml); volume becomes grams through the food's density.
//! Count units (개, 쪽, 장, 모, 줌, 마리 ...) exist only where the food row defines them, and
//! a row's own unit always wins over the generic one (a 컵 of rice is 160 g, not 200 × 0.85).

use super::table::Food;
use unicode_normalization::UnicodeNormalization;

/// Korean measuring cup (계량컵), used for `컵`.
pub const KOREAN_CUP_ML: f64 = 200.0;
/// US cup, used for `cup`.
pub const US_CUP_ML: f64 = 240.0;
/// Density assumed when a row gives none (water).
pub const DEFAULT_DENSITY_G_PER_ML: f64 = 1.0;

enum Generic {
    Grams(f64),
    Millilitres(f64),
}

fn generic_unit(unit: &str) -> Option<Generic> {
    use Generic::{Grams, Millilitres};
    Some(match unit {
        "g" | "gr" | "gram" | "grams" | "그램" | "그람" => Grams(1.0),
        "kg" | "킬로" | "킬로그램" | "kilogram" | "kilograms" => Grams(1000.0),
        "mg" | "밀리그램" => Grams(0.001),
        "oz" | "ounce" | "ounces" | "온스" => Grams(28.349_523_125),
        "lb" | "lbs" | "pound" | "pounds" | "파운드" => Grams(453.592_37),
        "근" => Grams(600.0),
        "ml" | "cc" | "밀리리터" | "미리" | "millilitre" | "milliliter" => Millilitres(1.0),
        "l" | "리터" | "liter" | "litre" | "liters" | "litres" => Millilitres(1000.0),
        "dl" => Millilitres(100.0),
        "큰술" | "큰스푼" | "밥숟가락" | "밥숟갈" | "숟가락" | "숟갈" | "스푼" | "tbsp" | "tbs"
        | "tb" | "tablespoon" | "tablespoons" => Millilitres(15.0),
        "작은술" | "작은스푼" | "찻숟가락" | "찻숟갈" | "티스푼" | "tsp" | "teaspoon"
        | "teaspoons" => Millilitres(5.0),
        "컵" | "계량컵" => Millilitres(KOREAN_CUP_ML),
        "cup" | "cups" => Millilitres(US_CUP_ML),
        "종이컵" => Millilitres(180.0),
        "floz" | "fl oz" | "fluid ounce" => Millilitres(29.573_53),
        "꼬집" | "pinch" | "pinches" => Millilitres(0.3),
        "방울" | "drop" | "drops" => Millilitres(0.05),
        "국자" | "ladle" => Millilitres(100.0),
        _ => return None,
    })
}

/// Count words in English mapped to the Korean unit the table rows use.
fn canonical_count_unit(unit: &str) -> &str {
    match unit {
        "piece" | "pieces" | "pc" | "pcs" | "ea" | "each" | "개입" | "egg" | "eggs" | "whole" => {
            "개"
        }
        "clove" | "cloves" => "쪽",
        "sheet" | "sheets" | "leaf" | "leaves" => "장",
        "slices" => "slice",
        "head" | "heads" => "포기",
        "bunch" | "bunches" => "단",
        "handful" | "handfuls" => "줌",
        "stalk" | "stalks" => "대",
        "block" | "blocks" => "모",
        "can" | "cans" | "tin" => "캔",
        "pack" | "package" | "packet" | "팩" => "팩",
        "bag" | "봉" => "봉지",
        "fillet" | "fillets" | "piece of fish" => "토막",
        "link" | "links" => "개",
        "송이" => "송이",
        other => other,
    }
}

/// Counters that stand for each other when a row defines only one of them.
const COUNT_TWINS: &[(&str, &str)] = &[("개", "알"), ("쪽", "톨"), ("개", "마리"), ("장", "잎")];

fn normalize_unit(unit: &str) -> String {
    let trimmed = unit.trim();
    // Case carries meaning only here: `T` is a tablespoon, `t` a teaspoon.
    match trimmed {
        "T" | "Tbsp" | "TBSP" | "Tbs" => return "tbsp".into(),
        "t" => return "tsp".into(),
        _ => {}
    }
    let lower: String = trimmed.nfc().flat_map(char::to_lowercase).collect();
    let lower = lower.trim_end_matches('.').trim();
    if lower == "fl oz" || lower == "fl. oz" {
        return "floz".into();
    }
    lower.split_whitespace().collect::<Vec<_>>().join("")
}

/// Grams of `quantity` `unit`s of `food`, or `None` when the unit means nothing for it (an
/// unknown unit, or a count unit the row does not define). An empty unit counts pieces when
/// the row defines `개`, grams otherwise.
pub fn grams_for(food: &Food, quantity: f64, unit: &str) -> Option<f64> {
    grams_for_unit(food, quantity, unit).or_else(|| {
        // `12 oz can`, `1 package (3 oz)`: a known unit followed by a container word.
        let first = leading_word(unit)?;
        grams_for_unit(food, quantity, first)
    })
}

/// The first of several words of a unit (`oz` of `oz can`), if there are several.
fn leading_word(unit: &str) -> Option<&str> {
    let mut words = unit.split_whitespace();
    let first = words.next()?;
    words.next().map(|_| first)
}

fn grams_for_unit(food: &Food, quantity: f64, unit: &str) -> Option<f64> {
    if !quantity.is_finite() || quantity < 0.0 {
        return None;
    }
    let unit = normalize_unit(unit);
    if unit.is_empty() {
        let per_piece = food.units.get("개").copied().unwrap_or(1.0);
        return Some(quantity * per_piece);
    }
    if let Some(grams) = per_food_unit(food, &unit) {
        return Some(quantity * grams);
    }
    match generic_unit(&unit)? {
        Generic::Grams(g) => Some(quantity * g),
        Generic::Millilitres(ml) => Some(quantity * ml * food.density_g_per_ml),
    }
}

fn per_food_unit(food: &Food, unit: &str) -> Option<f64> {
    if let Some(g) = food.units.get(unit) {
        return Some(*g);
    }
    let canonical = canonical_count_unit(unit);
    if let Some(g) = food.units.get(canonical) {
        return Some(*g);
    }
    COUNT_TWINS.iter().find_map(|(a, b)| {
        let twin = if canonical == *a {
            b
        } else if canonical == *b {
            a
        } else {
            return None;
        };
        food.units.get(*twin).copied()
    })
}

/// Grams for a line that matched no food: only mass and volume units (water density) count.
pub(crate) fn generic_grams(quantity: f64, unit: &str) -> Option<f64> {
    generic_grams_for_unit(quantity, unit)
        .or_else(|| generic_grams_for_unit(quantity, leading_word(unit)?))
}

fn generic_grams_for_unit(quantity: f64, unit: &str) -> Option<f64> {
    if !quantity.is_finite() || quantity < 0.0 {
        return None;
    }
    let unit = normalize_unit(unit);
    if unit.is_empty() {
        return Some(quantity);
    }
    match generic_unit(&unit)? {
        Generic::Grams(g) => Some(quantity * g),
        Generic::Millilitres(ml) => Some(quantity * ml * DEFAULT_DENSITY_G_PER_ML),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::nutrition::FoodTable;
    use proptest::prelude::*;

    fn food(id: &str) -> &'static Food {
        FoodTable::embedded().find_by_id(id).unwrap()
    }

    #[test]
    fn a_unit_followed_by_a_container_word_counts_the_unit() {
        // 12 oz = 340.2 g of spam whatever the can is called.
        let grams = grams_for(food("07908"), 12.0, "oz can").unwrap();
        assert!((grams - 340.2).abs() < 0.1, "{grams}");
        assert_eq!(generic_grams(2.0, "kg bag"), Some(2000.0));
        assert_eq!(generic_grams(2.0, "unknown words"), None);
    }

    #[test]
    fn metric_and_imperial_mass() {
        let belly = food("10005");
        assert_eq!(grams_for(belly, 1.0, "kg"), Some(1000.0));
        assert_eq!(grams_for(belly, 300.0, "g"), Some(300.0));
        assert_eq!(grams_for(belly, 1.0, "근"), Some(600.0));
        assert!((grams_for(belly, 1.0, "lb").unwrap() - 453.592).abs() < 0.001);
        assert!((grams_for(belly, 2.0, "oz").unwrap() - 56.699).abs() < 0.001);
    }

    #[test]
    fn volumes_use_density_and_korean_vs_us_cups() {
        let water = food("14411");
        assert_eq!(grams_for(water, 1.0, "컵"), Some(KOREAN_CUP_ML));
        assert_eq!(grams_for(water, 1.0, "cup"), Some(US_CUP_ML));
        assert_eq!(grams_for(water, 1.0, "큰술"), Some(15.0));
        assert_eq!(grams_for(water, 1.0, "T"), Some(15.0));
        assert_eq!(grams_for(water, 1.0, "t"), Some(5.0));
        assert_eq!(grams_for(water, 1.5, "L"), Some(1500.0));
        let oil = food("04058"); // 참기름, 0.92 g/ml
        assert!((grams_for(oil, 1.0, "큰술").unwrap() - 13.8).abs() < 1e-9);
        let salt = food("02047");
        assert_eq!(grams_for(salt, 1.0, "꼬집"), Some(0.4)); // row override
    }

    #[test]
    fn per_food_counts_override_generic_units() {
        assert_eq!(grams_for(food("01123"), 2.0, "개"), Some(100.0));
        assert_eq!(grams_for(food("01123"), 2.0, ""), Some(100.0));
        assert_eq!(grams_for(food("01123"), 1.0, "eggs"), Some(50.0));
        assert_eq!(grams_for(food("11215"), 3.0, "쪽"), Some(15.0));
        assert_eq!(grams_for(food("11215"), 3.0, "cloves"), Some(15.0));
        assert_eq!(grams_for(food("16126"), 1.0, "모"), Some(300.0));
        assert_eq!(grams_for(food("MFDS:김"), 2.0, "장"), Some(5.0));
        assert_eq!(grams_for(food("20050"), 1.0, "컵"), Some(160.0));
        assert_eq!(grams_for(food("10005"), 1.0, "개"), None); // no count defined
        assert_eq!(grams_for(food("10005"), 1.0, "smidgen"), None);
        assert_eq!(grams_for(food("10005"), -1.0, "g"), None);
        assert_eq!(grams_for(food("10005"), f64::NAN, "g"), None);
    }

    proptest! {
        #[test]
        fn grams_grow_with_quantity(a in 0.0f64..1000.0, b in 0.0f64..1000.0,
                                    unit in prop::sample::select(vec!["g", "kg", "큰술", "작은술", "컵", "cup", "ml", "oz", "개", "쪽", ""]),
                                    row in 0usize..439) {
            let table = FoodTable::embedded();
            let food = &table.foods()[row % table.len()];
            let (lo, hi) = if a <= b { (a, b) } else { (b, a) };
            if let (Some(g_lo), Some(g_hi)) = (grams_for(food, lo, unit), grams_for(food, hi, unit)) {
                prop_assert!(g_lo <= g_hi);
                prop_assert!(g_lo >= 0.0);
            }
        }

        #[test]
        fn spoons_scale_linearly(n in 0.0f64..50.0, row in 0usize..439) {
            let table = FoodTable::embedded();
            let food = &table.foods()[row % table.len()];
            for unit in ["큰술", "작은술", "tbsp", "컵"] {
                let one = grams_for(food, 1.0, unit).unwrap();
                let many = grams_for(food, n, unit).unwrap();
                prop_assert!((many - n * one).abs() <= 1e-9 * many.max(1.0));
            }
            prop_assert_eq!(grams_for(food, 2.0, "큰술"), grams_for(food, 1.0, "큰술").map(|g| 2.0 * g));
            prop_assert_eq!(grams_for(food, 1.0, "kg"), Some(1000.0));
        }
    }
}
