//! Checks that the computed figures can be trusted at all: an amount that could not be read
//! makes every figure unknown, a salty, sugary or fatty seasoning added "to taste" (counted
//! as 0 g) makes the figure it feeds a lower bound rather than a value, and so does a
//! seasoning the food table does not know, whatever its amount.

use super::table::{Bound, Metric, Rule};
use super::text::{normalize, Haystack, Term};
use super::{FoodFacts, Nutrients, PlannedRule};
use crate::domain::{Check, NutritionReport, Recipe};
use crate::nutrition::is_processed_seasoning;

pub(crate) const UNPARSED_AMOUNTS: &str = "noUnparsedAmounts";

/// Lines whose amount could not be turned into grams and that are not "to taste", plus
/// recipe lines the nutrition report does not cover at all.
pub(crate) fn unparsed_amounts(recipe: &Recipe, nutrition: &NutritionReport) -> Check {
    let mut offending: Vec<String> = nutrition
        .ingredients
        .iter()
        .filter(|f| !f.to_taste && !has_weight(f.grams))
        .map(|f| f.name.clone())
        .collect();
    let covered: Vec<String> = nutrition
        .ingredients
        .iter()
        .map(|f| normalize(&f.name))
        .collect();
    for line in &recipe.ingredients {
        if !covered.contains(&normalize(&line.name)) && !offending.contains(&line.name) {
            offending.push(line.name.clone());
        }
    }
    Check {
        rule: UNPARSED_AMOUNTS.to_string(),
        passed: offending.is_empty(),
        value: offending.len() as f64,
        limit: 0.0,
        offending,
        source: "data".to_string(),
    }
}

fn has_weight(grams: f64) -> bool {
    grams.is_finite() && grams > 0.0
}

/// A nutrient an unmeasured seasoning can hide.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Dense {
    Sodium,
    Carbs,
    Sugar,
    Energy,
    Fat,
    Protein,
}

impl Dense {
    /// The nutrient an upper limit on `metric` depends on; lower limits are not weakened by
    /// uncounted seasoning (their figure can only grow).
    pub(crate) fn for_rule(rule: Rule) -> Option<Dense> {
        let Rule::Limit(metric, Bound::AtMost(_)) = rule else {
            return None;
        };
        match metric {
            Metric::SodiumPerServing => Some(Dense::Sodium),
            Metric::CarbsPerServing | Metric::NetCarbsPerServing | Metric::CarbsEnergyShare => {
                Some(Dense::Carbs)
            }
            Metric::SugarPerServing | Metric::AddedSugarPerServing => Some(Dense::Sugar),
            Metric::KcalPerServing => Some(Dense::Energy),
            Metric::FatEnergyShare | Metric::SaturatedFatEnergyShare => Some(Dense::Fat),
            Metric::ProteinPerServing | Metric::ProteinEnergyShare => Some(Dense::Protein),
            Metric::FiberPerServing
            | Metric::MatchedMassShare
            | Metric::CholesterolPerServing
            | Metric::PotassiumPerServing
            | Metric::PhosphorusPerServing => None,
        }
    }

    pub(crate) fn rule_name(self) -> &'static str {
        match self {
            Dense::Sodium => "noUnmeasuredSodiumSources",
            Dense::Carbs => "noUnmeasuredCarbSources",
            Dense::Sugar => "noUnmeasuredSugarSources",
            Dense::Energy => "noUnmeasuredEnergySources",
            Dense::Fat => "noUnmeasuredFatSources",
            Dense::Protein => "noUnmeasuredProteinSources",
        }
    }

    /// Per 100 g, at or above which a "to taste" line can move the figure noticeably.
    fn threshold(self) -> f64 {
        match self {
            Dense::Sodium => 1000.0,
            Dense::Carbs => 50.0,
            Dense::Sugar => 30.0,
            Dense::Energy => 500.0,
            Dense::Fat => 50.0,
            Dense::Protein => 50.0,
        }
    }

    fn amount(self, n: &Nutrients) -> f64 {
        match self {
            Dense::Sodium => n.sodium_mg,
            // Fibre does not count against a carbohydrate limit measured as net carbs; a pinch
            // of pepper (net ~39 g/100 g) is no hidden carb source, sugar (100 g) is.
            Dense::Carbs => (n.carbs_g - n.fiber_g).max(0.0),
            Dense::Sugar => n.sugar_g,
            Dense::Energy => n.kcal,
            Dense::Fat => n.fat_g,
            Dense::Protein => n.protein_g,
        }
    }

    /// Whether an unmatched seasoning line with an amount also hides this nutrient (the
    /// nutrients seasonings are dense in); energy, fat and protein are judged by the
    /// matched-mass rule instead.
    fn counts_unmatched_products(self) -> bool {
        matches!(self, Dense::Sodium | Dense::Sugar | Dense::Carbs)
    }

    /// Names used when a "to taste" line matched no table row.
    fn unmatched_names(self) -> &'static [&'static str] {
        match self {
            Dense::Sodium => &[
                "소금",
                "간장",
                "된장",
                "고추장",
                "쌈장",
                "액젓",
                "젓갈",
                "새우젓",
                "굴소스",
                "다시다",
                "맛소금",
                "치킨스톡",
                "salt",
                "soy sauce",
                "fish sauce",
                "bouillon",
                "stock cube",
            ],
            Dense::Carbs => &[
                "설탕",
                "꿀",
                "올리고당",
                "물엿",
                "시럽",
                "조청",
                "밀가루",
                "전분",
                "sugar",
                "honey",
                "syrup",
                "flour",
                "starch",
            ],
            Dense::Sugar => &[
                "설탕",
                "=꿀",
                "올리고당",
                "물엿",
                "시럽",
                "조청",
                "sugar",
                "honey",
                "syrup",
            ],
            Dense::Energy | Dense::Fat => &[
                "기름",
                "식용유",
                "올리브유",
                "버터",
                "라드",
                "oil",
                "butter",
                "lard",
            ],
            Dense::Protein => &[],
        }
    }
}

/// One check per nutrient that an upper limit in `rules` depends on: "to taste" lines dense
/// in that nutrient must be given an amount.
pub(crate) fn unmeasured_sources(
    rules: &[PlannedRule],
    nutrition: &NutritionReport,
    facts: &dyn FoodFacts,
) -> Vec<Check> {
    let mut needed: Vec<(Dense, Vec<String>)> = Vec::new();
    for planned in rules {
        if let Some(dense) = Dense::for_rule(planned.rule) {
            match needed.iter_mut().find(|(d, _)| *d == dense) {
                Some((_, sources)) => {
                    for s in &planned.sources {
                        if !sources.contains(s) {
                            sources.push(s.clone());
                        }
                    }
                }
                None => needed.push((dense, planned.sources.clone())),
            }
        }
    }
    needed
        .into_iter()
        .map(|(dense, sources)| {
            let names: Vec<Term> = dense
                .unmatched_names()
                .iter()
                .map(|t| Term::parse(t))
                .collect();
            let seasoning_name = |name: &str| {
                !Haystack::new(name).find_all(&names, &[]).is_empty()
                    || (dense.counts_unmatched_products() && is_processed_seasoning(name))
            };
            let offending: Vec<String> = nutrition
                .ingredients
                .iter()
                .filter(|f| match &f.food {
                    Some(food) => {
                        f.to_taste
                            && facts
                                .per_100g(&food.food_id)
                                .is_some_and(|n| dense.amount(&n) >= dense.threshold())
                    }
                    // An unmatched seasoning counts as 0 whatever its amount: under a
                    // sodium, sugar or carbohydrate limit that hides the figure too.
                    None => {
                        (f.to_taste || dense.counts_unmatched_products()) && seasoning_name(&f.name)
                    }
                })
                .map(|f| f.name.clone())
                .collect();
            Check {
                rule: dense.rule_name().to_string(),
                passed: offending.is_empty(),
                value: offending.len() as f64,
                limit: 0.0,
                offending,
                source: sources.join(", "),
            }
        })
        .collect()
}
