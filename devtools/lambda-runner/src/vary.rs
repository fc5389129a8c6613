//! Rewrites one field of an event per invocation so that every event differs (a cache
//! miss for the function). A JSON pointer may pass through a string holding JSON, as an
//! API Gateway or SQS event's `body` does: `/body/profile/budget`.

use serde_json::Value;

/// Why a field could not be varied.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum VaryError {
    #[error("JSON pointer {0:?} must be empty or start with '/'")]
    BadPointer(String),
    #[error("nothing at {0:?} in the event")]
    Missing(String),
    #[error("the value at {0:?} is neither a number nor a string")]
    NotVariable(String),
    #[error("the number at {0:?} would overflow")]
    Overflow(String),
    #[error("the string at {at:?} holds no JSON to descend into: {message}")]
    NotEmbeddedJson { at: String, message: String },
}

/// Returns a copy of `event` whose field at `pointer` is made distinct for `n`: a number
/// gets `n` added, a string gets `-n` appended.
pub fn vary_event(event: &Value, pointer: &str, n: u64) -> Result<Value, VaryError> {
    let tokens = parse_pointer(pointer)?;
    let mut varied = event.clone();
    vary_at(&mut varied, &tokens, 0, pointer, n)?;
    Ok(varied)
}

fn parse_pointer(pointer: &str) -> Result<Vec<String>, VaryError> {
    if pointer.is_empty() {
        return Ok(Vec::new());
    }
    let rest = pointer
        .strip_prefix('/')
        .ok_or_else(|| VaryError::BadPointer(pointer.to_owned()))?;
    Ok(rest
        .split('/')
        .map(|token| token.replace("~1", "/").replace("~0", "~"))
        .collect())
}

fn vary_at(
    value: &mut Value,
    tokens: &[String],
    depth: usize,
    pointer: &str,
    n: u64,
) -> Result<(), VaryError> {
    let Some(token) = tokens.get(depth) else {
        return vary_leaf(value, pointer, n);
    };
    match value {
        Value::Object(map) => {
            let child = map
                .get_mut(token)
                .ok_or_else(|| VaryError::Missing(pointer.to_owned()))?;
            vary_at(child, tokens, depth + 1, pointer, n)
        }
        Value::Array(items) => {
            let child = token
                .parse::<usize>()
                .ok()
                .and_then(|index| items.get_mut(index))
                .ok_or_else(|| VaryError::Missing(pointer.to_owned()))?;
            vary_at(child, tokens, depth + 1, pointer, n)
        }
        Value::String(text) => {
            let at = format!("/{}", tokens.get(..depth).unwrap_or_default().join("/"));
            let mut embedded: Value =
                serde_json::from_str(text).map_err(|error| VaryError::NotEmbeddedJson {
                    at,
                    message: error.to_string(),
                })?;
            vary_at(&mut embedded, tokens, depth, pointer, n)?;
            *text = embedded.to_string();
            Ok(())
        }
        _ => Err(VaryError::Missing(pointer.to_owned())),
    }
}

fn vary_leaf(value: &mut Value, pointer: &str, n: u64) -> Result<(), VaryError> {
    let overflow = || VaryError::Overflow(pointer.to_owned());
    match value {
        Value::String(text) => {
            text.push('-');
            text.push_str(&n.to_string());
        }
        Value::Number(number) => {
            *value = if let Some(unsigned) = number.as_u64() {
                Value::from(unsigned.checked_add(n).ok_or_else(overflow)?)
            } else if let Some(signed) = number.as_i64() {
                let n = i64::try_from(n).map_err(|_| overflow())?;
                Value::from(signed.checked_add(n).ok_or_else(overflow)?)
            } else {
                let float = number.as_f64().ok_or_else(overflow)?;
                serde_json::Number::from_f64(float + n as f64)
                    .map(Value::Number)
                    .ok_or_else(overflow)?
            };
        }
        _ => return Err(VaryError::NotVariable(pointer.to_owned())),
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn adds_to_numbers_and_suffixes_strings() {
        let event = json!({"budget": 15000, "offset": -3, "ratio": 0.5, "name": "keto", "list": ["a", "b"]});
        assert_eq!(
            vary_event(&event, "/budget", 7).unwrap()["budget"],
            json!(15007)
        );
        assert_eq!(
            vary_event(&event, "/offset", 2).unwrap()["offset"],
            json!(-1)
        );
        assert_eq!(
            vary_event(&event, "/ratio", 1).unwrap()["ratio"],
            json!(1.5)
        );
        assert_eq!(
            vary_event(&event, "/name", 3).unwrap()["name"],
            json!("keto-3")
        );
        assert_eq!(
            vary_event(&event, "/list/1", 9).unwrap()["list"],
            json!(["a", "b-9"])
        );
    }

    #[test]
    fn descends_into_a_json_string_body() {
        let event = json!({"body": "{\"target\":\"keto\",\"profile\":{\"budget\":15000}}", "isBase64Encoded": false});
        let varied = vary_event(&event, "/body/profile/budget", 12).unwrap();
        let body: Value = serde_json::from_str(varied["body"].as_str().unwrap()).unwrap();
        assert_eq!(
            body,
            json!({"target": "keto", "profile": {"budget": 15012}})
        );
        assert_eq!(varied["isBase64Encoded"], json!(false));
    }

    #[test]
    fn distinct_n_give_distinct_events() {
        let event = json!({"Records": [{"body": "{\"requestId\":\"r1\"}"}]});
        let first = vary_event(&event, "/Records/0/body/requestId", 1).unwrap();
        let second = vary_event(&event, "/Records/0/body/requestId", 2).unwrap();
        assert_ne!(first, second);
        assert_ne!(first, event);
    }

    #[test]
    fn escaped_tokens_are_unescaped() {
        let event = json!({"a/b": {"c~d": 1}});
        assert_eq!(
            vary_event(&event, "/a~1b/c~0d", 1).unwrap(),
            json!({"a/b": {"c~d": 2}})
        );
    }

    #[test]
    fn reports_unusable_pointers() {
        let event = json!({"body": "plain text", "flag": true, "list": [1]});
        assert_eq!(
            vary_event(&event, "budget", 1),
            Err(VaryError::BadPointer("budget".into()))
        );
        assert_eq!(
            vary_event(&event, "/missing", 1),
            Err(VaryError::Missing("/missing".into()))
        );
        assert_eq!(
            vary_event(&event, "/list/5", 1),
            Err(VaryError::Missing("/list/5".into()))
        );
        assert_eq!(
            vary_event(&event, "/flag", 1),
            Err(VaryError::NotVariable("/flag".into()))
        );
        assert!(matches!(
            vary_event(&event, "/body/x", 1),
            Err(VaryError::NotEmbeddedJson { .. })
        ));
        assert_eq!(
            vary_event(&json!({"n": u64::MAX}), "/n", 1),
            Err(VaryError::Overflow("/n".into()))
        );
    }
}
