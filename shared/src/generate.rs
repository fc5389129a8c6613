//! Recipe generation: prompt → Claude → extracted recipe → deterministic verification →
//! repair conversation, all within the Lambda deadline and an attempt budget.
//!
//! The model is never trusted: a recipe is answered only when every check of the
//! [`RecipeVerifier`] passes; otherwise the failing checks are stated to the model and it is
//! asked again. Out of attempts means 422 (checks failed) or 502 (unusable output); out of
//! time means 504. Nothing here knows about HTTP or Lambda events.

use crate::bedrock::{ChatModelClient, ChatRequest, Message, Role, StopReason};
use crate::cache::{cache_key, ResponseCache};
use crate::config::Config;
use crate::deadline::Deadline;
use crate::domain::{Check, Language, NutritionReport, Recipe};
use crate::error::ServiceError;
use crate::extract::{extract_recipe, ExtractError};
use crate::metrics::{CallStatus, MetricsRecorder};
use crate::prompt;
use crate::request::RecipeRequest;
use serde::Serialize;
use std::sync::Arc;
use std::time::{Duration, Instant};

/// An attempt is not started with less time than this left (after the margin).
pub const MIN_ATTEMPT_BUDGET: Duration = Duration::from_millis(500);
const FIRST_TEMPERATURE: f32 = 0.7;
const REPAIR_TEMPERATURE: f32 = 0.3;

/// The deterministic judge of a recipe: nutrition from the food table and every check.
pub trait RecipeVerifier: Send + Sync {
    /// Plain sentences stating every limit, for the prompt.
    fn constraints(&self, request: &RecipeRequest) -> Vec<String>;
    /// Limits of this request that can never hold together (e.g. keto with a fat cap).
    fn contradictions(&self, request: &RecipeRequest) -> Vec<String>;
    /// Computes nutrition and runs every check of the target, the conditions and allergies.
    fn verify(&self, request: &RecipeRequest, recipe: &Recipe) -> Verification;
    /// States failing checks plainly for the repair request.
    fn feedback(&self, failed: &[Check], language: Language) -> String;
}

/// Verified facts a prompt may carry (nutrition retrieval); empty when none apply.
#[async_trait::async_trait]
pub trait PromptFacts: Send + Sync {
    async fn facts(
        &self,
        request: &RecipeRequest,
        deadline: Deadline,
        metrics: &MetricsRecorder,
    ) -> String;
    /// Resolves what the verifier's name fallback needs for these ingredient names
    /// (nutrition retrieval embeds the names the table does not know). Default: nothing.
    async fn prepare_names(
        &self,
        _names: &[String],
        _deadline: Deadline,
        _metrics: &MetricsRecorder,
    ) {
    }
}

#[derive(Debug, Clone, PartialEq)]
pub struct Verification {
    pub nutrition: NutritionReport,
    pub checks: Vec<Check>,
}

impl Verification {
    pub fn passed(&self) -> bool {
        self.checks.iter().all(|c| c.passed)
    }

    pub fn failed(&self) -> Vec<Check> {
        self.checks.iter().filter(|c| !c.passed).cloned().collect()
    }
}

/// The contract's 200 body.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct GenerateResponse {
    pub recipe: Recipe,
    pub nutrition: NutritionReport,
    pub checks: Vec<Check>,
    pub meta: Meta,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Meta {
    pub model_id: String,
    pub input_tokens: u64,
    pub output_tokens: u64,
    pub attempts: u32,
    pub cached: bool,
    pub latency_ms: u64,
}

/// Why an attempt did not give a usable recipe.
#[derive(Debug, Clone)]
enum AttemptFailure {
    Output(String),
    Checks(Vec<Check>),
}

#[derive(Clone)]
pub struct RecipeService {
    config: Arc<Config>,
    chat: Arc<dyn ChatModelClient>,
    verifier: Arc<dyn RecipeVerifier>,
    facts: Option<Arc<dyn PromptFacts>>,
    cache: ResponseCache<GenerateResponse>,
}

impl std::fmt::Debug for RecipeService {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RecipeService")
            .field("cache", &self.cache)
            .finish_non_exhaustive()
    }
}

impl RecipeService {
    pub fn new(
        config: Arc<Config>,
        chat: Arc<dyn ChatModelClient>,
        verifier: Arc<dyn RecipeVerifier>,
        facts: Option<Arc<dyn PromptFacts>>,
    ) -> Self {
        let cache = ResponseCache::new(config.cache_max_entries, config.cache_ttl);
        RecipeService {
            config,
            chat,
            verifier,
            facts,
            cache,
        }
    }

    pub fn config(&self) -> &Config {
        &self.config
    }

    /// Generates a verified recipe, or says precisely why none could be given.
    pub async fn generate(
        &self,
        request: &RecipeRequest,
        deadline: Deadline,
        metrics: &MetricsRecorder,
    ) -> Result<GenerateResponse, ServiceError> {
        let started = Instant::now();
        let model_id = self
            .config
            .models
            .chat_model_id(request.model.unwrap_or(self.config.models.default_chat))
            .to_owned();
        let canonical =
            serde_json::to_string(request).map_err(|e| ServiceError::Internal(e.to_string()))?;
        let key = cache_key(&model_id, &canonical);
        if let Some(hit) = self.cache.get(&key) {
            let mut response = (*hit).clone();
            response.meta.cached = true;
            response.meta.latency_ms = started.elapsed().as_millis() as u64;
            tracing::info!(target_diet = %request.target, cached = true, "recipe answered from cache");
            return Ok(response);
        }

        let conflicts = self.verifier.contradictions(request);
        if !conflicts.is_empty() {
            // No recipe can pass limits that exclude each other: say so without a model call.
            return Err(ServiceError::ConstraintsUnsatisfied {
                attempts: 0,
                checks: vec![Check {
                    rule: "compatibleLimits".to_owned(),
                    passed: false,
                    value: conflicts.len() as f64,
                    limit: 0.0,
                    offending: conflicts,
                    source: "profile".to_owned(),
                }],
            });
        }
        // Facts only help an attempt: none are fetched when no attempt could follow, and the
        // fetch must end early enough to leave the first attempt its minimum budget.
        if deadline
            .budget(self.config.deadline_margin)
            .is_none_or(|budget| budget < MIN_ATTEMPT_BUDGET)
        {
            tracing::warn!(attempts = 0, "deadline leaves no time for an attempt");
            return Err(ServiceError::DeadlineExceeded { attempts: 0 });
        }
        let facts = match &self.facts {
            Some(provider) => {
                let facts_deadline =
                    Deadline::after(deadline.remaining().saturating_sub(MIN_ATTEMPT_BUDGET));
                provider.facts(request, facts_deadline, metrics).await
            }
            None => String::new(),
        };
        let constraints = self.verifier.constraints(request);
        let system = prompt::system_prompt(request.language).to_owned();
        let mut messages = vec![Message {
            role: Role::User,
            content: prompt::recipe_prompt(request, &constraints, &facts),
        }];
        let mut input_tokens = 0u64;
        let mut output_tokens = 0u64;
        let mut attempts = 0u32;
        let mut last_failure: Option<AttemptFailure> = None;
        let mut slowest_call = Duration::ZERO;

        while attempts < self.config.max_attempts {
            // No attempt starts that cannot finish: it needs at least the time the slowest
            // call of this invocation took, and never less than the floor.
            let needed = slowest_call.max(MIN_ATTEMPT_BUDGET);
            let budget = match deadline.budget(self.config.deadline_margin) {
                Some(b) if b >= needed => b,
                _ => {
                    tracing::warn!(attempts, "deadline leaves no time for another attempt");
                    return Err(ServiceError::DeadlineExceeded { attempts });
                }
            };
            attempts += 1;
            let call = ChatRequest {
                model_id: model_id.clone(),
                system: system.clone(),
                messages: messages.clone(),
                max_tokens: self.config.max_tokens,
                temperature: if attempts == 1 {
                    FIRST_TEMPERATURE
                } else {
                    REPAIR_TEMPERATURE
                },
                timeout: budget,
            };
            let answer = match self.chat.chat(&call).await {
                Ok(answer) => {
                    metrics.record_call(&model_id, CallStatus::Success, answer.latency);
                    tracing::info!(model_id = %model_id, attempt = attempts, latency_ms = answer.latency.as_millis() as u64, input_tokens = answer.input_tokens, output_tokens = answer.output_tokens, "model call");
                    answer
                }
                Err(err) => {
                    metrics.record_call(&model_id, CallStatus::Error, err.latency);
                    tracing::warn!(model_id = %model_id, attempt = attempts, latency_ms = err.latency.as_millis() as u64, failure = ?err.failure, timed_out = err.timed_out, "model call failed");
                    return Err(err.into_service_error(attempts));
                }
            };
            slowest_call = slowest_call.max(answer.latency);
            input_tokens += answer.input_tokens;
            output_tokens += answer.output_tokens;

            let failure = match (answer.stop_reason, extract_recipe(&answer.text)) {
                (StopReason::MaxTokens, _) => AttemptFailure::Output(
                    "the answer was cut off at max_tokens (stop_reason max_tokens)".to_owned(),
                ),
                (StopReason::Refusal, _) => {
                    AttemptFailure::Output("the model refused to answer".to_owned())
                }
                (_, Err(err)) => AttemptFailure::Output(describe_extract_error(&err)),
                (_, Ok(recipe)) => {
                    if let Some(provider) = &self.facts {
                        let names: Vec<String> =
                            recipe.ingredients.iter().map(|i| i.name.clone()).collect();
                        provider.prepare_names(&names, deadline, metrics).await;
                    }
                    let verification = self.verifier.verify(request, &recipe);
                    if verification.passed() {
                        let response = GenerateResponse {
                            recipe,
                            nutrition: verification.nutrition,
                            checks: verification.checks,
                            meta: Meta {
                                model_id: model_id.clone(),
                                input_tokens,
                                output_tokens,
                                attempts,
                                cached: false,
                                latency_ms: started.elapsed().as_millis() as u64,
                            },
                        };
                        self.cache.insert(key, Arc::new(response.clone()));
                        tracing::info!(target_diet = %request.target, attempts, "recipe passed every check");
                        return Ok(response);
                    }
                    AttemptFailure::Checks(verification.failed())
                }
            };
            let (feedback, failed_json) = match &failure {
                AttemptFailure::Checks(failed) => {
                    let rules: Vec<&str> = failed.iter().map(|c| loggable_rule(&c.rule)).collect();
                    tracing::info!(attempt = attempts, failed_rules = ?rules, "recipe failed checks; asking for a repair");
                    (
                        self.verifier.feedback(failed, request.language),
                        serde_json::to_string(failed).unwrap_or_else(|_| "[]".to_owned()),
                    )
                }
                AttemptFailure::Output(reason) => {
                    tracing::info!(attempt = attempts, reason = %reason, "model output unusable; asking again");
                    let check = serde_json::json!([{"rule": "outputFormat", "passed": false, "value": 0, "limit": 0,
                        "offending": [reason]}]);
                    (output_feedback(reason, request.language), check.to_string())
                }
            };
            messages.push(Message {
                role: Role::Assistant,
                content: truncate_for_history(&answer.text),
            });
            messages.push(Message {
                role: Role::User,
                content: prompt::repair_prompt(request, &feedback, &failed_json),
            });
            last_failure = Some(failure);
        }

        match last_failure {
            Some(AttemptFailure::Checks(checks)) => {
                Err(ServiceError::ConstraintsUnsatisfied { attempts, checks })
            }
            Some(AttemptFailure::Output(message)) => {
                Err(ServiceError::ModelOutputInvalid { message })
            }
            None => Err(ServiceError::DeadlineExceeded { attempts }),
        }
    }
}

/// A rule name fit for the logs: `allergen:<name>` carries the user's allergy (health data),
/// so only the part before the colon is kept.
fn loggable_rule(rule: &str) -> &str {
    rule.split_once(':').map_or(rule, |(kind, _)| kind)
}

fn describe_extract_error(err: &ExtractError) -> String {
    match err {
        ExtractError::NoJson => "the answer contained no JSON object".to_owned(),
        other => other.to_string(),
    }
}

fn output_feedback(reason: &str, language: Language) -> String {
    match language {
        Language::Ko => format!("- 출력 형식 오류: {reason}. 설명 없이 스키마에 맞는 JSON 객체 하나만, 간결하게 출력하세요."),
        Language::En => format!("- Output format error: {reason}. Answer with one JSON object of the schema only, concisely."),
    }
}

/// Keeps the conversation small: a huge or runaway answer is not sent back whole.
fn truncate_for_history(text: &str) -> String {
    const MAX_CHARS: usize = 8_000;
    if text.trim().is_empty() {
        // Claude refuses empty assistant turns.
        return "(empty answer)".to_owned();
    }
    if text.chars().count() <= MAX_CHARS {
        return text.to_owned();
    }
    let mut cut: String = text.chars().take(MAX_CHARS).collect();
    cut.push_str("\n[…]");
    cut
}
