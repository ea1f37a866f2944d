//! Fault injection: make chosen actions fail or slow down, N times or at a rate, so the
//! portal's retry and error paths can be tested against a real endpoint.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Mutex;
use std::time::Duration;

use serde::{Deserialize, Serialize};

use crate::error::ApiError;
use crate::server::ACTIONS;

/// One rule. JSON: `{"action": "StopWorkspaces", "error": "Throttling", "count": 2}`,
/// `{"action": "*", "latencyMs": 300, "rate": 0.5}`.
#[derive(Clone, Debug, Deserialize, Serialize, PartialEq)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct FaultRule {
    /// The action it applies to, or `*` (the default) for every action.
    #[serde(default = "any_action")]
    pub action: String,
    /// The error to answer with: Throttling, InternalFailure, ServiceUnavailable,
    /// ResourceUnavailableException or AccessDeniedException. None: only add latency.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
    /// Latency added before answering, in milliseconds.
    #[serde(default)]
    pub latency_ms: u64,
    /// How many matching requests it affects before it expires; None: no limit.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub count: Option<u64>,
    /// The share of matching requests it affects, in (0, 1].
    #[serde(default = "always")]
    pub rate: f64,
}

fn any_action() -> String {
    "*".to_string()
}

fn always() -> f64 {
    1.0
}

impl FaultRule {
    /// Checks a rule before it is installed; the error says which field is wrong.
    pub fn validate(&self) -> Result<(), String> {
        if self.action != "*" && !ACTIONS.contains(&self.action.as_str()) {
            return Err(format!("action: '{}' is not a WorkSpaces action (or '*')", self.action));
        }
        if let Some(code) = &self.error {
            if ApiError::injected(code).is_none() {
                return Err(format!(
                    "error: '{code}' cannot be injected; use Throttling, InternalFailure, ServiceUnavailable, ResourceUnavailableException or AccessDeniedException"
                ));
            }
        }
        if !(self.rate > 0.0 && self.rate <= 1.0) {
            return Err(format!("rate: must be in (0, 1], got {}", self.rate));
        }
        if self.count == Some(0) {
            return Err("count: must be at least 1 (omit it for no limit)".to_string());
        }
        if self.error.is_none() && self.latency_ms == 0 {
            return Err("a rule needs an error, a latencyMs, or both".to_string());
        }
        Ok(())
    }
}

/// What a request gets from the rules that matched it.
#[derive(Debug, Default, PartialEq)]
pub struct Fault {
    pub latency: Duration,
    pub error: Option<ApiError>,
}

#[derive(Default)]
pub struct Faults {
    /// Lets the hot path skip the lock when no rule is installed.
    active: AtomicBool,
    rules: Mutex<Vec<FaultRule>>,
}

impl Faults {
    pub fn add(&self, rule: FaultRule) -> Result<(), String> {
        rule.validate()?;
        let mut rules = self.rules.lock().unwrap_or_else(|e| e.into_inner());
        rules.push(rule);
        self.active.store(true, Ordering::Release);
        Ok(())
    }

    pub fn clear(&self) {
        let mut rules = self.rules.lock().unwrap_or_else(|e| e.into_inner());
        rules.clear();
        self.active.store(false, Ordering::Release);
    }

    pub fn list(&self) -> Vec<FaultRule> {
        self.rules.lock().unwrap_or_else(|e| e.into_inner()).clone()
    }

    /// Applies every rule matching `action`: latencies add up, the first error wins.
    pub fn decide(&self, action: &str) -> Option<Fault> {
        if !self.active.load(Ordering::Acquire) {
            return None;
        }
        let mut rules = self.rules.lock().unwrap_or_else(|e| e.into_inner());
        let mut fault = Fault::default();
        let mut hit = false;
        for rule in rules.iter_mut() {
            if rule.action != "*" && rule.action != action {
                continue;
            }
            if rule.rate < 1.0 && fastrand::f64() >= rule.rate {
                continue;
            }
            if fault.error.is_some() && rule.error.is_some() {
                continue; // this rule's error would not be seen: keep its count
            }
            hit = true;
            fault.latency += Duration::from_millis(rule.latency_ms);
            if fault.error.is_none() {
                fault.error = rule.error.as_deref().and_then(ApiError::injected);
            }
            if let Some(count) = rule.count.as_mut() {
                *count -= 1;
            }
        }
        rules.retain(|r| r.count != Some(0));
        self.active.store(!rules.is_empty(), Ordering::Release);
        hit.then_some(fault)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rule(json: &str) -> FaultRule {
        serde_json::from_str(json).unwrap()
    }

    #[test]
    fn a_counted_rule_fires_n_times_then_expires() {
        let faults = Faults::default();
        faults
            .add(rule(r#"{"action":"StopWorkspaces","error":"Throttling","count":2}"#))
            .unwrap();
        assert_eq!(faults.decide("StartWorkspaces"), None);
        for _ in 0..2 {
            let fault = faults.decide("StopWorkspaces").unwrap();
            assert_eq!(fault.error.unwrap().code, "Throttling");
        }
        assert_eq!(faults.decide("StopWorkspaces"), None);
        assert!(faults.list().is_empty());
    }

    #[test]
    fn latency_rules_combine_with_errors() {
        let faults = Faults::default();
        faults.add(rule(r#"{"latencyMs":20}"#)).unwrap();
        faults
            .add(rule(r#"{"action":"DescribeTags","error":"InternalFailure"}"#))
            .unwrap();
        let fault = faults.decide("DescribeTags").unwrap();
        assert_eq!(fault.latency, Duration::from_millis(20));
        let error = fault.error.unwrap();
        assert_eq!((error.status, error.code), (500, "InternalFailure"));
        assert_eq!(faults.decide("CreateTags").unwrap().error, None);
    }

    #[test]
    fn a_rate_affects_about_that_share_of_requests() {
        let faults = Faults::default();
        faults.add(rule(r#"{"error":"Throttling","rate":0.25}"#)).unwrap();
        let hits = (0..4000)
            .filter(|_| faults.decide("DescribeWorkspaces").is_some())
            .count();
        assert!((700..1300).contains(&hits), "{hits} of 4000");
    }

    #[test]
    fn bad_rules_are_refused_with_the_field_named() {
        let faults = Faults::default();
        for (json, field) in [
            (r#"{"action":"Nope","error":"Throttling"}"#, "action"),
            (r#"{"error":"Boom"}"#, "error"),
            (r#"{"error":"Throttling","rate":0}"#, "rate"),
            (r#"{"error":"Throttling","count":0}"#, "count"),
        ] {
            let err = faults.add(rule(json)).unwrap_err();
            assert!(err.starts_with(field), "{json}: {err}");
        }
        assert!(faults.add(rule(r#"{"action":"DescribeTags"}"#)).is_err());
        assert!(faults.list().is_empty());
    }
}
