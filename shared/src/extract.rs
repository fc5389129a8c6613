//! Finds the recipe JSON in a model's answer — a forced tool call's input, or text that is
//! bare, fenced in ```json, or wrapped in prose — and turns it into a checked [`Recipe`]. A missing or broken JSON object and a
//! schema violation are distinct errors, so the repair prompt can say precisely what was wrong.

use crate::domain::{Recipe, RecipeIngredient};
use serde::Deserialize;
use thiserror::Error;

/// Model answers longer than this are refused unread (a recipe is a few KB).
pub const MAX_OUTPUT_BYTES: usize = 256 * 1024;
const MAX_INGREDIENTS: usize = 60;
const MAX_INSTRUCTIONS: usize = 40;
const MAX_FIELD_CHARS: usize = 2_000;

#[derive(Debug, Error, Clone, PartialEq, Eq)]
pub enum ExtractError {
    #[error("the answer contains no JSON object")]
    NoJson,
    #[error("the answer's JSON is malformed: {0}")]
    InvalidJson(String),
    #[error("the answer is {0} bytes, more than a recipe can be")]
    TooLarge(usize),
    #[error("the recipe JSON does not match the schema at `{path}`: {message}")]
    Schema { path: String, message: String },
}

/// Extracts and checks the recipe from the model's text.
pub fn extract_recipe(text: &str) -> Result<Recipe, ExtractError> {
    if text.len() > MAX_OUTPUT_BYTES {
        return Err(ExtractError::TooLarge(text.len()));
    }
    let value = find_json_object(text)?;
    recipe_from_value(value)
}

/// Checks the recipe a forced tool call carries (structured output) with the same schema checks
/// as the text path. A model that wrote the object as a JSON string is read through the text
/// path, so the error says what was wrong with it.
pub fn extract_tool_input(input: &serde_json::Value) -> Result<Recipe, ExtractError> {
    match input {
        serde_json::Value::String(text) => extract_recipe(text),
        serde_json::Value::Object(_) => {
            let size = serde_json::to_string(input).map_or(0, |t| t.len());
            if size > MAX_OUTPUT_BYTES {
                return Err(ExtractError::TooLarge(size));
            }
            recipe_from_value(input.clone())
        }
        _ => Err(schema("", "the tool input is not a JSON object")),
    }
}

/// The first JSON object in the text: the whole text, a fenced block, or a balanced `{...}`.
pub fn find_json_object(text: &str) -> Result<serde_json::Value, ExtractError> {
    let trimmed = text.trim().trim_start_matches('\u{feff}');
    if let Ok(v @ serde_json::Value::Object(_)) = serde_json::from_str(trimmed) {
        return Ok(v);
    }
    let mut first_error = None;
    for candidate in fenced_blocks(trimmed)
        .into_iter()
        .chain(balanced_objects(trimmed))
    {
        match serde_json::from_str::<serde_json::Value>(candidate) {
            Ok(v @ serde_json::Value::Object(_)) => return Ok(v),
            Ok(_) => {}
            Err(e) => {
                first_error.get_or_insert_with(|| e.to_string());
            }
        }
    }
    if let Some(err) = first_error {
        return Err(ExtractError::InvalidJson(err));
    }
    if trimmed.contains('{') {
        // An opening brace whose object never closes: the answer was cut off.
        return Err(ExtractError::InvalidJson(
            "an object is opened but never closed".to_owned(),
        ));
    }
    Err(ExtractError::NoJson)
}

/// Contents of ``` fences (with or without a `json` tag).
fn fenced_blocks(text: &str) -> Vec<&str> {
    let mut blocks = Vec::new();
    let mut rest = text;
    while let Some(open) = rest.find("```") {
        let after_ticks = &rest[open + 3..];
        let body_start = after_ticks.find('\n').map_or(0, |i| i + 1);
        let body = &after_ticks[body_start..];
        match body.find("```") {
            Some(close) => {
                blocks.push(body[..close].trim());
                rest = &body[close + 3..];
            }
            None => break,
        }
    }
    blocks
}

/// Top-level balanced `{...}` spans, aware of strings and escapes so braces inside text
/// values do not confuse the scan.
fn balanced_objects(text: &str) -> Vec<&str> {
    let bytes = text.as_bytes();
    let mut spans = Vec::new();
    let mut depth = 0usize;
    let mut start = 0usize;
    let mut in_string = false;
    let mut escaped = false;
    for (i, &b) in bytes.iter().enumerate() {
        if in_string {
            if escaped {
                escaped = false;
            } else if b == b'\\' {
                escaped = true;
            } else if b == b'"' {
                in_string = false;
            }
            continue;
        }
        match b {
            b'"' if depth > 0 => in_string = true,
            b'{' => {
                if depth == 0 {
                    start = i;
                }
                depth += 1;
            }
            b'}' if depth > 0 => {
                depth -= 1;
                if depth == 0 {
                    spans.push(&text[start..=i]);
                }
            }
            _ => {}
        }
    }
    spans
}

/// Lenient wire shape: models sometimes write numbers as strings or amounts as numbers.
#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
struct RecipeWire {
    recipe_name: String,
    #[serde(default)]
    description: String,
    cooking_time: NumberLike,
    #[serde(default)]
    difficulty: String,
    servings: NumberLike,
    ingredients: Vec<IngredientWire>,
    instructions: Vec<String>,
    #[serde(default)]
    nutrition_tips: Option<String>,
    #[serde(default)]
    keto_notes: Option<String>,
}

#[derive(Debug, Deserialize)]
struct IngredientWire {
    name: String,
    amount: TextLike,
    #[serde(default)]
    unit: Option<String>,
}

#[derive(Debug, Deserialize)]
#[serde(untagged)]
enum NumberLike {
    Number(f64),
    Text(String),
}

impl NumberLike {
    fn whole(&self) -> Option<u32> {
        match self {
            NumberLike::Number(n) if n.is_finite() && *n >= 0.0 && *n <= 100_000.0 => {
                Some(n.round() as u32)
            }
            NumberLike::Number(_) => None,
            NumberLike::Text(s) => {
                let digits: String = s
                    .chars()
                    .skip_while(|c| !c.is_ascii_digit())
                    .take_while(char::is_ascii_digit)
                    .collect();
                digits.parse().ok()
            }
        }
    }
}

#[derive(Debug, Deserialize)]
#[serde(untagged)]
enum TextLike {
    Text(String),
    Number(f64),
}

impl TextLike {
    fn into_text(self) -> String {
        match self {
            TextLike::Text(s) => s,
            TextLike::Number(n) if n.fract() == 0.0 && n.abs() < 1e12 => format!("{}", n as i64),
            TextLike::Number(n) => n.to_string(),
        }
    }
}

fn schema(path: &str, message: impl Into<String>) -> ExtractError {
    ExtractError::Schema {
        path: path.to_owned(),
        message: message.into(),
    }
}

/// Checks the JSON value against the recipe schema.
pub fn recipe_from_value(value: serde_json::Value) -> Result<Recipe, ExtractError> {
    // Some answers wrap the recipe: {"recipe": {...}}.
    let value = match value {
        serde_json::Value::Object(mut map)
            if !map.contains_key("recipeName") && map.contains_key("recipe") =>
        {
            map.remove("recipe").unwrap_or_default()
        }
        other => other,
    };
    let wire: RecipeWire = serde_path_to_error::deserialize(value).map_err(|e| {
        let path = e.path().to_string();
        schema(&path, e.into_inner().to_string())
    })?;
    let cooking_time = wire
        .cooking_time
        .whole()
        .filter(|m| (1..=24 * 60).contains(m))
        .ok_or_else(|| schema("cookingTime", "must be minutes between 1 and 1440"))?;
    let servings = wire
        .servings
        .whole()
        .filter(|s| (1..=50).contains(s))
        .ok_or_else(|| schema("servings", "must be a whole number between 1 and 50"))?;
    let recipe_name = wire.recipe_name.trim().to_owned();
    if recipe_name.is_empty() {
        return Err(schema("recipeName", "must not be empty"));
    }
    if wire.ingredients.is_empty() || wire.ingredients.len() > MAX_INGREDIENTS {
        return Err(schema(
            "ingredients",
            format!("must have 1 to {MAX_INGREDIENTS} items"),
        ));
    }
    if wire.instructions.is_empty() || wire.instructions.len() > MAX_INSTRUCTIONS {
        return Err(schema(
            "instructions",
            format!("must have 1 to {MAX_INSTRUCTIONS} steps"),
        ));
    }
    let mut ingredients = Vec::with_capacity(wire.ingredients.len());
    for (i, ing) in wire.ingredients.into_iter().enumerate() {
        let name = ing.name.trim().to_owned();
        if name.is_empty() {
            return Err(schema(
                &format!("ingredients[{i}].name"),
                "must not be empty",
            ));
        }
        ingredients.push(RecipeIngredient {
            name,
            amount: ing.amount.into_text().trim().to_owned(),
            unit: ing.unit.unwrap_or_default().trim().to_owned(),
        });
    }
    let recipe = Recipe {
        recipe_name,
        description: wire.description,
        cooking_time,
        difficulty: wire.difficulty,
        servings,
        ingredients,
        instructions: wire.instructions,
        nutrition_tips: wire.nutrition_tips.unwrap_or_default(),
        keto_notes: wire.keto_notes.filter(|n| !n.trim().is_empty()),
    };
    if let Some(field) = overlong_field(&recipe) {
        return Err(schema(
            field,
            format!("is longer than {MAX_FIELD_CHARS} characters"),
        ));
    }
    Ok(recipe)
}

fn overlong_field(recipe: &Recipe) -> Option<&'static str> {
    let long = |s: &str| s.chars().count() > MAX_FIELD_CHARS;
    if long(&recipe.recipe_name) || long(&recipe.description) || long(&recipe.difficulty) {
        return Some("recipe");
    }
    if recipe
        .ingredients
        .iter()
        .any(|i| long(&i.name) || long(&i.amount) || long(&i.unit))
    {
        return Some("ingredients");
    }
    if recipe.instructions.iter().any(|s| long(s)) {
        return Some("instructions");
    }
    if long(&recipe.nutrition_tips) || recipe.keto_notes.as_deref().is_some_and(long) {
        return Some("nutritionTips");
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    const RECIPE: &str = r#"{"recipeName":"삼겹살 양배추 볶음","description":"간단한 키토 볶음","cookingTime":20,
        "difficulty":"easy","servings":2,"ingredients":[{"name":"삼겹살","amount":"300","unit":"g"},
        {"name":"양배추","amount":200,"unit":"g"}],"instructions":["썬다 {중불}","볶는다"],
        "nutritionTips":"지방 위주","ketoNotes":"순탄수 4g"}"#;

    #[test]
    fn bare_fenced_and_wrapped_json_are_found() {
        let bare = extract_recipe(RECIPE).unwrap();
        assert_eq!(bare.recipe_name, "삼겹살 양배추 볶음");
        assert_eq!(bare.ingredients[1].amount, "200");
        let fenced = format!("여기 레시피입니다:\n```json\n{RECIPE}\n```\n맛있게 드세요!");
        assert_eq!(extract_recipe(&fenced).unwrap(), bare);
        let wrapped = format!("Sure! {RECIPE} Enjoy {{your}} meal.");
        assert_eq!(extract_recipe(&wrapped).unwrap(), bare);
        let nested = format!(r#"{{"recipe": {RECIPE}}}"#);
        assert_eq!(extract_recipe(&nested).unwrap(), bare);
    }

    #[test]
    fn prose_truncated_and_invalid_escapes_are_distinct_errors() {
        assert_eq!(
            extract_recipe("I cannot help with that."),
            Err(ExtractError::NoJson)
        );
        let truncated = &RECIPE[..RECIPE.len() / 2];
        assert!(matches!(
            extract_recipe(truncated),
            Err(ExtractError::InvalidJson(_))
        ));
        let bad_escape = RECIPE.replace("볶는다", "볶\\q는다");
        assert!(matches!(
            extract_recipe(&bad_escape),
            Err(ExtractError::InvalidJson(_))
        ));
        let huge = "x".repeat(MAX_OUTPUT_BYTES + 1);
        assert!(matches!(
            extract_recipe(&huge),
            Err(ExtractError::TooLarge(_))
        ));
    }

    #[test]
    fn schema_violations_name_the_field() {
        let wrong = r#"{"name":"x","steps":[]}"#;
        assert!(matches!(
            extract_recipe(wrong),
            Err(ExtractError::Schema { .. })
        ));
        let bad_type = RECIPE.replace(r#""instructions":["#, r#""instructions":[1,"#);
        match extract_recipe(&bad_type) {
            Err(ExtractError::Schema { path, .. }) => {
                assert!(path.starts_with("instructions"), "{path}")
            }
            other => panic!("{other:?}"),
        }
        let no_ingredients = RECIPE.replace(
            r#"[{"name":"삼겹살","amount":"300","unit":"g"},
        {"name":"양배추","amount":200,"unit":"g"}]"#,
            "[]",
        );
        assert!(matches!(
            extract_recipe(&no_ingredients),
            Err(ExtractError::Schema { .. })
        ));
        let zero_servings = RECIPE.replace(r#""servings":2"#, r#""servings":0"#);
        assert!(matches!(
            extract_recipe(&zero_servings),
            Err(ExtractError::Schema { .. })
        ));
    }

    #[test]
    fn tool_input_is_checked_with_the_same_schema_and_paths() {
        let input: serde_json::Value = serde_json::from_str(RECIPE).unwrap();
        assert_eq!(
            extract_tool_input(&input).unwrap(),
            extract_recipe(RECIPE).unwrap()
        );
        let mut bad = input.clone();
        bad["ingredients"][1]["name"] = serde_json::json!(7);
        match extract_tool_input(&bad) {
            Err(ExtractError::Schema { path, .. }) => assert_eq!(path, "ingredients[1].name"),
            other => panic!("{other:?}"),
        }
        let as_string = serde_json::Value::String(RECIPE.to_owned());
        assert!(extract_tool_input(&as_string).is_ok());
        assert!(matches!(
            extract_tool_input(&serde_json::json!([1])),
            Err(ExtractError::Schema { .. })
        ));
    }

    #[test]
    fn string_numbers_are_accepted() {
        let text = RECIPE.replace(r#""cookingTime":20"#, r#""cookingTime":"약 20분""#);
        assert_eq!(extract_recipe(&text).unwrap().cooking_time, 20);
    }
}
