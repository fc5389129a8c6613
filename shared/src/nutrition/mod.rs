//! Nutrition of a recipe from the project's own food table: the embedded table (derived from
//! USDA SR28 plus Korean MFDS staples, see `docs/food-table.md`), ingredient-name matching,
//! amount and unit parsing, and the per-serving report the contract's `nutrition` object shows.
//!
//! Only `crate::domain` is used from the rest of the crate, so this module compiles on its own.

mod amount;
mod analyze;
mod embedding_text;
mod matching;
mod table;
mod units;

pub use amount::{parse_amount, Amount};
pub use analyze::{analyze, analyze_with_fallback};
pub use matching::{is_processed_seasoning, normalize_name, FoodMatch, MatchKind};
pub use table::{Food, FoodTable, Nutrients, TableError};
pub use units::{grams_for, DEFAULT_DENSITY_G_PER_ML, KOREAN_CUP_ML, US_CUP_ML};
