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
