//! The account's Nested Objects feature: off by default (512), on with `.nested_objects(true)`:
//! objects and arrays accepted in `evtData` up to 3 levels deep, flat rules at every level.

use qc_harness::FakeCleverTap;
use serde_json::{Value, json};

use super::{assert_code, assert_processed, event};

fn with_property(key: &str, value: Value) -> Value {
    let mut record = event("policy_bought");
    record["evtData"][key] = value;
    record
}

/// `levels` nested objects under the root key: the deepest key sits at level `levels`.
fn nested(levels: usize) -> Value {
    (0..levels).fold(json!("leaf"), |inner, level| json!({ format!("k{level}"): inner }))
}

async fn nested_fake() -> FakeCleverTap {
    FakeCleverTap::builder().nested_objects(true).start().await.unwrap()
}

#[tokio::test]
async fn nested_values_get_512_when_the_feature_is_off() {
    let fake = FakeCleverTap::start().await;
    assert_code(&fake, with_property("cart", json!({"sku": "pro"})), 512).await;
    assert_code(&fake, with_property("tags", json!(["a", "b"])), 512).await;
}

#[tokio::test]
async fn objects_and_arrays_up_to_three_levels_are_accepted_when_on() {
    let fake = nested_fake().await;
    let documented = json!({"Policy": [{"PolicyID": "POL123", "PremiumAmount": 1200,
        "Beneficiary": [{"Name": "John Doe", "DOB": "2020-01-20"}]}]});
    assert_processed(&fake, with_property("InsuranceDetails", documented)).await;
    assert_processed(&fake, with_property("tags", json!(["a", 1, true, null]))).await;
    assert_processed(&fake, with_property("empty", json!({}))).await;
    assert_processed(&fake, with_property("root", nested(3))).await;
}

#[tokio::test]
async fn a_fourth_level_gets_512() {
    let fake = nested_fake().await;
    assert_code(&fake, with_property("root", nested(4)), 512).await;
    let deep_in_arrays = json!([{"a": [{"b": [{"c": [{"d": 1}]}]}]}]);
    assert_code(&fake, with_property("root", deep_in_arrays), 512).await;
}

#[tokio::test]
async fn flat_rules_apply_at_every_level_and_arrays_of_arrays_are_refused() {
    let fake = nested_fake().await;
    assert_code(&fake, with_property("root", json!({"bad.key": 1})), 512).await;
    assert_code(&fake, with_property("root", json!({"k": {"x": "v".repeat(513)}})), 512).await;
    assert_code(&fake, with_property("root", json!([{"k".repeat(121): 1}])), 512).await;
    assert_code(&fake, with_property("root", json!([["a"], ["b"]])), 512).await;
    assert_code(&fake, with_property("root", json!(["v".repeat(513)])), 512).await;
}

#[tokio::test]
async fn nested_keys_do_not_count_against_the_property_limit() {
    let fake = FakeCleverTap::builder().nested_objects(true).property_limit(3).start().await.unwrap();
    let many: serde_json::Map<String, Value> = (0..10).map(|i| (format!("n{i}"), json!(i))).collect();
    let mut record = event("x");
    record["evtData"] = json!({"a": 1, "b": 2, "obj": many});
    assert_processed(&fake, record).await;
}
