//! No panic on bad input: whatever the body, the answer is a well-formed CleverTap answer.

use proptest::prelude::*;
use qc_harness::FakeCleverTap;
use serde_json::{Map, Value, json};

const CODES: [u64; 25] = [
    509, 512, 513, 514, 515, 516, 517, 518, 519, 520, 522, 523, 524, 525, 526, 528, 530, 531, 532, 533, 534,
    535, 555, 0, 0,
];

/// Sends bodies to one fake from a synchronous proptest.
struct Harness {
    runtime: tokio::runtime::Runtime,
    fake: FakeCleverTap,
    client: reqwest::Client,
}

impl Harness {
    fn new() -> Harness {
        let runtime =
            tokio::runtime::Builder::new_multi_thread().worker_threads(1).enable_all().build().unwrap();
        let fake = runtime.block_on(FakeCleverTap::builder().recycle_after(64).start()).unwrap();
        Harness { runtime, fake, client: reqwest::Client::new() }
    }

    fn send(&self, body: Vec<u8>) -> (u16, String, String) {
        self.runtime.block_on(async {
            let response = self
                .client
                .post(format!("{}/1/upload", self.fake.uri()))
                .header("X-CleverTap-Account-Id", self.fake.account_id())
                .header("X-CleverTap-Passcode", self.fake.passcode())
                .body(body)
                .send()
                .await
                .expect("the fake answers every body");
            let status = response.status().as_u16();
            let content_type = response.headers()["content-type"].to_str().unwrap().to_string();
            (status, content_type, response.text().await.unwrap())
        })
    }
}

/// Asserts `text` is a CleverTap answer for `status`; `records` is the count sent, when known.
fn assert_well_formed(status: u16, content_type: &str, text: &str, records: Option<usize>) {
    assert_eq!(content_type, "application/json;charset=utf-8");
    let body: Value = serde_json::from_str(text).unwrap_or_else(|e| panic!("not JSON ({e}): {text}"));
    if status != 200 {
        assert!([400, 413].contains(&status), "status {status}: {text}");
        assert_eq!(body["status"], "fail");
        assert_eq!(body["code"], status);
        assert!(body["error"].is_string());
        assert_eq!(body.as_object().unwrap().len(), 3);
        return;
    }
    let processed = body["processed"].as_u64().expect("processed is a count") as usize;
    let unprocessed = body["unprocessed"].as_array().expect("unprocessed is a list");
    let expected_status = match (processed, unprocessed.len()) {
        (_, 0) => "success",
        (0, _) => "fail",
        _ => "partial",
    };
    assert_eq!(body["status"], expected_status);
    if let Some(records) = records {
        assert_eq!(processed + unprocessed.len(), records);
    }
    let mut last = 0;
    for entry in unprocessed {
        assert_eq!(entry["status"], "fail");
        assert!(CODES.contains(&entry["code"].as_u64().unwrap()), "{entry}");
        assert!(entry.get("record").is_some());
        let error = entry["error"].as_str().unwrap();
        let (_, number) = error.rsplit_once("Skipped record number : ").expect("record number");
        let number: usize = number.parse().unwrap();
        assert!(number > last, "record numbers ascend");
        last = number;
    }
}

/// One fake shared by the properties (never dropped: it lives as long as the test binary).
fn harness<T>(f: impl FnOnce(&Harness) -> T) -> T {
    static HARNESS: std::sync::OnceLock<Harness> = std::sync::OnceLock::new();
    f(HARNESS.get_or_init(Harness::new))
}

fn json_value() -> impl Strategy<Value = Value> {
    let leaf = prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::from),
        any::<i64>().prop_map(Value::from),
        any::<f64>().prop_filter("finite", |f| f.is_finite()).prop_map(Value::from),
        ".{0,20}".prop_map(Value::from),
        prop::sample::select(vec![
            "event",
            "profile",
            "token",
            "App Launched",
            "$D_1",
            "+1555",
            "M",
            "1700000000"
        ])
        .prop_map(Value::from),
    ];
    leaf.prop_recursive(3, 24, 6, |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..6).prop_map(Value::Array),
            prop::collection::btree_map(key(), inner, 0..6)
                .prop_map(|m| Value::Object(m.into_iter().collect())),
        ]
    })
}

fn key() -> impl Strategy<Value = String> {
    prop_oneof![
        prop::sample::select(vec![
            "type",
            "identity",
            "FBID",
            "GPID",
            "objectId",
            "ts",
            "evtName",
            "evtData",
            "profileData",
            "tokenData",
            "id",
            "keys",
            "Items",
            "Email",
            "Phone",
            "Gender",
            "Age",
            "d",
        ])
        .prop_map(String::from),
        ".{0,8}",
    ]
}

/// A record-like object: mostly the Upload API's own keys, with arbitrary values.
fn record() -> impl Strategy<Value = Value> {
    let kind = prop::sample::select(vec!["event", "profile", "token", "other"]);
    (kind, prop::collection::btree_map(key(), json_value(), 0..8)).prop_map(|(kind, fields)| {
        let mut record: Map<String, Value> = fields.into_iter().collect();
        record.entry("type").or_insert_with(|| json!(kind));
        Value::Object(record)
    })
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 96, failure_persistence: None, ..ProptestConfig::default() })]

    #[test]
    fn every_answer_to_arbitrary_bytes_is_well_formed(body in prop::collection::vec(any::<u8>(), 0..600)) {
        harness(|h| {
            let (status, content_type, text) = h.send(body);
            assert_well_formed(status, &content_type, &text, None);
        });
    }

    #[test]
    fn every_answer_to_an_arbitrary_json_body_is_well_formed(body in json_value()) {
        harness(|h| {
            let (status, content_type, text) = h.send(body.to_string().into_bytes());
            assert_well_formed(status, &content_type, &text, None);
        });
    }

    #[test]
    fn every_answer_to_arbitrary_records_is_well_formed(records in prop::collection::vec(record(), 1..20)) {
        harness(|h| {
            let (status, content_type, text) = h.send(json!({"d": records}).to_string().into_bytes());
            prop_assert_eq!(status, 200);
            assert_well_formed(status, &content_type, &text, Some(records.len()));
            Ok(())
        })?;
    }
}
