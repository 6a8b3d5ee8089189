//! Hints for recognisable mistakes (pure): given what a case expected and what differs, name
//! the likely cause (`ts` in milliseconds, gross for proceeds, a flipped sign, a custom event
//! name not applied, records dropped in variants that disable an event). The root-cause
//! summary groups failures by these.

use serde::{Deserialize, Serialize};
use serde_json::Value;

use super::compare::Difference;
use crate::mapping::Settings;
use crate::mapping::revenue::{revenue_value, within_tolerance};
use crate::qonversion::WebhookEvent;
use crate::qonversion::catalogue::event_kind;

/// A recognised pattern behind one difference of a case.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DiffHint {
    /// The field (`ts`, `evtData.revenue`, `evtName`) or `(record)` for a whole record.
    pub path: String,
    /// What the pattern is, short (grouping key): e.g. `observed = expected × 1000`.
    pub pattern: String,
    /// The likely cause and fix.
    pub hint: String,
}

/// The hints for one case's differences.
///
/// ```
/// use qc_harness::conformance::{Difference, hints::case_hints};
/// let diff = Difference::Field { path: "ts".into(), expected: Some(1_700_000_000.into()),
///     observed: Some(1_700_000_000_000_i64.into()) };
/// let hints = case_hints(&[], &qc_harness::Settings::default(), &[diff]);
/// assert!(hints[0].hint.contains("milliseconds"));
/// ```
pub fn case_hints(events: &[WebhookEvent], settings: &Settings, differences: &[Difference]) -> Vec<DiffHint> {
    let mut hints: Vec<DiffHint> = Vec::new();
    for difference in differences {
        let hint = match difference {
            Difference::Field { path, expected: Some(e), observed: Some(o) } => {
                field_hint(path, e, o, events, settings)
            }
            Difference::Missing { .. } => disabled_variant_hint(settings),
            _ => None,
        };
        if let Some(hint) = hint.filter(|h| !hints.contains(h)) {
            hints.push(hint);
        }
    }
    hints
}

fn hint(path: &str, pattern: &str, text: String) -> Option<DiffHint> {
    Some(DiffHint { path: path.to_string(), pattern: pattern.to_string(), hint: text })
}

fn field_hint(
    path: &str,
    e: &Value,
    o: &Value,
    events: &[WebhookEvent],
    settings: &Settings,
) -> Option<DiffHint> {
    if let (Some(e), Some(o)) = (e.as_f64(), o.as_f64()) {
        return number_hint(path, e, o, events, settings);
    }
    if path == "evtName" {
        let (e, o) = (e.as_str()?, o.as_str()?);
        if event_kind(o).is_some() && settings.event_name_for(event_kind(o)?) == e {
            return hint(
                path,
                "machine name instead of the custom name",
                format!(
                    "the event is renamed in the settings (events.{o}.name = {e:?}) but was sent under its \
                     machine name: use the custom name when it is set"
                ),
            );
        }
    }
    None
}

fn number_hint(path: &str, e: f64, o: f64, events: &[WebhookEvent], settings: &Settings) -> Option<DiffHint> {
    if e != 0.0 && o == e * 1000.0 {
        let text = if path == "ts" {
            "ts is in milliseconds; CleverTap wants epoch seconds (divide by 1000)".to_string()
        } else {
            format!("{path} is 1000 times too large (milliseconds instead of seconds?)")
        };
        return hint(path, "observed = expected × 1000", text);
    }
    if !path.ends_with("revenue") {
        return None;
    }
    if e != 0.0 && within_tolerance(-e, o) {
        let text = if e < 0.0 {
            "refunds are negative in CleverTap: send -abs(amount) for subscription_refunded and in_app_refunded"
        } else {
            "the sign is flipped: only refunds are negative"
        };
        return hint(path, "sign flipped", text.to_string());
    }
    let other = events.iter().find_map(|event| {
        let kind = event_kind(&event.event_name)?;
        revenue_value(event, !settings.send_proceeds, kind.is_refund)
    })?;
    if within_tolerance(other.amount, o) {
        let text = if settings.send_proceeds {
            "gross (price) was sent where proceeds were expected: send_proceeds is true"
        } else {
            "proceeds were sent where gross (price) was expected: send_proceeds is false"
        };
        return hint(path, "gross and proceeds swapped", text.to_string());
    }
    None
}

fn disabled_variant_hint(settings: &Settings) -> Option<DiffHint> {
    let disabled: Vec<&str> =
        settings.events.iter().filter(|(_, e)| e.enabled == Some(false)).map(|(n, _)| n.as_str()).collect();
    if disabled.is_empty() {
        return None;
    }
    hint(
        "(record)",
        "missing where another event is disabled",
        format!(
            "this variant disables {}; the relay drops events that are still enabled: apply \
             events.<name>.enabled to that event only",
            disabled.join(", ")
        ),
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn field(path: &str, e: Value, o: Value) -> Difference {
        Difference::Field { path: path.into(), expected: Some(e), observed: Some(o) }
    }

    fn renewal() -> WebhookEvent {
        serde_json::from_value(json!({
            "event_name": "subscription_renewed", "custom_user_id": "u", "time": 1,
            "environment": "production", "price": {"value": 10.0, "currency": "USD"},
            "revenue": {"value": 7.0, "currency": "USD", "is_proceed": 1}
        }))
        .unwrap()
    }

    #[test]
    fn milliseconds_sign_and_gross_are_recognised() {
        let s = Settings::default();
        let ms = case_hints(&[], &s, &[field("ts", json!(17), json!(17000))]);
        assert_eq!(ms[0].pattern, "observed = expected × 1000");
        let sign = case_hints(&[], &s, &[field("evtData.revenue", json!(-7.0), json!(7.0))]);
        assert!(sign[0].hint.contains("refunds are negative"), "{sign:?}");
        let gross = case_hints(&[renewal()], &s, &[field("evtData.revenue", json!(7.0), json!(10.0))]);
        assert_eq!(gross[0].pattern, "gross and proceeds swapped", "{gross:?}");
        assert!(case_hints(&[renewal()], &s, &[field("evtData.revenue", json!(7.0), json!(8.0))]).is_empty());
    }

    #[test]
    fn a_machine_name_for_a_renamed_event_and_a_drop_under_a_disabled_variant_are_recognised() {
        let mut s = Settings::default();
        s.event_mut("trial_started").name = Some("Trial".into());
        let renamed = case_hints(&[], &s, &[field("evtName", json!("Trial"), json!("trial_started"))]);
        assert_eq!(renamed[0].pattern, "machine name instead of the custom name");
        assert!(case_hints(&[], &s, &[Difference::Missing { expected: json!({}) }]).is_empty());
        s.event_mut("trial_converted").enabled = Some(false);
        let dropped = case_hints(&[], &s, &[Difference::Missing { expected: json!({}) }]);
        assert!(dropped[0].hint.contains("trial_converted"), "{dropped:?}");
    }
}
