//! The production [`RecipeVerifier`]: nutrition computed from the embedded food table and
//! every rule of the target, the health conditions and the allergies checked on it, plus the
//! servings the request asked for.

use crate::domain::{Check, Language, Recipe};
use crate::generate::{RecipeVerifier, Verification};
use crate::nutrition::{analyze_with_fallback, FoodTable, Nutrients};
use crate::request::RecipeRequest;
use crate::rules;
use std::sync::Arc;

/// Maps an ingredient name the table did not match to a table row index (nutrition retrieval).
pub trait NameFallback: Send + Sync {
    fn row_for(&self, normalized_name: &str) -> Option<usize>;
}

#[derive(Clone)]
pub struct TableVerifier {
    table: &'static FoodTable,
    fallback: Option<Arc<dyn NameFallback>>,
}

impl std::fmt::Debug for TableVerifier {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TableVerifier")
            .field("foods", &self.table.len())
            .finish_non_exhaustive()
    }
}

/// Loads and validates the food knowledge (groups, compound foods, diet rules) and checks
/// that every food row it names is in `table`. Call at start; an error fails the init.
pub fn check_knowledge(table: &FoodTable) -> Result<(), rules::KnowledgeError> {
    rules::load_knowledge()?.check_food_rows(&|id| table.find_by_id(id).is_some())
}

impl TableVerifier {
    pub fn new(table: &'static FoodTable, fallback: Option<Arc<dyn NameFallback>>) -> Self {
        TableVerifier { table, fallback }
    }
}

impl RecipeVerifier for TableVerifier {
    fn constraints(&self, request: &RecipeRequest) -> Vec<String> {
        rules::prompt_constraints(request.target, &request.profile, request.language)
    }

    fn contradictions(&self, request: &RecipeRequest) -> Vec<String> {
        rules::contradictions(request.target, &request.profile)
    }

    fn verify(&self, request: &RecipeRequest, recipe: &Recipe) -> Verification {
        let fallback = |name: &str| self.fallback.as_ref().and_then(|f| f.row_for(name));
        let nutrition = analyze_with_fallback(recipe, self.table, &fallback);
        let facts =
            |id: &str| -> Option<Nutrients> { self.table.find_by_id(id).map(|food| food.per_100g) };
        let evaluation =
            rules::evaluate(request.target, &request.profile, recipe, &nutrition, &facts);
        if !evaluation.unknown_conditions.is_empty() {
            tracing::info!(
                count = evaluation.unknown_conditions.len(),
                "health conditions without a rule"
            );
        }
        let mut checks = evaluation.checks;
        checks.push(rules::servings_check(request.servings, recipe));
        Verification { nutrition, checks }
    }

    fn feedback(&self, failed: &[Check], language: Language) -> String {
        rules::repair_feedback(failed, language)
    }
}

#[cfg(test)]
mod tests {
    //! The production verifier on the real embedded food table (no hand-made rows).

    use super::*;
    use crate::domain::RecipeIngredient;

    fn verifier() -> TableVerifier {
        let table = FoodTable::embedded();
        check_knowledge(table).unwrap();
        TableVerifier::new(table, None)
    }

    fn request(json: serde_json::Value) -> RecipeRequest {
        RecipeRequest::from_value(json).unwrap()
    }

    fn recipe(servings: u32, lines: &[(&str, &str)]) -> Recipe {
        Recipe {
            recipe_name: "오늘의 요리".into(),
            description: String::new(),
            cooking_time: 20,
            difficulty: "easy".into(),
            servings,
            ingredients: lines
                .iter()
                .map(|(name, amount)| RecipeIngredient {
                    name: (*name).into(),
                    amount: (*amount).into(),
                    unit: String::new(),
                })
                .collect(),
            instructions: vec![],
            nutrition_tips: String::new(),
            keto_notes: None,
        }
    }

    fn check<'a>(v: &'a Verification, rule: &str) -> &'a Check {
        v.checks
            .iter()
            .find(|c| c.rule == rule)
            .unwrap_or_else(|| panic!("no {rule} in {:?}", v.checks))
    }

    #[test]
    fn kimchi_fried_rice_fails_shrimp_fish_and_vegan() {
        let dish = recipe(
            2,
            &[("배추김치", "200g"), ("밥", "400g"), ("식용유", "1큰술")],
        );
        let v = verifier().verify(
            &request(
                serde_json::json!({"target": "vegan", "profile": {"allergies": ["새우", "생선"]}}),
            ),
            &dish,
        );
        assert!(!check(&v, "allergen:새우").passed);
        assert!(!check(&v, "allergen:생선").passed);
        let vegan = check(&v, "noAnimalProducts");
        assert!(!vegan.passed);
        assert!(vegan.offending[0].contains("products vary"), "{vegan:?}");
    }

    #[test]
    fn servings_must_match_the_request() {
        let dish = recipe(6, &[("두부", "300g"), ("양파", "100g")]);
        let v = verifier().verify(
            &request(serde_json::json!({"target": "balanced", "servings": 2})),
            &dish,
        );
        let c = check(&v, "servings==2");
        assert!(!c.passed);
        assert_eq!((c.value, c.limit), (6.0, 2.0));
        let dish = recipe(2, &[("두부", "300g"), ("양파", "100g")]);
        let v = verifier().verify(&request(serde_json::json!({"target": "balanced"})), &dish);
        assert!(check(&v, "servings==2").passed);
    }

    #[test]
    fn hidden_sodium_of_chunjang_counts() {
        // 50 g 춘장 at 4000 mg/100 g is 1000 mg a serving for 2: fails hypertension.
        let dish = recipe(
            2,
            &[("춘장", "50g"), ("양파", "200g"), ("돼지고기", "200g")],
        );
        let v = verifier().verify(
            &request(serde_json::json!({"target": "balanced", "profile": {"healthConditions": ["고혈압"]}})),
            &dish,
        );
        let c = check(&v, "sodiumPerServing<=500mg");
        assert!(!c.passed && c.value > 1000.0, "{c:?}");
    }

    #[test]
    fn diabetes_counts_added_sugar_not_milk_or_fruit() {
        let milk_and_fruit = recipe(2, &[("우유", "400ml"), ("바나나", "200g"), ("귀리", "80g")]);
        let sweet = recipe(2, &[("우유", "200ml"), ("설탕", "30g"), ("귀리", "80g")]);
        let req = request(
            serde_json::json!({"target": "balanced", "profile": {"healthConditions": ["당뇨"]}}),
        );
        let v = verifier().verify(&req, &milk_and_fruit);
        assert!(check(&v, "addedSugarPerServing<=10g").passed);
        let v = verifier().verify(&req, &sweet);
        let c = check(&v, "addedSugarPerServing<=10g");
        assert!(!c.passed && c.value >= 14.9, "{c:?}");
        assert!(c.offending[0].starts_with("설탕"), "{c:?}");
    }

    #[test]
    fn kidney_and_cholesterol_rules_use_the_new_columns() {
        // 300 g potato and 200 g spinach: potassium far above 700 mg a serving.
        let dish = recipe(1, &[("감자", "300g"), ("시금치", "200g")]);
        let v = verifier().verify(
            &request(serde_json::json!({"target": "balanced", "servings": 1, "profile": {"healthConditions": ["만성콩팥병"]}})),
            &dish,
        );
        assert!(!check(&v, "potassiumPerServing<=700mg").passed);
        // Three eggs and butter: cholesterol and saturated fat above the dyslipidaemia caps.
        let dish = recipe(1, &[("달걀", "3개"), ("버터", "20g")]);
        let v = verifier().verify(
            &request(serde_json::json!({"target": "balanced", "servings": 1, "profile": {"healthConditions": ["고지혈증"]}})),
            &dish,
        );
        assert!(!check(&v, "cholesterolPerServing<=100mg").passed);
        assert!(!check(&v, "saturatedFatEnergyShare<=0.07").passed);
    }

    #[test]
    fn look_alikes_do_not_match() {
        let dish = recipe(
            2,
            &[
                ("느타리버섯", "200g"),
                ("새송이버섯", "100g"),
                ("땅콩호박", "200g"),
                ("당면", "100g"),
                ("cocoa butter", "10g"),
            ],
        );
        let v = verifier().verify(
            &request(serde_json::json!({"target": "balanced", "profile": {"allergies": ["굴", "땅콩", "밀", "우유"]}})),
            &dish,
        );
        for allergy in ["굴", "땅콩", "밀", "우유"] {
            let c = check(&v, &format!("allergen:{allergy}"));
            assert!(c.passed, "{c:?}");
        }
    }

    #[test]
    fn unmatched_seasoning_fails_sodium_completeness() {
        let dish = recipe(2, &[("두부", "300g"), ("새우소스", "30g")]);
        let v = verifier().verify(&request(serde_json::json!({"target": "low-sodium"})), &dish);
        let c = check(&v, "noUnmeasuredSodiumSources");
        assert_eq!(c.offending, vec!["새우소스"]);
    }
}
