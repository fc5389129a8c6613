//! Checked domain types shared by every part of the service: diet targets, the user's
//! profile, the recipe as the model must return it, and the nutrition/check figures the
//! service computes itself. Wire names are camelCase, as the contract says.

use serde::{Deserialize, Serialize};
use std::fmt;
use std::str::FromStr;

/// A diet target a recipe is written for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, PartialOrd, Ord)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[serde(rename_all = "kebab-case")]
pub enum Target {
    Keto,
    LowCarb,
    Diabetic,
    LowSodium,
    HighProtein,
    Vegetarian,
    Vegan,
    WeightLoss,
    Balanced,
}

impl Target {
    pub const ALL: [Target; 9] = [
        Target::Keto,
        Target::LowCarb,
        Target::Diabetic,
        Target::LowSodium,
        Target::HighProtein,
        Target::Vegetarian,
        Target::Vegan,
        Target::WeightLoss,
        Target::Balanced,
    ];

    /// The contract's wire name (`low-carb`, ...).
    pub fn as_str(self) -> &'static str {
        match self {
            Target::Keto => "keto",
            Target::LowCarb => "low-carb",
            Target::Diabetic => "diabetic",
            Target::LowSodium => "low-sodium",
            Target::HighProtein => "high-protein",
            Target::Vegetarian => "vegetarian",
            Target::Vegan => "vegan",
            Target::WeightLoss => "weight-loss",
            Target::Balanced => "balanced",
        }
    }
}

impl fmt::Display for Target {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for Target {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Target::ALL
            .into_iter()
            .find(|t| t.as_str() == s)
            .ok_or_else(|| {
                format!(
                    "unknown target `{s}`; expected one of: {}",
                    Target::ALL.map(|t| t.as_str()).join(", ")
                )
            })
    }
}

/// Language the recipe is written in.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, Default)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[serde(rename_all = "lowercase")]
pub enum Language {
    #[default]
    Ko,
    En,
}

impl Language {
    pub fn as_str(self) -> &'static str {
        match self {
            Language::Ko => "ko",
            Language::En => "en",
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[serde(rename_all = "lowercase")]
pub enum CookingLevel {
    Beginner,
    Intermediate,
    Advanced,
}

impl CookingLevel {
    pub fn as_str(self) -> &'static str {
        match self {
            CookingLevel::Beginner => "beginner",
            CookingLevel::Intermediate => "intermediate",
            CookingLevel::Advanced => "advanced",
        }
    }
}

/// The user's health profile after validation (lengths and ranges already checked).
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Profile {
    pub health_conditions: Vec<String>,
    pub allergies: Vec<String>,
    pub cooking_level: Option<CookingLevel>,
    /// Whole KRW per recipe.
    pub budget: Option<u32>,
    /// kcal per serving.
    pub max_calories: Option<u32>,
}

/// One ingredient line as the model writes it (amount is free text: `1/2`, `약 200`, `적당량`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[serde(rename_all = "camelCase")]
pub struct RecipeIngredient {
    pub name: String,
    pub amount: String,
    pub unit: String,
}

/// The recipe in the contract's shape. Built from model output by `extract`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[serde(rename_all = "camelCase")]
pub struct Recipe {
    pub recipe_name: String,
    pub description: String,
    /// Minutes.
    pub cooking_time: u32,
    pub difficulty: String,
    pub servings: u32,
    pub ingredients: Vec<RecipeIngredient>,
    pub instructions: Vec<String>,
    #[serde(default)]
    pub nutrition_tips: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub keto_notes: Option<String>,
}

/// Food groups a table row belongs to; diet rules (vegan, vegetarian) and allergen groups
/// are decided from these, never from the model's words alone.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, PartialOrd, Ord)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[serde(rename_all = "kebab-case")]
pub enum Category {
    Beef,
    Pork,
    Poultry,
    /// Other meat (lamb, duck, game) and processed meat not covered above.
    Meat,
    Fish,
    /// Crustaceans: shrimp, crab, lobster.
    Crustacean,
    /// Molluscs: clams, oysters, mussels, abalone, squid, octopus.
    Mollusc,
    Dairy,
    Egg,
    Honey,
    /// Animal-derived ingredient not covered above (gelatin, lard, fish sauce base...).
    OtherAnimal,
    Vegetable,
    Fruit,
    Grain,
    Legume,
    Soy,
    Nut,
    Seed,
    Fungi,
    Seaweed,
    Oil,
    Sweetener,
    Seasoning,
    Beverage,
}

impl Category {
    /// True for anything that comes from an animal (vegan excludes all of these).
    pub fn is_animal(self) -> bool {
        matches!(
            self,
            Category::Beef
                | Category::Pork
                | Category::Poultry
                | Category::Meat
                | Category::Fish
                | Category::Crustacean
                | Category::Mollusc
                | Category::Dairy
                | Category::Egg
                | Category::Honey
                | Category::OtherAnimal
        )
    }

    /// True for flesh (vegetarian excludes these; eggs and dairy stay allowed).
    pub fn is_flesh(self) -> bool {
        matches!(
            self,
            Category::Beef
                | Category::Pork
                | Category::Poultry
                | Category::Meat
                | Category::Fish
                | Category::Crustacean
                | Category::Mollusc
        )
    }
}

/// Per-serving figures computed from the food table.
#[derive(Debug, Clone, Copy, PartialEq, Default, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[serde(rename_all = "camelCase")]
pub struct PerServing {
    pub kcal: f64,
    pub protein_g: f64,
    pub fat_g: f64,
    pub carbs_g: f64,
    pub fiber_g: f64,
    pub net_carbs_g: f64,
    pub sodium_mg: f64,
    pub sugar_g: f64,
}

/// Share of energy from each macro, by 4/4/9 kcal per gram; sums to 1 when kcal > 0.
#[derive(Debug, Clone, Copy, PartialEq, Default, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[serde(rename_all = "camelCase")]
pub struct EnergyShare {
    pub fat: f64,
    pub protein: f64,
    pub carbs: f64,
}

/// The food-table row an ingredient line matched.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[serde(rename_all = "camelCase")]
pub struct FoodRef {
    /// USDA SR28 NDB_No, or the source id of a non-SR28 row.
    pub food_id: String,
    pub name_en: String,
    pub name_ko: String,
    /// `exact`, `synonym`, `fuzzy` or `retrieval`.
    pub match_kind: String,
}

/// One recipe line after matching and unit conversion.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[serde(rename_all = "camelCase")]
pub struct IngredientFacts {
    /// The name as the recipe wrote it.
    pub name: String,
    pub food: Option<FoodRef>,
    /// Grams for the whole recipe (0 for "to taste" or unparseable amounts).
    pub grams: f64,
    /// True when the amount was "to taste" (적당량, 약간, to taste) and counted as 0.
    #[serde(default)]
    pub to_taste: bool,
    pub categories: Vec<Category>,
}

/// The contract's `nutrition` object, plus the per-ingredient breakdown.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[serde(rename_all = "camelCase")]
pub struct NutritionReport {
    pub per_serving: PerServing,
    pub energy_share: EnergyShare,
    pub matched_ingredients: u32,
    pub unmatched_ingredients: Vec<String>,
    /// Share (0..=1) of the recipe's total mass that matched a table row.
    pub matched_mass_share: f64,
    pub ingredients: Vec<IngredientFacts>,
}

/// One deterministic check of a recipe against a diet rule, a health rule or an allergy.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[serde(rename_all = "camelCase")]
pub struct Check {
    /// Stable rule name, e.g. `netCarbsPerServing<=5g`, `fatEnergyShare>=0.70`,
    /// `allergen:우유`, `noAnimalProducts`.
    pub rule: String,
    pub passed: bool,
    pub value: f64,
    pub limit: f64,
    /// Ingredient names (or instruction excerpts) that caused a failure.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub offending: Vec<String>,
    /// Where the rule comes from (`target:keto`, `condition:고혈압`, `allergy:땅콩`).
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub source: String,
}
