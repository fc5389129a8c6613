//! The emulator's built-in recipes judged by the service's own verifier: every ingredient
//! must match the food table and every recipe must pass its target's checks, so the local
//! stack answers 200 for the right reasons (and the figures in the issue note come from here).

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use ai_chef::domain::Recipe;
use ai_chef::generate::RecipeVerifier;
use ai_chef::nutrition::FoodTable;
use ai_chef::request::RecipeRequest;
use ai_chef::verify::TableVerifier;
use bedrock_emulator::recipes::Catalogue;

#[test]
fn every_builtin_recipe_matches_the_table_and_passes_its_target() {
    let verifier = TableVerifier::new(FoodTable::load_embedded().unwrap(), None);
    let catalogue = Catalogue::builtin().unwrap();
    let mut total = 0;
    let mut fully_matched = 0;
    let mut failures = Vec::new();
    for language in [
        bedrock_emulator::recipes::Language::Ko,
        bedrock_emulator::recipes::Language::En,
    ] {
        for entry in catalogue.entries(language) {
            total += 1;
            let recipe: Recipe =
                serde_json::from_value(serde_json::to_value(entry.recipe()).unwrap()).unwrap();
            let lang = if matches!(language, bedrock_emulator::recipes::Language::Ko) {
                "ko"
            } else {
                "en"
            };
            let body = serde_json::json!({"target": entry.target, "language": lang, "servings": entry.servings});
            let request = RecipeRequest::from_json(body.to_string().as_bytes()).unwrap();
            let verification = verifier.verify(&request, &recipe);
            if verification.nutrition.unmatched_ingredients.is_empty() {
                fully_matched += 1;
            }
            let failed = verification.failed();
            println!(
                "{:<28} {:<3} kcal {:>6.1} net {:>5.1} fat {:.3} prot {:.3} Na {:>6.1} unmatched {:?} failed {:?}",
                entry.id, lang,
                verification.nutrition.per_serving.kcal, verification.nutrition.per_serving.net_carbs_g,
                verification.nutrition.energy_share.fat, verification.nutrition.energy_share.protein,
                verification.nutrition.per_serving.sodium_mg,
                verification.nutrition.unmatched_ingredients,
                failed.iter().map(|c| format!("{}={}", c.rule, c.value)).collect::<Vec<_>>()
            );
            if !failed.is_empty() || !verification.nutrition.unmatched_ingredients.is_empty() {
                failures.push(entry.id.clone());
            }
        }
    }
    println!("fully matched: {fully_matched}/{total}");
    assert!(failures.is_empty(), "recipes failing: {failures:?}");
}
