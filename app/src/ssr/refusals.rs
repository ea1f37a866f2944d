//! What a refused request leaves in the audit log. Whatever was sent, its record is bounded
//! (the first few entries of a list and a count, text cut short). And refusals of callers who
//! are not signed in are recorded one by one only up to a few a minute per network and
//! operation; beyond that they are counted and recorded as one record per minute — so that an
//! anonymous flood cannot grow the database without bound, and the log still says it happened.

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use serde_json::{json, Map, Value};

use crate::audit::ssr::record::{self, AuditRecord};

/// Refusals of the anonymous recorded one by one, per network and operation and minute.
pub const INDIVIDUAL_PER_WINDOW: u32 = 10;
/// The window of that count.
pub const WINDOW: Duration = Duration::from_secs(60);
/// Networks tracked at once; beyond, refusals share one overflow count per operation.
const MAX_KEYS: usize = 10_000;

const LIST_ITEMS: usize = 5;
const OBJECT_KEYS: usize = 20;
const TEXT_CHARS: usize = 256;
const DEPTH: usize = 4;

/// A JSON value cut to a bounded size: lists keep their first entries and say how many there
/// were, text is cut, objects keep their first keys, nesting stops.
pub fn bounded(value: &Value) -> Value {
    bounded_at(value, 0)
}

fn bounded_at(value: &Value, depth: usize) -> Value {
    match value {
        Value::String(s) if s.chars().count() > TEXT_CHARS => {
            let kept: String = s.chars().take(TEXT_CHARS).collect();
            Value::String(format!("{kept}… ({} characters)", s.chars().count()))
        }
        Value::Array(items) if depth >= DEPTH => json!({ "omitted": "list", "count": items.len() }),
        Value::Object(map) if depth >= DEPTH => json!({ "omitted": "object", "keys": map.len() }),
        Value::Array(items) => {
            let mut out: Vec<Value> = items
                .iter()
                .take(LIST_ITEMS)
                .map(|v| bounded_at(v, depth + 1))
                .collect();
            if items.len() > LIST_ITEMS {
                out.push(json!({ "omitted": items.len() - LIST_ITEMS, "count": items.len() }));
            }
            Value::Array(out)
        }
        Value::Object(map) => {
            let mut out: Map<String, Value> = map
                .iter()
                .take(OBJECT_KEYS)
                .map(|(k, v)| (k.chars().take(64).collect(), bounded_at(v, depth + 1)))
                .collect();
            if map.len() > OBJECT_KEYS {
                out.insert("omittedKeys".into(), json!(map.len() - OBJECT_KEYS));
            }
            Value::Object(out)
        }
        other => other.clone(),
    }
}

#[derive(Clone, Debug, PartialEq, Eq, Hash)]
struct Key {
    network: String,
    endpoint: &'static str,
    event: &'static str,
}

struct Window {
    started: Instant,
    started_text: String,
    recorded: u32,
    suppressed: u64,
    /// The last suppressed refusal: the aggregate record is made from it.
    last: Option<AuditRecord>,
}

/// Counts of anonymous refusals, per network and operation.
pub struct Refusals {
    window: Duration,
    windows: Mutex<HashMap<Key, Window>>,
}

impl Default for Refusals {
    fn default() -> Self {
        Refusals::new(WINDOW)
    }
}

impl Refusals {
    pub fn new(window: Duration) -> Self {
        Refusals {
            window,
            windows: Mutex::default(),
        }
    }

    /// Whether this refusal of an anonymous caller is recorded on its own (`Admit::Record`); if
    /// not, it is counted for the aggregate. Also hands back the aggregates of windows that have
    /// ended, to be recorded now.
    pub fn admit(&self, network: &str, endpoint: &'static str, event: &'static str, record: &AuditRecord) -> Admit {
        let now = Instant::now();
        let mut windows = self.windows.lock().unwrap_or_else(|e| e.into_inner());
        let due = take_due(&mut windows, now, self.window);
        let mut key = Key {
            network: network.to_string(),
            endpoint,
            event,
        };
        if !windows.contains_key(&key) && windows.len() >= MAX_KEYS {
            key.network = "*".into();
        }
        let window = windows.entry(key.clone()).or_insert_with(|| Window {
            started: now,
            started_text: record::utc_now(),
            recorded: 0,
            suppressed: 0,
            last: None,
        });
        let record_it = window.recorded < INDIVIDUAL_PER_WINDOW;
        if record_it {
            window.recorded += 1;
        } else {
            window.suppressed += 1;
            window.last = Some(record.clone());
        }
        if due.is_empty() && record_it {
            return Admit::Record(Vec::new());
        }
        if record_it {
            Admit::Record(due)
        } else {
            Admit::Counted(due)
        }
    }

    /// The aggregates of windows that have ended (for the periodic flush).
    pub fn due(&self) -> Vec<AuditRecord> {
        let mut windows = self.windows.lock().unwrap_or_else(|e| e.into_inner());
        take_due(&mut windows, Instant::now(), self.window)
    }
}

/// What to do with a refusal, and aggregates that are due.
pub enum Admit {
    Record(Vec<AuditRecord>),
    Counted(Vec<AuditRecord>),
}

fn take_due(windows: &mut HashMap<Key, Window>, now: Instant, window: Duration) -> Vec<AuditRecord> {
    let ended: Vec<Key> = windows
        .iter()
        .filter(|(_, w)| now.duration_since(w.started) >= window)
        .map(|(k, _)| k.clone())
        .collect();
    let mut out = Vec::new();
    for key in ended {
        let Some(window) = windows.remove(&key) else { continue };
        let Some(mut record) = window.last else { continue };
        record.event_id = record::event_id();
        record.event_time = record::utc_now();
        record.error_message = Some(format!(
            "{} more requests like this one were refused from {} between {} and {}, beyond the {} \
             recorded one by one; this record stands for all of them",
            window.suppressed,
            if key.network == "*" {
                "many networks"
            } else {
                key.network.as_str()
            },
            window.started_text,
            record.event_time,
            INDIVIDUAL_PER_WINDOW,
        ));
        record.additional_event_data.aggregated_count = Some(window.suppressed);
        out.push(record);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_huge_value_is_recorded_bounded() {
        let ids: Vec<Value> = (0..100_000).map(|i| json!(format!("ws-{i:09}"))).collect();
        let sent = json!({ "stopWorkspaceRequests": ids, "note": "x".repeat(10_000) });
        let kept = bounded(&sent);
        let text = kept.to_string();
        assert!(text.len() < 1_000, "{} bytes", text.len());
        assert_eq!(kept["stopWorkspaceRequests"].as_array().unwrap().len(), LIST_ITEMS + 1);
        assert_eq!(kept["stopWorkspaceRequests"][5]["count"], 100_000);
        assert!(kept["note"].as_str().unwrap().ends_with("(10000 characters)"));
        assert_eq!(bounded(&json!({ "small": [1, 2] })), json!({ "small": [1, 2] }));
    }

    fn refused() -> AuditRecord {
        AuditRecord::start(
            record::EventKind {
                source: record::PORTAL_SOURCE,
                event_type: "PortalAction",
                name: "X",
                action: "x",
                read_only: false,
            },
            record::UserIdentity::anonymous(),
            "203.0.113.9",
            "test",
            Value::Null,
        )
    }

    #[test]
    fn beyond_a_few_a_minute_anonymous_refusals_are_counted() {
        let refusals = Refusals::default();
        let record = refused();
        let mut recorded = 0;
        for _ in 0..25 {
            if let Admit::Record(_) = refusals.admit("203.0.113.9", "/api/x", "X", &record) {
                recorded += 1;
            }
        }
        assert_eq!(recorded, INDIVIDUAL_PER_WINDOW);
        // Another network is counted apart.
        assert!(matches!(
            refusals.admit("198.51.100.1", "/api/x", "X", &record),
            Admit::Record(_)
        ));
        assert!(refusals.due().is_empty(), "the window has not ended");

        // Once the window ends, what was counted is recorded as one record saying how many.
        let refusals = Refusals::new(Duration::from_millis(200));
        for _ in 0..(INDIVIDUAL_PER_WINDOW + 7) {
            refusals.admit("203.0.113.9", "/api/x", "X", &record);
        }
        assert!(refusals.due().is_empty());
        std::thread::sleep(Duration::from_millis(250));
        let due = refusals.due();
        assert_eq!(due.len(), 1);
        assert_eq!(due[0].additional_event_data.aggregated_count, Some(7));
        assert!(due[0].error_message.as_deref().unwrap().starts_with("7 more requests"));
    }
}
