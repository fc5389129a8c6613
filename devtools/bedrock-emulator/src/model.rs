//! Which model a request names: the Claude family (foundation model ids, cross-region
//! inference profiles such as `us.`/`eu.`/`global.`, and ARNs) or one of the two Titan text
//! embedding models, with the per-model limits the emulator enforces.

use crate::error::BedrockError;

/// The model family a call is counted under and its fault `scope` matches.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Family {
    Claude,
    Titan,
}

impl Family {
    pub fn as_str(self) -> &'static str {
        match self {
            Family::Claude => "claude",
            Family::Titan => "titan",
        }
    }
}

/// A Claude model and its limits.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ClaudeModel {
    /// The name the response's `model` field carries, e.g. `claude-sonnet-4-5-20250929`.
    pub name: String,
    /// Largest `max_tokens` the model accepts.
    pub max_output_tokens: u32,
    /// Claude 4.5 generation models refuse `temperature` together with `top_p`.
    pub exclusive_sampling: bool,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TitanModel {
    /// `amazon.titan-embed-text-v1`: 1536 dimensions, `inputText` only.
    V1,
    /// `amazon.titan-embed-text-v2:0`: 256/512/1024 dimensions, optional normalisation.
    V2,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Model {
    Claude(ClaudeModel),
    Titan(TitanModel),
}

impl Model {
    pub fn family(&self) -> Family {
        match self {
            Model::Claude(_) => Family::Claude,
            Model::Titan(_) => Family::Titan,
        }
    }
}

/// Cross-region inference profile prefixes Bedrock accepts in front of a model id.
const PROFILE_PREFIXES: [&str; 6] = ["us.", "eu.", "apac.", "global.", "jp.", "au."];

/// Resolves a (percent-decoded) model id, inference profile id or ARN.
pub fn resolve(model_id: &str) -> Result<Model, BedrockError> {
    // ARNs (`arn:aws:bedrock:<region>::foundation-model/<id>`, `...:inference-profile/<id>`)
    // name the model after the last slash.
    let id = if model_id.starts_with("arn:") {
        model_id.rsplit('/').next().unwrap_or(model_id)
    } else {
        model_id
    };
    match id {
        "amazon.titan-embed-text-v1" | "amazon.titan-embed-text-v1:2:8k" => {
            return Ok(Model::Titan(TitanModel::V1))
        }
        "amazon.titan-embed-text-v2:0" => return Ok(Model::Titan(TitanModel::V2)),
        _ => {}
    }
    let bare = PROFILE_PREFIXES
        .iter()
        .find_map(|prefix| id.strip_prefix(prefix))
        .unwrap_or(id);
    let name = bare
        .strip_prefix("anthropic.")
        .filter(|rest| rest.starts_with("claude-"))
        .ok_or_else(BedrockError::invalid_model_id)?;
    let name = strip_version_suffix(name);
    // Every real Claude id carries a generation or date number (`claude-3-haiku-…`,
    // `claude-v2`), so `claude-foo` is refused like Bedrock refuses it.
    let well_formed = name
        .chars()
        .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '.')
        && name.chars().any(|c| c.is_ascii_digit());
    if !well_formed {
        return Err(BedrockError::invalid_model_id());
    }
    Ok(Model::Claude(ClaudeModel {
        max_output_tokens: max_output_tokens(name),
        exclusive_sampling: exclusive_sampling(name),
        name: name.to_string(),
    }))
}

/// `claude-sonnet-4-5-20250929-v1:0` → `claude-sonnet-4-5-20250929`.
fn strip_version_suffix(name: &str) -> &str {
    let without_revision = match name.rsplit_once(':') {
        Some((head, rev)) if rev.chars().all(|c| c.is_ascii_digit()) => head,
        _ => name,
    };
    match without_revision.rsplit_once("-v") {
        Some((head, version))
            if !version.is_empty() && version.chars().all(|c| c.is_ascii_digit()) =>
        {
            head
        }
        _ => without_revision,
    }
}

fn max_output_tokens(name: &str) -> u32 {
    if name.starts_with("claude-3-5-") {
        8192
    } else if name.starts_with("claude-3-7-") {
        64_000
    } else if name.starts_with("claude-3-") || name.starts_with("claude-instant") {
        4096
    } else if name.starts_with("claude-opus-4-2") || name.starts_with("claude-opus-4-1") {
        32_000
    } else {
        64_000
    }
}

fn exclusive_sampling(name: &str) -> bool {
    ["sonnet-4-5", "haiku-4-5", "opus-4-5", "opus-4-1"]
        .iter()
        .any(|generation| name.contains(generation))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn claude(id: &str) -> ClaudeModel {
        match resolve(id).unwrap() {
            Model::Claude(model) => model,
            other => panic!("expected claude, got {other:?}"),
        }
    }

    #[test]
    fn inference_profiles_and_legacy_ids_resolve_to_claude() {
        let sonnet = claude("us.anthropic.claude-sonnet-4-5-20250929-v1:0");
        assert_eq!(sonnet.name, "claude-sonnet-4-5-20250929");
        assert!(sonnet.exclusive_sampling);
        assert_eq!(sonnet.max_output_tokens, 64_000);
        let haiku3 = claude("anthropic.claude-3-haiku-20240307-v1:0");
        assert_eq!(haiku3.name, "claude-3-haiku-20240307");
        assert_eq!(haiku3.max_output_tokens, 4096);
        assert!(!haiku3.exclusive_sampling);
        assert_eq!(
            claude("global.anthropic.claude-haiku-4-5-20251001-v1:0").name,
            "claude-haiku-4-5-20251001"
        );
        assert_eq!(
            claude("arn:aws:bedrock:us-east-1::foundation-model/anthropic.claude-3-sonnet-20240229-v1:0")
                .max_output_tokens,
            4096
        );
    }

    #[test]
    fn titan_ids_resolve_and_unknown_ids_are_rejected() {
        assert_eq!(
            resolve("amazon.titan-embed-text-v2:0").unwrap(),
            Model::Titan(TitanModel::V2)
        );
        assert_eq!(
            resolve("amazon.titan-embed-text-v1").unwrap(),
            Model::Titan(TitanModel::V1)
        );
        for bad in [
            "",
            "gpt-4",
            "anthropic.",
            "anthropic.llama",
            "amazon.titan-embed-text-v3:0",
            "us.anthropic.claude-",
            "anthropic.claude-nope",
        ] {
            let err = resolve(bad).unwrap_err();
            assert_eq!(
                err.message, "The provided model identifier is invalid.",
                "{bad}"
            );
        }
    }
}
