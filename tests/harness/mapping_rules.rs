//! Tests: every rule of the reference mapping (`mapping.md`) and of the settings file.

use qc_harness::mapping::revenue;
use qc_harness::{Settings, Skip, WebhookEvent, map_event};
use serde_json::{Value, json};

fn base() -> Value {
    json!({
        "event_name": "subscription_renewed",
        "user_id": "QON_1",
        "custom_user_id": "user-1",
        "time": 1780000000,
        "created_at": 1780000050,
        "environment": "production",
        "platform": "iOS",
        "product_id": "pro_monthly",
        "ip": "203.0.113.7",
        "country": "DE",
        "app_version": "2.3.0",
        "device_id": "DEV-1",
        "quantity": 1,
        "transaction": {"transaction_id": "tx-2", "original_transaction_id": "tx-1"},
        "price": {"value": 9.99, "value_usd": 10.8, "currency": "EUR"},
        "revenue": {"value": 9.99, "value_usd": 10.8, "currency": "EUR", "is_proceed": 0, "proceeds_rate": 70}
    })
}

fn event(v: Value) -> WebhookEvent {
    serde_json::from_value(v).expect("test event parses")
}

fn with(mut v: Value, key: &str, value: Value) -> Value {
    v[key] = value;
    v
}

fn without(mut v: Value, key: &str) -> Value {
    v.as_object_mut().unwrap().remove(key);
    v
}

fn settings(v: Value) -> Settings {
    Settings::from_json(v.to_string().as_bytes(), "test-settings.json").expect("test settings parse")
}

fn data(v: Value, s: &Settings) -> serde_json::Map<String, Value> {
    map_event(&event(v), s).expect("forwarded").evt_data
}

fn revenue_of(v: Value, s: &Settings) -> Option<f64> {
    data(v, s).get("revenue").map(|r| r.as_f64().unwrap())
}

#[test]
fn forwards_a_known_production_event_with_an_identity() {
    let record = map_event(&event(base()), &Settings::default()).unwrap();
    assert_eq!(record.identity, "user-1");
    assert_eq!(record.record_type, "event");
    assert_eq!(record.evt_name, "subscription_renewed");
    assert_eq!(record.ts, Some(1780000000));
}

#[test]
fn skips_unknown_events() {
    let r = map_event(&event(with(base(), "event_name", json!("subscription_paused"))), &Settings::default());
    assert_eq!(r, Err(Skip::UnknownEvent));
}

#[test]
fn never_forwards_subscription_downgraded() {
    let v = with(base(), "event_name", json!("subscription_downgraded"));
    let all_on =
        settings(json!({"send_sandbox": true, "events": {"subscription_downgraded": {"enabled": true}}}));
    assert_eq!(map_event(&event(v), &all_on), Err(Skip::NotForwardable));
}

#[test]
fn skips_disabled_events() {
    let s = settings(json!({"events": {"subscription_renewed": {"enabled": false}}}));
    assert_eq!(map_event(&event(base()), &s), Err(Skip::Disabled));
}

#[test]
fn skips_sandbox_events_unless_send_sandbox() {
    let sandbox = with(base(), "environment", json!("sandbox"));
    assert_eq!(map_event(&event(sandbox.clone()), &Settings::default()), Err(Skip::Sandbox));
    assert!(map_event(&event(sandbox), &settings(json!({"send_sandbox": true}))).is_ok());
}

#[test]
fn treats_absent_or_other_environment_as_sandbox() {
    let absent = without(base(), "environment");
    let other = with(base(), "environment", json!("staging"));
    for v in [absent, other] {
        assert_eq!(map_event(&event(v), &Settings::default()), Err(Skip::Sandbox));
    }
}

#[test]
fn falls_back_to_q_custom_user_id_when_custom_user_id_is_empty() {
    let v = with(base(), "custom_user_id", json!(""));
    let v = with(v, "properties", json!({"_q_custom_user_id": "from-props"}));
    assert_eq!(map_event(&event(v), &Settings::default()).unwrap().identity, "from-props");
}

#[test]
fn skips_events_without_any_identity() {
    let empty = with(base(), "custom_user_id", json!(""));
    let empty_props = with(empty.clone(), "properties", json!({"_q_custom_user_id": ""}));
    let absent = without(base(), "custom_user_id");
    for v in [empty, empty_props, absent] {
        assert_eq!(map_event(&event(v), &Settings::default()), Err(Skip::NoIdentity));
    }
}

#[test]
fn ts_falls_back_to_created_at_when_time_is_null() {
    let v = with(base(), "time", Value::Null);
    assert_eq!(map_event(&event(v), &Settings::default()).unwrap().ts, Some(1780000050));
}

#[test]
fn evt_data_has_exactly_the_documented_keys_when_present() {
    let mut v = with(base(), "new_product_id", json!("pro_yearly"));
    v["old_product_id"] = json!("pro_monthly");
    let keys: Vec<String> = data(v, &Settings::default()).keys().cloned().collect();
    let expected = [
        "app_version",
        "country",
        "currency",
        "device_id",
        "ip",
        "new_product_id",
        "old_product_id",
        "os_name",
        "platform",
        "product_id",
        "quantity",
        "revenue",
        "transaction_id",
    ];
    assert_eq!(keys, expected);
}

#[test]
fn evt_data_omits_empty_values_but_keeps_zero_and_false() {
    let mut v = with(base(), "ip", json!(""));
    v["country"] = Value::Null;
    v["quantity"] = json!(0);
    v = without(v, "app_version");
    let d = data(v, &Settings::default());
    assert!(!d.contains_key("ip") && !d.contains_key("country") && !d.contains_key("app_version"));
    assert_eq!(d["quantity"], json!(0));
}

#[test]
fn os_name_copies_platform() {
    let d = data(with(base(), "platform", json!("Android")), &Settings::default());
    assert_eq!((d["platform"].clone(), d["os_name"].clone()), (json!("Android"), json!("Android")));
}

#[test]
fn transaction_id_is_always_a_string() {
    let v = with(base(), "transaction", json!({"transaction_id": 1000000123456789_u64}));
    assert_eq!(data(v, &Settings::default())["transaction_id"], json!("1000000123456789"));
}

#[test]
fn revenue_defaults_to_proceeds_at_the_webhook_rate() {
    let v = with(
        base(),
        "revenue",
        json!({"value": 10.0, "currency": "EUR", "is_proceed": 0, "proceeds_rate": 85}),
    );
    let v = with(v, "price", json!({"value": 10.0, "currency": "EUR"}));
    assert_eq!(revenue_of(v, &Settings::default()), Some(8.5));
}

#[test]
fn proceeds_use_the_default_rate_70_when_absent() {
    let v = with(base(), "revenue", json!({"value": 10.0, "currency": "EUR", "is_proceed": 0}));
    let v = with(v, "price", json!({"value": 10.0, "currency": "EUR"}));
    assert_eq!(revenue_of(v, &Settings::default()), Some(7.0));
}

#[test]
fn proceeds_are_the_revenue_value_when_is_proceed_is_1() {
    let v = with(
        base(),
        "revenue",
        json!({"value": 6.99, "currency": "EUR", "is_proceed": 1, "proceeds_rate": 70}),
    );
    assert_eq!(revenue_of(v, &Settings::default()), Some(6.99));
}

#[test]
fn gross_is_the_price_when_proceeds_are_off() {
    let v = with(base(), "revenue", json!({"value": 6.99, "currency": "EUR", "is_proceed": 1}));
    assert_eq!(revenue_of(v, &settings(json!({"send_proceeds": false}))), Some(9.99));
}

#[test]
fn gross_falls_back_to_revenue_value_when_not_a_proceed() {
    let v = without(base(), "price");
    let v = with(v, "revenue", json!({"value": 20.0, "currency": "USD"}));
    assert_eq!(revenue_of(v.clone(), &settings(json!({"send_proceeds": false}))), Some(20.0));
    assert_eq!(revenue_of(v, &Settings::default()), Some(14.0));
}

#[test]
fn omits_revenue_when_gross_cannot_be_derived() {
    let v = without(base(), "price");
    let v = with(v, "revenue", json!({"value": 7.0, "currency": "USD", "is_proceed": 1}));
    let d = data(v, &settings(json!({"send_proceeds": false})));
    assert!(!d.contains_key("revenue") && !d.contains_key("currency"));
}

#[test]
fn omits_revenue_when_switched_off_globally_or_per_event() {
    let off = settings(json!({"send_revenue": false}));
    let per_event = settings(json!({"events": {"subscription_renewed": {"send_revenue": false}}}));
    for s in [off, per_event] {
        let d = data(base(), &s);
        assert!(!d.contains_key("revenue") && !d.contains_key("currency"));
    }
}

#[test]
fn a_per_event_send_revenue_true_does_not_override_a_global_false() {
    // mapping.md: revenue only when all hold, so both switches must be on.
    let off_on =
        settings(json!({"send_revenue": false, "events": {"subscription_renewed": {"send_revenue": true}}}));
    let d = data(base(), &off_on);
    assert!(!d.contains_key("revenue") && !d.contains_key("currency"), "{d:?}");
    let on_on =
        settings(json!({"send_revenue": true, "events": {"subscription_renewed": {"send_revenue": true}}}));
    assert_eq!(revenue_of(base(), &on_on), Some(6.993));
}

#[test]
fn events_that_carry_no_revenue_by_default_send_none_unless_switched_on() {
    let v = with(base(), "event_name", json!("subscription_canceled"));
    assert!(!data(v.clone(), &Settings::default()).contains_key("revenue"));
    let on = settings(json!({"events": {"subscription_canceled": {"send_revenue": true}}}));
    assert_eq!(revenue_of(v, &on), Some(6.993));
}

#[test]
fn omits_revenue_when_the_webhook_has_no_value() {
    let v = without(without(base(), "price"), "revenue");
    assert!(!data(v, &Settings::default()).contains_key("revenue"));
}

#[test]
fn refunds_are_negative_whatever_the_sign_in_the_webhook() {
    for (name, value) in [("subscription_refunded", 9.99), ("in_app_refunded", -9.99)] {
        let v = with(base(), "event_name", json!(name));
        let v = with(v, "price", json!({"value": value, "currency": "EUR"}));
        let v = with(
            v,
            "revenue",
            json!({"value": value, "currency": "EUR", "is_proceed": 0, "proceeds_rate": 70}),
        );
        assert_eq!(revenue_of(v.clone(), &Settings::default()), Some(-6.993), "{name}");
        assert_eq!(revenue_of(v, &settings(json!({"send_proceeds": false}))), Some(-9.99), "{name}");
    }
}

#[test]
fn currency_is_the_revenue_currency_else_the_price_currency() {
    let v = with(base(), "revenue", json!({"value": 10.0, "currency": "TRY", "is_proceed": 0}));
    let v = with(v, "price", json!({"value": 10.0, "currency": "USD"}));
    assert_eq!(data(v, &Settings::default())["currency"], json!("TRY"));
    let v = with(without(base(), "revenue"), "price", json!({"value": 10.0, "currency": "JPY"}));
    assert_eq!(data(v, &Settings::default())["currency"], json!("JPY"));
}

#[test]
fn uses_custom_event_names_and_falls_back_when_empty() {
    let named = settings(json!({"events": {"subscription_renewed": {"name": "Subscription Renewed"}}}));
    assert_eq!(map_event(&event(base()), &named).unwrap().evt_name, "Subscription Renewed");
    let empty = settings(json!({"events": {"subscription_renewed": {"name": ""}}}));
    assert_eq!(map_event(&event(base()), &empty).unwrap().evt_name, "subscription_renewed");
}

#[test]
fn rounds_revenue_to_six_decimals() {
    assert_eq!(revenue::round(6.992999999999999), 6.993);
    assert_eq!(revenue::round(0.1 + 0.2), 0.3);
    let v = with(base(), "price", json!({"value": 0.01, "currency": "USD"}));
    let v =
        with(v, "revenue", json!({"value": 0.01, "currency": "USD", "is_proceed": 0, "proceeds_rate": 70}));
    assert_eq!(revenue_of(v, &Settings::default()), Some(0.007));
}

#[test]
fn reproduces_qonversions_worked_example_1499_99_try_at_rate_70() {
    let v = with(base(), "price", json!({"value": 1499.99, "currency": "TRY"}));
    let v = with(
        v,
        "revenue",
        json!({"value": 1499.99, "currency": "TRY", "is_proceed": 0, "proceeds_rate": 70}),
    );
    let d = data(v, &Settings::default());
    assert_eq!(d["revenue"], json!(1049.993));
    assert_eq!(d["currency"], json!("TRY"));
}

#[test]
fn tolerance_is_relative_to_the_expected_value() {
    assert!(revenue::within_tolerance(1049.993, 1049.9930005));
    assert!(revenue::within_tolerance(1049.993, 1049.994));
    assert!(!revenue::within_tolerance(1049.993, 1049.995));
    assert!(revenue::within_tolerance(0.0, 0.000_000_9));
    assert!(!revenue::within_tolerance(0.0, 0.000_002));
}

#[test]
fn settings_default_when_keys_are_absent() {
    let s = settings(json!({}));
    assert_eq!(s, Settings::default());
    assert!(s.send_revenue && s.send_proceeds && !s.send_sandbox);
}

#[test]
fn settings_reject_wrong_types_naming_file_and_path() {
    let err =
        Settings::from_json(br#"{"events": {"trial_started": {"enabled": "yes"}}}"#, "s.json").unwrap_err();
    let text = err.to_string();
    assert!(text.starts_with("s.json: events.trial_started.enabled: "), "{text}");
    assert_eq!(err.exit_code(), 2);
}

#[test]
fn settings_reject_unknown_event_names() {
    let err = Settings::from_json(br#"{"events": {"trial_startd": {}}}"#, "s.json").unwrap_err();
    assert!(err.to_string().starts_with("s.json: events.trial_startd: unknown event name"), "{err}");
}

#[test]
fn settings_reject_unknown_top_level_keys() {
    let err = Settings::from_json(br#"{"send_revenues": true}"#, "s.json").unwrap_err();
    let text = err.to_string();
    assert!(text.starts_with("s.json: ") && text.contains("send_revenues"), "{text}");
}

#[test]
fn settings_reject_invalid_json() {
    let err = Settings::from_json(b"{\"send_revenue\": tru", "s.json").unwrap_err();
    assert!(err.to_string().contains("s.json") && err.to_string().contains("not valid JSON"), "{err}");
}

#[test]
fn webhook_round_trips_with_documented_variations() {
    let mut v = with(base(), "time", Value::Null);
    v["transaction"] = json!({"transaction_id": 123456789, "original_transaction_id": 123456000, "grace_period_expires": null});
    v["future_field"] = json!({"nested": [1, 2.5, "x"]});
    v["revenue"]["new_sub_field"] = json!(true);
    let v = without(v, "app_version");
    let parsed = event(v.clone());
    assert_eq!(serde_json::to_value(&parsed).unwrap(), v);
    let no_revenue = without(base(), "revenue");
    assert_eq!(serde_json::to_value(event(no_revenue.clone())).unwrap(), no_revenue);
}

#[test]
fn webhook_with_a_wrong_type_names_the_json_path() {
    let v = with(base(), "transaction", json!({"expires": "soon"}));
    let err = WebhookEvent::from_json(v.to_string().as_bytes(), "e.json").unwrap_err();
    assert!(err.to_string().starts_with("e.json: transaction.expires: "), "{err}");
}

#[test]
fn proceeds_cannot_be_derived_from_a_net_revenue_without_a_value() {
    let v = with(base(), "revenue", json!({"currency": "EUR", "is_proceed": 1}));
    let d = data(v, &Settings::default());
    assert!(!d.contains_key("revenue") && !d.contains_key("currency"), "{d:?}");
}

#[test]
fn integral_float_transaction_ids_are_written_as_integers() {
    let v = with(base(), "transaction", json!({"transaction_id": 500000000000000.0}));
    assert_eq!(data(v, &Settings::default())["transaction_id"], json!("500000000000000"));
}

#[test]
fn a_blank_custom_name_falls_back_to_the_machine_name() {
    let blank = settings(json!({"events": {"subscription_renewed": {"name": "  "}}}));
    assert_eq!(map_event(&event(base()), &blank).unwrap().evt_name, "subscription_renewed");
}

/// Relays breaking one revenue or naming choice fail exactly the cases made for it.
mod broken;
