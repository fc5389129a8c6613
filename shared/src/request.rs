//! The `POST /recipes` body: the wire shape (unknown fields rejected) and its conversion into
//! a checked [`RecipeRequest`] — parse, don't validate. Every problem is reported with the
//! JSON path of the field, all at once, so a client can fix a request in one round trip.

use crate::config::ChatModel;
use crate::domain::{CookingLevel, Language, Profile, Target};
use crate::error::{FieldError, ServiceError};
use serde::{Deserialize, Serialize};
use unicode_normalization::UnicodeNormalization;

/// Largest accepted `POST /recipes` body, in bytes (documented in the README).
pub const MAX_BODY_BYTES: usize = 32 * 1024;
pub const MAX_TEXT_CHARS: usize = 100;
pub const MAX_ALLERGIES: usize = 50;
pub const MAX_HEALTH_CONDITIONS: usize = 20;
pub const MAX_INGREDIENTS_ON_HAND: usize = 30;
pub const SERVINGS_RANGE: std::ops::RangeInclusive<u32> = 1..=12;
pub const BUDGET_RANGE: std::ops::RangeInclusive<u64> = 1_000..=10_000_000;
pub const MAX_CALORIES_RANGE: std::ops::RangeInclusive<u64> = 100..=5_000;

#[derive(Debug, Clone, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct RecipeRequestWire {
    pub target: Option<String>,
    #[serde(default, deserialize_with = "object_only")]
    pub profile: Option<ProfileWire>,
    #[serde(default, deserialize_with = "whole_number")]
    pub servings: Option<u64>,
    #[serde(default)]
    pub ingredients_on_hand: Option<Vec<String>>,
    pub language: Option<String>,
    pub model: Option<String>,
    pub mode: Option<String>,
    /// `false` keeps the request on its model: no fallback when it is throttled (default true).
    pub fallback: Option<bool>,
}

/// How the caller wants the answer: at once (`sync`, the default) or as a stored result read
/// back with `GET /recipes/{requestId}` (`async`).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum Mode {
    #[default]
    Sync,
    Async,
}

#[derive(Debug, Clone, Deserialize, Default)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct ProfileWire {
    #[serde(default)]
    pub health_conditions: Option<Vec<String>>,
    #[serde(default)]
    pub allergies: Option<Vec<String>>,
    pub cooking_level: Option<String>,
    #[serde(default, deserialize_with = "whole_number")]
    pub budget: Option<u64>,
    #[serde(default, deserialize_with = "whole_number")]
    pub max_calories: Option<u64>,
}

/// A validated recipe request: every string normalised (NFC, trimmed), every number in range.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct RecipeRequest {
    pub target: Target,
    pub profile: Profile,
    pub servings: u32,
    pub ingredients_on_hand: Vec<String>,
    pub language: Language,
    #[serde(skip)]
    pub model: Option<ChatModel>,
    /// Not part of what is generated (nor of the cache key): only where the answer goes.
    #[serde(skip)]
    pub mode: Mode,
    /// Whether another model may stand in for a throttled or not-ready one.
    #[serde(skip)]
    pub fallback: bool,
}

impl RecipeRequest {
    /// Parses and checks a raw JSON body.
    pub fn from_json(body: &[u8]) -> Result<RecipeRequest, ServiceError> {
        if body.len() > MAX_BODY_BYTES {
            return Err(ServiceError::PayloadTooLarge {
                size: body.len(),
                limit: MAX_BODY_BYTES,
            });
        }
        let wire = parse_wire::<RecipeRequestWire>(body)?;
        RecipeRequest::try_from(wire)
    }

    /// Parses and checks an already-decoded JSON value (batch messages carry one).
    pub fn from_value(value: serde_json::Value) -> Result<RecipeRequest, ServiceError> {
        if !value.is_object() {
            return Err(not_an_object());
        }
        let wire: RecipeRequestWire = serde_path_to_error::deserialize(value).map_err(|e| {
            let field = e.path().to_string();
            ServiceError::invalid(
                format!("request is invalid: {}", e.inner()),
                vec![FieldError::new(path_or_body(&field), e.inner().to_string())],
            )
        })?;
        RecipeRequest::try_from(wire)
    }
}

/// Deserialises a body, turning serde's error into a field error with the JSON path.
pub fn parse_wire<T: serde::de::DeserializeOwned>(body: &[u8]) -> Result<T, ServiceError> {
    let text = std::str::from_utf8(body).map_err(|e| {
        ServiceError::invalid(
            "request body is not valid UTF-8",
            vec![FieldError::new("body", e.to_string())],
        )
    })?;
    if text.trim().is_empty() {
        return Err(ServiceError::invalid(
            "request body is empty; send a JSON object",
            vec![FieldError::new("body", "empty")],
        ));
    }
    // Serde builds a struct from a JSON array too (fields by position); a body is an object.
    if !text.trim_start().starts_with('{') {
        return Err(not_an_object());
    }
    let mut de = serde_json::Deserializer::from_str(text);
    let value: T = serde_path_to_error::deserialize(&mut de).map_err(|e| {
        let field = e.path().to_string();
        let inner = e.into_inner();
        let message = if inner.is_syntax() || inner.is_eof() {
            format!("request body is not valid JSON: {inner}")
        } else {
            format!("request is invalid: {inner}")
        };
        ServiceError::invalid(
            message,
            vec![FieldError::new(path_or_body(&field), inner.to_string())],
        )
    })?;
    de.end().map_err(|e| {
        ServiceError::invalid(
            "request body has trailing characters after the JSON object",
            vec![FieldError::new("body", e.to_string())],
        )
    })?;
    Ok(value)
}

fn not_an_object() -> ServiceError {
    ServiceError::invalid(
        "request body must be a JSON object",
        vec![FieldError::new("body", "expected a JSON object")],
    )
}

/// Deserialises an optional nested object from a JSON object or `null` only: serde would
/// otherwise also build it from an array, taking fields by position.
fn object_only<'de, D, T>(deserializer: D) -> Result<Option<T>, D::Error>
where
    D: serde::Deserializer<'de>,
    T: Deserialize<'de>,
{
    struct ObjectOnly<T>(std::marker::PhantomData<T>);

    impl<'de, T: Deserialize<'de>> serde::de::Visitor<'de> for ObjectOnly<T> {
        type Value = Option<T>;

        fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
            f.write_str("a JSON object")
        }

        fn visit_unit<E: serde::de::Error>(self) -> Result<Self::Value, E> {
            Ok(None)
        }

        fn visit_none<E: serde::de::Error>(self) -> Result<Self::Value, E> {
            Ok(None)
        }

        fn visit_some<D2: serde::Deserializer<'de>>(
            self,
            deserializer: D2,
        ) -> Result<Self::Value, D2::Error> {
            deserializer.deserialize_map(self)
        }

        fn visit_map<A: serde::de::MapAccess<'de>>(self, map: A) -> Result<Self::Value, A::Error> {
            T::deserialize(serde::de::value::MapAccessDeserializer::new(map)).map(Some)
        }
    }

    deserializer.deserialize_option(ObjectOnly(std::marker::PhantomData))
}

/// Deserialises an optional non-negative whole number written either as an integer (`2`) or
/// as a number with a zero fraction (`2.0`, `2e0`): JSON has one number type, and JSON Schema's
/// `integer` (what the OpenAPI document says) admits both spellings. A fraction (`2.5`), a
/// negative number or one beyond `u64` is refused with the field's path, like any other type
/// error; ranges are checked later, with the field's own message.
pub(crate) fn whole_number<'de, D>(deserializer: D) -> Result<Option<u64>, D::Error>
where
    D: serde::Deserializer<'de>,
{
    struct WholeNumber;

    /// 2^64, the first float past `u64::MAX` (which itself has no exact `f64`).
    const U64_END: f64 = 18_446_744_073_709_551_616.0;

    impl<'de> serde::de::Visitor<'de> for WholeNumber {
        type Value = Option<u64>;

        fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
            f.write_str("a whole number of 0 or more")
        }

        fn visit_unit<E: serde::de::Error>(self) -> Result<Self::Value, E> {
            Ok(None)
        }

        fn visit_none<E: serde::de::Error>(self) -> Result<Self::Value, E> {
            Ok(None)
        }

        fn visit_some<D2: serde::Deserializer<'de>>(
            self,
            deserializer: D2,
        ) -> Result<Self::Value, D2::Error> {
            deserializer.deserialize_any(self)
        }

        fn visit_u64<E: serde::de::Error>(self, value: u64) -> Result<Self::Value, E> {
            Ok(Some(value))
        }

        fn visit_i64<E: serde::de::Error>(self, value: i64) -> Result<Self::Value, E> {
            u64::try_from(value)
                .map(Some)
                .map_err(|_| E::invalid_value(serde::de::Unexpected::Signed(value), &self))
        }

        fn visit_f64<E: serde::de::Error>(self, value: f64) -> Result<Self::Value, E> {
            // `is_finite` first: NaN and the infinities have no whole value (serde_json never
            // yields them from text, but a `Value` built in code might).
            if value.is_finite() && value.fract() == 0.0 && (0.0..U64_END).contains(&value) {
                // Exact: the value is whole and within u64, so the cast neither rounds nor
                // saturates.
                #[allow(clippy::cast_possible_truncation, clippy::cast_sign_loss)]
                let whole = value as u64;
                Ok(Some(whole))
            } else {
                Err(E::invalid_value(serde::de::Unexpected::Float(value), &self))
            }
        }
    }

    deserializer.deserialize_option(WholeNumber)
}

fn path_or_body(path: &str) -> String {
    if path.is_empty() || path == "." {
        "body".to_owned()
    } else {
        path.to_owned()
    }
}

impl TryFrom<RecipeRequestWire> for RecipeRequest {
    type Error = ServiceError;

    fn try_from(wire: RecipeRequestWire) -> Result<Self, Self::Error> {
        let mut errors = Vec::new();
        let target = match wire.target.as_deref() {
            None => {
                errors.push(FieldError::new("target", "is required"));
                None
            }
            Some(raw) => match raw.parse::<Target>() {
                Ok(t) => Some(t),
                Err(msg) => {
                    errors.push(FieldError::new("target", msg));
                    None
                }
            },
        };
        let profile_wire = wire.profile.unwrap_or_default();
        let health_conditions = text_list(
            "profile.healthConditions",
            profile_wire.health_conditions.unwrap_or_default(),
            MAX_HEALTH_CONDITIONS,
            &mut errors,
        );
        let allergies = text_list(
            "profile.allergies",
            profile_wire.allergies.unwrap_or_default(),
            MAX_ALLERGIES,
            &mut errors,
        );
        let cooking_level = match profile_wire.cooking_level.as_deref() {
            None => None,
            Some("beginner") => Some(CookingLevel::Beginner),
            Some("intermediate") => Some(CookingLevel::Intermediate),
            Some("advanced") => Some(CookingLevel::Advanced),
            Some(other) => {
                errors.push(FieldError::new(
                    "profile.cookingLevel",
                    format!(
                        "`{}` is not one of beginner, intermediate, advanced",
                        excerpt(other)
                    ),
                ));
                None
            }
        };
        let budget = bounded(
            "profile.budget",
            profile_wire.budget,
            BUDGET_RANGE,
            "KRW",
            &mut errors,
        );
        let max_calories = bounded(
            "profile.maxCalories",
            profile_wire.max_calories,
            MAX_CALORIES_RANGE,
            "kcal per serving",
            &mut errors,
        );
        let servings = match wire.servings {
            None => Some(2),
            Some(n)
                if n >= u64::from(*SERVINGS_RANGE.start())
                    && n <= u64::from(*SERVINGS_RANGE.end()) =>
            {
                u32::try_from(n).ok()
            }
            Some(n) => {
                errors.push(FieldError::new(
                    "servings",
                    format!(
                        "must be between {} and {}, got {n}",
                        SERVINGS_RANGE.start(),
                        SERVINGS_RANGE.end()
                    ),
                ));
                None
            }
        };
        let ingredients_on_hand = text_list(
            "ingredientsOnHand",
            wire.ingredients_on_hand.unwrap_or_default(),
            MAX_INGREDIENTS_ON_HAND,
            &mut errors,
        );
        let language = match wire.language.as_deref() {
            None | Some("ko") => Some(Language::Ko),
            Some("en") => Some(Language::En),
            Some(other) => {
                errors.push(FieldError::new(
                    "language",
                    format!("`{}` is not one of ko, en", excerpt(other)),
                ));
                None
            }
        };
        let model = match wire.model.as_deref() {
            None => Some(None),
            Some(alias) => match ChatModel::parse(alias) {
                Some(m) => Some(Some(m)),
                None => {
                    errors.push(FieldError::new(
                        "model",
                        format!("`{}` is not one of {}", excerpt(alias), ChatModel::ALIASES),
                    ));
                    None
                }
            },
        };
        let mode = match wire.mode.as_deref() {
            None | Some("sync") => Some(Mode::Sync),
            Some("async") => Some(Mode::Async),
            Some(other) => {
                errors.push(FieldError::new(
                    "mode",
                    format!("`{}` is not one of sync, async", excerpt(other)),
                ));
                None
            }
        };
        match (target, servings, language, model, mode) {
            (Some(target), Some(servings), Some(language), Some(model), Some(mode))
                if errors.is_empty() =>
            {
                Ok(RecipeRequest {
                    target,
                    profile: Profile {
                        health_conditions,
                        allergies,
                        cooking_level,
                        budget: budget.and_then(|b| u32::try_from(b).ok()),
                        max_calories: max_calories.and_then(|c| u32::try_from(c).ok()),
                    },
                    servings,
                    ingredients_on_hand,
                    language,
                    model,
                    mode,
                    fallback: wire.fallback.unwrap_or(true),
                })
            }
            _ => {
                let fields: Vec<&str> = errors.iter().map(|e| e.field.as_str()).collect();
                let message = format!("request is invalid: check {}", fields.join(", "));
                Err(ServiceError::invalid(message, errors))
            }
        }
    }
}

fn bounded(
    field: &str,
    value: Option<u64>,
    range: std::ops::RangeInclusive<u64>,
    unit: &str,
    errors: &mut Vec<FieldError>,
) -> Option<u64> {
    match value {
        Some(v) if !range.contains(&v) => {
            errors.push(FieldError::new(
                field,
                format!(
                    "must be between {} and {} {unit}, got {v}",
                    range.start(),
                    range.end()
                ),
            ));
            None
        }
        other => other,
    }
}

/// Checks a list of short free-text items (allergies, conditions, ingredients): NFC, trimmed,
/// 1..=100 characters, letters/digits/spaces and a few punctuation marks only. Angle brackets,
/// quotes (single ones too: the prompt's constraint lines quote allergies and conditions with
/// them), braces, control, zero-width and bidi characters are refused so user text can never
/// close the prompt's data block or a quotation, nor hide instructions; duplicates are dropped.
fn text_list(
    field: &str,
    items: Vec<String>,
    max_items: usize,
    errors: &mut Vec<FieldError>,
) -> Vec<String> {
    if items.len() > max_items {
        errors.push(FieldError::new(
            field,
            format!("has {} items; at most {max_items} are allowed", items.len()),
        ));
        return Vec::new();
    }
    let mut out: Vec<String> = Vec::with_capacity(items.len());
    for (i, raw) in items.into_iter().enumerate() {
        match clean_text(&raw) {
            Ok(text) => {
                if !out.contains(&text) {
                    out.push(text);
                }
            }
            Err(msg) => errors.push(FieldError::new(format!("{field}[{i}]"), msg)),
        }
    }
    out
}

/// Normalises one free-text item or says why it is refused.
pub fn clean_text(raw: &str) -> Result<String, String> {
    let text: String = raw.nfc().collect();
    let text = text
        .split(' ')
        .filter(|s| !s.is_empty())
        .collect::<Vec<_>>()
        .join(" ");
    let chars = text.chars().count();
    if chars == 0 {
        return Err("must not be empty".to_owned());
    }
    if chars > MAX_TEXT_CHARS {
        return Err(format!(
            "is {chars} characters long; at most {MAX_TEXT_CHARS} are allowed"
        ));
    }
    if let Some(bad) = text.chars().find(|c| !is_allowed_char(*c)) {
        return Err(format!(
            "contains a character that is not allowed (U+{:04X}); use letters, digits, spaces and - , . ( ) / & · + %",
            u32::from(bad)
        ));
    }
    Ok(text)
}

fn is_allowed_char(c: char) -> bool {
    c.is_alphanumeric()
        || c == ' '
        || matches!(c, '-' | ',' | '.' | '(' | ')' | '/' | '&' | '·' | '+' | '%')
}

/// The first characters of a rejected value, so an error never echoes a huge string.
fn excerpt(s: &str) -> String {
    let mut out: String = s.chars().take(40).filter(|c| !c.is_control()).collect();
    if s.chars().count() > 40 {
        out.push('…');
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(body: &str) -> Result<RecipeRequest, ServiceError> {
        RecipeRequest::from_json(body.as_bytes())
    }

    fn fields(err: &ServiceError) -> Vec<String> {
        match err {
            ServiceError::InvalidRequest { details, .. } => {
                details.iter().map(|d| d.field.clone()).collect()
            }
            other => panic!("expected invalid_request, got {other:?}"),
        }
    }

    #[test]
    fn contract_example_parses_with_defaults() {
        let req = parse(
            r#"{"target":"keto","profile":{"healthConditions":["고혈압"],"allergies":["땅콩","우유"],
            "cookingLevel":"beginner","budget":15000,"maxCalories":600},"servings":2,
            "ingredientsOnHand":["돼지고기","양배추"],"language":"ko","model":"sonnet"}"#,
        )
        .unwrap();
        assert_eq!(req.target, Target::Keto);
        assert_eq!(req.profile.allergies, vec!["땅콩", "우유"]);
        assert_eq!(req.profile.max_calories, Some(600));
        assert_eq!(req.model, Some(ChatModel::Sonnet));
        let minimal = parse(r#"{"target":"vegan"}"#).unwrap();
        assert_eq!(minimal.servings, 2);
        assert_eq!(minimal.language, Language::Ko);
        assert_eq!(minimal.model, None);
    }

    #[test]
    fn unknown_fields_are_rejected_with_their_path() {
        let err = parse(r#"{"target":"keto","profile":{"alergies":["땅콩"]}}"#).unwrap_err();
        assert_eq!(err.code(), "invalid_request");
        assert!(err.to_string().contains("alergies"), "{err}");
        assert_eq!(fields(&err), vec!["profile.alergies"]);
    }

    #[test]
    fn every_bad_field_is_reported_at_once() {
        let err = parse(
            r#"{"target":"paleo","servings":0,"language":"fr","profile":{"budget":5,"maxCalories":99999,"cookingLevel":"chef"}}"#,
        )
        .unwrap_err();
        let f = fields(&err);
        for want in [
            "target",
            "servings",
            "language",
            "profile.budget",
            "profile.maxCalories",
            "profile.cookingLevel",
        ] {
            assert!(f.iter().any(|x| x == want), "missing {want} in {f:?}");
        }
    }

    #[test]
    fn wrong_types_and_bad_json_are_invalid_requests() {
        for body in [
            r#"{"target":1}"#,
            r#"{"target":"keto","servings":"two"}"#,
            r#"{"target":"keto","servings":-1}"#,
            r#"{"target":"keto","servings":2.5}"#,
            r#"{"target":"keto""#,
            r#"[]"#,
            "",
            r#"{"target":"keto"} trailing"#,
        ] {
            let err = parse(body).unwrap_err();
            assert_eq!(err.status(), 400, "{body}");
        }
    }

    #[test]
    fn whole_numbers_written_as_floats_are_integers() {
        let req = parse(
            r#"{"target":"keto","servings":2.0,"profile":{"budget":15000.0,"maxCalories":6e2}}"#,
        )
        .unwrap();
        assert_eq!(req.servings, 2);
        assert_eq!(req.profile.budget, Some(15000));
        assert_eq!(req.profile.max_calories, Some(600));
        assert_eq!(
            parse(r#"{"target":"keto","servings":12.0}"#)
                .unwrap()
                .servings,
            12
        );
        assert_eq!(
            parse(r#"{"target":"keto","servings":1e1}"#)
                .unwrap()
                .servings,
            10
        );
        // Same request, same cache key: 2.0 is 2.
        assert_eq!(
            serde_json::to_string(&parse(r#"{"target":"keto","servings":3.0}"#).unwrap()).unwrap(),
            serde_json::to_string(&parse(r#"{"target":"keto","servings":3}"#).unwrap()).unwrap()
        );
        // Batch messages come as a `Value`, which keeps the float.
        let from_value = RecipeRequest::from_value(
            serde_json::json!({"target": "keto", "servings": 4.0, "profile": {"budget": 2000.0}}),
        )
        .unwrap();
        assert_eq!(
            (from_value.servings, from_value.profile.budget),
            (4, Some(2000))
        );
        // null still reads as the field left out.
        assert_eq!(
            parse(r#"{"target":"keto","servings":null}"#)
                .unwrap()
                .servings,
            2
        );
    }

    #[test]
    fn fractions_negative_and_huge_numbers_are_refused_with_their_field() {
        for (body, field) in [
            (r#"{"target":"keto","servings":2.5}"#, "servings"),
            (r#"{"target":"keto","servings":0.999999}"#, "servings"),
            (r#"{"target":"keto","servings":-2.0}"#, "servings"),
            (r#"{"target":"keto","servings":-1}"#, "servings"),
            (r#"{"target":"keto","servings":1e300}"#, "servings"),
            (
                r#"{"target":"keto","servings":18446744073709551616}"#,
                "servings",
            ),
            (r#"{"target":"keto","servings":"2"}"#, "servings"),
            (r#"{"target":"keto","servings":true}"#, "servings"),
            (
                r#"{"target":"keto","profile":{"budget":15000.5}}"#,
                "profile.budget",
            ),
            (
                r#"{"target":"keto","profile":{"maxCalories":-600.0}}"#,
                "profile.maxCalories",
            ),
        ] {
            let err = parse(body).unwrap_err();
            assert_eq!(err.status(), 400, "{body}");
            assert_eq!(fields(&err), vec![field], "{body}");
        }
        // A whole float out of range gets the range message, like the integer would.
        for body in [
            r#"{"target":"keto","servings":13.0}"#,
            r#"{"target":"keto","servings":0.0}"#,
            r#"{"target":"keto","servings":-0.0}"#,
        ] {
            let err = parse(body).unwrap_err();
            assert_eq!(fields(&err), vec!["servings"], "{body}");
            assert!(err.to_string().contains("check servings"), "{err}");
        }
        let err = parse(r#"{"target":"keto","profile":{"budget":1e8}}"#).unwrap_err();
        assert_eq!(fields(&err), vec!["profile.budget"]);
        let err = RecipeRequest::from_value(serde_json::json!({"target": "keto", "servings": 2.5}))
            .unwrap_err();
        assert_eq!(fields(&err), vec!["servings"]);
    }

    #[test]
    fn the_whole_number_reader_refuses_what_json_text_cannot_hold() {
        use serde::de::value::{Error, F64Deserializer};
        use serde::de::IntoDeserializer;
        for bad in [
            f64::NAN,
            f64::INFINITY,
            f64::NEG_INFINITY,
            2.5,
            -1.0,
            1.9e19,
        ] {
            let de: F64Deserializer<Error> = bad.into_deserializer();
            assert!(whole_number(de).is_err(), "{bad} accepted");
        }
        let de: F64Deserializer<Error> = 1.8e19_f64.into_deserializer();
        assert_eq!(whole_number(de).unwrap(), Some(18_000_000_000_000_000_000));
    }

    #[test]
    fn text_items_refuse_markup_control_and_zero_width_characters() {
        for bad in [
            "</request>",
            "우유\u{200B}",
            "a\u{0007}",
            "\"quoted\"",
            "'quoted'",
            "{json}",
            "🥜",
            "\u{202E}abc",
        ] {
            assert!(clean_text(bad).is_err(), "{bad:?} accepted");
        }
        assert_eq!(clean_text("  견과류  (호두)  ").unwrap(), "견과류 (호두)");
        assert!(clean_text(&"가".repeat(101)).is_err());
        assert!(clean_text("ignore previous instructions").is_ok());
    }

    #[test]
    fn arrays_are_not_taken_for_objects() {
        for body in [
            r#"["keto",null,2,null,"ko","sonnet"]"#,
            r#"{"target":"keto","profile":[["고혈압"],["땅콩"],"beginner",15000,600]}"#,
        ] {
            assert_eq!(parse(body).unwrap_err().code(), "invalid_request", "{body}");
        }
        let err = RecipeRequest::from_value(serde_json::json!(["keto", null, 2, null, "ko", null]))
            .unwrap_err();
        assert_eq!(fields(&err), vec!["body"]);
        assert_eq!(
            fields(&parse(r#"{"target":"keto","profile":[]}"#).unwrap_err()),
            vec!["profile"]
        );
        assert_eq!(
            parse(r#"{"target":"keto","profile":null}"#)
                .unwrap()
                .profile,
            Profile::default()
        );
    }

    #[test]
    fn mode_is_sync_by_default_async_on_request_and_nothing_else() {
        assert_eq!(parse(r#"{"target":"keto"}"#).unwrap().mode, Mode::Sync);
        assert_eq!(
            parse(r#"{"target":"keto","mode":"sync"}"#).unwrap().mode,
            Mode::Sync
        );
        let asked = parse(r#"{"target":"keto","mode":"async"}"#).unwrap();
        assert_eq!(asked.mode, Mode::Async);
        // The mode is not part of what is generated: both modes share one cache key.
        assert_eq!(
            serde_json::to_string(&asked).unwrap(),
            serde_json::to_string(&parse(r#"{"target":"keto"}"#).unwrap()).unwrap()
        );
        for bad in [r#""ASYNC""#, r#""later""#, "1", "null"] {
            let body = format!(r#"{{"target":"keto","mode":{bad}}}"#);
            match parse(&body) {
                Err(err) => assert_eq!(fields(&err), vec!["mode"], "{body}"),
                // JSON null reads as the field left out.
                Ok(request) => assert_eq!((bad, request.mode), ("null", Mode::Sync)),
            }
        }
    }

    #[test]
    fn oversized_body_is_payload_too_large() {
        let body = format!(
            r#"{{"target":"keto","language":"{}"}}"#,
            "x".repeat(MAX_BODY_BYTES)
        );
        assert_eq!(parse(&body).unwrap_err().status(), 413);
    }

    #[test]
    fn long_lists_are_refused() {
        let many: Vec<String> = (0..51).map(|i| format!("allergen{i}")).collect();
        let body =
            serde_json::json!({"target": "keto", "profile": {"allergies": many}}).to_string();
        assert_eq!(
            fields(&parse(&body).unwrap_err()),
            vec!["profile.allergies"]
        );
    }
}
