//! Webhook → CleverTap record, for the fields in [`MAPPED_FIELDS`].

use std::collections::HashMap;

use serde::Deserialize;
use serde_json::{Map, Value, json};

/// The record fields this relay maps (`mapping.md`); revenue and the other properties are
/// not mapped: the harness compares these only (`Comparison::partial`).
pub const MAPPED_FIELDS: [&str; 6] =
    ["identity", "ts", "type", "evtName", "evtData.platform", "evtData.product_id"];

/// Qonversion's 17 event names; all but `subscription_downgraded` may be forwarded.
const EVENTS: [&str; 17] = [
    "trial_started",
    "trial_converted",
    "trial_canceled",
    "trial_billing_retry_entered",
    "trial_still_active",
    "trial_expired",
    "subscription_started",
    "subscription_renewed",
    "subscription_upgraded",
    "subscription_refunded",
    "subscription_canceled",
    "subscription_billing_retry_entered",
    "subscription_expired",
    "subscription_product_changed",
    "subscription_downgraded",
    "in_app_purchase",
    "in_app_refunded",
];

/// The integration settings this relay reads (other keys of the file are ignored).
#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
pub struct Settings {
    /// Forward sandbox (and unmarked) events.
    #[serde(default)]
    pub send_sandbox: bool,
    /// Per-event switches.
    #[serde(default)]
    pub events: HashMap<String, EventSettings>,
}

/// One event's switches.
#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
pub struct EventSettings {
    /// `false` disables the event.
    pub enabled: Option<bool>,
    /// A custom CleverTap event name.
    pub name: Option<String>,
}

/// The record for `event`, or `None` when it is not forwarded.
pub fn map_event(event: &Value, settings: &Settings) -> Option<Value> {
    let name = event.get("event_name")?.as_str()?;
    if !EVENTS.contains(&name) || name == "subscription_downgraded" {
        return None;
    }
    let switches = settings.events.get(name);
    if switches.and_then(|s| s.enabled) == Some(false) {
        return None;
    }
    if event.get("environment").and_then(Value::as_str) != Some("production") && !settings.send_sandbox {
        return None;
    }
    let identity = text(event.get("custom_user_id"))
        .or_else(|| text(event.get("properties").and_then(|p| p.get("_q_custom_user_id"))))?;
    let evt_name = switches.and_then(|s| s.name.clone()).filter(|n| !n.trim().is_empty());
    let mut record = json!({
        "identity": identity,
        "type": "event",
        "evtName": evt_name.unwrap_or_else(|| name.to_string()),
        "evtData": evt_data(event),
    });
    let ts = [event.get("time"), event.get("created_at")].into_iter().flatten().find_map(Value::as_i64);
    if let Some(ts) = ts {
        record["ts"] = json!(ts);
    }
    Some(record)
}

fn evt_data(event: &Value) -> Map<String, Value> {
    let mut data = Map::new();
    for key in ["platform", "product_id"] {
        if let Some(value) = event.get(key).and_then(Value::as_str).filter(|v| !v.is_empty()) {
            data.insert(key.to_string(), json!(value));
        }
    }
    data
}

/// A non-empty string, or a number as its string form.
fn text(value: Option<&Value>) -> Option<String> {
    match value? {
        Value::String(s) if !s.is_empty() => Some(s.clone()),
        Value::Number(n) => Some(n.to_string()),
        _ => None,
    }
}
