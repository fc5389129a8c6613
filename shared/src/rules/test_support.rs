//! Builders for hand-made recipes and nutrition reports used by the rule tests.

use crate::domain::{
    Category, EnergyShare, FoodRef, IngredientFacts, NutritionReport, PerServing, Recipe,
    RecipeIngredient,
};

pub fn recipe(ingredients: &[&str], steps: &[&str]) -> Recipe {
    Recipe {
        recipe_name: "테스트 요리".to_string(),
        description: String::new(),
        cooking_time: 20,
        difficulty: "easy".to_string(),
        servings: 2,
        ingredients: ingredients
            .iter()
            .map(|name| RecipeIngredient {
                name: (*name).to_string(),
                amount: "100".to_string(),
                unit: "g".to_string(),
            })
            .collect(),
        instructions: steps.iter().map(|s| (*s).to_string()).collect(),
        nutrition_tips: String::new(),
        keto_notes: None,
    }
}

/// An ingredient line that matched no table row (name only).
pub fn unmatched(name: &str, grams: f64) -> IngredientFacts {
    IngredientFacts {
        name: name.to_string(),
        food: None,
        grams,
        to_taste: false,
        categories: Vec::new(),
    }
}

/// An ingredient line matched to a table row.
pub fn matched(
    name: &str,
    food_id: &str,
    row_en: &str,
    grams: f64,
    categories: &[Category],
) -> IngredientFacts {
    IngredientFacts {
        name: name.to_string(),
        food: Some(FoodRef {
            food_id: food_id.to_string(),
            name_en: row_en.to_string(),
            name_ko: String::new(),
            match_kind: "exact".to_string(),
        }),
        grams,
        to_taste: false,
        categories: categories.to_vec(),
    }
}

pub fn report(ingredients: Vec<IngredientFacts>) -> NutritionReport {
    NutritionReport {
        per_serving: PerServing::default(),
        energy_share: EnergyShare::default(),
        matched_ingredients: ingredients.iter().filter(|i| i.food.is_some()).count() as u32,
        unmatched_ingredients: ingredients
            .iter()
            .filter(|i| i.food.is_none())
            .map(|i| i.name.clone())
            .collect(),
        matched_mass_share: 1.0,
        ingredients,
    }
}

/// A recipe and a report whose lines are the given names, all unmatched but weighed.
pub fn named(ingredients: &[&str], steps: &[&str]) -> (Recipe, NutritionReport) {
    (
        recipe(ingredients, steps),
        report(ingredients.iter().map(|n| unmatched(n, 100.0)).collect()),
    )
}
