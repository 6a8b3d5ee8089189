//! `qc-harness dev` as a user runs it: start-up time, Ctrl-C, bad input.

use std::time::{Duration, Instant};

use qc_harness::relay::group_members;
use tokio::process::Command;

use super::DEADLINE;
use crate::spawn::{qc_harness, spawn_with_lines};

const EXE: &str = env!("CARGO_BIN_EXE_qc-harness");
const EXAMPLE: &str = "python3 examples/relays/python/relay.py";

#[tokio::test]
async fn dev_serves_the_page_and_ctrl_c_leaves_no_process_behind() {
    let started = Instant::now();
    // Its temporary folders go here, so that the test can see that none is left.
    let tmp = tempfile::tempdir().unwrap();
    let mut command = qc_harness(&["dev", "--relay-cmd", EXAMPLE, "--listen", "127.0.0.1:0"]);
    command.env("TMPDIR", tmp.path());
    let (mut child, mut lines) = spawn_with_lines(command.current_dir(env!("CARGO_MANIFEST_DIR")));
    let find_url = async {
        while let Some(line) = lines.next_line().await.unwrap() {
            if let Some(rest) = line.split_once("page ready at ").map(|(_, r)| r.to_string()) {
                return rest.split_whitespace().next().unwrap().to_string();
            }
        }
        panic!("dev ended without printing its address");
    };
    let url = tokio::time::timeout(DEADLINE, find_url).await.expect("dev prints its address");
    let http = reqwest::Client::builder().no_proxy().build().unwrap();
    let page = http.get(&url).send().await.unwrap();
    assert_eq!(page.status(), 200);
    assert!(page.text().await.unwrap().contains("<title>qc-harness dev</title>"));
    let state: serde_json::Value =
        http.get(format!("{url}api/state")).send().await.unwrap().json().await.unwrap();
    let ready = started.elapsed();
    println!(
        "dev: from start to the page being ready with the example Python relay: {} ms",
        ready.as_millis()
    );
    assert_eq!(state["relay"]["state"], "running", "{state:#}");
    let group = state["relay"]["process_group"].as_i64().unwrap() as i32;
    assert!(!group_members(group).is_empty(), "the relay runs");

    nix::sys::signal::kill(
        nix::unistd::Pid::from_raw(child.id().unwrap() as i32),
        nix::sys::signal::Signal::SIGINT,
    )
    .unwrap();
    let status = tokio::time::timeout(Duration::from_secs(10), child.wait())
        .await
        .expect("dev exits on Ctrl-C")
        .unwrap();
    assert_eq!(status.code(), Some(130));
    assert!(group_members(group).is_empty(), "the relay's process group is gone");
    assert!(http.get(&url).send().await.is_err(), "the page is closed");
    let left: Vec<_> = std::fs::read_dir(tmp.path()).unwrap().map(|e| e.unwrap().file_name()).collect();
    assert!(left.is_empty(), "temporary folders left behind: {left:?}");
}

async fn run(args: &[&str]) -> (Option<i32>, String) {
    let output = Command::new(EXE).args(args).current_dir(env!("CARGO_MANIFEST_DIR")).output();
    let output = tokio::time::timeout(DEADLINE, output).await.expect("dev exits").unwrap();
    (output.status.code(), String::from_utf8_lossy(&output.stderr).to_string())
}

#[tokio::test]
async fn bad_input_exits_2_with_a_message_and_a_dead_relay_exits_3() {
    let (code, stderr) = run(&["dev", "--listen", "nowhere"]).await;
    assert_eq!(code, Some(2), "{stderr}");
    assert!(stderr.contains("--listen"), "{stderr}");
    let (code, stderr) =
        run(&["dev", "--relay-cmd", EXAMPLE, "--listen", "127.0.0.1:0", "--settings", "missing.json"]).await;
    assert_eq!(code, Some(2), "{stderr}");
    assert!(stderr.contains("missing.json"), "{stderr}");
    let (code, stderr) = run(&["dev", "--relay-cmd", "echo broken; exit 1", "--listen", "127.0.0.1:0"]).await;
    assert_eq!(code, Some(3), "{stderr}");
    assert!(stderr.contains("broken"), "the relay's output is shown: {stderr}");
}
