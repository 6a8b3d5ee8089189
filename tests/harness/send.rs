//! Tests: `qc-harness send`, the built binary, against wiremock servers on 127.0.0.1.

use std::process::Output;
use std::time::Duration;

use serde_json::{Value, json};
use tokio::process::Command;
use tokio::time::timeout;
use wiremock::matchers::method;
use wiremock::{Mock, MockServer, ResponseTemplate};

const TOKEN: &str = "cli-token-42";

struct Run {
    code: i32,
    stdout: String,
    stderr: String,
}

async fn qc_harness(args: &[&str]) -> Run {
    let child = Command::new(env!("CARGO_BIN_EXE_qc-harness"))
        .args(args)
        .env_remove("QONVERSION_WEBHOOK_TOKEN")
        .env("NO_COLOR", "1")
        .kill_on_drop(true)
        .output();
    let output: Output =
        timeout(Duration::from_secs(30), child).await.expect("send finished in time").unwrap();
    Run {
        code: output.status.code().expect("exited, not killed"),
        stdout: String::from_utf8_lossy(&output.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&output.stderr).into_owned(),
    }
}

async fn send(input: &str, server: &MockServer, extra: &[&str]) -> Run {
    let url = format!("{}/webhook", server.uri());
    let mut args = vec!["send", input, "--to", &url, "--token", TOKEN];
    args.extend_from_slice(extra);
    qc_harness(&args).await
}

async fn answering(status: u16) -> MockServer {
    let server = MockServer::start().await;
    let answer = ResponseTemplate::new(status).set_body_string(format!("answer-{status}"));
    Mock::given(method("POST")).respond_with(answer).mount(&server).await;
    server
}

async fn received(server: &MockServer) -> Vec<Value> {
    let requests = server.received_requests().await.unwrap();
    requests.iter().map(|r| serde_json::from_slice(&r.body).unwrap()).collect()
}

/// A webhook file in a temp dir (kept alive by the returned guard).
fn webhook_file(body: &str) -> (tempfile::TempDir, String) {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("event.json");
    std::fs::write(&path, body).unwrap();
    (dir, path.to_string_lossy().into_owned())
}

fn renewal() -> String {
    json!({
        "event_name": "subscription_renewed",
        "user_id": "QON_cli",
        "custom_user_id": "cli-user",
        "environment": "production",
        "time": 1_700_000_000,
        "revenue": {"value": 9.99, "currency": "USD"},
        "transaction": {"transaction_id": "1000000777"},
        "entitlements": [{"id": "premium", "active": true, "product": {"product_id": "monthly"}}]
    })
    .to_string()
}

#[tokio::test]
async fn exits_0_and_prints_the_attempt_when_the_relay_answers_2xx() {
    let server = answering(200).await;
    let (_dir, file) = webhook_file(&renewal());
    let run = send(&file, &server, &[]).await;
    assert_eq!(run.code, 0, "{}", run.stderr);
    assert!(run.stdout.contains("attempt 1 at +0s (due 0s, started "), "{}", run.stdout);
    assert!(run.stdout.contains("): 200 answer-200"), "{}", run.stdout);
    assert!(run.stdout.contains("delivered: HTTP 200 on attempt 1"), "{}", run.stdout);
    let requests = server.received_requests().await.unwrap();
    assert_eq!(requests[0].headers.get("authorization").unwrap(), &format!("Basic {TOKEN}"));
    assert_eq!(received(&server).await, [serde_json::from_str::<Value>(&renewal()).unwrap()]);
}

#[tokio::test]
async fn exits_1_when_the_relay_does_not_answer_2xx() {
    let server = answering(503).await;
    let (_dir, file) = webhook_file(&renewal());
    let run = send(&file, &server, &[]).await;
    assert_eq!(run.code, 1, "{}", run.stderr);
    assert!(run.stdout.contains("): 503 answer-503"), "{}", run.stdout);
    assert!(run.stderr.contains("not delivered: HTTP 503"), "{}", run.stderr);
    assert_eq!(received(&server).await.len(), 1, "no retry without --retry");
}

#[tokio::test]
async fn retry_prints_every_attempt_of_the_schedule_until_it_gives_up() {
    let server = answering(500).await;
    let (_dir, file) = webhook_file(&renewal());
    let run = send(&file, &server, &["--retry", "--time-scale", "1000000"]).await;
    assert_eq!(run.code, 1, "{}", run.stderr);
    for (n, offset) in [(1, "0s"), (2, "5m"), (3, "4h"), (4, "8h"), (5, "24h")] {
        assert!(run.stdout.contains(&format!("attempt {n} at +{offset} ")), "{}", run.stdout);
    }
    assert!(run.stdout.contains("(due 86.4ms, "), "+24h compressed 1e6 times: {}", run.stdout);
    assert!(run.stderr.contains("not delivered: HTTP 500 on attempt 5, the last"), "{}", run.stderr);
    assert_eq!(received(&server).await.len(), 5);
}

#[tokio::test]
async fn retry_stops_at_the_first_2xx_and_exits_0() {
    let server = MockServer::start().await;
    let busy = ResponseTemplate::new(503).set_body_string("busy");
    Mock::given(method("POST")).respond_with(busy).up_to_n_times(2).mount(&server).await;
    Mock::given(method("POST")).respond_with(ResponseTemplate::new(200)).mount(&server).await;
    let (_dir, file) = webhook_file(&renewal());
    let run = send(&file, &server, &["--retry", "--time-scale", "100000"]).await;
    assert_eq!(run.code, 0, "{}", run.stderr);
    let attempts: Vec<&str> = run.stdout.lines().filter(|l| l.starts_with("attempt ")).collect();
    assert_eq!(attempts.len(), 3, "{}", run.stdout);
    assert!(attempts[0].ends_with(": 503 busy") && attempts[1].ends_with(": 503 busy"), "{attempts:?}");
    assert!(attempts[2].starts_with("attempt 3 at +4h (due 144ms, "), "{attempts:?}");
    assert!(run.stdout.contains("delivered: HTTP 200 on attempt 3"), "{}", run.stdout);
}

#[tokio::test]
async fn set_overrides_on_nested_paths_reach_the_server() {
    let server = answering(200).await;
    let (_dir, file) = webhook_file(&renewal());
    let sets = [
        "revenue.value=4.99",
        "transaction.transaction_id=\"1000000888\"",
        "entitlements[0].active=false",
        "entitlements[0].product.product_id=yearly",
        "price={\"value\":5,\"currency\":\"EUR\"}",
        "asa_attribution.campaign=spring",
        "time=null",
    ];
    let mut args = Vec::new();
    for set in &sets {
        args.extend(["--set", set]);
    }
    let run = send(&file, &server, &args).await;
    assert_eq!(run.code, 0, "{}", run.stderr);
    let body = &received(&server).await[0];
    assert_eq!(body["revenue"], json!({"value": 4.99, "currency": "USD"}));
    assert_eq!(body["transaction"]["transaction_id"], json!("1000000888"));
    assert_eq!(body["entitlements"][0]["active"], json!(false));
    assert_eq!(body["entitlements"][0]["product"]["product_id"], json!("yearly"));
    assert_eq!(body["price"], json!({"value": 5, "currency": "EUR"}));
    assert_eq!(body["asa_attribution"], json!({"campaign": "spring"}));
    assert_eq!(body["time"], json!(null));
    assert_eq!(body["custom_user_id"], json!("cli-user"), "untouched fields stay");
}

#[tokio::test]
async fn exits_2_for_a_bad_set_path_naming_it_and_sends_nothing() {
    let server = answering(200).await;
    let (_dir, file) = webhook_file(&renewal());
    let cases = [
        ("entitlements[x].active=true", "bad index `[x]` in path `entitlements[x].active`"),
        ("entitlements[4].active=true", "index out of range in path `entitlements[4].active`"),
        ("revenue..value=1", "empty segment at position 2 in path `revenue..value`"),
        ("revenue[0]=1", "`revenue` is an object, not an array"),
        ("event_name", "expected PATH=VALUE"),
    ];
    for (set, expected) in cases {
        let run = send(&file, &server, &["--set", set]).await;
        assert_eq!(run.code, 2, "{set}: {}", run.stderr);
        assert!(run.stderr.contains(&format!("--set {set}: ")), "{}", run.stderr);
        assert!(run.stderr.contains(expected), "{set}: {}", run.stderr);
        assert!(!run.stderr.contains("panicked"), "{}", run.stderr);
    }
    assert!(received(&server).await.is_empty());
}

#[tokio::test]
async fn exits_2_for_a_bad_set_value_naming_the_field() {
    let server = answering(200).await;
    let (_dir, file) = webhook_file(&renewal());
    let run = send(&file, &server, &["--set", "revenue.value=cheap"]).await;
    assert_eq!(run.code, 2, "{}", run.stderr);
    assert!(run.stderr.contains(&format!("{file} (after --set): revenue.value: ")), "{}", run.stderr);
    let run = send(&file, &server, &["--set", "price={\"value\": 5,"]).await;
    assert_eq!(run.code, 2, "{}", run.stderr);
    assert!(run.stderr.contains("is not a valid JSON object"), "{}", run.stderr);
    assert!(received(&server).await.is_empty());
}

#[tokio::test]
async fn exits_2_for_an_invalid_file_naming_the_file_and_json_path() {
    let server = answering(200).await;
    let (_dir, file) = webhook_file(r#"{"event_name": "trial_started", "transaction": {"expires": "soon"}}"#);
    let run = send(&file, &server, &[]).await;
    assert_eq!(run.code, 2, "{}", run.stderr);
    assert!(run.stderr.contains(&format!("{file}: transaction.expires: ")), "{}", run.stderr);
    let (_dir2, broken) = webhook_file("{\"event_name\": ");
    let run = send(&broken, &server, &[]).await;
    assert_eq!(run.code, 2);
    assert!(run.stderr.contains(&broken) && run.stderr.contains("not valid JSON"), "{}", run.stderr);
    let run = send("/no/such/event.json", &server, &[]).await;
    assert_eq!(run.code, 2);
    assert!(run.stderr.contains("/no/such/event.json"), "{}", run.stderr);
    assert!(received(&server).await.is_empty());
}

#[tokio::test]
async fn exits_2_for_an_unknown_event_listing_the_known_ones() {
    let server = answering(200).await;
    let run = send("trial_begun", &server, &[]).await;
    assert_eq!(run.code, 2, "{}", run.stderr);
    assert!(run.stderr.contains("unknown event `trial_begun`"), "{}", run.stderr);
    assert!(run.stderr.contains("trial_started"), "{}", run.stderr);
    assert!(received(&server).await.is_empty());
}

#[tokio::test]
async fn sends_the_built_in_fixture_for_an_event_name_and_platform() {
    let catalogue = qc_harness::FixtureCatalogue::built_in().unwrap();
    let server = answering(200).await;
    for (platform, fixture) in [(None, "trial_started.ios"), (Some("android"), "trial_started.android")] {
        let Some(expected) = catalogue.get(fixture) else { panic!("no built-in fixture {fixture}") };
        let extra: Vec<&str> = platform.map(|p| vec!["--platform", p]).unwrap_or_default();
        let run = send("trial_started", &server, &extra).await;
        assert_eq!(run.code, 0, "{}", run.stderr);
        assert!(run.stdout.contains(&format!("fixtures/events/{fixture}.json")), "{}", run.stdout);
        assert_eq!(received(&server).await.last().unwrap(), &expected.event.to_value());
    }
    let sandbox = catalogue.get("subscription_renewed.android.sandbox").expect("a sandbox fixture");
    let run = send("subscription_renewed.android.sandbox", &server, &[]).await;
    assert_eq!(run.code, 0, "{}", run.stderr);
    assert_eq!(received(&server).await.last().unwrap(), &sandbox.event.to_value(), "a full fixture name");
}

#[tokio::test]
async fn sends_sandbox_events_to_the_sandbox_url() {
    let (production, sandbox) = (answering(200).await, answering(200).await);
    let (_dir, file) = webhook_file(&renewal());
    let sandbox_url = format!("{}/sandbox-hook", sandbox.uri());
    let run =
        send(&file, &production, &["--sandbox-url", &sandbox_url, "--set", "environment=sandbox"]).await;
    assert_eq!(run.code, 0, "{}", run.stderr);
    assert!(run.stdout.contains(&format!("POST {sandbox_url} ")), "{}", run.stdout);
    assert_eq!(received(&sandbox).await[0]["environment"], json!("sandbox"));
    assert!(received(&production).await.is_empty());
}

#[tokio::test]
async fn exits_2_for_bad_flags() {
    let server = answering(200).await;
    let (_dir, file) = webhook_file(&renewal());
    for (extra, expected) in [
        (&["--time-scale", "0"][..], "'--time-scale <N>': `0` is not a number from 0.001 to 1e9"),
        (&["--timeout", "-1"][..], "'--timeout <SECS>': `-1` is not a duration"),
        (&["--sandbox-url", "ftp://x"][..], "--sandbox-url ftp://x: not an http"),
    ] {
        let run = send(&file, &server, extra).await;
        assert_eq!(run.code, 2, "{extra:?}: {}", run.stderr);
        assert!(run.stderr.contains(expected), "{}", run.stderr);
    }
    let run = qc_harness(&["send", &file, "--to", "not a url", "--token", "t"]).await;
    assert_eq!(run.code, 2);
    assert!(run.stderr.contains("--to not a url: not a valid URL"), "{}", run.stderr);
    let run = qc_harness(&["send", &file, "--to", "http://127.0.0.1:9/webhook"]).await;
    assert_eq!(run.code, 2, "--token is required");
    assert!(received(&server).await.is_empty());
}

#[tokio::test]
async fn times_out_a_silent_relay_and_exits_1() {
    let server = MockServer::start().await;
    let slow = ResponseTemplate::new(200).set_delay(Duration::from_secs(5));
    Mock::given(method("POST")).respond_with(slow).mount(&server).await;
    let (_dir, file) = webhook_file(&renewal());
    let run = send(&file, &server, &["--timeout", "0.3"]).await;
    assert_eq!(run.code, 1, "{}", run.stderr);
    assert!(run.stdout.contains("no answer (error: timed out after 300ms)"), "{}", run.stdout);
    assert!(run.stderr.contains("not delivered: no answer"), "{}", run.stderr);
}

#[tokio::test]
async fn help_explains_the_flags_with_examples() {
    let run = qc_harness(&["send", "--help"]).await;
    assert_eq!(run.code, 0);
    for text in
        ["Examples:", "qc-harness send trial_started --to", "--set", "--retry", "--time-scale", "not base64"]
    {
        assert!(run.stdout.contains(text), "missing `{text}` in:\n{}", run.stdout);
    }
}

#[tokio::test]
async fn reads_the_webhook_from_stdin_and_shows_the_body_with_verbose() {
    use std::process::Stdio;
    use tokio::io::AsyncWriteExt;
    let server = answering(204).await;
    let url = format!("{}/webhook", server.uri());
    let mut child = Command::new(env!("CARGO_BIN_EXE_qc-harness"))
        .args(["send", "-", "--to", &url, "-v"])
        .env("QONVERSION_WEBHOOK_TOKEN", TOKEN)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .kill_on_drop(true)
        .spawn()
        .unwrap();
    child.stdin.take().unwrap().write_all(renewal().as_bytes()).await.unwrap();
    let output = timeout(Duration::from_secs(30), child.wait_with_output()).await.unwrap().unwrap();
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert_eq!(output.status.code(), Some(0), "{stdout}");
    assert!(stdout.contains("body: {\"event_name\":\"subscription_renewed\""), "{stdout}");
    let requests = server.received_requests().await.unwrap();
    assert_eq!(
        requests[0].headers.get("authorization").unwrap(),
        &format!("Basic {TOKEN}"),
        "token from env"
    );
    assert_eq!(received(&server).await, [serde_json::from_str::<Value>(&renewal()).unwrap()]);
}
