//! Call counters served at `GET /_emulator/stats` so tests can see what the service under
//! test actually sent: totals, per model family, per model id, errors by exception name,
//! tokens (prompt-cache reads and writes too), modelled time, and the most recent calls one
//! by one (model id, tokens, modelled milliseconds).

use crate::error::ErrorKind;
use crate::model::Family;
use serde::{Deserialize, Serialize};
use std::collections::{BTreeMap, VecDeque};

/// How many recent calls `recentCalls` keeps.
pub const RECENT_CALLS: usize = 1000;

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct FamilyStats {
    pub calls: u64,
    pub successes: u64,
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ModelStats {
    pub calls: u64,
    pub successes: u64,
    pub errors: u64,
    /// Modelled milliseconds of this model's successful calls.
    #[serde(default)]
    pub modelled_ms: u64,
}

/// One successful model call.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct CallRecord {
    pub model_id: String,
    pub streamed: bool,
    pub input_tokens: u32,
    pub output_tokens: u32,
    pub cache_read_input_tokens: u32,
    pub cache_creation_input_tokens: u32,
    /// The modelled duration (the `x-emulator-modelled-ms` header's value).
    pub modelled_ms: u64,
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Stats {
    /// Every `InvokeModel` call, whatever its model id or outcome.
    pub total_calls: u64,
    pub claude: FamilyStats,
    pub titan: FamilyStats,
    /// Error answers by exception name (injected, quota and validation errors alike).
    pub errors: BTreeMap<String, u64>,
    /// `ThrottlingException` answers caused by `rpmQuota`.
    pub throttles: u64,
    /// Success answers whose body was cut or stalled on purpose.
    pub transport_faults: u64,
    /// Recipes altered by `violateFirst` / `neverComply`.
    pub violations: u64,
    /// Uncached input tokens (`usage.input_tokens`).
    pub input_tokens: u64,
    pub output_tokens: u64,
    #[serde(default)]
    pub cache_read_input_tokens: u64,
    #[serde(default)]
    pub cache_creation_input_tokens: u64,
    /// `InvokeModelWithResponseStream` calls that started a stream.
    #[serde(default)]
    pub stream_calls: u64,
    /// Streams ended by an injected exception event.
    #[serde(default)]
    pub stream_errors: u64,
    /// Sum of the modelled durations of successful calls.
    #[serde(default)]
    pub modelled_ms: u64,
    /// Keyed by the model id as the client sent it (percent-decoded).
    pub per_model: BTreeMap<String, ModelStats>,
    /// The last [`RECENT_CALLS`] successful calls, oldest first.
    #[serde(default)]
    pub recent_calls: VecDeque<CallRecord>,
}

impl Stats {
    pub fn record_call(&mut self, model_id: &str, family: Option<Family>) {
        self.total_calls += 1;
        if let Some(family) = family {
            self.family_mut(family).calls += 1;
        }
        self.per_model
            .entry(model_id.to_string())
            .or_default()
            .calls += 1;
    }

    pub fn record_success(&mut self, family: Family, call: CallRecord) {
        self.family_mut(family).successes += 1;
        let model = self.per_model.entry(call.model_id.clone()).or_default();
        model.successes += 1;
        model.modelled_ms += call.modelled_ms;
        self.input_tokens += u64::from(call.input_tokens);
        self.output_tokens += u64::from(call.output_tokens);
        self.cache_read_input_tokens += u64::from(call.cache_read_input_tokens);
        self.cache_creation_input_tokens += u64::from(call.cache_creation_input_tokens);
        self.modelled_ms += call.modelled_ms;
        if call.streamed {
            self.stream_calls += 1;
        }
        if self.recent_calls.len() == RECENT_CALLS {
            self.recent_calls.pop_front();
        }
        self.recent_calls.push_back(call);
    }

    pub fn record_error(&mut self, model_id: &str, kind: ErrorKind, by_quota: bool) {
        *self.errors.entry(kind.name().to_string()).or_default() += 1;
        self.per_model
            .entry(model_id.to_string())
            .or_default()
            .errors += 1;
        if by_quota {
            self.throttles += 1;
        }
    }

    fn family_mut(&mut self, family: Family) -> &mut FamilyStats {
        match family {
            Family::Claude => &mut self.claude,
            Family::Titan => &mut self.titan,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counters_serialise_in_camel_case() {
        let mut stats = Stats::default();
        stats.record_call("m", Some(Family::Claude));
        stats.record_success(
            Family::Claude,
            CallRecord {
                model_id: "m".into(),
                input_tokens: 10,
                output_tokens: 20,
                cache_read_input_tokens: 1500,
                modelled_ms: 2100,
                ..CallRecord::default()
            },
        );
        stats.record_call("m", Some(Family::Claude));
        stats.record_error("m", ErrorKind::ThrottlingException, true);
        let json = serde_json::to_value(&stats).unwrap();
        assert_eq!(json["totalCalls"], 2);
        assert_eq!(json["claude"]["successes"], 1);
        assert_eq!(json["errors"]["ThrottlingException"], 1);
        assert_eq!(json["throttles"], 1);
        assert_eq!(json["perModel"]["m"]["errors"], 1);
        assert_eq!(json["outputTokens"], 20);
        assert_eq!(json["cacheReadInputTokens"], 1500);
        assert_eq!(json["modelledMs"], 2100);
        assert_eq!(json["perModel"]["m"]["modelledMs"], 2100);
        assert_eq!(json["recentCalls"][0]["modelledMs"], 2100);
        assert_eq!(json["recentCalls"][0]["modelId"], "m");
        for _ in 0..RECENT_CALLS + 5 {
            stats.record_success(Family::Titan, CallRecord::default());
        }
        assert_eq!(stats.recent_calls.len(), RECENT_CALLS);
        assert_eq!(stats.titan.successes as usize, RECENT_CALLS + 5);
    }
}
