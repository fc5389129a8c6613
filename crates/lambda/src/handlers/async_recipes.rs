//! generate-recipe's async routes: `POST /recipes` with `"mode": "async"` (validated as sync
//! is, then recorded and queued: 202 with `Location`) and `GET /recipes/{requestId}` (the
//! stored state, to its submitter only). Every other invocation is left to the sync path.
//! The work is in [`ai_chef::batch::recipes`]; batch-dispatcher's worker generates the recipe.

use super::principal::principal_of;
use crate::http::{error_response, json_body, json_response, route};
use ai_chef::batch::recipes::{read_recipe, submit_recipe};
use ai_chef::batch::{JobQueue, ResultStore};
use ai_chef::error::ServiceError;
use ai_chef::generate::RecipeService;
use ai_chef::request::{RecipeRequest, MAX_BODY_BYTES};
use aws_lambda_events::apigw::ApiGatewayV2httpRequest;
use serde::Deserialize;
use serde_json::Value;
use std::sync::Arc;

/// Where async recipes are recorded and queued, or why they cannot be.
#[derive(Clone)]
pub enum AsyncRecipes {
    Ready {
        store: Arc<dyn ResultStore>,
        queue: Arc<dyn JobQueue>,
        ttl_days: u32,
    },
    /// The named setting(s) are missing: async requests answer 503, sync works as ever.
    Unavailable { missing: &'static str },
}

impl AsyncRecipes {
    /// No results table and no jobs queue.
    pub fn disabled() -> AsyncRecipes {
        AsyncRecipes::Unavailable {
            missing: "RESULTS_TABLE and JOBS_QUEUE_URL",
        }
    }

    fn ready(&self) -> Result<(&dyn ResultStore, &dyn JobQueue, u32), ServiceError> {
        match self {
            AsyncRecipes::Ready {
                store,
                queue,
                ttl_days,
            } => Ok((store.as_ref(), queue.as_ref(), *ttl_days)),
            AsyncRecipes::Unavailable { missing } => {
                Err(ServiceError::AsyncUnavailable { missing })
            }
        }
    }
}

impl std::fmt::Debug for AsyncRecipes {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            AsyncRecipes::Ready { ttl_days, .. } => f
                .debug_struct("AsyncRecipes::Ready")
                .field("ttl_days", ttl_days)
                .finish_non_exhaustive(),
            AsyncRecipes::Unavailable { missing } => f
                .debug_struct("AsyncRecipes::Unavailable")
                .field("missing", missing)
                .finish(),
        }
    }
}

/// Answers `payload` when it is one of the async routes; `None` leaves it to the sync path.
pub async fn answer(
    setup: &AsyncRecipes,
    service: &RecipeService,
    payload: &Value,
) -> Option<Value> {
    let http = payload.get("requestContext")?.get("http")?;
    let method = http.get("method")?.as_str()?;
    let is_get = method.eq_ignore_ascii_case("GET");
    let may_be_async_post = method.eq_ignore_ascii_case("POST") && may_ask_for_async(payload);
    if !(is_get || may_be_async_post) {
        return None;
    }
    let request = ApiGatewayV2httpRequest::deserialize(payload).ok()?;
    let (_, path) = route(&request);
    let outcome = if is_get {
        let request_id = request
            .path_parameters
            .get("requestId")
            .cloned()
            .or_else(|| {
                path.rsplit_once("/recipes/")
                    .map(|(_, id)| id.to_owned())
                    .filter(|id| !id.is_empty() && !id.contains('/'))
            })?;
        read(setup, &request, &request_id).await
    } else {
        if !path.ends_with("/recipes") {
            return None;
        }
        let body = match json_body(&request, MAX_BODY_BYTES) {
            Ok(body) => body,
            // The sync path answers the same error.
            Err(_) => return None,
        };
        if !asks_for_async(&body) {
            return None;
        }
        submit(setup, service, &request, &body).await
    };
    Some(outcome.unwrap_or_else(|err| {
        tracing::info!(code = err.code(), status = err.status(), error = %err, "async recipe request refused");
        error_response(&err)
    }))
}

/// A cheap first look: a plain-text body that never mentions `mode` is a sync request.
fn may_ask_for_async(payload: &Value) -> bool {
    let base64 = payload
        .get("isBase64Encoded")
        .and_then(Value::as_bool)
        .unwrap_or(false);
    let body = payload.get("body").and_then(Value::as_str).unwrap_or("");
    base64 || body.contains("\"mode\"")
}

/// Whether the body's `mode` is `"async"` (anything else, valid or not, is the sync path's).
fn asks_for_async(body: &[u8]) -> bool {
    #[derive(Deserialize)]
    struct ModeOnly {
        mode: Option<Value>,
    }
    serde_json::from_slice::<ModeOnly>(body)
        .ok()
        .and_then(|m| m.mode)
        .is_some_and(|mode| mode == "async")
}

async fn submit(
    setup: &AsyncRecipes,
    service: &RecipeService,
    request: &ApiGatewayV2httpRequest,
    body: &[u8],
) -> Result<Value, ServiceError> {
    // Validated exactly as a sync request: a bad body is 400 (413) and contradictory limits
    // are 422 at once, before anything is recorded.
    let checked = RecipeRequest::from_json(body)?;
    service.check_limits(&checked)?;
    let (store, queue, ttl_days) = setup.ready()?;
    let raw: Value =
        serde_json::from_slice(body).map_err(|e| ServiceError::Internal(e.to_string()))?;
    let principal = principal_of(request);
    let pending = submit_recipe(store, queue, &principal, raw, ttl_days).await?;
    let mut response = json_response(202, &pending, None);
    response["headers"]["location"] = Value::String(pending.location.clone());
    Ok(response)
}

async fn read(
    setup: &AsyncRecipes,
    request: &ApiGatewayV2httpRequest,
    request_id: &str,
) -> Result<Value, ServiceError> {
    let (store, _, _) = setup.ready()?;
    let view = read_recipe(store, &principal_of(request), request_id).await?;
    Ok(json_response(200, &view, None))
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn only_an_explicit_async_mode_is_async() {
        assert!(asks_for_async(br#"{"target":"keto","mode":"async"}"#));
        for body in [
            &br#"{"target":"keto"}"#[..],
            br#"{"target":"keto","mode":"sync"}"#,
            br#"{"target":"keto","mode":"ASYNC"}"#,
            br#"{"target":"keto","mode":null}"#,
            br#"not json"#,
        ] {
            assert!(!asks_for_async(body), "{}", String::from_utf8_lossy(body));
        }
    }

    #[test]
    fn bodies_without_mode_skip_the_async_look() {
        assert!(!may_ask_for_async(
            &json!({"body": "{\"target\":\"keto\"}"})
        ));
        assert!(may_ask_for_async(
            &json!({"body": "{\"target\":\"keto\",\"mode\":\"async\"}"})
        ));
        assert!(may_ask_for_async(
            &json!({"body": "e30=", "isBase64Encoded": true})
        ));
    }
}
