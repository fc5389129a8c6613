//! The TOML data files of `shared/data/` as compact JSON. The build script (`shared/build.rs`)
//! converts each file once at build time, so a syntax error fails the build naming the file
//! and line, and a function's start only runs serde_json over the result (several times faster
//! than a TOML parser, and the binary links no TOML parser). Each loader still checks the
//! content it decodes (ids, references, sources) and fails the start on a mistake.
//!
//! Shared between the build script (`#[path]`) and the unit tests, which edit a file's TOML
//! text and check that the edit is refused.

/// Converts a TOML document to one line of JSON with the same tables, arrays and values.
/// Dates and times become their TOML text; a float JSON cannot hold (NaN, infinite) is an
/// error.
pub fn toml_to_json(text: &str) -> Result<String, String> {
    let table: toml::Table = toml::from_str(text).map_err(|err| err.to_string())?;
    let json = to_json(toml::Value::Table(table))?;
    serde_json::to_string(&json).map_err(|err| err.to_string())
}

fn to_json(value: toml::Value) -> Result<serde_json::Value, String> {
    use serde_json::Value as Json;
    Ok(match value {
        toml::Value::String(text) => Json::String(text),
        toml::Value::Integer(number) => Json::from(number),
        toml::Value::Float(number) => serde_json::Number::from_f64(number)
            .map(Json::Number)
            .ok_or_else(|| format!("the float {number} has no JSON form"))?,
        toml::Value::Boolean(flag) => Json::Bool(flag),
        toml::Value::Datetime(datetime) => Json::String(datetime.to_string()),
        toml::Value::Array(items) => Json::Array(
            items
                .into_iter()
                .map(to_json)
                .collect::<Result<Vec<_>, _>>()?,
        ),
        toml::Value::Table(table) => Json::Object(
            table
                .into_iter()
                .map(|(key, value)| Ok((key, to_json(value)?)))
                .collect::<Result<serde_json::Map<_, _>, String>>()?,
        ),
    })
}
