//! The food groups: every Korean mandatory allergen (식품 등의 표시기준), every US major food
//! allergen (FALCPA + FASTER Act), and the diet groups that vegetarian, vegan, gout, celiac,
//! pregnancy and lactose rules exclude. The groups are data (`shared/data/food-groups.toml`,
//! loaded and validated by `knowledge`); this module is their typed view. Term notation is the
//! one of `text::Term`. Sources and judgement calls: `docs/rules.md`.

pub use super::knowledge::{FoodGroup, GroupKind, Umbrella};

/// Every group (empty only when the knowledge failed to load, which fails the start).
pub fn all() -> &'static [FoodGroup] {
    super::knowledge::get().map_or(&[], |k| k.groups.as_slice())
}

/// Free-text allergy words that stand for several groups at once.
pub fn umbrellas() -> &'static [Umbrella] {
    super::knowledge::get().map_or(&[], |k| k.umbrellas.as_slice())
}

/// The group ids of a named set (`flesh`, `non-flesh-animal`, `high-purine`, `gluten`,
/// `alcohol`, `pregnancy-risk`, `lactose`).
pub fn set(name: &str) -> Vec<&'static str> {
    super::knowledge::get().map_or_else(Vec::new, |k| {
        k.set(name).iter().map(String::as_str).collect()
    })
}

pub fn group(id: &str) -> Option<&'static FoodGroup> {
    all().iter().find(|g| g.id == id)
}
