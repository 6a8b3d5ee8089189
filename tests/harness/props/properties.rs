//! Each property fails on the broken record it is about, and names it.

use qc_harness::props::{CheckOptions, check};
use qc_harness::{Settings, WebhookEvent, map_event};
use serde_json::{Value, json};

fn event(body: Value) -> WebhookEvent {
    serde_json::from_value(body).unwrap()
}

fn renewal() -> WebhookEvent {
    event(json!({
        "event_name": "subscription_renewed", "custom_user_id": "u1", "environment": "production",
        "platform": "iOS", "time": 1700000000, "product_id": "pro",
        "transaction": {"transaction_id": 123456},
        "price": {"value": 10.0, "currency": "EUR"},
        "revenue": {"value": 10.0, "value_usd": 10.8, "currency": "EUR", "is_proceed": 0, "proceeds_rate": 85}
    }))
}

fn refund() -> WebhookEvent {
    let mut e = renewal();
    e.event_name = "in_app_refunded".into();
    e
}

fn reference(event: &WebhookEvent, settings: &Settings) -> Value {
    map_event(event, settings).unwrap().to_value()
}

/// The property that fails when `edit` is applied to the reference record.
fn broken(event: &WebhookEvent, settings: &Settings, edit: impl FnOnce(&mut Value)) -> String {
    let mut record = reference(event, settings);
    edit(&mut record);
    match check(event, settings, &[record], CheckOptions::default()) {
        Ok(()) => "holds".into(),
        Err(f) => f.property,
    }
}

#[test]
fn the_reference_record_satisfies_every_property() {
    let e = renewal();
    assert_eq!(broken(&e, &Settings::default(), |_| {}), "holds");
    assert_eq!(reference(&e, &Settings::default())["evtData"]["revenue"], json!(8.5));
}

#[test]
fn gross_instead_of_proceeds_breaks_the_revenue_rule() {
    assert_eq!(
        broken(&renewal(), &Settings::default(), |r| r["evtData"]["revenue"] = json!(10.0)),
        "revenue_rule"
    );
}

#[test]
fn revenue_in_usd_breaks_the_revenue_rule() {
    let got = broken(&renewal(), &Settings::default(), |r| {
        r["evtData"]["revenue"] = json!(9.18);
        r["evtData"]["currency"] = json!("USD");
    });
    assert_eq!(got, "revenue_rule");
}

#[test]
fn revenue_within_the_tolerance_holds() {
    assert_eq!(
        broken(&renewal(), &Settings::default(), |r| r["evtData"]["revenue"] = json!(8.5000001)),
        "holds"
    );
    assert_eq!(
        broken(&renewal(), &Settings::default(), |r| r["evtData"]["revenue"] = json!(8.50001)),
        "revenue_rule"
    );
}

#[test]
fn a_missing_currency_breaks_the_revenue_rule() {
    let got = broken(&renewal(), &Settings::default(), |r| {
        r["evtData"].as_object_mut().unwrap().remove("currency");
    });
    assert_eq!(got, "revenue_rule");
}

#[test]
fn a_positive_refund_breaks_refunds_are_negative() {
    let e = refund();
    assert_eq!(reference(&e, &Settings::default())["evtData"]["revenue"], json!(-8.5));
    assert_eq!(
        broken(&e, &Settings::default(), |r| r["evtData"]["revenue"] = json!(8.5)),
        "refunds_are_negative"
    );
}

#[test]
fn another_identity_breaks_the_identity_rule() {
    assert_eq!(broken(&renewal(), &Settings::default(), |r| r["identity"] = json!("QON_1")), "identity_rule");
}

#[test]
fn a_numeric_identity_with_the_same_digits_holds() {
    let mut e = renewal();
    e.custom_user_id = qc_harness::Field::Value("42".into());
    assert_eq!(broken(&e, &Settings::default(), |r| r["identity"] = json!(42)), "holds");
}

#[test]
fn milliseconds_fail_clevertaps_record_checks() {
    let got = broken(&renewal(), &Settings::default(), |r| r["ts"] = json!(1700000000000i64));
    assert_eq!(got, "clevertap_accepts_the_record");
}

#[test]
fn created_at_instead_of_time_breaks_the_ts_rule() {
    assert_eq!(broken(&renewal(), &Settings::default(), |r| r["ts"] = json!(1600000000)), "ts_rule");
}

#[test]
fn a_prohibited_key_fails_clevertaps_record_checks() {
    let got = broken(&renewal(), &Settings::default(), |r| r["evtData"]["app.version"] = json!("1"));
    assert_eq!(got, "clevertap_accepts_the_record");
}

#[test]
fn ignoring_the_custom_name_breaks_the_event_name_rule() {
    let mut settings = Settings::default();
    settings.event_mut("subscription_renewed").name = Some("Renewal".into());
    let got = broken(&renewal(), &settings, |r| r["evtName"] = json!("subscription_renewed"));
    assert_eq!(got, "event_name_rule");
}

#[test]
fn an_extra_key_breaks_the_evt_data_rule_unless_allowed() {
    let e = renewal();
    let mut record = reference(&e, &Settings::default());
    record["evtData"]["sandbox"] = json!(false);
    let strict = check(&e, &Settings::default(), &[record.clone()], CheckOptions::default());
    assert_eq!(strict.unwrap_err().property, "evt_data_rule");
    let lenient = CheckOptions { allow_extra_keys: true, ..CheckOptions::default() };
    assert!(check(&e, &Settings::default(), &[record], lenient).is_ok());
}

#[test]
fn a_transaction_id_as_a_number_breaks_the_evt_data_rule() {
    let got = broken(&renewal(), &Settings::default(), |r| r["evtData"]["transaction_id"] = json!(123456));
    assert_eq!(got, "evt_data_rule");
}

#[test]
fn two_records_break_at_most_one_record() {
    let e = renewal();
    let record = reference(&e, &Settings::default());
    let failure =
        check(&e, &Settings::default(), &[record.clone(), record], CheckOptions::default()).unwrap_err();
    assert_eq!(failure.property, "at_most_one_record");
    assert_eq!(failure.observed, "2 records");
}

#[test]
fn no_record_for_a_forwarded_event_breaks_forwarded_when_the_rules_say() {
    let failure = check(&renewal(), &Settings::default(), &[], CheckOptions::default()).unwrap_err();
    assert_eq!(failure.property, "forwarded_when_the_rules_say");
}

#[test]
fn a_record_for_a_sandbox_event_breaks_nothing_uploaded_when_not_forwarded() {
    let mut e = renewal();
    let record = reference(&e, &Settings::default());
    e.environment = qc_harness::Field::Value("sandbox".into());
    let failure = check(&e, &Settings::default(), &[record], CheckOptions::default()).unwrap_err();
    assert_eq!(failure.property, "nothing_uploaded_when_not_forwarded");
    assert!(failure.expected.contains("send_sandbox is false"), "{}", failure.expected);
}
