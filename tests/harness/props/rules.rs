//! The reference mapping against hand-written rules of `mapping.md` (forwarding, identity,
//! `ts`, `evtName`, the revenue switches, negative refunds), written here independently of
//! `src/mapping` and the properties (which derive their expectations from the reference
//! mapping itself), on 4,000 generated cases per seed.

use proptest::strategy::{Strategy, ValueTree};
use proptest::test_runner::{Config, RngAlgorithm, RngSeed, TestRunner};
use qc_harness::qonversion::EVENT_KINDS;
use qc_harness::{Settings, WebhookEvent, map_event, strategies};
use serde_json::Value;

/// What `mapping.md` says the record is, as far as these rules go.
#[derive(Debug)]
struct Expected {
    identity: String,
    ts: Option<i64>,
    evt_name: String,
    revenue_allowed: bool,
    refund: bool,
}

/// `mapping.md` "Is the event forwarded?" and "The record", read directly.
fn expected(event: &WebhookEvent, settings: &Settings) -> Option<Expected> {
    let name = event.event_name.as_str();
    let kind = EVENT_KINDS.iter().find(|k| k.name == name && name != "subscription_downgraded")?;
    let own = settings.events.get(name);
    if own.and_then(|e| e.enabled) == Some(false) {
        return None;
    }
    let production = event.environment.get().map(String::as_str) == Some("production");
    if !production && !settings.send_sandbox {
        return None;
    }
    // `properties._q_custom_user_id` may be a number (CleverTap takes numeric identities).
    let from_properties = match event.properties.get().and_then(|p| p.get("_q_custom_user_id")) {
        Some(Value::String(s)) => Some(s.clone()),
        Some(Value::Number(n)) => Some(n.to_string()),
        _ => None,
    };
    let identity = [event.custom_user_id.get().cloned(), from_properties]
        .into_iter()
        .flatten()
        .find(|s| !s.is_empty())?;
    let custom_name = own.and_then(|e| e.name.clone()).filter(|n| !n.is_empty());
    Some(Expected {
        identity,
        ts: event.time.get().or(event.created_at.get()).copied(),
        evt_name: custom_name.unwrap_or_else(|| name.to_string()),
        revenue_allowed: settings.send_revenue
            && own.and_then(|e| e.send_revenue).unwrap_or(kind.carries_revenue),
        refund: matches!(name, "subscription_refunded" | "in_app_refunded"),
    })
}

fn cases(seed: u64, n: usize) -> Vec<(WebhookEvent, Settings)> {
    let config =
        Config { rng_algorithm: RngAlgorithm::ChaCha, rng_seed: RngSeed::Fixed(seed), ..Config::default() };
    let mut runner = TestRunner::new(config);
    let strategy = strategies::case();
    (0..n).map(|_| strategy.new_tree(&mut runner).unwrap().current()).collect()
}

/// Checks the reference mapping on `n` cases of `seed`; returns how many were forwarded.
fn check_rules(seed: u64, n: usize) -> usize {
    let mut forwarded = 0;
    for (event, settings) in cases(seed, n) {
        let got = map_event(&event, &settings).ok();
        let want = expected(&event, &settings);
        let context = || format!("{} with {settings:?}", serde_json::to_string(&event).unwrap());
        let (Some(got), Some(want)) = (got.as_ref(), want.as_ref()) else {
            assert_eq!(got.is_some(), want.is_some(), "forwarded? {want:?} vs {got:?}: {}", context());
            continue;
        };
        forwarded += 1;
        assert_eq!(got.identity, want.identity, "identity: {}", context());
        assert_eq!(got.evt_name, want.evt_name, "evtName: {}", context());
        if want.ts.is_some() {
            assert_eq!(got.ts, want.ts, "ts: {}", context());
        }
        let revenue = got.evt_data.get("revenue").and_then(|v| v.as_f64());
        assert!(want.revenue_allowed || revenue.is_none(), "revenue switched off: {}", context());
        assert_eq!(
            revenue.is_some(),
            got.evt_data.contains_key("currency"),
            "revenue and currency: {}",
            context()
        );
        if want.refund {
            assert!(revenue.is_none_or(|r| r <= 0.0), "a refund is negative: {}", context());
        }
    }
    forwarded
}

#[test]
fn reference_mapping_follows_the_hand_written_rules_seed_1() {
    assert!(check_rules(1, 4_000) > 1_000);
}

#[test]
fn reference_mapping_follows_the_hand_written_rules_seed_2() {
    assert!(check_rules(2, 4_000) > 1_000);
}
