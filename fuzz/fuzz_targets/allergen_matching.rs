//! Allergen matching on arbitrary allergy text and ingredient names: never panics, answers
//! the same twice, and a finding never disappears when an unrelated line (water) is added.

#![no_main]

use ai_chef::domain::{Recipe, RecipeIngredient};
use ai_chef::nutrition::{analyze, FoodTable};
use ai_chef::rules::allergens::scan;
use libfuzzer_sys::fuzz_target;

fn recipe(names: &[&str]) -> Recipe {
    Recipe {
        recipe_name: "fuzz".to_owned(),
        description: String::new(),
        cooking_time: 10,
        difficulty: "easy".to_owned(),
        servings: 1,
        ingredients: names
            .iter()
            .map(|name| RecipeIngredient {
                name: (*name).to_owned(),
                amount: "100".to_owned(),
                unit: "g".to_owned(),
            })
            .collect(),
        instructions: vec!["cook".to_owned()],
        nutrition_tips: String::new(),
        keto_notes: None,
    }
}

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let Ok(table) = FoodTable::load_embedded() else {
        return;
    };
    let (allergy, ingredient) = text.split_once('\n').unwrap_or((text, text));
    let allergies = vec![allergy.to_owned()];
    let one = recipe(&[ingredient]);
    let first = scan(&allergies, &one, &analyze(&one, table));
    let again = scan(&allergies, &one, &analyze(&one, table));
    assert_eq!(first, again, "the same input gave two answers");
    let with_water = recipe(&[ingredient, "물"]);
    let widened = scan(&allergies, &with_water, &analyze(&with_water, table));
    for (before, after) in first.iter().zip(&widened) {
        assert!(
            before.passed || !after.passed,
            "adding water cleared {}",
            before.rule
        );
    }
});
