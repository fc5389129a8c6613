//! Deterministic diet-rule checks and the allergen guard. A recipe is answered only when
//! every check here passes, so these functions decide what is safe to return.
//!
//! The rules are data (`shared/data/*.toml`, loaded and validated by `knowledge`; `table`
//! and `groups` are their typed views); `evaluate` turns a computed nutrition report into
//! checks, `prompt_constraints` states the same rules for the model, and `repair_feedback`
//! explains failed checks so the model can fix them. The module depends only on
//! `crate::domain`: food figures for per-ingredient contributions come in through the
//! `FoodFacts` trait. Numbers and sources: `docs/rules.md`.

pub mod allergens;
mod completeness;
mod exclusions;
pub mod groups;
pub mod knowledge;
mod messages;
pub mod table;
#[cfg(test)]
mod test_support;
pub(crate) mod text;

use std::collections::HashMap;

use serde::Serialize;

pub use knowledge::{load as load_knowledge, Knowledge, KnowledgeError};
pub use messages::{contradictions, prompt_constraints, repair_feedback};
pub use table::{Bound, Condition, Exclusion, Metric, Rule};

use crate::domain::{Check, NutritionReport, Profile, Recipe, Target};

/// Figures per 100 g of one food-table row (the food table's own type).
pub use crate::nutrition::Nutrients;

/// Looks up a food-table row's figures by its id (`FoodRef::food_id`).
pub trait FoodFacts {
    fn per_100g(&self, food_id: &str) -> Option<Nutrients>;
}

impl<F> FoodFacts for F
where
    F: Fn(&str) -> Option<Nutrients>,
{
    fn per_100g(&self, food_id: &str) -> Option<Nutrients> {
        self(food_id)
    }
}

impl FoodFacts for HashMap<String, Nutrients> {
    fn per_100g(&self, food_id: &str) -> Option<Nutrients> {
        self.get(food_id).copied()
    }
}

/// The outcome of checking one recipe.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Evaluation {
    pub checks: Vec<Check>,
    /// Health conditions the service has no rule for, as the user wrote them; they are not
    /// checked, and the caller should say so.
    pub unknown_conditions: Vec<String>,
}

impl Evaluation {
    pub fn all_passed(&self) -> bool {
        self.checks.iter().all(|c| c.passed)
    }

    pub fn failed(&self) -> Vec<Check> {
        self.checks.iter().filter(|c| !c.passed).cloned().collect()
    }
}

/// A rule and every place that asks for it (`target:keto`, `condition:고혈압`).
#[derive(Debug, Clone, PartialEq)]
pub struct PlannedRule {
    pub rule: Rule,
    pub sources: Vec<String>,
}

/// Every rule that applies to a request, before any recipe exists.
#[derive(Debug, Clone, PartialEq)]
pub struct Plan {
    pub rules: Vec<PlannedRule>,
    pub unknown_conditions: Vec<String>,
}

/// Collects the rules of the target, the calorie cap, the recognised health conditions and
/// the universal data-quality rule. A rule asked for twice (same name) is kept once with
/// both sources; two different limits on one metric are both kept, so each source's check
/// is visible.
pub fn plan(target: Target, profile: &Profile) -> Plan {
    let mut rules: Vec<PlannedRule> = Vec::new();
    let mut add = |rule: Rule, source: String| {
        let name = rule.name();
        match rules.iter_mut().find(|p| p.rule.name() == name) {
            Some(existing) => {
                if !existing.sources.contains(&source) {
                    existing.sources.push(source);
                }
            }
            None => rules.push(PlannedRule {
                rule,
                sources: vec![source],
            }),
        }
    };
    for rule in table::target_rules(target) {
        add(*rule, format!("target:{target}"));
    }
    // Conditions are recognised per entry; one named anywhere in the profile can override
    // another (dialysis replaces the CKD protein limit), so overrides apply profile-wide.
    let recognised: Vec<(&str, Vec<&'static Condition>)> = profile
        .health_conditions
        .iter()
        .map(|c| c.trim())
        .filter(|c| !c.is_empty())
        .map(|written| (written, table::conditions_in(written)))
        .collect();
    let overridden: Vec<&str> = recognised
        .iter()
        .flat_map(|(_, found)| {
            found
                .iter()
                .flat_map(|c| c.overrides.iter().map(String::as_str))
        })
        .collect();
    if let Some(max) = profile.max_calories {
        add(
            Rule::Limit(Metric::KcalPerServing, Bound::AtMost(f64::from(max))),
            "profile:maxCalories".to_string(),
        );
    }
    let mut unknown_conditions: Vec<String> = Vec::new();
    for (written, found) in recognised {
        if found.is_empty() {
            if !unknown_conditions.iter().any(|u| u == written) {
                unknown_conditions.push(written.to_string());
            }
            continue;
        }
        for known in found {
            if overridden.contains(&known.id.as_str()) {
                continue;
            }
            for rule in &known.rules {
                add(*rule, format!("condition:{written}"));
            }
        }
    }
    for rule in table::universal_rules() {
        add(*rule, "data".to_string());
    }
    Plan {
        rules,
        unknown_conditions,
    }
}

/// Checks one recipe against everything that applies: diet target, calorie cap, health
/// conditions, data completeness and each declared allergy.
pub fn evaluate(
    target: Target,
    profile: &Profile,
    recipe: &Recipe,
    nutrition: &NutritionReport,
    facts: &dyn FoodFacts,
) -> Evaluation {
    let plan = plan(target, profile);
    let mut checks: Vec<Check> = Vec::new();
    if let Err(err) = knowledge::load() {
        // Unreachable in a started function (the start fails first); fail closed anyway.
        checks.push(Check {
            rule: KNOWLEDGE_LOADED.to_string(),
            passed: false,
            value: 0.0,
            limit: 1.0,
            offending: vec![err.to_string()],
            source: "data".to_string(),
        });
    }
    checks.extend(
        plan.rules
            .iter()
            .map(|planned| check_rule(planned, recipe, nutrition, facts)),
    );
    checks.push(completeness::unparsed_amounts(recipe, nutrition));
    checks.extend(completeness::unmeasured_sources(
        &plan.rules,
        nutrition,
        facts,
    ));
    checks.extend(allergens::scan(&profile.allergies, recipe, nutrition));
    Evaluation {
        checks,
        unknown_conditions: plan.unknown_conditions,
    }
}

/// The check that stands for unusable food knowledge (never passes).
pub const KNOWLEDGE_LOADED: &str = "foodKnowledgeLoaded";

/// The name of the servings check (`servings==2`).
pub fn servings_rule(requested: u32) -> String {
    format!("servings=={requested}")
}

/// The recipe must be written for the servings the request asked for: every per-serving
/// figure is the recipe's total divided by its own servings, so a recipe claiming 6
/// servings for a 2-serving request would show a third of the real figures.
pub fn servings_check(requested: u32, recipe: &Recipe) -> Check {
    let passed = recipe.servings == requested;
    Check {
        rule: servings_rule(requested),
        passed,
        value: f64::from(recipe.servings),
        limit: f64::from(requested),
        offending: if passed {
            Vec::new()
        } else {
            vec![format!("servings: {}", recipe.servings)]
        },
        source: "request:servings".to_string(),
    }
}

/// Per-serving value of a metric the report does not carry, summed over the matched lines
/// from the food rows' figures. Saturated fat is a share of the 4/4/9 macro energy, as the
/// other energy shares are.
pub fn line_total(
    metric: Metric,
    recipe: &Recipe,
    nutrition: &NutritionReport,
    facts: &dyn FoodFacts,
) -> f64 {
    let servings = f64::from(recipe.servings.max(1));
    let mut total = Nutrients::default();
    for line in &nutrition.ingredients {
        if let Some(n) = line.food.as_ref().and_then(|f| facts.per_100g(&f.food_id)) {
            total.add(&n.scaled_to(line.grams));
        }
    }
    match metric {
        Metric::AddedSugarPerServing => total.added_sugar_g / servings,
        Metric::CholesterolPerServing => total.cholesterol_mg / servings,
        Metric::PotassiumPerServing => total.potassium_mg / servings,
        Metric::PhosphorusPerServing => total.phosphorus_mg / servings,
        Metric::SaturatedFatEnergyShare => {
            let energy = 9.0 * total.fat_g + 4.0 * total.protein_g + 4.0 * total.carbs_g;
            if energy > 0.0 {
                9.0 * total.saturated_fat_g / energy
            } else {
                0.0
            }
        }
        other => other.value(nutrition),
    }
}

fn check_rule(
    planned: &PlannedRule,
    recipe: &Recipe,
    nutrition: &NutritionReport,
    facts: &dyn FoodFacts,
) -> Check {
    let source = planned.sources.join(", ");
    match planned.rule {
        Rule::Limit(metric, bound) => {
            // Compared after rounding so the shown value and the verdict always agree.
            let raw = if metric.from_lines() {
                line_total(metric, recipe, nutrition, facts)
            } else {
                metric.value(nutrition)
            };
            let value = metric.round(raw);
            let passed = bound.holds(value);
            let offending = if passed {
                Vec::new()
            } else {
                contributors(metric, bound, recipe, nutrition, facts)
            };
            Check {
                rule: planned.rule.name(),
                passed,
                value,
                limit: bound.limit(),
                offending,
                source,
            }
        }
        Rule::Exclude(exclusion) => {
            let finding = exclusions::find(exclusion, recipe, nutrition);
            Check {
                rule: planned.rule.name(),
                passed: finding.count == 0,
                value: finding.count as f64,
                limit: 0.0,
                offending: finding.offending,
                source,
            }
        }
    }
}

/// How many contributors a failed numeric check names.
const TOP_CONTRIBUTORS: usize = 3;

/// The ingredient lines that push a metric the wrong way, largest first, with their share
/// per serving (`간장 (1380mg)`). A lower limit on an amount (`proteinPerServing>=30g`) has
/// no culprit and yields none.
fn contributors(
    metric: Metric,
    bound: Bound,
    recipe: &Recipe,
    nutrition: &NutritionReport,
    facts: &dyn FoodFacts,
) -> Vec<String> {
    if metric == Metric::MatchedMassShare {
        let mut unmatched: Vec<(&str, f64)> = nutrition
            .ingredients
            .iter()
            .filter(|f| f.food.is_none() && f.grams > 0.0)
            .map(|f| (f.name.as_str(), f.grams))
            .collect();
        unmatched.sort_by(|a, b| b.1.total_cmp(&a.1));
        let mut names: Vec<String> = unmatched
            .iter()
            .map(|(name, grams)| format!("{name} ({}g)", table::format_number(grams.round())))
            .collect();
        for name in &nutrition.unmatched_ingredients {
            if !unmatched.iter().any(|(n, _)| n == name) {
                names.push(name.clone());
            }
        }
        return names;
    }
    let Some((per_100g, unit)) = pushing_quantity(metric, bound) else {
        return Vec::new();
    };
    let servings = f64::from(recipe.servings.max(1));
    let mut lines: Vec<(&str, f64)> = nutrition
        .ingredients
        .iter()
        .filter_map(|f| {
            let food = f.food.as_ref()?;
            let n = facts.per_100g(&food.food_id)?;
            let amount = per_100g(&n) * f.grams / 100.0 / servings;
            (amount.is_finite() && amount > 0.0).then_some((f.name.as_str(), amount))
        })
        .collect();
    lines.sort_by(|a, b| b.1.total_cmp(&a.1));
    lines
        .into_iter()
        .take(TOP_CONTRIBUTORS)
        .map(|(name, amount)| format!("{name} ({}{unit})", (amount * 10.0).round() / 10.0))
        .collect()
}

type PerHundredGrams = fn(&Nutrients) -> f64;

/// The per-100 g quantity that makes `metric` fail `bound`, with its unit.
fn pushing_quantity(metric: Metric, bound: Bound) -> Option<(PerHundredGrams, &'static str)> {
    let at_most = matches!(bound, Bound::AtMost(_));
    let fat_energy: PerHundredGrams = |n| n.fat_g * 9.0;
    let protein_energy: PerHundredGrams = |n| n.protein_g * 4.0;
    let carbs_energy: PerHundredGrams = |n| n.carbs_g * 4.0;
    match (metric, at_most) {
        (Metric::KcalPerServing, true) => Some((|n| n.kcal, "kcal")),
        (Metric::ProteinPerServing, true) => Some((|n| n.protein_g, "g")),
        (Metric::CarbsPerServing, true) => Some((|n| n.carbs_g, "g")),
        (Metric::NetCarbsPerServing, true) => Some((|n| (n.carbs_g - n.fiber_g).max(0.0), "g")),
        (Metric::SugarPerServing, true) => Some((|n| n.sugar_g, "g")),
        (Metric::SodiumPerServing, true) => Some((|n| n.sodium_mg, "mg")),
        (Metric::AddedSugarPerServing, true) => Some((|n| n.added_sugar_g, "g")),
        (Metric::CholesterolPerServing, true) => Some((|n| n.cholesterol_mg, "mg")),
        (Metric::PotassiumPerServing, true) => Some((|n| n.potassium_mg, "mg")),
        (Metric::PhosphorusPerServing, true) => Some((|n| n.phosphorus_mg, "mg")),
        (Metric::SaturatedFatEnergyShare, true) => Some((|n| n.saturated_fat_g * 9.0, "kcal")),
        (Metric::FatEnergyShare, true) => Some((fat_energy, "kcal")),
        (Metric::ProteinEnergyShare, true) => Some((protein_energy, "kcal")),
        (Metric::CarbsEnergyShare, true) => Some((carbs_energy, "kcal")),
        // Too small a share: the other macros' energy dilutes it.
        (Metric::FatEnergyShare, false) => Some((|n| n.protein_g * 4.0 + n.carbs_g * 4.0, "kcal")),
        (Metric::ProteinEnergyShare, false) => Some((|n| n.fat_g * 9.0 + n.carbs_g * 4.0, "kcal")),
        (Metric::CarbsEnergyShare, false) => Some((|n| n.fat_g * 9.0 + n.protein_g * 4.0, "kcal")),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::{Category, Language};
    use crate::rules::test_support::{matched, named, recipe, report, unmatched};

    fn no_facts(_: &str) -> Option<Nutrients> {
        None
    }

    fn profile() -> Profile {
        Profile::default()
    }

    fn with_conditions(conditions: &[&str]) -> Profile {
        Profile {
            health_conditions: conditions.iter().map(|c| c.to_string()).collect(),
            ..Profile::default()
        }
    }

    /// Runs `target` on a one-line recipe whose report `figures` fills in.
    fn evaluate_figures(
        target: Target,
        profile: &Profile,
        figures: impl Fn(&mut NutritionReport),
    ) -> Evaluation {
        let (recipe, mut report) = named(&["두부"], &[]);
        figures(&mut report);
        evaluate(target, profile, &recipe, &report, &no_facts)
    }

    fn check<'a>(evaluation: &'a Evaluation, rule: &str) -> &'a Check {
        evaluation
            .checks
            .iter()
            .find(|c| c.rule == rule)
            .unwrap_or_else(|| panic!("no check {rule} in {:?}", evaluation.checks))
    }

    /// Asserts the verdict of `rule` for values at, just inside and just outside its limit.
    fn assert_boundary(
        target: Target,
        rule: &str,
        set: fn(&mut NutritionReport, f64),
        at: f64,
        inside: f64,
        outside: f64,
    ) {
        for (value, expected) in [(at, true), (inside, true), (outside, false)] {
            let evaluation = evaluate_figures(target, &profile(), |r| set(r, value));
            let c = check(&evaluation, rule);
            assert_eq!(c.passed, expected, "{rule} with {value}: {c:?}");
            assert_eq!(c.value, value, "{rule} reports the value");
            assert_eq!(c.source, format!("target:{target}"));
        }
    }

    fn net_carbs(r: &mut NutritionReport, v: f64) {
        r.per_serving.net_carbs_g = v;
    }
    fn carbs(r: &mut NutritionReport, v: f64) {
        r.per_serving.carbs_g = v;
    }
    fn sugar(r: &mut NutritionReport, v: f64) {
        r.per_serving.sugar_g = v;
    }
    fn fiber(r: &mut NutritionReport, v: f64) {
        r.per_serving.fiber_g = v;
    }
    fn sodium(r: &mut NutritionReport, v: f64) {
        r.per_serving.sodium_mg = v;
    }
    fn protein(r: &mut NutritionReport, v: f64) {
        r.per_serving.protein_g = v;
    }
    fn kcal(r: &mut NutritionReport, v: f64) {
        r.per_serving.kcal = v;
    }
    fn fat_share(r: &mut NutritionReport, v: f64) {
        r.energy_share.fat = v;
    }
    fn protein_share(r: &mut NutritionReport, v: f64) {
        r.energy_share.protein = v;
    }
    fn carbs_share(r: &mut NutritionReport, v: f64) {
        r.energy_share.carbs = v;
    }

    #[test]
    fn keto_limits() {
        let t = Target::Keto;
        assert_boundary(t, "netCarbsPerServing<=5g", net_carbs, 5.0, 4.9, 5.1);
        assert_boundary(t, "fatEnergyShare>=0.70", fat_share, 0.70, 0.701, 0.699);
        assert_boundary(
            t,
            "proteinEnergyShare>=0.20",
            protein_share,
            0.20,
            0.201,
            0.199,
        );
        assert_boundary(
            t,
            "proteinEnergyShare<=0.25",
            protein_share,
            0.25,
            0.249,
            0.251,
        );
    }

    #[test]
    fn low_carb_limits() {
        let t = Target::LowCarb;
        assert_boundary(t, "netCarbsPerServing<=20g", net_carbs, 20.0, 19.9, 20.1);
        assert_boundary(t, "carbsEnergyShare<=0.26", carbs_share, 0.26, 0.259, 0.261);
    }

    #[test]
    fn diabetic_limits() {
        let t = Target::Diabetic;
        assert_boundary(t, "carbsPerServing<=45g", carbs, 45.0, 44.9, 45.1);
        assert_boundary(t, "fiberPerServing>=3g", fiber, 3.0, 3.1, 2.9);
        // Total sugar (milk, fruit) is not limited; added sugar is, from the lines.
        let e = evaluate_figures(t, &profile(), |r| sugar(r, 30.0));
        assert!(e.checks.iter().all(|c| c.rule != "sugarPerServing<=10g"));
        assert!(check(&e, "addedSugarPerServing<=10g").passed);
    }

    #[test]
    fn low_sodium_limit() {
        assert_boundary(
            Target::LowSodium,
            "sodiumPerServing<=600mg",
            sodium,
            600.0,
            599.9,
            600.1,
        );
    }

    #[test]
    fn high_protein_limits() {
        let t = Target::HighProtein;
        assert_boundary(t, "proteinPerServing>=30g", protein, 30.0, 30.1, 29.9);
        assert_boundary(
            t,
            "proteinEnergyShare>=0.25",
            protein_share,
            0.25,
            0.251,
            0.249,
        );
    }

    #[test]
    fn weight_loss_limits() {
        let t = Target::WeightLoss;
        assert_boundary(t, "kcalPerServing<=500", kcal, 500.0, 499.9, 500.1);
        assert_boundary(t, "fatEnergyShare<=0.35", fat_share, 0.35, 0.349, 0.351);
        assert_boundary(t, "proteinPerServing>=20g", protein, 20.0, 20.1, 19.9);
    }

    #[test]
    fn balanced_ranges_are_two_checks_each() {
        let t = Target::Balanced;
        assert_boundary(t, "carbsEnergyShare>=0.40", carbs_share, 0.40, 0.401, 0.399);
        assert_boundary(t, "carbsEnergyShare<=0.65", carbs_share, 0.65, 0.649, 0.651);
        assert_boundary(
            t,
            "proteinEnergyShare>=0.10",
            protein_share,
            0.10,
            0.101,
            0.099,
        );
        assert_boundary(
            t,
            "proteinEnergyShare<=0.30",
            protein_share,
            0.30,
            0.299,
            0.301,
        );
        assert_boundary(t, "fatEnergyShare>=0.15", fat_share, 0.15, 0.151, 0.149);
        assert_boundary(t, "fatEnergyShare<=0.35", fat_share, 0.35, 0.349, 0.351);
    }

    #[test]
    fn every_target_has_rules_and_stable_names() {
        for target in Target::ALL {
            assert!(!table::target_rules(target).is_empty(), "{target}");
        }
        let names: Vec<String> = table::target_rules(Target::Keto)
            .iter()
            .map(|r| r.name())
            .collect();
        assert_eq!(
            names,
            [
                "netCarbsPerServing<=5g",
                "fatEnergyShare>=0.70",
                "proteinEnergyShare>=0.20",
                "proteinEnergyShare<=0.25"
            ]
        );
    }

    #[test]
    fn values_are_rounded_and_judged_as_shown() {
        let e = evaluate_figures(Target::Keto, &profile(), |r| {
            r.per_serving.net_carbs_g = 5.04;
            r.energy_share.fat = 0.69951;
        });
        assert_eq!(check(&e, "netCarbsPerServing<=5g").value, 5.0);
        assert!(check(&e, "netCarbsPerServing<=5g").passed);
        assert_eq!(check(&e, "fatEnergyShare>=0.70").value, 0.7);
        assert!(check(&e, "fatEnergyShare>=0.70").passed);
        let e = evaluate_figures(Target::Keto, &profile(), |r| {
            r.per_serving.net_carbs_g = f64::NAN
        });
        assert!(!check(&e, "netCarbsPerServing<=5g").passed);
    }

    #[test]
    fn max_calories_from_profile_is_checked_for_any_target() {
        let p = Profile {
            max_calories: Some(450),
            ..Profile::default()
        };
        let e = evaluate_figures(Target::Vegan, &p, |r| r.per_serving.kcal = 450.0);
        let c = check(&e, "kcalPerServing<=450");
        assert!(c.passed);
        assert_eq!(c.source, "profile:maxCalories");
        let e = evaluate_figures(Target::Vegan, &p, |r| r.per_serving.kcal = 450.1);
        assert!(!check(&e, "kcalPerServing<=450").passed);
    }

    #[test]
    fn vegetarian_rejects_flesh_by_category_name_and_step() {
        let recipe = recipe(&["두부", "훈제 오리", "달걀"], &["멸치 육수를 붓는다"]);
        let report = report(vec![
            matched("두부", "16126", "TOFU", 200.0, &[Category::Soy]),
            matched(
                "훈제 오리",
                "05140",
                "DUCK,DOMESTICATED",
                100.0,
                &[Category::Poultry],
            ),
            matched("달걀", "01123", "EGG,WHL,RAW", 100.0, &[Category::Egg]),
        ]);
        let e = evaluate(Target::Vegetarian, &profile(), &recipe, &report, &no_facts);
        let c = check(&e, "noMeatOrFish");
        assert!(!c.passed);
        assert_eq!(c.value, 2.0);
        assert_eq!(c.offending[0], "훈제 오리");
        assert!(c.offending[1].starts_with("step 1:"));
    }

    #[test]
    fn vegetarian_allows_eggs_dairy_and_soy_meat() {
        let (recipe, report) = named(
            &["달걀", "치즈", "콩고기", "버섯"],
            &["고기 대신 버섯을 쓴다"],
        );
        let e = evaluate(Target::Vegetarian, &profile(), &recipe, &report, &no_facts);
        assert!(check(&e, "noMeatOrFish").passed, "{:?}", e.checks);
    }

    #[test]
    fn vegan_rejects_every_animal_product() {
        let (recipe, report) = named(&["두부", "꿀", "버터", "달걀", "두유"], &[]);
        let e = evaluate(Target::Vegan, &profile(), &recipe, &report, &no_facts);
        let c = check(&e, "noAnimalProducts");
        assert_eq!(c.offending, vec!["꿀", "버터", "달걀"]);
        let (recipe, report) = named(&["두부", "두유", "현미"], &[]);
        let e = evaluate(Target::Vegan, &profile(), &recipe, &report, &no_facts);
        assert!(check(&e, "noAnimalProducts").passed);
    }

    #[test]
    fn matched_mass_share_below_threshold_names_unmatched_lines() {
        let recipe = recipe(&["두부", "비법소스"], &[]);
        let mut report = report(vec![
            matched("두부", "16126", "TOFU", 80.0, &[Category::Soy]),
            unmatched("비법소스", 20.0),
        ]);
        report.matched_mass_share = 0.8;
        let e = evaluate(Target::Balanced, &profile(), &recipe, &report, &no_facts);
        let c = check(&e, "matchedMassShare>=0.85");
        assert!(!c.passed);
        assert_eq!(c.offending, vec!["비법소스 (20g)"]);
        report.matched_mass_share = 0.85;
        let e = evaluate(Target::Balanced, &profile(), &recipe, &report, &no_facts);
        assert!(check(&e, "matchedMassShare>=0.85").passed);
    }

    #[test]
    fn unparsed_amounts_fail_but_to_taste_lines_do_not() {
        let recipe = recipe(&["두부", "후추", "양파"], &[]);
        let mut pepper = unmatched("후추", 0.0);
        pepper.to_taste = true;
        let report = report(vec![
            unmatched("두부", 200.0),
            pepper,
            unmatched("양파", 0.0),
        ]);
        let e = evaluate(Target::Balanced, &profile(), &recipe, &report, &no_facts);
        let c = check(&e, "noUnparsedAmounts");
        assert_eq!(c.offending, vec!["양파"]);
        assert_eq!(c.value, 1.0);
    }

    fn salty_facts(id: &str) -> Option<Nutrients> {
        match id {
            "salt" => Some(Nutrients {
                sodium_mg: 38758.0,
                ..Nutrients::default()
            }),
            "soy" => Some(Nutrients {
                kcal: 53.0,
                protein_g: 8.1,
                carbs_g: 4.9,
                sodium_mg: 5493.0,
                ..Nutrients::default()
            }),
            "kimchi" => Some(Nutrients {
                kcal: 15.0,
                carbs_g: 2.4,
                fiber_g: 1.6,
                sodium_mg: 498.0,
                ..Nutrients::default()
            }),
            "tofu" => Some(Nutrients {
                kcal: 76.0,
                protein_g: 8.1,
                fat_g: 4.8,
                carbs_g: 1.9,
                sodium_mg: 7.0,
                ..Nutrients::default()
            }),
            _ => None,
        }
    }

    #[test]
    fn failed_sodium_check_names_the_saltiest_lines() {
        let recipe = recipe(&["두부", "간장", "김치"], &[]);
        let mut report = report(vec![
            matched("두부", "tofu", "TOFU", 300.0, &[Category::Soy]),
            matched("간장", "soy", "SOY SAUCE", 30.0, &[Category::Soy]),
            matched(
                "김치",
                "kimchi",
                "CABBAGE,KIMCHI",
                100.0,
                &[Category::Vegetable],
            ),
        ]);
        report.per_serving.sodium_mg = 1084.0;
        let e = evaluate(
            Target::LowSodium,
            &profile(),
            &recipe,
            &report,
            &salty_facts,
        );
        let c = check(&e, "sodiumPerServing<=600mg");
        assert!(!c.passed);
        // 30 g × 5493 mg/100 g ÷ 2 servings = 824 mg; 100 g × 498 ÷ 2 = 249 mg.
        assert_eq!(
            c.offending,
            vec!["간장 (824mg)", "김치 (249mg)", "두부 (10.5mg)"]
        );
    }

    #[test]
    fn too_little_fat_share_names_the_diluting_lines() {
        let recipe = recipe(&["두부", "간장"], &[]);
        let report = report(vec![
            matched("두부", "tofu", "TOFU", 300.0, &[Category::Soy]),
            matched("간장", "soy", "SOY SAUCE", 30.0, &[Category::Soy]),
        ]);
        let e = evaluate(Target::Keto, &profile(), &recipe, &report, &salty_facts);
        let c = check(&e, "fatEnergyShare>=0.70");
        assert_eq!(c.offending.len(), 2);
        assert!(c.offending[0].starts_with("두부 ("));
        assert!(c.offending[0].ends_with("kcal)"));
        let e = evaluate(
            Target::HighProtein,
            &profile(),
            &recipe,
            &report,
            &salty_facts,
        );
        assert!(check(&e, "proteinPerServing>=30g").offending.is_empty());
    }

    #[test]
    fn salt_to_taste_is_unmeasured_only_where_sodium_is_limited() {
        let recipe = recipe(&["두부", "소금", "간장"], &[]);
        let mut salt = matched("소금", "salt", "SALT,TABLE", 0.0, &[Category::Seasoning]);
        salt.to_taste = true;
        let mut soy = unmatched("양조간장", 0.0);
        soy.to_taste = true;
        let mut report = report(vec![matched("두부", "tofu", "TOFU", 300.0, &[]), salt, soy]);
        report.ingredients[2].name = "간장".to_string();
        let e = evaluate(
            Target::LowSodium,
            &profile(),
            &recipe,
            &report,
            &salty_facts,
        );
        let c = check(&e, "noUnmeasuredSodiumSources");
        assert_eq!(c.offending, vec!["소금", "간장"]);
        assert_eq!(c.source, "target:low-sodium");
        let e = evaluate(Target::Keto, &profile(), &recipe, &report, &salty_facts);
        assert!(e
            .checks
            .iter()
            .all(|c| c.rule != "noUnmeasuredSodiumSources"));
    }

    #[test]
    fn hypertension_in_korean_and_english() {
        for written in [
            "고혈압",
            "High Blood Pressure",
            "hypertension",
            "경증 고혈압",
            "HYPER-TENSION",
        ] {
            let e = evaluate_figures(Target::Balanced, &with_conditions(&[written]), |r| {
                r.per_serving.sodium_mg = 500.1;
            });
            let c = check(&e, "sodiumPerServing<=500mg");
            assert!(!c.passed, "{written}");
            assert_eq!(c.source, format!("condition:{written}"));
            assert!(e.unknown_conditions.is_empty());
        }
        let e = evaluate_figures(Target::Balanced, &with_conditions(&["저혈압"]), |_| {});
        assert!(e.checks.iter().all(|c| c.rule != "sodiumPerServing<=500mg"));
        assert_eq!(e.unknown_conditions, vec!["저혈압"]);
    }

    #[test]
    fn diabetes_synonyms_add_carb_and_sugar_limits() {
        for written in [
            "당뇨",
            "당뇨병",
            "제2형 당뇨병",
            "diabetes",
            "Type 2 Diabetes",
        ] {
            let e = evaluate_figures(Target::Keto, &with_conditions(&[written]), |r| {
                r.per_serving.carbs_g = 45.0;
                r.per_serving.sugar_g = 10.1;
            });
            assert!(check(&e, "carbsPerServing<=45g").passed, "{written}");
            let added = check(&e, "addedSugarPerServing<=10g");
            assert_eq!(added.source, format!("condition:{written}"));
        }
    }

    #[test]
    fn kidney_disease_limits_sodium_and_protein() {
        for written in ["신장질환", "만성콩팥병", "kidney disease", "CKD"] {
            let e = evaluate_figures(Target::Balanced, &with_conditions(&[written]), |r| {
                r.per_serving.sodium_mg = 600.0;
                r.per_serving.protein_g = 19.1;
            });
            assert!(check(&e, "sodiumPerServing<=600mg").passed, "{written}");
            assert!(!check(&e, "proteinPerServing<=19g").passed, "{written}");
            for rule in ["potassiumPerServing<=700mg", "phosphorusPerServing<=300mg"] {
                assert!(check(&e, rule).passed, "{written} {rule}");
            }
        }
    }

    #[test]
    fn dialysis_replaces_the_ckd_protein_limit() {
        for conditions in [
            vec!["신장 투석"],
            vec!["만성콩팥병", "혈액투석"],
            vec!["dialysis"],
        ] {
            let e = evaluate_figures(Target::Balanced, &with_conditions(&conditions), |r| {
                r.per_serving.protein_g = 25.0;
            });
            assert!(
                e.checks.iter().all(|c| c.rule != "proteinPerServing<=19g"),
                "{conditions:?}"
            );
            assert!(check(&e, "proteinPerServing>=23g").passed, "{conditions:?}");
            assert!(check(&e, "proteinPerServing<=28g").passed, "{conditions:?}");
        }
    }

    #[test]
    fn pregnancy_and_gout_exclude_alcohol() {
        for (condition, ingredient) in [
            ("임신", "맛술"),
            ("pregnant", "white wine"),
            ("통풍", "맥주"),
        ] {
            let (recipe, report) = named(&[ingredient], &[]);
            let e = evaluate(
                Target::Balanced,
                &with_conditions(&[condition]),
                &recipe,
                &report,
                &no_facts,
            );
            assert!(!check(&e, "noAlcohol").passed, "{condition} {ingredient}");
        }
        let (recipe, report) = named(&["훈제연어", "브리 치즈"], &[]);
        let e = evaluate(
            Target::Balanced,
            &with_conditions(&["임신 중"]),
            &recipe,
            &report,
            &no_facts,
        );
        assert_eq!(check(&e, "noSmokedFishOrRawMilkCheese").value, 2.0);
        let (recipe, report) = named(&["와인 식초", "무알콜 맥주", "브리오슈"], &[]);
        let e = evaluate(
            Target::Balanced,
            &with_conditions(&["임신"]),
            &recipe,
            &report,
            &no_facts,
        );
        assert!(
            check(&e, "noAlcohol").passed,
            "{:?}",
            check(&e, "noAlcohol")
        );
        assert!(check(&e, "noSmokedFishOrRawMilkCheese").passed);
    }

    #[test]
    fn lactose_intolerance_excludes_milk_but_not_hard_cheese_or_butter() {
        let (recipe, report) = named(
            &["우유", "생크림", "파마산 치즈", "버터", "락토프리 우유"],
            &[],
        );
        let e = evaluate(
            Target::Balanced,
            &with_conditions(&["유당불내증"]),
            &recipe,
            &report,
            &no_facts,
        );
        assert_eq!(check(&e, "noLactose").offending, vec!["우유", "생크림"]);
    }

    #[test]
    fn dyslipidemia_caps_fat_share_and_contradicts_keto() {
        for written in [
            "고지혈증",
            "이상지질혈증",
            "high cholesterol",
            "Hyperlipidemia",
        ] {
            let e = evaluate_figures(Target::Keto, &with_conditions(&[written]), |r| {
                r.energy_share.fat = 0.72;
            });
            assert!(check(&e, "fatEnergyShare>=0.70").passed);
            assert!(!check(&e, "fatEnergyShare<=0.35").passed, "{written}");
            assert_eq!(
                contradictions(Target::Keto, &with_conditions(&[written])).len(),
                1
            );
        }
        assert!(contradictions(Target::Balanced, &with_conditions(&["고지혈증"])).is_empty());
    }

    #[test]
    fn high_protein_contradicts_kidney_disease() {
        let found = contradictions(Target::HighProtein, &with_conditions(&["CKD"]));
        assert_eq!(
            found,
            vec!["proteinPerServing>=30g (target:high-protein) contradicts proteinPerServing<=19g (condition:CKD)"]
        );
    }

    #[test]
    fn obesity_caps_energy() {
        for written in ["비만", "obesity"] {
            let e = evaluate_figures(Target::Keto, &with_conditions(&[written]), |r| {
                r.per_serving.kcal = 501.0;
            });
            assert!(!check(&e, "kcalPerServing<=500").passed);
        }
    }

    #[test]
    fn gout_excludes_seafood_offal_and_anchovy() {
        for (ingredients, offending) in [
            (vec!["두부", "새우"], 1.0),
            (vec!["멸치", "소간"], 2.0),
            (vec!["홍합", "닭가슴살"], 1.0),
            (vec!["닭가슴살", "양배추"], 0.0),
        ] {
            let (recipe, report) = named(&ingredients, &[]);
            let e = evaluate(
                Target::Balanced,
                &with_conditions(&["통풍"]),
                &recipe,
                &report,
                &no_facts,
            );
            assert_eq!(
                check(&e, "noHighPurineFoods").value,
                offending,
                "{ingredients:?}"
            );
        }
        let (recipe, report) = named(&["shrimp"], &[]);
        let e = evaluate(
            Target::Balanced,
            &with_conditions(&["gout"]),
            &recipe,
            &report,
            &no_facts,
        );
        assert!(!check(&e, "noHighPurineFoods").passed);
    }

    #[test]
    fn pregnancy_rejects_raw_fish_and_meat() {
        let raw_cases: [(&[&str], &[&str]); 5] = [
            (&["광어회"], &[]),
            (&["소고기 우둔"], &["육회로 무친다"]),
            (&["salmon"], &["Slice the salmon thin and serve raw."]),
            (&["연어"], &["연어를 날것으로 얇게 썬다"]),
            (&["참치"], &["serve as sashimi"]),
        ];
        for (ingredients, steps) in raw_cases {
            let (recipe, report) = named(ingredients, steps);
            let e = evaluate(
                Target::Balanced,
                &with_conditions(&["임신 중"]),
                &recipe,
                &report,
                &no_facts,
            );
            assert!(
                !check(&e, "noRawFishOrMeat").passed,
                "{ingredients:?} {steps:?}"
            );
        }
        let cooked_cases: [(&[&str], &[&str]); 3] = [
            (&["연어"], &["연어를 완전히 익힌다"]),
            (&["chicken"], &["Cook until no longer raw in the middle."]),
            (
                &["오징어", "양파"],
                &["오징어 숙회를 만든다", "양파는 생으로 곁들인다"],
            ),
        ];
        for (ingredients, steps) in cooked_cases {
            let (recipe, report) = named(ingredients, steps);
            let e = evaluate(
                Target::Balanced,
                &with_conditions(&["pregnancy"]),
                &recipe,
                &report,
                &no_facts,
            );
            assert!(
                check(&e, "noRawFishOrMeat").passed,
                "{ingredients:?} {steps:?}"
            );
        }
    }

    #[test]
    fn celiac_excludes_wheat_barley_and_rye() {
        let (recipe, report) = named(&["보리", "간장", "현미"], &[]);
        for written in ["셀리악병", "Celiac disease", "coeliac"] {
            let e = evaluate(
                Target::Balanced,
                &with_conditions(&[written]),
                &recipe,
                &report,
                &no_facts,
            );
            let c = check(&e, "noGluten");
            assert_eq!(c.offending.len(), 2, "{written}");
            assert_eq!(c.offending[0], "보리");
            assert!(
                c.offending[1].starts_with("간장 [ganjang: contains 밀"),
                "{c:?}"
            );
        }
    }

    #[test]
    fn unknown_conditions_are_reported_not_failed() {
        let e = evaluate_figures(
            Target::Balanced,
            &with_conditions(&["편두통", "고혈압", "편두통", " "]),
            |_| {},
        );
        assert_eq!(e.unknown_conditions, vec!["편두통"]);
    }

    #[test]
    fn same_rule_from_two_sources_is_one_check_with_both_sources() {
        let e = evaluate_figures(Target::Diabetic, &with_conditions(&["당뇨"]), |_| {});
        let matching: Vec<&Check> = e
            .checks
            .iter()
            .filter(|c| c.rule == "carbsPerServing<=45g")
            .collect();
        assert_eq!(matching.len(), 1);
        assert_eq!(matching[0].source, "target:diabetic, condition:당뇨");
    }

    #[test]
    fn different_limits_on_one_metric_are_both_kept() {
        let e = evaluate_figures(Target::LowSodium, &with_conditions(&["고혈압"]), |r| {
            r.per_serving.sodium_mg = 550.0;
        });
        assert!(check(&e, "sodiumPerServing<=600mg").passed);
        let strict = check(&e, "sodiumPerServing<=500mg");
        assert!(!strict.passed);
        assert_eq!(strict.source, "condition:고혈압");
        assert!(!e.all_passed());
        assert_eq!(e.failed().len(), 1);
    }

    #[test]
    fn a_clean_recipe_passes_everything() {
        let p = Profile {
            allergies: vec!["땅콩".to_string()],
            health_conditions: vec!["고혈압".to_string()],
            max_calories: Some(600),
            ..Profile::default()
        };
        let e = evaluate_figures(Target::Keto, &p, |r| {
            r.per_serving.kcal = 550.0;
            r.per_serving.net_carbs_g = 4.0;
            r.per_serving.sodium_mg = 420.0;
            r.energy_share.fat = 0.74;
            r.energy_share.protein = 0.22;
            r.energy_share.carbs = 0.04;
        });
        assert!(e.all_passed(), "{:?}", e.failed());
        assert!(e.checks.iter().any(|c| c.rule == "allergen:땅콩"));
    }

    #[test]
    fn prompt_constraints_state_every_number_in_korean() {
        let p = Profile {
            allergies: vec!["우유".to_string()],
            health_conditions: vec!["고혈압".to_string(), "편두통".to_string()],
            max_calories: Some(600),
            ..Profile::default()
        };
        let text = prompt_constraints(Target::Keto, &p, Language::Ko).join("\n");
        for needle in [
            "5g 이하",
            "70% 이상",
            "20% 이상",
            "25% 이하",
            "500mg 이하",
            "600kcal 이하",
            "85% 이상",
            "버터",
            "치즈",
            "편두통",
        ] {
            assert!(text.contains(needle), "missing {needle} in\n{text}");
        }
    }

    #[test]
    fn prompt_constraints_state_every_number_in_english() {
        let p = Profile {
            allergies: vec!["peanut".to_string()],
            health_conditions: vec!["gout".to_string()],
            ..Profile::default()
        };
        let text = prompt_constraints(Target::Balanced, &p, Language::En).join("\n");
        for needle in [
            "at least 40%",
            "at most 65%",
            "at least 10%",
            "at most 30%",
            "at least 15%",
            "at most 35%",
            "peanut",
            "shellfish",
            "condition:gout",
        ] {
            assert!(text.contains(needle), "missing {needle} in\n{text}");
        }
        let tight = prompt_constraints(
            Target::LowSodium,
            &with_conditions(&["hypertension"]),
            Language::En,
        )
        .join("\n");
        assert!(
            tight.contains("at most 500mg (target:low-sodium, condition:hypertension)"),
            "{tight}"
        );
        assert!(!tight.contains("600mg"));
    }

    #[test]
    fn repair_feedback_states_rule_value_limit_and_causes() {
        let recipe = recipe(&["두부", "간장", "김치"], &["팬에 버터를 두른다"]);
        let mut report = report(vec![
            matched("두부", "tofu", "TOFU", 300.0, &[Category::Soy]),
            matched("간장", "soy", "SOY SAUCE", 30.0, &[Category::Soy]),
            matched(
                "김치",
                "kimchi",
                "CABBAGE,KIMCHI",
                100.0,
                &[Category::Vegetable],
            ),
        ]);
        report.per_serving.sodium_mg = 1084.0;
        let p = Profile {
            allergies: vec!["우유".to_string()],
            ..Profile::default()
        };
        let e = evaluate(Target::LowSodium, &p, &recipe, &report, &salty_facts);
        let ko = repair_feedback(&e.failed(), Language::Ko);
        for needle in [
            "sodiumPerServing<=600mg",
            "1084mg",
            "600mg 이하",
            "간장 (824mg)",
            "allergen:우유",
            "버터를",
        ] {
            assert!(ko.contains(needle), "missing {needle} in\n{ko}");
        }
        let en = repair_feedback(&e.failed(), Language::En);
        for needle in [
            "is 1084mg, must be at most 600mg",
            "Largest contributors: 간장 (824mg)",
            "'우유' allergy",
        ] {
            assert!(en.contains(needle), "missing {needle} in\n{en}");
        }
    }

    #[test]
    fn repair_feedback_explains_exclusions_and_data_checks() {
        let failed = vec![
            Check {
                rule: "noMeatOrFish".to_string(),
                passed: false,
                value: 1.0,
                limit: 0.0,
                offending: vec!["베이컨".to_string()],
                source: "target:vegetarian".to_string(),
            },
            Check {
                rule: "fatEnergyShare>=0.70".to_string(),
                passed: false,
                value: 0.615,
                limit: 0.7,
                offending: vec![],
                source: "target:keto".to_string(),
            },
            Check {
                rule: "noUnparsedAmounts".to_string(),
                passed: false,
                value: 1.0,
                limit: 0.0,
                offending: vec!["양파".to_string()],
                source: "data".to_string(),
            },
        ];
        let en = repair_feedback(&failed, Language::En);
        assert!(
            en.contains("noMeatOrFish: 1 forbidden item(s): 베이컨"),
            "{en}"
        );
        assert!(en.contains("is 61.5%, must be at least 70%"), "{en}");
        assert!(en.contains("unreadable amount: 양파"), "{en}");
    }
}
