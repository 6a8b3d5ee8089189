//! CleverTap's official Node.js server library (npm `clevertap`, pinned 1.3.0 in
//! tests/node-client/package.json) against the fake, with only its endpoint pointed at it.
//!
//! Needs `npm ci` in tests/node-client (`.ci/run` does it). Without node_modules the test
//! prints why and passes, unless QC_REQUIRE_NODE_CLIENT=1 makes that a failure.

use std::path::{Path, PathBuf};

use qc_harness::FakeCleverTap;
use serde_json::{Value, json};
use tokio::process::Command;

use super::WAIT;

fn client_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/node-client")
}

/// None (and a printed reason) when the library is not installed and not required.
fn installed() -> Option<PathBuf> {
    let dir = client_dir();
    if dir.join("node_modules/clevertap/package.json").is_file() {
        return Some(dir);
    }
    let why = format!(
        "{}/node_modules is missing: run `npm ci --prefix {}` to test the official Node.js library",
        dir.display(),
        dir.display()
    );
    if std::env::var("QC_REQUIRE_NODE_CLIENT").is_ok_and(|v| v == "1") {
        panic!("QC_REQUIRE_NODE_CLIENT=1 but {why}");
    }
    eprintln!("skipped node_client: {why}");
    None
}

async fn drive(dir: &Path, fake: &FakeCleverTap) -> Vec<Value> {
    let run = Command::new("node")
        .arg("drive.js")
        .current_dir(dir)
        .env("QC_FAKE_URI", fake.uri())
        .env("QC_ACCOUNT_ID", fake.account_id())
        .env("QC_PASSCODE", fake.passcode())
        .output();
    let output = tokio::time::timeout(WAIT * 3, run).await.expect("node finishes").expect("node runs");
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(output.status.success(), "node failed: {stdout}\n{}", String::from_utf8_lossy(&output.stderr));
    stdout.lines().map(|line| serde_json::from_str(line).expect("one JSON line per scenario")).collect()
}

#[tokio::test]
async fn the_official_node_library_reads_every_answer_of_the_fake() {
    let Some(dir) = installed() else { return };
    let installed: Value = serde_json::from_str(
        &std::fs::read_to_string(dir.join("node_modules/clevertap/package.json")).unwrap(),
    )
    .unwrap();
    assert!(installed["version"].as_str().unwrap().starts_with("1.3."), "pinned 1.3.x: {installed}");
    let fake = FakeCleverTap::start().await;
    let results = drive(&dir, &fake).await;
    let scenario = |name: &str| results.iter().find(|r| r["scenario"] == name).unwrap()["result"].clone();

    let mixed = scenario("mixed");
    assert_eq!((&mixed["status"], &mixed["processed"]), (&json!("partial"), &json!(2)), "{mixed}");
    let skipped: Vec<(Value, Value)> = mixed["unprocessed"]
        .as_array()
        .unwrap()
        .iter()
        .map(|u| (u["code"].clone(), u["error"].clone()))
        .collect();
    assert_eq!(
        skipped,
        [
            (
                json!(514),
                json!("Profile data is incorrect. Gender needs to be M/F.Skipped record number : 2")
            ),
            (
                json!(523),
                json!(
                    "'identity' or 'fbId' or 'gpId' or 'objectId' is necessary under 120 chars to identify the user. \
                     Skipped record number : 3"
                )
            ),
            (
                json!(513),
                json!(
                    "Event Name is incorrect. ErrorCode: 513 - Trying to raise a restricted system event. \
                     Skipped record number : 4"
                )
            ),
        ]
    );

    // 250 records: the library sends batches of 100, one after the other.
    let batched = scenario("batched");
    let processed: Vec<&Value> =
        batched.as_array().expect("one answer per batch").iter().map(|b| &b["processed"]).collect();
    assert_eq!(processed, [&json!(100), &json!(100), &json!(50)]);

    assert_eq!(
        scenario("wrong_passcode"),
        json!({"status": "fail", "error": "Invalid Credentials", "code": 401})
    );

    let requests = fake.journal().requests();
    assert_eq!(requests.len(), 5, "mixed, three batches, wrong passcode");
    assert!(requests.iter().all(|r| r.path == "/1/upload" && r.method == "POST"));
    assert_eq!(requests[0].headers.get("content-type").map(String::as_str), Some("application/json"));
    assert_eq!(fake.journal().processed_records().len(), 2 + 250);
}
