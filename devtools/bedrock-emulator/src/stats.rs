//! Call counters served at `GET /_emulator/stats` so tests can see what the service under
//! test actually sent: totals, per model family, per model id, errors by exception name.

use crate::error::ErrorKind;
use crate::model::Family;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

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
    pub input_tokens: u64,
    pub output_tokens: u64,
    /// Keyed by the model id as the client sent it (percent-decoded).
    pub per_model: BTreeMap<String, ModelStats>,
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

    pub fn record_success(&mut self, model_id: &str, family: Family, input: u32, output: u32) {
        self.family_mut(family).successes += 1;
        self.per_model
            .entry(model_id.to_string())
            .or_default()
            .successes += 1;
        self.input_tokens += u64::from(input);
        self.output_tokens += u64::from(output);
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
        stats.record_success("m", Family::Claude, 10, 20);
        stats.record_call("m", Some(Family::Claude));
        stats.record_error("m", ErrorKind::ThrottlingException, true);
        let json = serde_json::to_value(&stats).unwrap();
        assert_eq!(json["totalCalls"], 2);
        assert_eq!(json["claude"]["successes"], 1);
        assert_eq!(json["errors"]["ThrottlingException"], 1);
        assert_eq!(json["throttles"], 1);
        assert_eq!(json["perModel"]["m"]["errors"], 1);
        assert_eq!(json["outputTokens"], 20);
    }
}
