//! Tests: `qc-harness map FILE [--settings FILE]` through the built binary.

use std::path::Path;
use std::process::{Command, Output, Stdio};

use serde_json::{Value, json};

fn qc(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_qc-harness")).args(args).output().expect("qc-harness runs")
}

fn write(dir: &Path, name: &str, text: &str) -> String {
    let path = dir.join(name);
    std::fs::write(&path, text).unwrap();
    path.to_string_lossy().into_owned()
}

fn stdout_json(out: &Output) -> Value {
    serde_json::from_slice(&out.stdout).expect("stdout is JSON")
}

fn stderr(out: &Output) -> String {
    String::from_utf8_lossy(&out.stderr).into_owned()
}

const EVENT: &str = r#"{"event_name":"trial_converted","custom_user_id":"u-9","time":1780000000,
  "environment":"production","platform":"Android","product_id":"pro",
  "price":{"value":100,"currency":"INR"},"revenue":{"value":100,"currency":"INR","is_proceed":0,"proceeds_rate":85}}"#;

#[test]
fn prints_the_upload_body_under_default_settings() {
    let dir = tempfile::tempdir().unwrap();
    let out = qc(&["map", &write(dir.path(), "e.json", EVENT)]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let body = stdout_json(&out);
    assert_eq!(body["d"][0]["identity"], json!("u-9"));
    assert_eq!(body["d"][0]["evtData"]["revenue"], json!(85.0));
    assert_eq!(body["d"][0]["evtData"]["currency"], json!("INR"));
}

#[test]
fn applies_the_settings_file() {
    let dir = tempfile::tempdir().unwrap();
    let settings = write(
        dir.path(),
        "s.json",
        r#"{"send_proceeds": false, "events": {"trial_converted": {"name": "Converted"}}}"#,
    );
    let out = qc(&["map", &write(dir.path(), "e.json", EVENT), "--settings", &settings]);
    let body = stdout_json(&out);
    assert_eq!(body["d"][0]["evtName"], json!("Converted"));
    assert_eq!(body["d"][0]["evtData"]["revenue"], json!(100.0));
}

#[test]
fn prints_an_empty_body_when_not_forwarded() {
    let dir = tempfile::tempdir().unwrap();
    let settings = write(dir.path(), "s.json", r#"{"events": {"trial_converted": {"enabled": false}}}"#);
    let out = qc(&["map", &write(dir.path(), "e.json", EVENT), "--settings", &settings]);
    assert_eq!(out.status.code(), Some(0));
    assert_eq!(stdout_json(&out), json!({"d": []}));
}

#[test]
fn reads_the_event_from_stdin() {
    let mut child = Command::new(env!("CARGO_BIN_EXE_qc-harness"))
        .args(["map", "-"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    std::io::Write::write_all(child.stdin.as_mut().unwrap(), EVENT.as_bytes()).unwrap();
    let out = child.wait_with_output().unwrap();
    assert_eq!(stdout_json(&out)["d"][0]["identity"], json!("u-9"));
}

fn assert_usage_error(out: &Output, needles: &[&str]) {
    assert_eq!(out.status.code(), Some(2), "stderr: {}", stderr(out));
    let text = stderr(out);
    for needle in needles {
        assert!(text.contains(needle), "{needle:?} not in {text:?}");
    }
    assert!(!text.contains("panicked") && !text.contains("RUST_BACKTRACE"), "{text}");
    assert!(out.stdout.is_empty());
}

#[test]
fn rejects_a_missing_file_naming_it() {
    assert_usage_error(&qc(&["map", "/nonexistent/e.json"]), &["/nonexistent/e.json", "No such file"]);
}

#[test]
fn rejects_invalid_json_naming_the_file() {
    let dir = tempfile::tempdir().unwrap();
    let file = write(dir.path(), "broken.json", "{\"event_name\": ");
    assert_usage_error(&qc(&["map", &file]), &["broken.json", "not valid JSON"]);
}

#[test]
fn rejects_a_body_that_is_not_an_object() {
    let dir = tempfile::tempdir().unwrap();
    let file = write(dir.path(), "list.json", "[1, 2]");
    assert_usage_error(&qc(&["map", &file]), &["list.json", "invalid type"]);
}

#[test]
fn rejects_a_wrong_type_naming_the_json_path() {
    let dir = tempfile::tempdir().unwrap();
    let file = write(dir.path(), "e.json", r#"{"event_name":"trial_started","revenue":{"value":"ten"}}"#);
    assert_usage_error(&qc(&["map", &file]), &["e.json: revenue.value: "]);
}

#[test]
fn rejects_a_missing_event_name() {
    let dir = tempfile::tempdir().unwrap();
    let file = write(dir.path(), "e.json", r#"{"custom_user_id":"u"}"#);
    assert_usage_error(&qc(&["map", &file]), &["e.json", "event_name"]);
}

#[test]
fn rejects_bad_settings_naming_the_settings_file_and_path() {
    let dir = tempfile::tempdir().unwrap();
    let event = write(dir.path(), "e.json", EVENT);
    let wrong_type = write(dir.path(), "s1.json", r#"{"send_sandbox": "yes"}"#);
    assert_usage_error(&qc(&["map", &event, "--settings", &wrong_type]), &["s1.json: send_sandbox: "]);
    let unknown_event = write(dir.path(), "s2.json", r#"{"events": {"trial_begun": {}}}"#);
    assert_usage_error(
        &qc(&["map", &event, "--settings", &unknown_event]),
        &["s2.json: events.trial_begun: "],
    );
    let unknown_key = write(dir.path(), "s3.json", r#"{"sandbox": true}"#);
    assert_usage_error(&qc(&["map", &event, "--settings", &unknown_key]), &["s3.json", "sandbox"]);
}

#[test]
fn rejects_a_missing_argument_with_usage() {
    let out = qc(&["map"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(stderr(&out).contains("Usage"));
}

#[test]
fn prints_a_result_for_every_built_in_fixture() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("fixtures/events");
    let mut count = 0;
    for entry in std::fs::read_dir(&dir).unwrap() {
        let path = entry.unwrap().path();
        if path.extension().is_some_and(|e| e == "json") {
            let out = qc(&["map", path.to_str().unwrap()]);
            assert_eq!(out.status.code(), Some(0), "{}: {}", path.display(), stderr(&out));
            assert!(stdout_json(&out)["d"].is_array(), "{}", path.display());
            count += 1;
        }
    }
    assert!(count >= 34, "only {count} fixtures were mapped");
}

#[test]
fn fixtures_lists_the_built_in_catalogue() {
    let out = qc(&["fixtures"]);
    assert_eq!(out.status.code(), Some(0));
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(text.contains("subscription_renewed.ios") && text.contains("trial_to_expiry.ios"), "{text}");
}

#[test]
fn fixtures_show_prints_the_stored_file() {
    let out = qc(&["fixtures", "show", "subscription_renewed.ios"]);
    assert_eq!(out.status.code(), Some(0));
    let stored = std::fs::read(
        Path::new(env!("CARGO_MANIFEST_DIR")).join("fixtures/events/subscription_renewed.ios.json"),
    );
    assert_eq!(out.stdout, stored.unwrap());
}

#[test]
fn fixtures_show_rejects_an_unknown_name() {
    let out = qc(&["fixtures", "show", "subscription_renewd.ios"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(stderr(&out).contains("no built-in fixture named"), "{}", stderr(&out));
}

#[test]
fn binary_works_outside_the_repository() {
    let dir = tempfile::tempdir().unwrap();
    let out = Command::new(env!("CARGO_BIN_EXE_qc-harness"))
        .args(["fixtures", "show", "trial_started.android"])
        .current_dir(dir.path())
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(0));
    let event: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(event["event_name"], json!("trial_started"));
}
