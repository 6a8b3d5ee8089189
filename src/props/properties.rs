//! The properties of a relay's mapping, as pure functions (`mapping.md`, `clevertap-upload.md`).
//!
//! [`check`] takes an event, the settings and the records a relay produced for it, and
//! returns the first property that does not hold, with what was expected and observed.

use std::fmt;

use serde_json::{Map, Value};

use crate::clevertap::validate::{DEFAULT_PROPERTY_LIMIT, Rules, check_record};
use crate::mapping::revenue::within_tolerance;
use crate::mapping::{EventRecord, Settings, Skip, map_event};
use crate::qonversion::catalogue::event_kind;
use crate::qonversion::event::WebhookEvent;

/// The properties, in the order they are checked.
pub const PROPERTIES: [&str; 10] = [
    "clevertap_accepts_the_record",
    "at_most_one_record",
    "nothing_uploaded_when_not_forwarded",
    "forwarded_when_the_rules_say",
    "identity_rule",
    "ts_rule",
    "event_name_rule",
    "refunds_are_negative",
    "revenue_rule",
    "evt_data_rule",
];

/// A property that does not hold for one case.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PropertyFailure {
    /// The property's name (one of [`PROPERTIES`], or `relay_answers`).
    pub property: String,
    /// What the rules ask for.
    pub expected: String,
    /// What the relay did.
    pub observed: String,
}

impl fmt::Display for PropertyFailure {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "property {}\n  expected: {}\n  observed: {}", self.property, self.expected, self.observed)
    }
}

/// Options of the property check.
#[derive(Debug, Clone, Copy)]
pub struct CheckOptions {
    /// Accept `evtData` keys the reference does not make (`--allow-extra-keys`).
    pub allow_extra_keys: bool,
    /// The account's property-count limit for CleverTap's record checks.
    pub property_limit: usize,
}

impl Default for CheckOptions {
    fn default() -> Self {
        CheckOptions { allow_extra_keys: false, property_limit: DEFAULT_PROPERTY_LIMIT }
    }
}

type Checked = Result<(), PropertyFailure>;

fn failure(property: &str, expected: impl Into<String>, observed: impl Into<String>) -> PropertyFailure {
    PropertyFailure { property: property.to_string(), expected: expected.into(), observed: observed.into() }
}

/// Checks every property for one case; `Err` names the first that does not hold.
///
/// ```
/// use qc_harness::{Settings, WebhookEvent, props::properties::check};
/// let event: WebhookEvent = serde_json::from_value(serde_json::json!({
///     "event_name": "trial_started", "custom_user_id": "u1", "environment": "sandbox"})).unwrap();
/// let leaked = serde_json::json!({"identity": "u1", "type": "event", "evtName": "trial_started", "evtData": {}});
/// let failure = check(&event, &Settings::default(), &[leaked], Default::default()).unwrap_err();
/// assert_eq!(failure.property, "nothing_uploaded_when_not_forwarded");
/// ```
pub fn check(event: &WebhookEvent, settings: &Settings, records: &[Value], options: CheckOptions) -> Checked {
    clevertap_accepts_every_record(records, options)?;
    at_most_one_record(records)?;
    let expected = match map_event(event, settings) {
        Err(skip) => return nothing_uploaded_when_not_forwarded(skip, records),
        Ok(expected) => expected,
    };
    let Some(record) = records.first() else {
        return Err(failure(
            "forwarded_when_the_rules_say",
            "one record (the event is forwarded)",
            "no record",
        ));
    };
    identity_rule(&expected, record)?;
    ts_rule(&expected, record)?;
    event_name_rule(&expected, record)?;
    let data = record.get("evtData").and_then(Value::as_object).cloned().unwrap_or_default();
    refunds_are_negative(event, &expected, &data)?;
    revenue_rule(&expected, &data)?;
    evt_data_rule(&expected, &data, options.allow_extra_keys)
}

/// Every uploaded record passes CleverTap's per-record checks (`clevertap-upload.md`).
fn clevertap_accepts_every_record(records: &[Value], options: CheckOptions) -> Checked {
    let rules = Rules { property_limit: options.property_limit, ..Rules::default() };
    for record in records {
        if let Err(e) = check_record(record, &rules) {
            return Err(failure(
                "clevertap_accepts_the_record",
                "records CleverTap processes (no entry in `unprocessed`)",
                format!("code {}: {} in {record}", e.code, e.message.trim_end()),
            ));
        }
    }
    Ok(())
}

fn at_most_one_record(records: &[Value]) -> Checked {
    if records.len() > 1 {
        return Err(failure(
            "at_most_one_record",
            "zero or one record",
            format!("{} records", records.len()),
        ));
    }
    Ok(())
}

fn nothing_uploaded_when_not_forwarded(skip: Skip, records: &[Value]) -> Checked {
    match records.first() {
        None => Ok(()),
        Some(record) => Err(failure(
            "nothing_uploaded_when_not_forwarded",
            format!("no record: {}", skip_reason(skip)),
            format!("uploaded {record}"),
        )),
    }
}

/// Why the rules do not forward an event, in `mapping.md` words.
pub fn skip_reason(skip: Skip) -> &'static str {
    match skip {
        Skip::UnknownEvent => "event_name is not a known event",
        Skip::NotForwardable => "subscription_downgraded is never forwarded",
        Skip::Disabled => "the event is disabled in the settings",
        Skip::Sandbox => "environment is not \"production\" and send_sandbox is false",
        Skip::NoIdentity => "custom_user_id and properties._q_custom_user_id are both empty",
    }
}

fn identity_rule(expected: &EventRecord, record: &Value) -> Checked {
    let observed = match record.get("identity") {
        Some(Value::String(s)) => Some(s.clone()),
        Some(Value::Number(n)) => Some(n.to_string()),
        _ => None,
    };
    if observed.as_deref() != Some(expected.identity.as_str()) {
        let shown = record.get("identity").map_or("no identity".to_string(), Value::to_string);
        return Err(failure(
            "identity_rule",
            format!("identity {:?} (custom_user_id, else properties._q_custom_user_id)", expected.identity),
            shown,
        ));
    }
    Ok(())
}

fn ts_rule(expected: &EventRecord, record: &Value) -> Checked {
    let observed = record.get("ts");
    let holds = match (expected.ts, observed) {
        (Some(ts), Some(v)) => v.as_i64() == Some(ts) || v.as_str() == Some(ts.to_string().as_str()),
        // Neither time nor created_at: no ts (CleverTap then uses "now"), or a positive integer.
        (None, None) => true,
        (None, Some(v)) => v.as_u64().is_some_and(|n| n > 0),
        (Some(_), None) => false,
    };
    if !holds {
        let wanted = expected.ts.map_or("no ts (the webhook has no time)".to_string(), |t| {
            format!("ts {t} (time, or created_at when time is null)")
        });
        return Err(failure("ts_rule", wanted, observed.map_or("no ts".to_string(), |v| format!("ts {v}"))));
    }
    Ok(())
}

fn event_name_rule(expected: &EventRecord, record: &Value) -> Checked {
    let name = record.get("evtName");
    let kind = record.get("type");
    if name.and_then(Value::as_str) != Some(expected.evt_name.as_str()) || kind != Some(&Value::from("event"))
    {
        return Err(failure(
            "event_name_rule",
            format!(
                "type \"event\", evtName {:?} (the custom name, else the machine name)",
                expected.evt_name
            ),
            format!("type {}, evtName {}", show(kind), show(name)),
        ));
    }
    Ok(())
}

fn refunds_are_negative(event: &WebhookEvent, expected: &EventRecord, data: &Map<String, Value>) -> Checked {
    let is_refund = event_kind(&event.event_name).is_some_and(|k| k.is_refund);
    let (Some(want), Some(got)) =
        (expected.evt_data.get("revenue").and_then(Value::as_f64), data.get("revenue"))
    else {
        return Ok(());
    };
    let got_amount = got.as_f64().unwrap_or(f64::NAN);
    if is_refund && want < 0.0 && got_amount.partial_cmp(&0.0) != Some(std::cmp::Ordering::Less) {
        return Err(failure(
            "refunds_are_negative",
            format!("a negative revenue for {} ({want})", event.event_name),
            format!("revenue {got}"),
        ));
    }
    Ok(())
}

fn revenue_rule(expected: &EventRecord, data: &Map<String, Value>) -> Checked {
    let want = (expected.evt_data.get("revenue"), expected.evt_data.get("currency"));
    let got = (data.get("revenue"), data.get("currency"));
    let holds = match (want.0.and_then(Value::as_f64), got.0) {
        (None, None) => true,
        (Some(w), Some(g)) => g.as_f64().is_some_and(|g| within_tolerance(w, g)),
        _ => false,
    } && want.1 == got.1;
    if !holds {
        return Err(failure(
            "revenue_rule",
            format!(
                "revenue {}, currency {} (proceeds or gross in the user's currency)",
                show(want.0),
                show(want.1)
            ),
            format!("revenue {}, currency {}", show(got.0), show(got.1)),
        ));
    }
    Ok(())
}

fn evt_data_rule(expected: &EventRecord, data: &Map<String, Value>, allow_extra_keys: bool) -> Checked {
    let skip = |k: &String| k != "revenue" && k != "currency";
    for (key, want) in expected.evt_data.iter().filter(|(k, _)| skip(k)) {
        if data.get(key) != Some(want) {
            return Err(failure(
                "evt_data_rule",
                format!("evtData.{key} = {want}"),
                format!("evtData.{key} = {}", show(data.get(key))),
            ));
        }
    }
    let extra: Vec<&String> = data.keys().filter(|k| !expected.evt_data.contains_key(*k)).collect();
    if !allow_extra_keys && !extra.is_empty() {
        let keys = extra.iter().map(|k| k.as_str()).collect::<Vec<_>>().join(", ");
        return Err(failure(
            "evt_data_rule",
            "only the evtData keys of mapping.md whose webhook value is non-empty",
            format!("extra keys: {keys}"),
        ));
    }
    Ok(())
}

fn show(value: Option<&Value>) -> String {
    value.map_or("absent".to_string(), Value::to_string)
}
