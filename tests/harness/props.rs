//! Tests: property tests of relay mappings (strategies, properties, `qc-harness prop`).
//!
//! - here: the reference mapping against every property, and what the strategies generate;
//! - [`properties`]: each property fails on the broken record it is about;
//! - [`rules`]: the reference mapping against hand-written rules of `mapping.md`;
//! - [`lines`]: the JSON-lines adapter;
//! - [`cli`]: `qc-harness prop` through the built binary, catching broken relays.

mod cli;
mod lines;
mod properties;
mod rules;

use std::collections::BTreeSet;

use proptest::prelude::*;
use proptest::strategy::ValueTree;
use proptest::test_runner::{FileFailurePersistence, TestRunner};
use qc_harness::mapping::revenue::currency;
use qc_harness::props::{CheckOptions, check};
use qc_harness::qonversion::{EVENT_KINDS, TransactionId};
use qc_harness::{Field, Settings, WebhookEvent, map_event, strategies};

// The reference mapping against independent expectations: [`rules`] (hand-written rules of
// mapping.md, 8,000 cases) and the Python oracle's outputs in tests/expected/ (`fixtures`).

proptest! {
    #![proptest_config(ProptestConfig {
        cases: 2_000,
        failure_persistence: Some(Box::new(FileFailurePersistence::Direct(
            concat!(env!("CARGO_MANIFEST_DIR"), "/proptest-regressions/reference_mapping.txt")))),
        ..ProptestConfig::default()
    })]
    // Regressions of this test are kept in proptest-regressions/ and replayed first.
    #[test]
    fn reference_records_satisfy_every_property((event, settings) in strategies::case()) {
        let records: Vec<_> = map_event(&event, &settings).iter().map(|r| r.to_value()).collect();
        let checked = check(&event, &settings, &records, CheckOptions::default());
        prop_assert!(checked.is_ok(), "{}", checked.unwrap_err());
    }
}

fn sample(n: usize) -> Vec<(WebhookEvent, Settings)> {
    let mut runner = TestRunner::deterministic();
    let strategy = strategies::case();
    (0..n).map(|_| strategy.new_tree(&mut runner).unwrap().current()).collect()
}

/// Tags saying which documented variation an event or its settings shows.
fn tags(event: &WebhookEvent, settings: &Settings) -> Vec<String> {
    let mut tags = vec![format!("kind:{}", event.event_name)];
    let text = |f: &Field<String>| f.get().cloned().unwrap_or_else(|| "<absent>".into());
    tags.push(format!("platform:{}", text(&event.platform)));
    tags.push(format!("environment:{}", text(&event.environment)));
    if let Some(c) = currency(event) {
        tags.push(format!("currency:{c}"));
    }
    let id = event.custom_user_id.get();
    tags.extend(id.filter(|i| i.is_empty()).map(|_| "id:empty".to_string()));
    tags.extend(id.filter(|i| !i.is_ascii()).map(|_| "id:unicode".to_string()));
    tags.extend(id.filter(|i| i.len() >= 100).map(|_| "id:long".to_string()));
    let fallback = event.properties.get().is_some_and(|p| p.contains_key("_q_custom_user_id"));
    if fallback && id.is_none_or(|i| i.is_empty()) {
        tags.push("id:fallback".into());
    }
    if event.time == Field::Null {
        tags.push("time:null".into());
    }
    let txn = event.transaction.get().and_then(|t| t.transaction_id.get());
    if matches!(txn, Some(TransactionId::Number(_))) {
        tags.push("transaction:numeric".into());
    }
    if !event.extra.is_empty() {
        tags.push("extra-fields".into());
    }
    tags.extend(revenue_tags(event));
    tags.extend(settings_tags(settings));
    tags
}

fn revenue_tags(event: &WebhookEvent) -> Vec<String> {
    let mut tags = Vec::new();
    if let Some(r) = event.revenue.get() {
        tags.extend(r.is_proceed.get().map(|p| format!("is_proceed:{p}")));
        tags.extend(r.proceeds_rate.get().map(|p| format!("rate:{p}")));
    }
    if let (Some(p), Some(r)) = (event.price.get(), event.revenue.get()) {
        let amount = |v: &Field<serde_json::Number>| v.get().and_then(|n| n.as_f64());
        let (price, revenue) = (amount(&p.value).map(f64::abs), amount(&r.value).map(f64::abs));
        let rate = r.proceeds_rate.get().and_then(|n| n.as_f64()).unwrap_or(70.0);
        let net = r.is_proceed.get() == Some(&1);
        let follows = price.zip(revenue).is_some_and(|(p, v)| {
            let want = if net { p * rate / 100.0 } else { p };
            (want - v).abs() <= 1e-9 * want.max(1.0)
        });
        if !follows {
            tags.push("money:revenue-amount-differs".into());
        }
        if r.currency.get().is_some_and(|c| Some(c) != p.currency.get()) {
            tags.push("money:revenue-currency-differs".into());
        }
    }
    let value = event.price.get().and_then(|p| p.value.get()).and_then(|v| v.as_f64());
    if let Some(v) = value {
        let fraction = format!("{}", v.abs()).split('.').nth(1).map_or(0, str::len);
        let kind = match v.abs() {
            0.0 => "zero",
            a if a < 1e-3 => "tiny",
            a if a >= 1e6 => "huge",
            _ if fraction > 6 => "many-decimals",
            _ => "plain",
        };
        tags.push(format!("amount:{kind}"));
        if event.event_name.contains("refunded") {
            tags.push(format!("refund:{}", if v < 0.0 { "negative" } else { "positive" }));
        }
    }
    tags
}

fn settings_tags(settings: &Settings) -> Vec<String> {
    let mut tags = vec![
        format!("send_revenue:{}", settings.send_revenue),
        format!("send_proceeds:{}", settings.send_proceeds),
        format!("send_sandbox:{}", settings.send_sandbox),
    ];
    if !settings.send_revenue && settings.events.values().any(|e| e.send_revenue == Some(true)) {
        tags.push("revenue-off-event-on".into());
    }
    for e in settings.events.values() {
        tags.extend(e.enabled.map(|v| format!("event.enabled:{v}")));
        tags.extend(e.send_revenue.map(|v| format!("event.send_revenue:{v}")));
        tags.extend(
            e.name.as_ref().map(|n| format!("event.name:{}", if n.is_empty() { "empty" } else { "custom" })),
        );
    }
    tags
}

#[test]
fn strategies_cover_every_documented_variation() {
    let cases = sample(4_000);
    let seen: BTreeSet<String> = cases.iter().flat_map(|(e, s)| tags(e, s)).collect();
    let mut wanted: Vec<String> = EVENT_KINDS.iter().map(|k| format!("kind:{}", k.name)).collect();
    wanted.extend(["kind:subscription_paused", "kind:"].map(String::from));
    wanted.extend(
        [
            "platform:iOS",
            "platform:Android",
            "platform:<absent>",
            "environment:production",
            "environment:sandbox",
            "environment:<absent>",
            "currency:JPY",
            "currency:USD",
            "currency:TRY",
            "id:empty",
            "id:unicode",
            "id:long",
            "id:fallback",
            "time:null",
            "transaction:numeric",
            "extra-fields",
            "is_proceed:0",
            "is_proceed:1",
            "rate:70",
            "rate:85",
            "amount:zero",
            "amount:tiny",
            "amount:huge",
            "amount:many-decimals",
            "amount:plain",
            "refund:negative",
            "refund:positive",
            "money:revenue-amount-differs",
            "money:revenue-currency-differs",
            "send_revenue:false",
            "send_proceeds:false",
            "send_sandbox:true",
            "event.enabled:false",
            "event.send_revenue:true",
            "event.send_revenue:false",
            "event.name:custom",
            "event.name:empty",
            "revenue-off-event-on",
        ]
        .map(String::from),
    );
    let missing: Vec<&String> = wanted.iter().filter(|w| !seen.contains(*w)).collect();
    assert!(missing.is_empty(), "never generated: {missing:?}");
}

#[test]
fn strategies_mostly_generate_forwarded_events_with_revenue() {
    let cases = sample(4_000);
    let records: Vec<_> = cases.iter().filter_map(|(e, s)| map_event(e, s).ok()).collect();
    let with_revenue = records.iter().filter(|r| r.evt_data.contains_key("revenue")).count();
    assert!(records.len() > 1_000, "only {} of 4000 cases are forwarded", records.len());
    assert!(with_revenue > 300, "only {with_revenue} forwarded records carry revenue");
}

#[test]
fn currencies_without_a_minor_unit_get_whole_amounts() {
    let cases = sample(4_000);
    let amount = |v: &Field<serde_json::Number>| v.get().and_then(|n| n.as_f64());
    let mut jpy: Vec<f64> = Vec::new();
    for (event, _) in &cases {
        if let Some(p) = event.price.get().filter(|p| p.currency.get().map(String::as_str) == Some("JPY")) {
            jpy.extend(amount(&p.value));
        }
        // A gross revenue in its own currency; a net one is gross x rate and may have decimals.
        let gross = |r: &&qc_harness::qonversion::Revenue| r.is_proceed.get() != Some(&1);
        let revenue = event.revenue.get().filter(gross);
        if let Some(r) = revenue.filter(|r| r.currency.get().map(String::as_str) == Some("JPY")) {
            jpy.extend(amount(&r.value));
        }
    }
    assert!(jpy.len() > 20);
    assert!(jpy.iter().all(|v| v.fract() == 0.0), "{jpy:?}");
}
