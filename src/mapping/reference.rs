//! The reference mapping (`mapping.md`): the oracle every relay is compared with.

use serde_json::{Map, Number, Value};

use super::record::EventRecord;
use super::revenue::revenue_value;
use super::settings::Settings;
use crate::qonversion::catalogue::{EventKind, event_kind};
use crate::qonversion::event::WebhookEvent;
use crate::qonversion::field::Field;

/// Why an event is not forwarded.
///
/// ```
/// use qc_harness::{Fixture, Settings, Skip, map_event};
/// let mut event = Fixture::built_in("trial_started.ios").unwrap().event.clone();
/// event.environment = qc_harness::Field::Value("sandbox".into());
/// assert_eq!(map_event(&event, &Settings::default()), Err(Skip::Sandbox));
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Skip {
    /// `event_name` is not in the catalogue.
    UnknownEvent,
    /// The event may never be forwarded (`subscription_downgraded`).
    NotForwardable,
    /// `settings.events[name].enabled` is false.
    Disabled,
    /// A sandbox (or unmarked) event while `send_sandbox` is false.
    Sandbox,
    /// Neither `custom_user_id` nor `properties._q_custom_user_id` is set.
    NoIdentity,
}

/// Maps one webhook event: `Ok(record)` when forwarded, `Err(reason)` when not.
///
/// ```
/// use qc_harness::{Settings, WebhookEvent, mapping::map_event};
/// let event: WebhookEvent = serde_json::from_value(serde_json::json!({
///     "event_name": "trial_started", "custom_user_id": "u1", "time": 1700000000,
///     "environment": "production", "platform": "iOS"
/// })).unwrap();
/// let record = map_event(&event, &Settings::default()).unwrap();
/// assert_eq!(record.identity, "u1");
/// assert_eq!(record.evt_data["os_name"], "iOS");
/// ```
pub fn map_event(event: &WebhookEvent, settings: &Settings) -> Result<EventRecord, Skip> {
    let kind = event_kind(&event.event_name).ok_or(Skip::UnknownEvent)?;
    if !kind.forwardable {
        return Err(Skip::NotForwardable);
    }
    if !settings.is_enabled(kind) {
        return Err(Skip::Disabled);
    }
    if !event.is_production() && !settings.send_sandbox {
        return Err(Skip::Sandbox);
    }
    let identity = identity(event).ok_or(Skip::NoIdentity)?;
    Ok(EventRecord {
        identity,
        ts: timestamp(event),
        record_type: "event".to_string(),
        evt_name: settings.event_name_for(kind),
        evt_data: evt_data(event, settings, kind),
    })
}

/// The records the reference uploads for one event: zero or one.
///
/// ```
/// use qc_harness::{Fixture, Settings, expected_records};
/// let event = &Fixture::built_in("subscription_renewed.ios").unwrap().event;
/// let records = expected_records(event, &Settings::default());
/// assert_eq!(records.len(), 1);
/// let no_sandbox = expected_records(&Fixture::built_in("subscription_renewed.android.sandbox").unwrap().event, &Settings::default());
/// assert!(no_sandbox.is_empty());
/// ```
pub fn expected_records(event: &WebhookEvent, settings: &Settings) -> Vec<EventRecord> {
    map_event(event, settings).into_iter().collect()
}

/// `custom_user_id`, else `properties._q_custom_user_id`; `None` when both are empty.
pub fn identity(event: &WebhookEvent) -> Option<String> {
    if let Some(id) = event.custom_user_id.get().filter(|id| !id.is_empty()) {
        return Some(id.clone());
    }
    let fallback = event.properties.get()?.get("_q_custom_user_id")?;
    match fallback {
        Value::String(s) if !s.is_empty() => Some(s.clone()),
        Value::Number(n) => Some(n.to_string()),
        _ => None,
    }
}

/// `time`, or `created_at` when `time` is null or absent.
pub fn timestamp(event: &WebhookEvent) -> Option<i64> {
    event.time.get().or(event.created_at.get()).copied()
}

fn evt_data(event: &WebhookEvent, settings: &Settings, kind: &EventKind) -> Map<String, Value> {
    let mut data = Map::new();
    let text = |f: &Field<String>| f.get().map(|s| Value::String(s.clone()));
    put(&mut data, "platform", text(&event.platform));
    put(&mut data, "os_name", text(&event.platform));
    put(&mut data, "ip", text(&event.ip));
    put(&mut data, "product_id", text(&event.product_id));
    put(&mut data, "quantity", event.quantity.get().map(|q| Value::from(*q)));
    let transaction_id = event.transaction.get().and_then(|t| t.transaction_id.get());
    put(&mut data, "transaction_id", transaction_id.map(|id| Value::String(id.as_text())));
    put(&mut data, "country", text(&event.country));
    put(&mut data, "app_version", text(&event.app_version));
    put(&mut data, "device_id", text(&event.device_id));
    put(&mut data, "new_product_id", text(&event.new_product_id));
    put(&mut data, "old_product_id", text(&event.old_product_id));
    let wants_revenue = settings.send_revenue && settings.sends_revenue_for(kind);
    if let Some(revenue) =
        revenue_value(event, settings.send_proceeds, kind.is_refund).filter(|_| wants_revenue)
    {
        put(&mut data, "revenue", Number::from_f64(revenue.amount).map(Value::Number));
        put(&mut data, "currency", revenue.currency.map(Value::String));
    }
    data
}

/// Inserts `value` unless it is empty (`null`, `""`, `[]`, `{}`); `0` and `false` are values.
fn put(data: &mut Map<String, Value>, key: &str, value: Option<Value>) {
    if let Some(value) = value.filter(|v| !is_empty(v)) {
        data.insert(key.to_string(), value);
    }
}

/// `null`, `""`, `[]` and `{}` are empty.
pub fn is_empty(value: &Value) -> bool {
    match value {
        Value::Null => true,
        Value::String(s) => s.is_empty(),
        Value::Array(a) => a.is_empty(),
        Value::Object(o) => o.is_empty(),
        Value::Bool(_) | Value::Number(_) => false,
    }
}
