//! Why the reference mapping expects a record for an event, or expects none (pure): the rule
//! that decided it (environment and `send_sandbox`, the event switch, the downgrade rule), in
//! `mapping.md` words, so that a missing or extra record names its cause.

use serde::{Deserialize, Serialize};

use crate::mapping::{Settings, Skip, map_event};
use crate::qonversion::WebhookEvent;

/// The rule that decided whether an event is forwarded.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Rule {
    /// Forwarded: every rule let it through.
    Forwarded,
    /// Not forwarded: sandbox (or no environment) while `send_sandbox` is false.
    Sandbox,
    /// Not forwarded: `events.<name>.enabled` is false.
    EventSwitch,
    /// Not forwarded: `subscription_downgraded` is never forwarded.
    Downgrade,
    /// Not forwarded: an event name outside the catalogue.
    UnknownEvent,
    /// Not forwarded: no identity.
    NoIdentity,
}

/// Why one event of a case is, or is not, expected to give a record.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RecordReason {
    /// The webhook's `event_name`.
    pub event: String,
    /// Whether the reference uploads a record for it.
    pub expected: bool,
    /// The deciding rule.
    pub rule: Rule,
    /// The reason in words.
    pub why: String,
}

impl std::fmt::Display for RecordReason {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let verdict = if self.expected { "a record is expected" } else { "no record is expected" };
        write!(f, "{}: {verdict}: {}", self.event, self.why)
    }
}

/// The reason for each event of a case, in send order.
///
/// ```
/// use qc_harness::{Settings, WebhookEvent};
/// use qc_harness::conformance::reasons::{reasons, Rule};
/// let event: WebhookEvent = serde_json::from_value(serde_json::json!({
///     "event_name": "trial_started", "custom_user_id": "u1", "time": 1700000000,
///     "environment": "sandbox"})).unwrap();
/// let why = reasons(&[event], &Settings::default());
/// assert_eq!(why[0].rule, Rule::Sandbox);
/// assert!(why[0].to_string().contains("send_sandbox is false"), "{}", why[0]);
/// ```
pub fn reasons(events: &[WebhookEvent], settings: &Settings) -> Vec<RecordReason> {
    events.iter().map(|event| reason(event, settings)).collect()
}

fn reason(event: &WebhookEvent, settings: &Settings) -> RecordReason {
    let name = event.event_name.clone();
    let (rule, why) = match map_event(event, settings) {
        Ok(record) => (Rule::Forwarded, forwarded_why(event, settings, &record.evt_name)),
        Err(skip) => skipped_why(event, skip),
    };
    RecordReason { event: name, expected: rule == Rule::Forwarded, rule, why }
}

fn environment(event: &WebhookEvent) -> String {
    match event.environment.get() {
        Some(env) => format!("environment {env:?}"),
        None => "no environment".to_string(),
    }
}

fn forwarded_why(event: &WebhookEvent, settings: &Settings, sent_as: &str) -> String {
    let mut why = if event.is_production() {
        format!("{} is forwarded; the event is enabled", environment(event))
    } else {
        format!("{} is forwarded because send_sandbox is true; the event is enabled", environment(event))
    };
    if sent_as != event.event_name {
        why.push_str(&format!("; sent as {sent_as:?} (events.{}.name)", event.event_name));
    }
    if !settings.send_revenue {
        why.push_str("; send_revenue is false: no revenue");
    }
    why
}

fn skipped_why(event: &WebhookEvent, skip: Skip) -> (Rule, String) {
    match skip {
        Skip::Sandbox => (
            Rule::Sandbox,
            format!("{} and send_sandbox is false (only \"production\" is forwarded)", environment(event)),
        ),
        Skip::Disabled => (
            Rule::EventSwitch,
            format!("events.{}.enabled is false in this variant's settings", event.event_name),
        ),
        Skip::NotForwardable => {
            (Rule::Downgrade, "subscription_downgraded is never forwarded (the downgrade rule)".to_string())
        }
        Skip::UnknownEvent => (Rule::UnknownEvent, "not a known event name".to_string()),
        Skip::NoIdentity => {
            (Rule::NoIdentity, "custom_user_id and properties._q_custom_user_id are both empty".to_string())
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn event(name: &str, env: &str) -> WebhookEvent {
        serde_json::from_value(
            json!({"event_name": name, "custom_user_id": "u", "time": 1, "environment": env}),
        )
        .unwrap()
    }

    #[test]
    fn each_rule_is_named() {
        let mut settings = Settings::default();
        settings.event_mut("trial_started").enabled = Some(false);
        let rules: Vec<Rule> = reasons(
            &[
                event("trial_started", "production"),
                event("trial_converted", "sandbox"),
                event("subscription_downgraded", "production"),
                event("trial_converted", "production"),
            ],
            &settings,
        )
        .into_iter()
        .map(|r| r.rule)
        .collect();
        assert_eq!(rules, [Rule::EventSwitch, Rule::Sandbox, Rule::Downgrade, Rule::Forwarded]);
    }

    #[test]
    fn a_forwarded_sandbox_event_names_send_sandbox_and_a_rename() {
        let mut settings = Settings { send_sandbox: true, ..Settings::default() };
        settings.event_mut("trial_converted").name = Some("Trial Converted".into());
        let why = reasons(&[event("trial_converted", "sandbox")], &settings).remove(0);
        assert!(why.expected);
        assert!(why.why.contains("send_sandbox is true") && why.why.contains("\"Trial Converted\""), "{why}");
    }
}
