//! Recipe generation: prompt → Claude → extracted recipe → deterministic verification →
//! repair conversation, all within the Lambda deadline and an attempt budget.
//!
//! The model is never trusted: a recipe is answered only when every check of the
//! [`RecipeVerifier`] passes; otherwise the failing checks are stated to the model and it is
//! asked again. Out of attempts means 422 (checks failed) or 502 (unusable output); out of
//! time means 504. Nothing here knows about HTTP or Lambda events.
//!
//! Before each attempt the model's latency profile estimates how long the call will take;
//! an attempt that the deadline would cut off is not started (so not billed). A caller that
//! wants to watch the work (the streamed route) passes a [`ProgressSink`].

use crate::bedrock::{ChatModelClient, ChatRequest, Message, Role, StopReason};
use crate::cache::{cache_key, ResponseCache};
use crate::config::{model_candidates, Config};
use crate::deadline::Deadline;
use crate::domain::{Check, Language, NutritionReport, Recipe};
use crate::error::{ModelFailure, ServiceError};
use crate::extract::{extract_recipe, extract_tool_input, ExtractError};
use crate::latency::{estimate_prompt_tokens, scaled, LatencyProfiles};
use crate::metrics::{CallStatus, MetricsRecorder};
use crate::pricing::{round_usd, PriceTable, TokenUsage};
use crate::prompt::{OutputMode, PromptSet};
use crate::request::RecipeRequest;
use serde::Serialize;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

/// An attempt is not started with less time than this left (after the margin).
pub const MIN_ATTEMPT_BUDGET: Duration = Duration::from_millis(500);
const FIRST_TEMPERATURE: f32 = 0.7;
const REPAIR_TEMPERATURE: f32 = 0.3;
/// Output-token progress is reported every this many tokens, not on every text delta.
const PROGRESS_STEP_TOKENS: u64 = 20;

/// What a generation reports while it works, in order: an attempt starts, its answer grows,
/// and (before a repair) which checks the answer failed.
#[derive(Debug, Clone, PartialEq)]
pub enum Progress {
    AttemptStarted { attempt: u32, model_id: String },
    OutputTokens { attempt: u32, output_tokens: u64 },
    ChecksFailed { attempt: u32, failed: Vec<Check> },
}

/// Receives [`Progress`] as it happens; must not block (the streamed route queues it).
pub trait ProgressSink: Send + Sync {
    fn report(&self, progress: Progress);
}

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
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[serde(rename_all = "camelCase")]
pub struct GenerateResponse {
    pub recipe: Recipe,
    pub nutrition: NutritionReport,
    pub checks: Vec<Check>,
    pub meta: Meta,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[serde(rename_all = "camelCase")]
pub struct Meta {
    /// The model that produced the recipe (after any fallback).
    pub model_id: String,
    pub input_tokens: u64,
    pub output_tokens: u64,
    pub attempts: u32,
    pub cached: bool,
    pub latency_ms: u64,
    /// Tokens summed over every answered attempt, cache reads and writes apart.
    pub usage: TokenUsage,
    /// What those tokens cost at the configured prices (USD, whole micro-dollars).
    pub cost_usd: f64,
}

/// How a model is asked: by its row in the price table (unknown ids get the plain text path).
/// Cache points go only to a model that supports prompt caching, and only while the
/// configuration (`PROMPT_CACHING`) allows them.
fn model_traits(
    prices: Option<&PriceTable>,
    model_id: &str,
    prompt_caching: bool,
) -> (OutputMode, bool) {
    match prices.and_then(|p| p.price(model_id)) {
        Some(row) if row.structured_output => {
            (OutputMode::Tool, prompt_caching && row.prompt_caching)
        }
        Some(row) => (OutputMode::Text, prompt_caching && row.prompt_caching),
        None => (OutputMode::Text, false),
    }
}

/// Which failed model calls hand the attempt to the next model of the fallback chain
/// (`MODEL_FALLBACK_CHAIN`). The chain and the request's `fallback` say *which* model may stand
/// in; the policy says *when*. It belongs to the caller that wires the service: the
/// interactive routes and the queue worker differ in what a throttle means to them.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum FallbackPolicy {
    /// Persistent throttling (`ThrottlingException`, `ServiceQuotaExceededException` after
    /// the SDK's retries) and a model not ready hand over. For sync and streamed requests: a
    /// caller is waiting, and another model now beats the requested one later.
    #[default]
    ThrottledOrNotReady,
    /// Only a model not ready hands over; a throttle ends the generation as
    /// [`ServiceError::Throttled`] on the requested model. For the queue worker: a throttle is
    /// its pacer's signal, the record has time to be retried on the model the user asked for,
    /// and a stand-in call outside the pacer would only meet the same quota.
    NotReadyOnly,
}

impl FallbackPolicy {
    /// Whether a call that failed this way is worth the next model of the chain.
    pub fn hands_over(self, failure: ModelFailure) -> bool {
        match failure {
            ModelFailure::ModelNotReady => true,
            ModelFailure::Throttling | ModelFailure::ServiceQuotaExceeded => {
                self == FallbackPolicy::ThrottledOrNotReady
            }
            ModelFailure::ModelTimeout
            | ModelFailure::ServiceUnavailable
            | ModelFailure::InternalServer
            | ModelFailure::Validation
            | ModelFailure::AccessDenied
            | ModelFailure::ResourceNotFound
            | ModelFailure::ModelError
            | ModelFailure::Transport
            | ModelFailure::Unknown => false,
        }
    }
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
    /// Model timing for the deadline estimate; `None` only if the built-in file were
    /// invalid, which the app's start-up check refuses.
    latency: Option<&'static LatencyProfiles>,
    prices: Option<&'static PriceTable>,
    /// When a failed call hands over to the next model of the chain.
    fallback: FallbackPolicy,
}

impl std::fmt::Debug for RecipeService {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RecipeService")
            .field("cache", &self.cache)
            .field("fallback", &self.fallback)
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
            latency: LatencyProfiles::embedded().ok(),
            // Config loading already refused a broken table; `None` only prices nothing.
            prices: PriceTable::embedded().ok(),
            fallback: FallbackPolicy::default(),
        }
    }

    /// The same service handing over to the next model of the chain as `policy` says
    /// (default [`FallbackPolicy::ThrottledOrNotReady`]).
    pub fn with_fallback_policy(mut self, policy: FallbackPolicy) -> Self {
        self.fallback = policy;
        self
    }

    pub fn fallback_policy(&self) -> FallbackPolicy {
        self.fallback
    }

    pub fn config(&self) -> &Config {
        &self.config
    }

    /// Refuses a request whose limits exclude each other (422), before any model call: no
    /// recipe could pass them. Async submissions use it to refuse at once, as sync does.
    pub fn check_limits(&self, request: &RecipeRequest) -> Result<(), ServiceError> {
        let conflicts = self.verifier.contradictions(request);
        if conflicts.is_empty() {
            return Ok(());
        }
        Err(ServiceError::ConstraintsUnsatisfied {
            attempts: 0,
            checks: vec![Check {
                rule: "compatibleLimits".to_owned(),
                passed: false,
                value: conflicts.len() as f64,
                limit: 0.0,
                offending: conflicts,
                source: "profile".to_owned(),
            }],
        })
    }

    /// Generates a verified recipe, or says precisely why none could be given.
    pub async fn generate(
        &self,
        request: &RecipeRequest,
        deadline: Deadline,
        metrics: &MetricsRecorder,
    ) -> Result<GenerateResponse, ServiceError> {
        self.generate_with_progress(request, deadline, metrics, None)
            .await
    }

    /// The modelled duration of a call with this prompt and expected answer length, at the
    /// configured time scale; `None` for a model the latency profiles do not describe.
    fn estimated_call(
        &self,
        model_id: &str,
        system: &str,
        messages: &[Message],
        expected_output_tokens: u64,
    ) -> Option<Duration> {
        let family = self.latency?.family_for(model_id)?;
        let prompt_bytes = system.len() + messages.iter().map(|m| m.content.len()).sum::<usize>();
        let output = expected_output_tokens.min(u64::from(self.config.max_tokens));
        Some(scaled(
            family.call_duration(estimate_prompt_tokens(prompt_bytes), output),
            self.config.model_time_scale,
        ))
    }

    /// [`Self::generate`], reporting each step to `progress` and streaming the model's
    /// answers when a sink is given.
    pub async fn generate_with_progress(
        &self,
        request: &RecipeRequest,
        deadline: Deadline,
        metrics: &MetricsRecorder,
        progress: Option<&dyn ProgressSink>,
    ) -> Result<GenerateResponse, ServiceError> {
        let started = Instant::now();
        let prompts = PromptSet::embedded().map_err(|e| ServiceError::Internal(e.to_string()))?;
        let requested = request.model.unwrap_or(self.config.models.default_chat);
        let candidates = model_candidates(&self.config.fallback_chain, requested, request.fallback);
        let mut candidate = 0usize;
        let mut model_id = self.config.models.chat_model_id(requested).to_owned();
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

        self.check_limits(request)?;
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
        let system = prompts.system(request.language).to_owned();
        // The first turn depends on how the serving model hands over the recipe; the turns
        // after it (recalled answers, repairs) are the same for every model.
        let first_turn =
            |mode: OutputMode| prompts.recipe_prompt(request, &constraints, &facts, mode);
        let mut later_turns: Vec<Message> = Vec::new();
        let mut usage = TokenUsage::default();
        let mut cost_usd = 0.0f64;
        let mut attempts = 0u32;
        let mut last_failure: Option<AttemptFailure> = None;
        let mut slowest_call = Duration::ZERO;
        // The first answer's length is expected from the configured figure; a repair rewrites
        // the recipe, so it is expected to be as long as the longest answer so far.
        let mut expected_output = u64::from(self.config.expected_output_tokens);

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
            let (mode, cache_points) =
                model_traits(self.prices, &model_id, self.config.prompt_caching);
            let mut messages = Vec::with_capacity(1 + later_turns.len());
            messages.push(Message {
                role: Role::User,
                content: first_turn(mode),
            });
            messages.extend(later_turns.iter().cloned());
            // A call the deadline would cut off is not started: it would be billed for nothing.
            if let Some(needed) =
                self.estimated_call(&model_id, &system, &messages, expected_output)
            {
                if needed > budget {
                    // This attempt was counted above but never made.
                    let attempts = attempts - 1;
                    tracing::warn!(
                        attempts,
                        needed_ms = needed.as_millis() as u64,
                        left_ms = budget.as_millis() as u64,
                        "the next attempt cannot finish before the deadline; not started"
                    );
                    return Err(ServiceError::AttemptCannotFinish {
                        attempts,
                        needed_ms: needed.as_millis() as u64,
                        left_ms: budget.as_millis() as u64,
                    });
                }
            }
            let call = ChatRequest {
                model_id: model_id.clone(),
                system: system.clone(),
                messages,
                max_tokens: self.config.max_tokens,
                temperature: if attempts == 1 {
                    FIRST_TEMPERATURE
                } else {
                    REPAIR_TEMPERATURE
                },
                timeout: budget,
                tool: (mode == OutputMode::Tool).then(|| prompts.tool().clone()),
                cache_points,
            };
            let outcome = match progress {
                None => self.chat.chat(&call).await,
                Some(sink) => {
                    sink.report(Progress::AttemptStarted {
                        attempt: attempts,
                        model_id: model_id.clone(),
                    });
                    let attempt = attempts;
                    let reported = AtomicU64::new(0);
                    let on_output = |output_tokens: u64| {
                        let last = reported.load(Ordering::Relaxed);
                        let due = if last == 0 {
                            output_tokens > 0
                        } else {
                            output_tokens >= last + PROGRESS_STEP_TOKENS
                        };
                        if due {
                            reported.store(output_tokens, Ordering::Relaxed);
                            sink.report(Progress::OutputTokens {
                                attempt,
                                output_tokens,
                            });
                        }
                    };
                    self.chat.chat_streamed(&call, &on_output).await
                }
            };
            let answer = match outcome {
                Ok(answer) => {
                    metrics.record_call(&model_id, CallStatus::Success, answer.latency);
                    tracing::info!(model_id = %model_id, attempt = attempts, latency_ms = answer.latency.as_millis() as u64, input_tokens = answer.input_tokens, output_tokens = answer.output_tokens, "model call");
                    answer
                }
                Err(err) => {
                    metrics.record_call(&model_id, CallStatus::Error, err.latency);
                    tracing::warn!(model_id = %model_id, attempt = attempts, latency_ms = err.latency.as_millis() as u64, failure = ?err.failure, timed_out = err.timed_out, "model call failed");
                    let next = candidates.get(candidate + 1).copied();
                    match next {
                        Some(next) if !err.timed_out && self.fallback.hands_over(err.failure) => {
                            // The stand-in gets this attempt: nothing was answered.
                            candidate += 1;
                            attempts -= 1;
                            let next_id = self.config.models.chat_model_id(next).to_owned();
                            tracing::warn!(from = %model_id, to = %next_id, failure = ?err.failure, "falling back to the next model");
                            metrics.record_fallback(&next_id);
                            model_id = next_id;
                            continue;
                        }
                        _ => return Err(err.into_service_error(attempts)),
                    }
                }
            };
            slowest_call = slowest_call.max(answer.latency);
            expected_output = expected_output.max(answer.output_tokens);

            let call_usage = answer.usage();
            let call_cost = match self.prices.and_then(|p| p.cost(&model_id, &call_usage)) {
                Some(cost) => cost,
                None => {
                    tracing::warn!(model_id = %model_id, "no price for this model in model-prices.toml; its cost counts as 0");
                    0.0
                }
            };
            metrics.record_usage(&model_id, call_usage, call_cost);
            usage += call_usage;
            cost_usd += call_cost;
            tracing::info!(
                attempt = attempts,
                input_tokens = call_usage.input_tokens,
                cache_read_input_tokens = call_usage.cache_read_input_tokens,
                cache_write_input_tokens = call_usage.cache_write_input_tokens,
                output_tokens = call_usage.output_tokens,
                "model call answered"
            );

            let extracted = match &answer.tool_input {
                Some(input) => extract_tool_input(input),
                // A legacy model, or a model that answered in text despite the forced tool.
                None => extract_recipe(&answer.text),
            };
            let (failure, recalled) = match (answer.stop_reason, extracted) {
                (StopReason::MaxTokens, _) => {
                    let reason =
                        "the answer was cut off at max_tokens (stop_reason max_tokens)".to_owned();
                    let recalled = prompts.previous_unusable(request.language, &reason);
                    (AttemptFailure::Output(reason), recalled)
                }
                (StopReason::Refusal, _) => {
                    let reason = "the model refused to answer".to_owned();
                    let recalled = prompts.previous_unusable(request.language, &reason);
                    (AttemptFailure::Output(reason), recalled)
                }
                (_, Err(err)) => {
                    let reason = describe_extract_error(&err);
                    let recalled = prompts.previous_unusable(request.language, &reason);
                    (AttemptFailure::Output(reason), recalled)
                }
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
                                input_tokens: usage.input_tokens,
                                output_tokens: usage.output_tokens,
                                attempts,
                                cached: false,
                                latency_ms: started.elapsed().as_millis() as u64,
                                usage,
                                cost_usd: round_usd(cost_usd),
                            },
                        };
                        self.cache.insert(key, Arc::new(response.clone()));
                        tracing::info!(target_diet = %request.target, attempts, model_id = %model_id, cost_usd = response.meta.cost_usd, "recipe passed every check");
                        return Ok(response);
                    }
                    let recalled = prompts.previous_recipe(request.language, &recipe);
                    (AttemptFailure::Checks(verification.failed()), recalled)
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
            if let Some(sink) = progress.filter(|_| attempts < self.config.max_attempts) {
                sink.report(Progress::ChecksFailed {
                    attempt: attempts,
                    failed: failed_checks(&failure),
                });
            }
            // Lean repair: the previous answer is recalled in a few lines (its name and
            // ingredient lines, or why it was unusable) and the repair turn carries only the
            // failed checks; the first turn, which holds the request, stays the cached prefix.
            later_turns.push(Message {
                role: Role::Assistant,
                content: recalled,
            });
            later_turns.push(Message {
                role: Role::User,
                content: prompts.repair_prompt(request.language, &feedback, &failed_json),
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

/// The failed checks of an attempt; unusable output is stated as a failed `outputFormat` check.
fn failed_checks(failure: &AttemptFailure) -> Vec<Check> {
    match failure {
        AttemptFailure::Checks(failed) => failed.clone(),
        AttemptFailure::Output(reason) => vec![Check {
            rule: "outputFormat".to_owned(),
            passed: false,
            value: 0.0,
            limit: 0.0,
            offending: vec![reason.clone()],
            source: "model".to_owned(),
        }],
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
        Language::Ko => format!("- 출력 형식 오류: {reason}. 스키마에 맞는 레시피 하나만, 간결하게 답하세요."),
        Language::En => format!("- Output format error: {reason}. Answer with one recipe of the schema only, concisely."),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::{
        ChatModel, DEFAULT_CLAUDE3_HAIKU_MODEL_ID, DEFAULT_HAIKU_MODEL_ID, DEFAULT_SONNET_MODEL_ID,
    };

    #[test]
    fn cache_points_follow_the_model_and_the_switch() {
        let prices = PriceTable::embedded().ok();
        assert!(prices.is_some(), "the embedded price table loads");
        for id in [DEFAULT_SONNET_MODEL_ID, DEFAULT_HAIKU_MODEL_ID] {
            assert_eq!(
                model_traits(prices, id, true),
                (OutputMode::Tool, true),
                "{id}"
            );
            assert_eq!(
                model_traits(prices, id, false),
                (OutputMode::Tool, false),
                "{id} with PROMPT_CACHING=off"
            );
        }
        // A model without prompt caching never gets cache points, whatever the switch says.
        assert_eq!(
            model_traits(prices, DEFAULT_CLAUDE3_HAIKU_MODEL_ID, true),
            (OutputMode::Text, false)
        );
        assert_eq!(
            model_traits(prices, "example.unknown-model-v1:0", true),
            (OutputMode::Text, false)
        );
    }

    const ALL_FAILURES: [ModelFailure; 12] = [
        ModelFailure::Throttling,
        ModelFailure::ServiceQuotaExceeded,
        ModelFailure::ModelNotReady,
        ModelFailure::ModelTimeout,
        ModelFailure::ServiceUnavailable,
        ModelFailure::InternalServer,
        ModelFailure::Validation,
        ModelFailure::AccessDenied,
        ModelFailure::ResourceNotFound,
        ModelFailure::ModelError,
        ModelFailure::Transport,
        ModelFailure::Unknown,
    ];

    fn handed_over(policy: FallbackPolicy) -> Vec<ModelFailure> {
        ALL_FAILURES
            .into_iter()
            .filter(|f| policy.hands_over(*f))
            .collect()
    }

    #[test]
    fn interactive_requests_hand_over_on_throttling_and_a_model_not_ready() {
        assert_eq!(
            FallbackPolicy::default(),
            FallbackPolicy::ThrottledOrNotReady
        );
        assert_eq!(
            handed_over(FallbackPolicy::ThrottledOrNotReady),
            [
                ModelFailure::Throttling,
                ModelFailure::ServiceQuotaExceeded,
                ModelFailure::ModelNotReady
            ]
        );
    }

    #[test]
    fn the_queue_worker_keeps_a_throttled_request_on_its_model() {
        assert_eq!(
            handed_over(FallbackPolicy::NotReadyOnly),
            [ModelFailure::ModelNotReady]
        );
        for throttle in [ModelFailure::Throttling, ModelFailure::ServiceQuotaExceeded] {
            assert!(!FallbackPolicy::NotReadyOnly.hands_over(throttle));
            // Kept on its model, the throttle is still a passing failure: the worker retries.
            assert!(throttle.is_transient());
        }
    }

    /// Fails every call: the requested model with `first`, any other with a model error
    /// (which no policy hands over), and notes which model ids were called.
    struct FailingChat {
        first: ModelFailure,
        requested: String,
        called: std::sync::Mutex<Vec<String>>,
    }

    #[async_trait::async_trait]
    impl ChatModelClient for FailingChat {
        async fn chat(
            &self,
            request: &ChatRequest,
        ) -> Result<crate::bedrock::ChatResponse, crate::bedrock::ModelCallError> {
            if let Ok(mut called) = self.called.lock() {
                called.push(request.model_id.clone());
            }
            let failure = if request.model_id == self.requested {
                self.first
            } else {
                ModelFailure::ModelError
            };
            Err(crate::bedrock::ModelCallError::new(failure, "injected"))
        }
    }

    /// No recipe is ever answered here, so the verifier only states no limits.
    struct NoLimits;

    impl RecipeVerifier for NoLimits {
        fn constraints(&self, _: &RecipeRequest) -> Vec<String> {
            Vec::new()
        }
        fn contradictions(&self, _: &RecipeRequest) -> Vec<String> {
            Vec::new()
        }
        fn verify(&self, _: &RecipeRequest, _: &Recipe) -> Verification {
            panic!("no model answers in these tests, so no recipe is verified")
        }
        fn feedback(&self, _: &[Check], _: Language) -> String {
            String::new()
        }
    }

    /// The model ids called and the outcome's code for a Sonnet request (default chain
    /// `sonnet,haiku`) whose Sonnet call fails with `first`.
    async fn run(policy: Option<FallbackPolicy>, first: ModelFailure) -> (Vec<String>, String) {
        let config = Arc::new(Config::default());
        let requested = config.models.chat_model_id(ChatModel::Sonnet).to_owned();
        let chat = Arc::new(FailingChat {
            first,
            requested,
            called: std::sync::Mutex::new(Vec::new()),
        });
        let mut service = RecipeService::new(config, chat.clone(), Arc::new(NoLimits), None);
        if let Some(policy) = policy {
            service = service.with_fallback_policy(policy);
        }
        let request = match RecipeRequest::from_json(br#"{"target": "keto", "model": "sonnet"}"#) {
            Ok(request) => request,
            Err(err) => panic!("test request refused: {err}"),
        };
        let outcome = service
            .generate(
                &request,
                Deadline::after(Duration::from_secs(60)),
                &MetricsRecorder::new(),
            )
            .await;
        let code = match outcome {
            Ok(_) => "ok".to_owned(),
            Err(err) => err.code().to_owned(),
        };
        let called = chat.called.lock().map(|c| c.clone()).unwrap_or_default();
        (called, code)
    }

    #[tokio::test]
    async fn a_throttle_hands_over_by_default_but_not_under_the_workers_policy() {
        let config = Config::default();
        let sonnet = config.models.chat_model_id(ChatModel::Sonnet).to_owned();
        let haiku = config.models.chat_model_id(ChatModel::Haiku).to_owned();

        let (called, code) = run(None, ModelFailure::Throttling).await;
        assert_eq!(called, [sonnet.clone(), haiku.clone()]);
        assert_eq!(code, "model_output_invalid", "Haiku's answer decided");

        let (called, code) =
            run(Some(FallbackPolicy::NotReadyOnly), ModelFailure::Throttling).await;
        assert_eq!(called, std::slice::from_ref(&sonnet), "kept on Sonnet");
        assert_eq!(code, "throttled");

        let (called, code) = run(
            Some(FallbackPolicy::NotReadyOnly),
            ModelFailure::ServiceQuotaExceeded,
        )
        .await;
        assert_eq!((called, code.as_str()), (vec![sonnet.clone()], "throttled"));

        let (called, _) = run(
            Some(FallbackPolicy::NotReadyOnly),
            ModelFailure::ModelNotReady,
        )
        .await;
        assert_eq!(
            called,
            [sonnet, haiku],
            "a model not ready still hands over"
        );
    }
}
