//! Switchable faults: the JSON `FaultPlan` a test sets (at start or at run time), and the
//! pure per-call decision of what goes wrong with each model call. Time is passed in, so
//! the token bucket and every counter are testable without sleeping.
//!
//! `rpmQuota` is a token bucket refilled at `rpmQuota / 60` tokens per second whose size
//! (`rpmBurst`) defaults to one second's worth (at least 1); it starts full. A call that
//! finds it empty is answered with `ThrottlingException` (429). `rpmScope` limits the bucket
//! to some calls (default all).
//!
//! A `scope` is `"claude"`, `"titan"`, `"all"` or `{"model": "<text>"}`, the last matching
//! every model id that contains the text (`{"model": "claude-sonnet-4-5"}` throttles Sonnet
//! 4.5 under any inference profile while Haiku answers).
//!
//! `violateFirst` alters first attempts only (a conversation with one user message), so a
//! request needs exactly one repair: every first attempt (`"salty"`), or a seeded `rate`
//! share of them (`{"violation": "salty", "rate": 0.33, "seed": 7}`).
//!
//! `streamError` breaks `InvokeModelWithResponseStream` answers after they started: the
//! stream sends `afterEvents` events and then an exception event (`modelStreamErrorException`,
//! `throttlingException`, ...) as Bedrock does.

use crate::error::ErrorKind;
use crate::model::Family;
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use serde::{Deserialize, Serialize};
use std::time::{Duration, Instant};

/// Which model calls a fault applies to.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(from = "ScopeRepr", into = "ScopeRepr")]
pub enum Scope {
    Claude,
    Titan,
    #[default]
    All,
    /// Every model id containing this text.
    Model(String),
}

#[derive(Debug, Clone, Copy, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
enum NamedScope {
    Claude,
    Titan,
    All,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(untagged)]
enum ScopeRepr {
    Named(NamedScope),
    Model { model: String },
}

impl From<ScopeRepr> for Scope {
    fn from(repr: ScopeRepr) -> Self {
        match repr {
            ScopeRepr::Named(NamedScope::Claude) => Scope::Claude,
            ScopeRepr::Named(NamedScope::Titan) => Scope::Titan,
            ScopeRepr::Named(NamedScope::All) => Scope::All,
            ScopeRepr::Model { model } => Scope::Model(model),
        }
    }
}

impl From<Scope> for ScopeRepr {
    fn from(scope: Scope) -> Self {
        match scope {
            Scope::Claude => ScopeRepr::Named(NamedScope::Claude),
            Scope::Titan => ScopeRepr::Named(NamedScope::Titan),
            Scope::All => ScopeRepr::Named(NamedScope::All),
            Scope::Model(model) => ScopeRepr::Model { model },
        }
    }
}

impl Scope {
    pub fn covers(&self, family: Family, model_id: &str) -> bool {
        match self {
            Scope::All => true,
            Scope::Claude => family == Family::Claude,
            Scope::Titan => family == Family::Titan,
            Scope::Model(text) => model_id.contains(text.as_str()),
        }
    }
}

/// Injected error answers: the first `first` calls in scope, or a `rate` share of them
/// drawn from a generator seeded with `seed`, or (neither given) every call in scope.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct ErrorFault {
    pub error: ErrorKind,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub first: Option<u64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rate: Option<f64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub seed: Option<u64>,
    #[serde(default)]
    pub scope: Scope,
    /// Overrides the exception's usual message.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub message: Option<String>,
}

/// How Claude's answer text is shaped.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub enum OutputMode {
    /// The recipe JSON, pretty-printed, nothing else.
    #[default]
    Normal,
    /// Inside a ```json fence.
    Fenced,
    /// Sentences only, no JSON at all.
    Prose,
    /// Sentences before and after the JSON.
    ProseWrapped,
    /// The JSON cut in the middle, `stop_reason` `max_tokens`.
    Truncated,
    /// Valid JSON with the wrong field names and types.
    WrongSchema,
    /// About 1 MB of text.
    Huge,
    /// JSON-looking text with invalid escapes such as `\q`.
    InvalidEscapes,
    /// Profile strings copied verbatim into the recipe plus an injection line.
    EchoInjection,
}

/// An output mode for the first `first` Claude calls (or all of them).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(from = "OutputFaultRepr")]
#[serde(rename_all = "camelCase")]
pub struct OutputFault {
    pub mode: OutputMode,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub first: Option<u64>,
}

#[derive(Deserialize)]
#[serde(untagged)]
enum OutputFaultRepr {
    Mode(OutputMode),
    #[serde(rename_all = "camelCase")]
    Full {
        mode: OutputMode,
        #[serde(default)]
        first: Option<u64>,
    },
}

impl From<OutputFaultRepr> for OutputFault {
    fn from(repr: OutputFaultRepr) -> Self {
        match repr {
            OutputFaultRepr::Mode(mode) => OutputFault { mode, first: None },
            OutputFaultRepr::Full { mode, first } => OutputFault { mode, first },
        }
    }
}

/// How a recipe is altered so the service's own checks must reject it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub enum Violation {
    /// Adds the request's first allergy (or peanuts) as an ingredient.
    Allergen,
    /// Adds a large portion of cooked white rice.
    CarbHeavy,
    /// Adds soy sauce and salt.
    Salty,
    /// Adds pork belly.
    MeatForVegan,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub enum TransportKind {
    /// Headers and part of the body, then the connection is dropped.
    ConnectionReset,
    /// Headers and part of the body, then nothing for `stallMs`.
    StallMidBody,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(from = "TransportFaultRepr")]
#[serde(rename_all = "camelCase")]
pub struct TransportFault {
    pub fault: TransportKind,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub first: Option<u64>,
    pub scope: Scope,
    /// Body bytes sent before the fault (default 64).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub after_bytes: Option<usize>,
    /// How long a stalled body waits (default 300 000 ms; the emulator's shutdown ends it).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub stall_ms: Option<u64>,
}

#[derive(Deserialize)]
#[serde(untagged)]
enum TransportFaultRepr {
    Kind(TransportKind),
    #[serde(rename_all = "camelCase")]
    Full {
        fault: TransportKind,
        #[serde(default)]
        first: Option<u64>,
        #[serde(default)]
        scope: Scope,
        #[serde(default)]
        after_bytes: Option<usize>,
        #[serde(default)]
        stall_ms: Option<u64>,
    },
}

impl From<TransportFaultRepr> for TransportFault {
    fn from(repr: TransportFaultRepr) -> Self {
        match repr {
            TransportFaultRepr::Kind(fault) => TransportFault {
                fault,
                first: None,
                scope: Scope::All,
                after_bytes: None,
                stall_ms: None,
            },
            TransportFaultRepr::Full {
                fault,
                first,
                scope,
                after_bytes,
                stall_ms,
            } => TransportFault {
                fault,
                first,
                scope,
                after_bytes,
                stall_ms,
            },
        }
    }
}

impl TransportFault {
    pub const DEFAULT_AFTER_BYTES: usize = 64;
    pub const DEFAULT_STALL_MS: u64 = 300_000;
}

/// `violateFirst`: a violation for every first attempt or a seeded share of them.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(from = "ViolationFaultRepr")]
#[serde(rename_all = "camelCase")]
pub struct ViolationFault {
    pub violation: Violation,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub rate: Option<f64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub seed: Option<u64>,
}

#[derive(Deserialize)]
#[serde(untagged)]
enum ViolationFaultRepr {
    Violation(Violation),
    #[serde(rename_all = "camelCase")]
    Full {
        violation: Violation,
        #[serde(default)]
        rate: Option<f64>,
        #[serde(default)]
        seed: Option<u64>,
    },
}

impl From<ViolationFaultRepr> for ViolationFault {
    fn from(repr: ViolationFaultRepr) -> Self {
        match repr {
            ViolationFaultRepr::Violation(violation) => ViolationFault {
                violation,
                rate: None,
                seed: None,
            },
            ViolationFaultRepr::Full {
                violation,
                rate,
                seed,
            } => ViolationFault {
                violation,
                rate,
                seed,
            },
        }
    }
}

impl From<Violation> for ViolationFault {
    fn from(violation: Violation) -> Self {
        ViolationFault {
            violation,
            rate: None,
            seed: None,
        }
    }
}

/// The exceptions a response stream can end with, named as the `:exception-type` header
/// carries them (lower camel case).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub enum StreamErrorKind {
    ModelStreamErrorException,
    ThrottlingException,
    InternalServerException,
    ModelTimeoutException,
    ServiceUnavailableException,
    ValidationException,
}

impl StreamErrorKind {
    /// The `:exception-type` header value.
    pub fn exception_type(self) -> &'static str {
        match self {
            StreamErrorKind::ModelStreamErrorException => "modelStreamErrorException",
            StreamErrorKind::ThrottlingException => "throttlingException",
            StreamErrorKind::InternalServerException => "internalServerException",
            StreamErrorKind::ModelTimeoutException => "modelTimeoutException",
            StreamErrorKind::ServiceUnavailableException => "serviceUnavailableException",
            StreamErrorKind::ValidationException => "validationException",
        }
    }

    /// The exception event's JSON payload.
    pub fn payload(self, message: Option<&str>) -> serde_json::Value {
        let default = match self {
            StreamErrorKind::ModelStreamErrorException => {
                "The model encountered an error while streaming the response."
            }
            StreamErrorKind::ThrottlingException => {
                ErrorKind::ThrottlingException.default_message()
            }
            StreamErrorKind::InternalServerException => {
                ErrorKind::InternalServerException.default_message()
            }
            StreamErrorKind::ModelTimeoutException => {
                ErrorKind::ModelTimeoutException.default_message()
            }
            StreamErrorKind::ServiceUnavailableException => {
                ErrorKind::ServiceUnavailableException.default_message()
            }
            StreamErrorKind::ValidationException => {
                ErrorKind::ValidationException.default_message()
            }
        };
        let mut payload = serde_json::json!({ "message": message.unwrap_or(default) });
        if self == StreamErrorKind::ModelStreamErrorException {
            payload["originalStatusCode"] = serde_json::json!(500);
            payload["originalMessage"] = serde_json::json!("Internal server error");
        }
        payload
    }
}

/// An exception event sent into a response stream after `after_events` events.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct StreamErrorFault {
    pub error: StreamErrorKind,
    /// Events sent before the exception (default 3: message_start, content_block_start and
    /// the first delta).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub after_events: Option<usize>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub first: Option<u64>,
    #[serde(default)]
    pub scope: Scope,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub message: Option<String>,
}

impl StreamErrorFault {
    pub const DEFAULT_AFTER_EVENTS: usize = 3;
}

/// Everything that can be made to go wrong; the default plan is a healthy service.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct FaultPlan {
    /// One error fault or a list of them; the first that fires wins.
    #[serde(
        default,
        deserialize_with = "one_or_many",
        skip_serializing_if = "Vec::is_empty"
    )]
    pub errors: Vec<ErrorFault>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rpm_quota: Option<u32>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rpm_burst: Option<u32>,
    /// Calls the `rpmQuota` bucket applies to (default all).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rpm_scope: Option<Scope>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub latency_ms: Option<u64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub output: Option<OutputFault>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub violate_first: Option<ViolationFault>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub never_comply: Option<Violation>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub transport: Option<TransportFault>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub stream_error: Option<StreamErrorFault>,
}

fn one_or_many<'de, D>(deserializer: D) -> Result<Vec<ErrorFault>, D::Error>
where
    D: serde::Deserializer<'de>,
{
    #[derive(Deserialize)]
    #[serde(untagged)]
    enum OneOrMany {
        One(ErrorFault),
        Many(Vec<ErrorFault>),
    }
    Ok(match OneOrMany::deserialize(deserializer)? {
        OneOrMany::One(fault) => vec![fault],
        OneOrMany::Many(faults) => faults,
    })
}

#[derive(Debug, thiserror::Error, PartialEq)]
pub enum PlanError {
    #[error("fault plan is not valid JSON for a FaultPlan: {0}")]
    Json(String),
    #[error("errors[{0}].rate must be between 0 and 1")]
    Rate(usize),
    #[error("rpmQuota must be at least 1")]
    Quota,
    #[error("violateFirst.rate must be between 0 and 1")]
    ViolationRate,
}

impl FaultPlan {
    pub fn from_json(text: &str) -> Result<Self, PlanError> {
        let plan: FaultPlan =
            serde_json::from_str(text).map_err(|e| PlanError::Json(e.to_string()))?;
        plan.validate()?;
        Ok(plan)
    }

    pub fn validate(&self) -> Result<(), PlanError> {
        if let Some(index) = self
            .errors
            .iter()
            .position(|e| e.rate.is_some_and(|r| !(0.0..=1.0).contains(&r)))
        {
            return Err(PlanError::Rate(index));
        }
        if self.rpm_quota == Some(0) {
            return Err(PlanError::Quota);
        }
        if self
            .violate_first
            .and_then(|v| v.rate)
            .is_some_and(|rate| !(0.0..=1.0).contains(&rate))
        {
            return Err(PlanError::ViolationRate);
        }
        Ok(())
    }
}

/// What happens to one model call.
#[derive(Debug, Clone, PartialEq)]
pub struct CallPlan {
    pub latency: Duration,
    /// Answer with this error instead of the model's output (quota throttles included).
    pub error: Option<(ErrorKind, Option<String>)>,
    /// True when the error comes from the `rpmQuota` bucket.
    pub throttled_by_quota: bool,
    pub output: OutputMode,
    pub never_comply: Option<Violation>,
    pub transport: Option<TransportFault>,
    pub stream_error: Option<StreamErrorFault>,
}

#[derive(Debug)]
struct TokenBucket {
    capacity: f64,
    per_second: f64,
    tokens: f64,
    refilled_at: Instant,
}

impl TokenBucket {
    fn new(quota_per_minute: u32, burst: Option<u32>, now: Instant) -> Self {
        let per_second = f64::from(quota_per_minute) / 60.0;
        let capacity = burst.map_or(per_second.ceil().max(1.0), |b| f64::from(b.max(1)));
        Self {
            capacity,
            per_second,
            tokens: capacity,
            refilled_at: now,
        }
    }

    fn try_take(&mut self, now: Instant) -> bool {
        let elapsed = now
            .saturating_duration_since(self.refilled_at)
            .as_secs_f64();
        self.tokens = (self.tokens + elapsed * self.per_second).min(self.capacity);
        self.refilled_at = now;
        if self.tokens >= 1.0 {
            self.tokens -= 1.0;
            true
        } else {
            false
        }
    }
}

/// A plan plus the counters and generators its "first N" and "rate" rules need.
#[derive(Debug)]
pub struct FaultState {
    plan: FaultPlan,
    error_seen: Vec<u64>,
    error_rngs: Vec<StdRng>,
    output_seen: u64,
    transport_seen: u64,
    stream_error_seen: u64,
    violation_rng: StdRng,
    bucket: Option<TokenBucket>,
}

impl FaultState {
    pub fn new(plan: FaultPlan, now: Instant) -> Self {
        let error_rngs = plan
            .errors
            .iter()
            .map(|e| StdRng::seed_from_u64(e.seed.unwrap_or(0)))
            .collect();
        let bucket = plan
            .rpm_quota
            .map(|quota| TokenBucket::new(quota, plan.rpm_burst, now));
        Self {
            error_seen: vec![0; plan.errors.len()],
            error_rngs,
            output_seen: 0,
            transport_seen: 0,
            stream_error_seen: 0,
            violation_rng: StdRng::seed_from_u64(
                plan.violate_first.and_then(|v| v.seed).unwrap_or(0),
            ),
            bucket,
            plan,
        }
    }

    pub fn plan(&self) -> &FaultPlan {
        &self.plan
    }

    /// The violation for a first attempt: `violateFirst`'s, for every first attempt or (with
    /// a `rate`) a share drawn from its seeded generator. Call it for first attempts only, so
    /// the draws do not depend on how many repairs came between.
    pub fn first_attempt_violation(&mut self) -> Option<Violation> {
        let fault = self.plan.violate_first?;
        match fault.rate {
            None => Some(fault.violation),
            Some(rate) => self.violation_rng.gen_bool(rate).then_some(fault.violation),
        }
    }

    /// Decides the fate of the next call of `family` to `model_id`.
    pub fn next_call(&mut self, family: Family, model_id: &str, now: Instant) -> CallPlan {
        let latency = Duration::from_millis(self.plan.latency_ms.unwrap_or(0));
        let mut error = None;
        let mut throttled_by_quota = false;
        let quota_applies = self
            .plan
            .rpm_scope
            .as_ref()
            .is_none_or(|scope| scope.covers(family, model_id));
        if let Some(bucket) = self.bucket.as_mut().filter(|_| quota_applies) {
            if !bucket.try_take(now) {
                error = Some((ErrorKind::ThrottlingException, None));
                throttled_by_quota = true;
            }
        }
        if error.is_none() {
            for (index, fault) in self.plan.errors.iter().enumerate() {
                if !fault.scope.covers(family, model_id) {
                    continue;
                }
                self.error_seen[index] += 1;
                let fires = match (fault.first, fault.rate) {
                    (Some(first), _) => self.error_seen[index] <= first,
                    (None, Some(rate)) => self.error_rngs[index].gen_bool(rate),
                    (None, None) => true,
                };
                if fires {
                    error = Some((fault.error, fault.message.clone()));
                    break;
                }
            }
        }
        let mut output = OutputMode::Normal;
        let mut transport = None;
        let mut stream_error = None;
        if error.is_none() {
            if family == Family::Claude {
                if let Some(fault) = self.plan.output {
                    self.output_seen += 1;
                    if fault.first.is_none_or(|first| self.output_seen <= first) {
                        output = fault.mode;
                    }
                }
            }
            if let Some(fault) = self
                .plan
                .transport
                .as_ref()
                .filter(|t| t.scope.covers(family, model_id))
            {
                self.transport_seen += 1;
                if fault.first.is_none_or(|first| self.transport_seen <= first) {
                    transport = Some(fault.clone());
                }
            }
            if let Some(fault) = self
                .plan
                .stream_error
                .as_ref()
                .filter(|f| f.scope.covers(family, model_id))
            {
                self.stream_error_seen += 1;
                if fault
                    .first
                    .is_none_or(|first| self.stream_error_seen <= first)
                {
                    stream_error = Some(fault.clone());
                }
            }
        }
        CallPlan {
            latency,
            error,
            throttled_by_quota,
            output,
            never_comply: self.plan.never_comply,
            transport,
            stream_error,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const SONNET: &str = "us.anthropic.claude-sonnet-4-5-20250929-v1:0";
    const HAIKU: &str = "us.anthropic.claude-haiku-4-5-20251001-v1:0";
    const TITAN: &str = "amazon.titan-embed-text-v2:0";

    fn state(json: &str) -> (FaultState, Instant) {
        let now = Instant::now();
        (
            FaultState::new(FaultPlan::from_json(json).unwrap(), now),
            now,
        )
    }

    #[test]
    fn first_n_errors_only_in_scope() {
        let (mut s, now) =
            state(r#"{"errors": {"error": "ThrottlingException", "first": 2, "scope": "claude"}}"#);
        assert!(s.next_call(Family::Titan, TITAN, now).error.is_none());
        assert_eq!(
            s.next_call(Family::Claude, SONNET, now).error.unwrap().0,
            ErrorKind::ThrottlingException
        );
        assert!(s.next_call(Family::Claude, SONNET, now).error.is_some());
        assert!(s.next_call(Family::Claude, SONNET, now).error.is_none());
    }

    #[test]
    fn rate_errors_are_deterministic_for_a_seed() {
        let json = r#"{"errors": [{"error": "InternalServerException", "rate": 0.3, "seed": 7}]}"#;
        let run = || {
            let (mut s, now) = state(json);
            (0..1000)
                .map(|_| s.next_call(Family::Claude, SONNET, now).error.is_some())
                .collect::<Vec<_>>()
        };
        let first = run();
        assert_eq!(first, run());
        let share = first.iter().filter(|f| **f).count();
        assert!((230..=370).contains(&share), "{share}");
    }

    #[test]
    fn token_bucket_refills_at_the_quota_rate() {
        let (mut s, start) = state(r#"{"rpmQuota": 120}"#);
        // 2 per second, burst 2.
        assert!(s.next_call(Family::Claude, SONNET, start).error.is_none());
        assert!(s.next_call(Family::Claude, SONNET, start).error.is_none());
        let third = s.next_call(Family::Claude, SONNET, start);
        assert!(third.throttled_by_quota);
        assert_eq!(third.error.unwrap().0, ErrorKind::ThrottlingException);
        let later = start + Duration::from_millis(500);
        assert!(s.next_call(Family::Claude, SONNET, later).error.is_none());
        assert!(s.next_call(Family::Claude, SONNET, later).error.is_some());
    }

    #[test]
    fn output_and_transport_faults_count_their_own_calls() {
        let (mut s, now) = state(
            r#"{"output": {"mode": "fenced", "first": 1}, "transport": "connectionReset", "latencyMs": 5}"#,
        );
        let call = s.next_call(Family::Claude, SONNET, now);
        assert_eq!(call.output, OutputMode::Fenced);
        assert_eq!(call.latency, Duration::from_millis(5));
        assert_eq!(
            call.transport.unwrap().fault,
            TransportKind::ConnectionReset
        );
        assert_eq!(
            s.next_call(Family::Claude, SONNET, now).output,
            OutputMode::Normal
        );
        let (mut s, now) = state(r#"{"output": "prose"}"#);
        for _ in 0..3 {
            assert_eq!(
                s.next_call(Family::Claude, SONNET, now).output,
                OutputMode::Prose
            );
        }
    }

    #[test]
    fn bad_plans_are_refused() {
        assert!(matches!(
            FaultPlan::from_json(r#"{"nope": 1}"#),
            Err(PlanError::Json(_))
        ));
        assert!(matches!(
            FaultPlan::from_json(r#"{"errors": {"error": "Nope"}}"#),
            Err(PlanError::Json(_))
        ));
        assert_eq!(
            FaultPlan::from_json(r#"{"errors": {"error": "ThrottlingException", "rate": 2}}"#),
            Err(PlanError::Rate(0))
        );
        assert_eq!(
            FaultPlan::from_json(r#"{"rpmQuota": 0}"#),
            Err(PlanError::Quota)
        );
        let plan =
            FaultPlan::from_json(r#"{"violateFirst": "carbHeavy", "neverComply": "meatForVegan"}"#)
                .unwrap();
        assert_eq!(plan.violate_first, Some(Violation::CarbHeavy.into()));
        let back = FaultPlan::from_json(&serde_json::to_string(&plan).unwrap()).unwrap();
        assert_eq!(back, plan);
    }

    #[test]
    fn throttling_can_be_scoped_to_one_model() {
        let (mut s, now) = state(
            r#"{"errors": {"error": "ThrottlingException", "scope": {"model": "claude-sonnet-4-5"}}}"#,
        );
        assert!(s.next_call(Family::Claude, SONNET, now).error.is_some());
        assert!(s.next_call(Family::Claude, HAIKU, now).error.is_none());
        assert!(s.next_call(Family::Titan, TITAN, now).error.is_none());
        let round_trip: FaultPlan =
            FaultPlan::from_json(&serde_json::to_string(s.plan()).unwrap()).unwrap();
        assert_eq!(&round_trip, s.plan());
        let (mut s, now) = state(r#"{"rpmQuota": 60, "rpmScope": {"model": "sonnet"}}"#);
        assert!(s.next_call(Family::Claude, SONNET, now).error.is_none());
        assert!(s.next_call(Family::Claude, SONNET, now).throttled_by_quota);
        for _ in 0..5 {
            assert!(s.next_call(Family::Claude, HAIKU, now).error.is_none());
        }
    }

    #[test]
    fn violate_first_at_a_seeded_rate() {
        let json = r#"{"violateFirst": {"violation": "salty", "rate": 0.33, "seed": 7}}"#;
        let draws = || {
            let (mut s, _) = state(json);
            (0..300)
                .map(|_| s.first_attempt_violation().is_some())
                .collect::<Vec<_>>()
        };
        let first = draws();
        assert_eq!(first, draws());
        let share = first.iter().filter(|v| **v).count();
        assert!((70..=130).contains(&share), "{share}");
        let (mut always, _) = state(r#"{"violateFirst": "salty"}"#);
        assert_eq!(always.first_attempt_violation(), Some(Violation::Salty));
        assert_eq!(
            FaultPlan::from_json(r#"{"violateFirst": {"violation": "salty", "rate": 1.5}}"#),
            Err(PlanError::ViolationRate)
        );
    }

    #[test]
    fn stream_errors_count_their_own_calls() {
        let (mut s, now) = state(
            r#"{"streamError": {"error": "modelStreamErrorException", "first": 1, "afterEvents": 2}}"#,
        );
        let fault = s
            .next_call(Family::Claude, SONNET, now)
            .stream_error
            .unwrap();
        assert_eq!(fault.error, StreamErrorKind::ModelStreamErrorException);
        assert_eq!(fault.after_events, Some(2));
        assert!(s
            .next_call(Family::Claude, SONNET, now)
            .stream_error
            .is_none());
        assert_eq!(
            StreamErrorKind::ThrottlingException.exception_type(),
            "throttlingException"
        );
        assert_eq!(
            StreamErrorKind::ModelStreamErrorException.payload(None)["originalStatusCode"],
            500
        );
    }
}
