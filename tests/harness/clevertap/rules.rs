//! One test per per-record rule and code, in the documented order.

use qc_harness::FakeCleverTap;
use serde_json::{Value, json};

use super::{assert_code, assert_processed, batch, event, event_with, upload, without};

#[tokio::test]
async fn code_514_with_the_recorded_text() {
    let fake = FakeCleverTap::start().await;
    let got = upload(&fake, batch(&[profile(json!({"Gender": "GG"}))])).await;
    assert_eq!(got.body["unprocessed"][0]["code"], 514);
    assert_eq!(
        got.body["unprocessed"][0]["error"],
        "Profile data is incorrect. Gender needs to be M/F.Skipped record number : 1"
    );
}

fn profile(data: Value) -> Value {
    json!({"type": "profile", "identity": "user-1", "profileData": data})
}

fn token(data: Value) -> Value {
    json!({"type": "token", "objectId": "__g1234567890abcdef", "tokenData": data})
}

#[tokio::test]
async fn code_524_for_a_type_that_is_not_event_profile_or_token() {
    let fake = FakeCleverTap::start().await;
    assert_code(&fake, event_with("type", json!("page")), 524).await;
    assert_code(&fake, event_with("type", json!("Event")), 524).await;
    assert_code(&fake, without(event("x"), "type"), 524).await;
    assert_code(&fake, json!("not an object"), 524).await;
    assert_code(&fake, json!(42), 524).await;
}

#[tokio::test]
async fn code_523_without_any_identity() {
    let fake = FakeCleverTap::start().await;
    assert_code(&fake, without(event("x"), "identity"), 523).await;
    assert_code(&fake, event_with("identity", json!("")), 523).await;
    assert_code(&fake, event_with("identity", json!(true)), 523).await;
    assert_code(&fake, event_with("identity", Value::Null), 523).await;
}

#[tokio::test]
async fn code_523_with_the_recorded_text_for_identities_over_120_characters() {
    let fake = FakeCleverTap::start().await;
    let real = "'identity' or 'fbId' or 'gpId' or 'objectId' is necessary under 120 chars to identify the user. \
                Skipped record number : 1";
    for key in ["identity", "FBID", "GPID", "objectId"] {
        let mut at_limit = without(event("x"), "identity");
        at_limit[key] = json!("é".repeat(120)); // 120 characters, 240 bytes: accepted
        assert_processed(&fake, at_limit).await;
        let mut over = without(event("x"), "identity");
        over[key] = json!("u".repeat(121));
        let got = upload(&fake, batch(&[over])).await;
        assert_eq!(got.body["unprocessed"][0]["code"], 523, "{key}: {}", got.text);
        assert_eq!(got.body["unprocessed"][0]["error"], real, "{key}");
    }
    // Any one usable identity is enough.
    let mut long_and_short = event_with("identity", json!("u".repeat(200)));
    long_and_short["FBID"] = json!("fb-1");
    assert_processed(&fake, long_and_short).await;
    // The missing-identity case carries the same recorded text.
    let got = upload(&fake, batch(&[event("ok"), without(event("x"), "identity")])).await;
    assert_eq!(got.body["unprocessed"][0]["error"], real.replace(": 1", ": 2"));
}

#[tokio::test]
async fn accepts_each_identity_field_and_numbers_as_identities() {
    let fake = FakeCleverTap::start().await;
    for key in ["identity", "FBID", "GPID"] {
        let record = without(event("x"), "identity");
        let mut with_key = record.clone();
        with_key[key] = json!("someone");
        assert_processed(&fake, with_key).await;
        let mut numeric = record;
        numeric[key] = json!(12345);
        assert_processed(&fake, numeric).await;
    }
    let mut object_id = without(event("x"), "identity");
    object_id["objectId"] = json!("__g1234");
    assert_processed(&fake, object_id).await;
}

#[tokio::test]
async fn code_526_for_an_object_id_that_is_not_a_non_empty_string() {
    let fake = FakeCleverTap::start().await;
    assert_code(&fake, event_with("objectId", json!(123)), 526).await;
    assert_code(&fake, event_with("objectId", json!("")), 526).await;
    assert_code(&fake, event_with("objectId", json!({"id": 1})), 526).await;
    // A numeric objectId is not an identity: alone it fails 523 first.
    let mut alone = without(event("x"), "identity");
    alone["objectId"] = json!(5);
    assert_code(&fake, alone, 523).await;
}

#[tokio::test]
async fn code_525_for_a_timestamp_that_is_not_positive_unix_seconds() {
    let fake = FakeCleverTap::start().await;
    for ts in [json!(0), json!(-5), json!(1_700_000_000_000_i64), json!(1.7e9), json!(1700000000.5)] {
        assert_code(&fake, event_with("ts", ts), 525).await;
    }
    for ts in [json!("abc"), json!(""), json!("1700000000000"), json!("-1"), json!("0"), json!(true)] {
        assert_code(&fake, event_with("ts", ts), 525).await;
    }
    let got = upload(&fake, batch(&[event_with("ts", json!("x"))])).await;
    assert_eq!(
        got.body["unprocessed"][0]["error"],
        "Timestamp should be present in the Unix Epoch format. Skipped record number : 1"
    );
}

#[tokio::test]
async fn accepts_seconds_as_number_or_digits_old_and_future_and_absent_timestamps() {
    let fake = FakeCleverTap::start().await;
    for ts in [
        json!(1),
        json!(1_700_000_000),
        json!("1700000000"),
        json!(99_999_999_999_i64),
        json!(4_102_444_800_i64),
    ] {
        assert_processed(&fake, event_with("ts", ts)).await;
    }
    assert_processed(&fake, without(event("x"), "ts")).await;
}

#[tokio::test]
async fn code_509_for_a_missing_or_empty_event_name() {
    let fake = FakeCleverTap::start().await;
    assert_code(&fake, without(event("x"), "evtName"), 509).await;
    assert_code(&fake, event_with("evtName", json!("")), 509).await;
    assert_code(&fake, event_with("evtName", json!(7)), 509).await;
    let got = upload(&fake, batch(&[event_with("evtName", json!(""))])).await;
    assert_eq!(
        got.body["unprocessed"][0]["error"],
        "Event Name is incorrect. ErrorCode: 509 - Event name is mandatory. Skipped record number : 1"
    );
}

#[tokio::test]
async fn code_513_for_restricted_system_events_ignoring_case_and_spaces() {
    let fake = FakeCleverTap::start().await;
    for name in [
        "App Launched",
        "app launched",
        "APPLAUNCHED",
        "Notification Sent",
        "UTM Visited",
        "Stayed",
        "web page viewed",
        "Identity  Set",
        "Reachable By",
        "App Version Changed",
    ] {
        assert_code(&fake, event(name), 513).await;
    }
    let got = upload(&fake, batch(&[event("Charged"), event("Notification Clicked")])).await;
    assert_eq!(
        got.body["unprocessed"][0]["error"],
        "Event Name is incorrect. ErrorCode: 513 - Trying to raise a restricted system event. Skipped record number : 2"
    );
    assert_processed(&fake, event("App Launched Twice")).await;
}

#[tokio::test]
async fn code_528_for_an_event_discarded_in_the_account() {
    let fake = FakeCleverTap::builder().discard_event("old_event").start().await.unwrap();
    assert_code(&fake, event("old_event"), 528).await;
    assert_processed(&fake, event("new_event")).await;
}

#[tokio::test]
async fn code_512_for_prohibited_characters_in_names_and_keys() {
    let fake = FakeCleverTap::start().await;
    for c in ["%", ">", "<", "!", "|", "&", ".", ":", ";", "$", "'", "\"", "\\"] {
        assert_code(&fake, event(&format!("bad{c}name")), 512).await;
        let mut record = event("fine");
        record["evtData"][format!("key{c}")] = json!(1);
        assert_code(&fake, record, 512).await;
    }
}

#[tokio::test]
async fn code_512_for_missing_or_non_object_event_data() {
    let fake = FakeCleverTap::start().await;
    assert_code(&fake, without(event("x"), "evtData"), 512).await;
    assert_code(&fake, event_with("evtData", json!([1, 2])), 512).await;
    assert_code(&fake, event_with("evtData", json!("text")), 512).await;
}

#[tokio::test]
async fn code_512_for_long_keys_long_values_and_nested_values() {
    let fake = FakeCleverTap::start().await;
    let mut long_key = event("x");
    long_key["evtData"]["k".repeat(121)] = json!(1);
    assert_code(&fake, long_key, 512).await;
    let mut ok_key = event("x");
    ok_key["evtData"]["k".repeat(120)] = json!("v".repeat(512));
    assert_processed(&fake, ok_key).await;
    let mut long_value = event("x");
    long_value["evtData"]["note"] = json!("é".repeat(257)); // 514 bytes
    assert_code(&fake, long_value, 512).await;
    for nested in [json!({"a": 1}), json!([1]), json!([{"a": 1}])] {
        let mut record = event("x");
        record["evtData"]["nested"] = nested;
        assert_code(&fake, record, 512).await;
    }
}

#[tokio::test]
async fn accepts_items_on_charged_dates_and_null_properties() {
    let fake = FakeCleverTap::start().await;
    let mut charged = event("Charged");
    charged["evtData"]["Items"] = json!([{"name": "pro", "price": 9.99}, {"name": "addon"}]);
    charged["evtData"]["when"] = json!("$D_1700000000");
    charged["evtData"]["gone"] = Value::Null;
    assert_processed(&fake, charged.clone()).await;
    charged["evtData"]["Items"] = json!([1, 2]);
    assert_code(&fake, charged, 512).await;
    let mut not_charged = event("Purchase");
    not_charged["evtData"]["Items"] = json!([{"name": "pro"}]);
    assert_code(&fake, not_charged, 512).await;
}

#[tokio::test]
async fn code_522_past_the_property_limit_which_is_configurable() {
    let with_props = |n: usize| {
        let data: serde_json::Map<String, Value> = (0..n).map(|i| (format!("p{i}"), json!(i))).collect();
        event_with("evtData", Value::Object(data))
    };
    // Default: 100, CleverTap's currently documented default.
    let fake = FakeCleverTap::start().await;
    assert_processed(&fake, with_props(100)).await;
    assert_code(&fake, with_props(101), 522).await;
    let mut nulls = with_props(100);
    nulls["evtData"]["empty"] = Value::Null;
    assert_processed(&fake, nulls).await;
    // An account whose limit CleverTap raised (older pages said 256).
    let raised = FakeCleverTap::builder().property_limit(256).start().await.unwrap();
    assert_processed(&raised, with_props(256)).await;
    assert_code(&raised, with_props(257), 522).await;
}

#[tokio::test]
async fn codes_514_to_520_for_bad_profile_fields() {
    let fake = FakeCleverTap::start().await;
    let cases = [
        ("Gender", json!("X"), 514),
        ("Email", json!("not-an-email"), 515),
        ("Phone", json!("5551234"), 516),
        ("Employed", json!("yes"), 517),
        ("Education", json!("PhD"), 518),
        ("Married", json!("maybe"), 519),
        ("Age", json!("twenty"), 520),
    ];
    for (field, value, code) in cases {
        assert_code(&fake, profile(json!({ field: value })), code).await;
    }
    let good = json!({"Name": "Ann", "Gender": "F", "Email": "ann@example.com", "Phone": "+14155551234",
                      "Employed": "Y", "Education": "College", "Married": "N", "Age": 31});
    assert_processed(&fake, profile(good)).await;
    assert_processed(&fake, profile(json!({"Age": "31"}))).await;
}

#[tokio::test]
async fn the_first_bad_profile_field_in_the_documented_order_decides() {
    let fake = FakeCleverTap::start().await;
    let all_bad =
        json!({"Age": "x", "Married": "x", "Education": "x", "Employed": "x", "Phone": "x", "Email": "x"});
    let got = upload(&fake, batch(&[json!({"type": "event"}), profile(all_bad)])).await;
    let second = &got.body["unprocessed"][1];
    assert_eq!(second["code"], 515);
    assert_eq!(second["error"], "Profile data is incorrect. Email is not valid.Skipped record number : 2");
}

#[tokio::test]
async fn real_texts_for_profile_codes_516_to_520() {
    let fake = FakeCleverTap::start().await;
    let cases = [
        ("Phone", "Profile data is incorrect. Phone number is not valid."),
        ("Employed", "Profile data is incorrect. Employed needs to be Y/N."),
        ("Education", "Profile data is incorrect. Education needs to be School/College/Graduate.."),
        ("Married", "Profile data is incorrect. Married needs to be Y/N."),
        ("Age", "Profile data is incorrect. Age is invalid."),
    ];
    for (field, text) in cases {
        let got = upload(&fake, batch(&[profile(json!({ field: "?" }))])).await;
        assert_eq!(got.body["unprocessed"][0]["error"], format!("{text}Skipped record number : 1"));
    }
}

#[tokio::test]
async fn codes_530_to_535_for_bad_token_records() {
    let fake = FakeCleverTap::start().await;
    let fcm = json!({"id": "token-abc", "type": "fcm"});
    assert_processed(&fake, token(fcm.clone())).await;
    let mut no_object_id = token(fcm);
    no_object_id.as_object_mut().unwrap().remove("objectId");
    no_object_id["identity"] = json!("user-1");
    assert_code(&fake, no_object_id, 530).await;
    assert_code(&fake, token(json!("abc")), 531).await;
    assert_code(&fake, without(token(json!({})), "tokenData"), 531).await;
    assert_code(&fake, token(json!({"type": "fcm"})), 532).await;
    assert_code(&fake, token(json!({"id": "t"})), 533).await;
    assert_code(&fake, token(json!({"id": "t", "type": "pigeon"})), 534).await;
    assert_code(&fake, token(json!({"id": "t", "type": "chrome"})), 535).await;
    let chrome = json!({"id": "t", "type": "chrome", "keys": {"p256dh": "k", "auth": "a"}});
    assert_processed(&fake, token(chrome)).await;
    for kind in ["gcm", "apns", "wns", "mpns"] {
        assert_processed(&fake, token(json!({"id": "t", "type": kind}))).await;
    }
}

#[tokio::test]
async fn the_first_failing_rule_decides_the_code() {
    let fake = FakeCleverTap::start().await;
    // Bad type, no identity, bad ts, no name: 524 wins.
    assert_code(&fake, json!({"type": "nope", "ts": 0}), 524).await;
    // No identity and bad ts: 523 before 525.
    assert_code(&fake, json!({"type": "event", "ts": 0, "evtName": "x", "evtData": {}}), 523).await;
    // Bad objectId and bad ts: 526 before 525.
    assert_code(&fake, json!({"type": "event", "identity": "u", "objectId": 1, "ts": 0}), 526).await;
    // Bad ts and no name: 525 before 509.
    assert_code(&fake, json!({"type": "event", "identity": "u", "ts": 0, "evtData": {}}), 525).await;
    // Restricted name with bad data: 513 before 512.
    assert_code(&fake, json!({"type": "event", "identity": "u", "evtName": "Stayed"}), 513).await;
}
