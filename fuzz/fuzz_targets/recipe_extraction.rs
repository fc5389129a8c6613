//! Recipe JSON extraction from arbitrary model text: never panics; whatever it accepts is a
//! recipe within the schema's bounds and extracts again to the same recipe.

#![no_main]

use ai_chef::extract::extract_recipe;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    if let Ok(recipe) = extract_recipe(text) {
        assert!(!recipe.recipe_name.is_empty());
        assert!((1..=1440).contains(&recipe.cooking_time));
        assert!((1..=50).contains(&recipe.servings));
        assert!(!recipe.ingredients.is_empty() && !recipe.instructions.is_empty());
        let again = serde_json::to_string(&recipe).map(|json| extract_recipe(&json));
        assert!(
            matches!(again, Ok(Ok(ref r)) if *r == recipe),
            "round trip changed the recipe"
        );
    }
});
