//! CleverTap's per-record checks for event records (`clevertap-upload.md`, "Per-record checks").
//!
//! The checks a record must pass to be processed, in the documented order; the first
//! failing rule gives the record's error code.

use serde_json::{Map, Value};

/// Property-count limit of the fake CleverTap's default account.
pub const DEFAULT_PROPERTY_LIMIT: usize = 256;

/// Characters CleverTap prohibits in event names and property keys.
pub const PROHIBITED_CHARACTERS: [char; 13] = ['%', '>', '<', '!', '|', '&', '.', ':', ';', '$', '\'', '"', '\\'];

/// Restricted system event names, compared case-insensitively and ignoring spaces.
pub const RESTRICTED_EVENT_NAMES: [&str; 17] = [
    "Notification Sent",
    "Notification Viewed",
    "Notification Clicked",
    "Notification Delivered",
    "Notification Replied",
    "UTM Visited",
    "App Launched",
    "App Uninstalled",
    "App Version Changed",
    "Stayed",
    "Reply Sent",
    "Experiment Rendered",
    "Reachable By",
    "Identity Reset",
    "Identity Set",
    "Identity Error",
    "Web Page Viewed",
];

/// Why CleverTap would not process a record: its error code and meaning.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RecordError {
    /// CleverTap's error code (509, 512, ...).
    pub code: u16,
    /// What is wrong.
    pub message: String,
}

fn fail(code: u16, message: impl Into<String>) -> Result<(), RecordError> {
    Err(RecordError { code, message: message.into() })
}

/// Checks one event record the way CleverTap's Upload API does.
///
/// ```
/// use qc_harness::props::record_rules::check_event_record;
/// let ok = serde_json::json!({"identity": "u1", "ts": 1700000000, "type": "event",
///                            "evtName": "trial_started", "evtData": {}});
/// assert!(check_event_record(&ok, 256).is_ok());
/// let ms = serde_json::json!({"identity": "u1", "ts": 1700000000000i64, "type": "event",
///                            "evtName": "x", "evtData": {}});
/// assert_eq!(check_event_record(&ms, 256).unwrap_err().code, 525);
/// ```
pub fn check_event_record(record: &Value, property_limit: usize) -> Result<(), RecordError> {
    let Some(record) = record.as_object() else { return fail(524, "the record is not an object") };
    match record.get("type").and_then(Value::as_str) {
        Some("event" | "profile" | "token") => {}
        other => return fail(524, format!("type {other:?} is not event, profile or token")),
    }
    check_identity(record)?;
    check_ts(record.get("ts"))?;
    if record.get("type").and_then(Value::as_str) != Some("event") {
        return Ok(());
    }
    check_event_name(record.get("evtName"))?;
    check_evt_data(record.get("evtData"), property_limit)
}

fn check_identity(record: &Map<String, Value>) -> Result<(), RecordError> {
    let usable = |key: &str| match record.get(key) {
        Some(Value::String(s)) => !s.is_empty(),
        Some(Value::Number(_)) => key != "objectId",
        _ => false,
    };
    if !["identity", "FBID", "GPID", "objectId"].iter().any(|k| usable(k)) {
        return fail(523, "no identity, FBID, GPID or objectId");
    }
    if record.contains_key("objectId") && !usable("objectId") {
        return fail(526, "objectId is not a non-empty string");
    }
    Ok(())
}

fn check_ts(ts: Option<&Value>) -> Result<(), RecordError> {
    let digits = match ts {
        None => return Ok(()),
        Some(Value::Number(n)) => match n.as_u64() {
            Some(n) if n > 0 => n.to_string(),
            _ => return fail(525, format!("ts {n} is not a positive integer")),
        },
        Some(Value::String(s)) if !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit()) => {
            s.trim_start_matches('0').to_string()
        }
        Some(other) => return fail(525, format!("ts {other} is not unix seconds")),
    };
    if digits.is_empty() || digits.len() > 11 {
        return fail(525, format!("ts {digits:?} is not unix seconds (0, or milliseconds?)"));
    }
    Ok(())
}

fn check_event_name(name: Option<&Value>) -> Result<(), RecordError> {
    let name = match name {
        Some(Value::String(s)) if !s.is_empty() => s,
        _ => return fail(509, "evtName is missing or empty"),
    };
    let squash = |s: &str| s.chars().filter(|c| *c != ' ').collect::<String>().to_lowercase();
    if RESTRICTED_EVENT_NAMES.iter().any(|r| squash(r) == squash(name)) {
        return fail(513, format!("{name:?} is a restricted system event"));
    }
    if let Some(c) = name.chars().find(|c| PROHIBITED_CHARACTERS.contains(c)) {
        return fail(512, format!("evtName {name:?} contains the prohibited character {c:?}"));
    }
    Ok(())
}

fn check_evt_data(data: Option<&Value>, property_limit: usize) -> Result<(), RecordError> {
    let Some(Value::Object(data)) = data else { return fail(512, "evtData is missing or not an object") };
    for (key, value) in data {
        if let Some(c) = key.chars().find(|c| PROHIBITED_CHARACTERS.contains(c)) {
            return fail(512, format!("evtData key {key:?} contains the prohibited character {c:?}"));
        }
        if key.chars().count() > 120 {
            return fail(512, format!("evtData key {key:?} is longer than 120 characters"));
        }
        match value {
            Value::String(s) if s.len() > 512 => {
                return fail(512, format!("evtData.{key} is {} bytes long (limit 512)", s.len()));
            }
            Value::Object(_) | Value::Array(_) => {
                return fail(512, format!("evtData.{key} is a nested object or array"));
            }
            _ => {}
        }
    }
    if data.len() > property_limit {
        return fail(522, format!("{} properties (limit {property_limit})", data.len()));
    }
    Ok(())
}
