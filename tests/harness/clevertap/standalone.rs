//! `qc-harness clevertap`: the built binary, driven over HTTP.

use std::process::Stdio;
use std::time::Duration;

use serde_json::{Value, json};
use tokio::io::{AsyncBufReadExt, BufReader, Lines};
use tokio::process::{Child, ChildStdout, Command};

use super::{WAIT, batch, client, event};
use crate::spawn::{qc_harness, spawn_with_lines};

struct Standalone {
    child: Child,
    lines: Lines<BufReader<ChildStdout>>,
    uri: String,
}

async fn next_line(lines: &mut Lines<BufReader<ChildStdout>>) -> String {
    let line = tokio::time::timeout(WAIT, lines.next_line()).await.expect("a line within the deadline");
    line.unwrap().expect("stdout is open")
}

async fn start(args: &[&str]) -> Standalone {
    let (child, mut lines) =
        spawn_with_lines(qc_harness(&["clevertap", "--listen", "127.0.0.1:0"]).args(args));
    let banner = next_line(&mut lines).await;
    let uri = banner.strip_prefix("fake CleverTap listening on ").expect(&banner).to_string();
    for _ in 0..3 {
        next_line(&mut lines).await;
    }
    Standalone { child, lines, uri }
}

async fn post(uri: &str, passcode: &str, body: String) -> u16 {
    let response = client()
        .post(format!("{uri}/1/upload"))
        .header("X-CleverTap-Account-Id", "ACC")
        .header("X-CleverTap-Passcode", passcode)
        .body(body)
        .send()
        .await;
    response.map(|r| r.status().as_u16()).unwrap_or(0)
}

async fn journal(uri: &str) -> Vec<Value> {
    let response = client().get(format!("{uri}/__harness/requests")).send().await.unwrap();
    assert_eq!(response.headers()["content-type"], "application/json;charset=utf-8");
    response.json().await.unwrap()
}

#[tokio::test]
async fn standalone_prints_records_serves_and_clears_the_journal_and_stops_on_ctrl_c() {
    let args = ["--account-id", "ACC", "--passcode", "P1", "--passcode", "P2", "--fault", "3=503"];
    let mut fake = start(&args).await;
    let uri = fake.uri.clone();
    assert_eq!(post(&uri, "P1", batch(&[event("trial_started"), event("App Launched")])).await, 200);
    assert_eq!(post(&uri, "P2", batch(&[event("trial_converted")])).await, 200);
    assert_eq!(post(&uri, "P1", batch(&[event("x")])).await, 503);
    assert_eq!(post(&uri, "nope", batch(&[event("x")])).await, 401);

    let mut printed = Vec::new();
    for _ in 0..5 {
        printed.push(next_line(&mut fake.lines).await);
    }
    assert!(
        printed[0].starts_with("#1.1")
            && printed[0].contains("processed")
            && printed[0].contains("trial_started")
    );
    assert!(printed[1].starts_with("#1.2") && printed[1].contains("skipped 513"), "{}", printed[1]);
    assert!(printed[2].starts_with("#2.1") && printed[2].contains("processed"));
    assert!(
        printed[3].starts_with("#3.1") && printed[3].contains("503") && printed[3].contains("[fault: 503]")
    );
    assert!(printed[4].starts_with("#4.1") && printed[4].contains("401"), "{}", printed[4]);

    let entries = journal(&uri).await;
    assert_eq!(entries.len(), 4);
    assert_eq!(entries[0]["seq"], 1);
    assert_eq!(entries[0]["status"], 200);
    assert_eq!(entries[0]["headers"]["x-clevertap-passcode"], "[redacted]");
    assert_eq!(entries[0]["records"][0]["evtName"], "trial_started");
    assert_eq!(entries[0]["outcomes"][1]["outcome"], "unprocessed");
    assert_eq!(entries[2]["fault"], json!({"kind": "unavailable"}));
    let text = serde_json::to_string(&entries).unwrap();
    assert!(!text.contains("\"P1\"") && !text.contains("\"P2\""), "passcodes are redacted");

    let cleared: Value =
        client().delete(format!("{uri}/__harness/requests")).send().await.unwrap().json().await.unwrap();
    assert_eq!(cleared, json!({"cleared": 4}));
    assert!(journal(&uri).await.is_empty());
    post(&uri, "P1", batch(&[event("after_clear")])).await;
    let entries = journal(&uri).await;
    assert_eq!((entries.len(), &entries[0]["seq"]), (1, &json!(1)));

    let pid = nix::unistd::Pid::from_raw(fake.child.id().unwrap() as i32);
    nix::sys::signal::kill(pid, nix::sys::signal::Signal::SIGINT).unwrap();
    let status = tokio::time::timeout(WAIT, fake.child.wait()).await.unwrap().unwrap();
    assert!(status.success(), "clean exit on Ctrl-C: {status}");
    let mut rest = Vec::new();
    while let Ok(Some(line)) = fake.lines.next_line().await {
        rest.push(line);
    }
    assert!(rest.last().unwrap().starts_with("stopped: "), "{rest:?}");
}

#[tokio::test]
async fn standalone_refuses_a_bad_fault_spec_with_exit_code_2() {
    let output = Command::new(env!("CARGO_BIN_EXE_qc-harness"))
        .args(["clevertap", "--listen", "127.0.0.1:0", "--fault", "1=teapot"])
        .output()
        .await
        .unwrap();
    assert_eq!(output.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(stderr.contains("invalid fault `teapot`"), "{stderr}");
}

#[tokio::test]
async fn standalone_warns_when_listening_beyond_loopback() {
    let mut child = Command::new(env!("CARGO_BIN_EXE_qc-harness"))
        .args(["clevertap", "--listen", "0.0.0.0:0"])
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .kill_on_drop(true)
        .spawn()
        .unwrap();
    let mut stderr = BufReader::new(child.stderr.take().unwrap()).lines();
    let line = tokio::time::timeout(WAIT, stderr.next_line()).await.unwrap().unwrap().unwrap();
    assert!(line.contains("warning") && line.contains("reachable from other machines"), "{line}");
    child.start_kill().unwrap();
    let _ = tokio::time::timeout(Duration::from_secs(5), child.wait()).await;
}

#[tokio::test]
async fn standalone_serves_the_journal_after_a_delay_fault_and_takes_nested_objects() {
    let args = ["--account-id", "ACC", "--passcode", "P1", "--fault", "1=delay:30", "--nested-objects"];
    let fake = start(&args).await;
    let mut nested = event("cart_updated");
    nested["evtData"]["cart"] = json!({"items": [{"sku": "pro", "price": {"amount": 9}}]});
    assert_eq!(post(&fake.uri, "P1", batch(&[nested])).await, 200);
    let response = client().get(format!("{}/__harness/requests", fake.uri)).send().await.unwrap();
    let text = response.text().await.unwrap();
    assert!(!text.contains("cannot serialise"), "{text}");
    let entries: Vec<Value> = serde_json::from_str(&text).unwrap();
    assert_eq!(entries[0]["fault"], json!({"kind": "delay", "millis": 30}));
    assert_eq!(entries[0]["outcomes"][0]["outcome"], "processed", "nested objects accepted: {text}");
}

#[tokio::test]
async fn standalone_serves_the_journal_under_chaos() {
    let fake = start(&["--account-id", "ACC", "--passcode", "P1", "--chaos", "3", "--chaos-rate", "1"]).await;
    for _ in 0..20 {
        post(&fake.uri, "P1", batch(&[event("x")])).await;
    }
    let response = client().get(format!("{}/__harness/requests", fake.uri)).send().await.unwrap();
    let text = response.text().await.unwrap();
    let entries: Vec<Value> =
        serde_json::from_str(&text).unwrap_or_else(|_| panic!("a JSON journal: {text}"));
    assert_eq!(entries.len(), 20);
    assert!(
        entries.iter().any(|e| e["fault"]["kind"] == "delay"),
        "seed 3 injects a delay within 20 requests"
    );
}

#[tokio::test]
async fn quiet_still_prints_the_address_so_port_0_can_be_used() {
    let args = ["clevertap", "--listen", "127.0.0.1:0", "--account-id", "ACC", "--passcode", "P1", "-q"];
    let (mut child, mut lines) = spawn_with_lines(qc_harness(&args).stderr(Stdio::null()));
    let banner = next_line(&mut lines).await;
    let uri = banner.strip_prefix("fake CleverTap listening on http://").map(|a| format!("http://{a}"));
    let uri = uri.unwrap_or_else(|| panic!("the first line names the address: {banner:?}"));
    assert_eq!(post(&uri, "P1", batch(&[event("a")])).await, 200);
    child.kill().await.unwrap();
    // Nothing but the address: no record lines, no other banner lines.
    let after = tokio::time::timeout(WAIT, lines.next_line()).await.expect("stdout closes").unwrap();
    assert_eq!(after, None, "quiet printed more than the address");
}
