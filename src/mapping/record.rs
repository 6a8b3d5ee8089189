//! [`EventRecord`]: one CleverTap event record as the reference mapping makes it.

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value, json};

/// A CleverTap Upload API event record (`{"identity", "ts", "type", "evtName", "evtData"}`).
///
/// ```
/// use qc_harness::{Fixture, Settings, map_event};
/// let record = map_event(&Fixture::built_in("trial_started.ios").unwrap().event, &Settings::default()).unwrap();
/// assert_eq!(record.record_type, "event");
/// let json = record.to_value(); // the record as CleverTap receives it
/// assert_eq!(json["evtName"], "trial_started");
/// assert_eq!(json["identity"], serde_json::json!(record.identity));
/// ```
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct EventRecord {
    /// The CleverTap identity (the app's custom user id).
    pub identity: String,
    /// Unix seconds; absent when the webhook has neither `time` nor `created_at`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ts: Option<i64>,
    /// Always `"event"`.
    #[serde(rename = "type")]
    pub record_type: String,
    /// The event name.
    #[serde(rename = "evtName")]
    pub evt_name: String,
    /// The event properties.
    #[serde(rename = "evtData")]
    pub evt_data: Map<String, Value>,
}

impl EventRecord {
    /// The record as a JSON value.
    pub fn to_value(&self) -> Value {
        serde_json::to_value(self).expect("records always serialise")
    }
}

/// The upload body `{"d": [...]}` for a list of records.
///
/// ```
/// assert_eq!(qc_harness::upload_body(&[]), serde_json::json!({"d": []}));
/// ```
pub fn upload_body(records: &[EventRecord]) -> Value {
    json!({ "d": records.iter().map(EventRecord::to_value).collect::<Vec<_>>() })
}
