//! Tests: the relay owner's first hour (issue 11): a run from any directory, the root-cause
//! summary on a relay with three realistic mistakes, `--accept` that never stores a failing
//! case, and relay start-up failures reported once, first, on stderr.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

const EXE: &str = env!("CARGO_BIN_EXE_qc-harness");

fn three_mistakes() -> String {
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/relays/three_mistakes.py");
    format!("python3 '{}'", script.display())
}

/// `qc-harness run ARGS` in `dir`, outside CI mode.
fn run_in(dir: &Path, args: &[&str]) -> Output {
    Command::new(EXE)
        .arg("run")
        .args(args)
        .current_dir(dir)
        .env("NO_COLOR", "1")
        .env_remove("CI")
        .env_remove("INSTA_UPDATE")
        .output()
        .expect("qc-harness runs")
}

fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).to_string()
}

fn snap_files(dir: &Path, suffix: &str) -> Vec<PathBuf> {
    let Ok(entries) = std::fs::read_dir(dir) else { return Vec::new() };
    entries.map(|e| e.unwrap().path()).filter(|p| p.to_string_lossy().ends_with(suffix)).collect()
}

#[test]
fn the_reference_relay_is_green_from_any_directory_and_skips_snapshots_without_a_store() {
    let dir = tempfile::tempdir().unwrap();
    let output = run_in(dir.path(), &["--variants", "default,sandbox-on", "--checks", "auth"]);
    let stdout = text(&output.stdout);
    assert_eq!(output.status.code(), Some(0), "{stdout}{}", text(&output.stderr));
    assert_eq!(stdout.lines().filter(|l| l.starts_with("snapshots: skipped")).count(), 1, "{stdout}");
    assert!(stdout.contains("`qc-harness run --accept` starts one"), "{stdout}");
    assert!(!dir.path().join("snapshots").exists(), "no store is created without --accept");
}

#[test]
fn three_mistakes_give_one_group_each_with_hints_on_one_screen() {
    let dir = tempfile::tempdir().unwrap();
    let relay = three_mistakes();
    let quick = ["--relay-cmd", relay.as_str(), "--variants", "default", "--checks", "none"];
    let (dir, relay) = (dir.path(), relay.as_str());
    // Three independent runs (each its own fake, ports and relay), side by side.
    let (output, quiet, everything) = std::thread::scope(|s| {
        let full = s.spawn(|| run_in(dir, &["--relay-cmd", relay]));
        let quiet = s.spawn(|| run_in(dir, &[&["-q"], &quick[..]].concat()));
        let everything = run_in(dir, &[&quick[..], &["--details", "all"]].concat());
        (full.join().unwrap(), quiet.join().unwrap(), everything)
    });
    let stdout = text(&output.stdout);
    assert_eq!(output.status.code(), Some(1), "{stdout}");
    let lines = stdout.lines().count();
    assert!(lines < 200, "{lines} lines:\n{stdout}");
    let headline = |start: &str| stdout.lines().filter(|l| l.starts_with(start)).count();
    assert_eq!(headline("✗ ts: observed = expected × 1000 — "), 1, "{stdout}");
    assert!(stdout.contains("hint: ts is in milliseconds"), "{stdout}");
    assert_eq!(headline("✗ extra record for a sandbox event — "), 1, "{stdout}");
    assert!(stdout.contains("only sandbox fixtures have an extra record"), "{stdout}");
    assert!(
        stdout.contains("no record is expected: environment \"sandbox\" and send_sandbox is false"),
        "{stdout}"
    );
    let retry = stdout.lines().find(|l| l.contains("upstream.429") && l.starts_with('✗')).unwrap_or_default();
    assert!(retry.contains("upstream.5xx"), "429 and 5xx share their signature: {stdout}");
    assert!(stdout.contains("… and "), "examples are capped: {stdout}");
    let quiet = text(&quiet.stdout);
    assert_eq!(quiet.lines().filter(|l| l.starts_with('✗')).count(), 2, "one line per root cause:\n{quiet}");
    assert!(quiet.lines().last().unwrap().ends_with("failed"), "{quiet}");
    assert!(text(&everything.stdout).lines().count() > 200, "--details all shows every failure");
}

#[test]
fn accept_stores_no_record_of_a_failing_case_and_says_so() {
    let dir = tempfile::tempdir().unwrap();
    let relay = three_mistakes();
    let args = [
        "--relay-cmd",
        relay.as_str(),
        "--variants",
        "default,event-disabled",
        "--checks",
        "none",
        "--accept",
    ];
    let output = run_in(dir.path(), &args);
    let stdout = text(&output.stdout);
    assert_eq!(output.status.code(), Some(1), "{stdout}");
    let store = dir.path().join("snapshots");
    let written = snap_files(&store, ".snap");
    assert!(stdout.contains("--accept: wrote nothing for "), "{stdout}");
    assert!(!written.is_empty(), "passing cases (nothing expected, nothing sent) are stored");
    for file in &written {
        // Every record this relay sends is wrong (ts in milliseconds): only empty cases pass.
        let body = std::fs::read_to_string(file).unwrap();
        assert!(!body.contains("\"ts\""), "a wrong record was stored in {}: {body}", file.display());
    }
    assert!(snap_files(&store, ".snap.new").is_empty());
    // After the fixes, one --accept stores every case.
    let fixed = Command::new(EXE)
        .arg("run")
        .args(args)
        .current_dir(dir.path())
        .env("FIXED", "1")
        .env("NO_COLOR", "1")
        .env_remove("CI")
        .env_remove("INSTA_UPDATE")
        .output()
        .unwrap();
    assert_eq!(fixed.status.code(), Some(0), "{}", text(&fixed.stdout));
    assert!(snap_files(&store, ".snap").len() > written.len());
}

fn assert_startup_failure(output: &Output, hint: &str) {
    let (stdout, stderr) = (text(&output.stdout), text(&output.stderr));
    assert_eq!(output.status.code(), Some(3), "{stdout}{stderr}");
    assert!(stderr.starts_with("error: relay: "), "{stderr}");
    assert_eq!(stderr.matches("error:").count(), 1, "one message: {stderr}");
    assert!(stderr.contains(hint), "{stderr}");
    assert_eq!(stdout.trim_end(), "no case ran: the relay did not start", "no matrix, no counts: {stdout}");
}

#[test]
fn a_command_that_does_not_exist_fails_once_with_a_hint() {
    let dir = tempfile::tempdir().unwrap();
    let output = run_in(dir.path(), &["--relay-cmd", "./no-such-relay.py"]);
    assert_startup_failure(&output, "hint: the command was not found");
}

#[test]
fn a_relay_on_a_hard_coded_port_is_asked_whether_it_reads_port() {
    let taken = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = taken.local_addr().unwrap().port();
    let relay = format!(
        "python3 -c 'from http.server import HTTPServer, BaseHTTPRequestHandler; \
         HTTPServer((\"127.0.0.1\", {port}), BaseHTTPRequestHandler).serve_forever()'"
    );
    let dir = tempfile::tempdir().unwrap();
    let output = run_in(dir.path(), &["--relay-cmd", &relay]);
    assert_startup_failure(&output, "does the relay listen on $PORT?");
    assert!(text(&output.stderr).contains("Address already in use"));
}

#[test]
fn a_relay_that_never_answers_names_the_polled_address() {
    let dir = tempfile::tempdir().unwrap();
    let output = run_in(dir.path(), &["--relay-cmd", "sleep 30", "--startup-timeout", "1"]);
    assert_startup_failure(&output, "never answered on 127.0.0.1:");
}

#[test]
fn json_to_stdout_moves_the_human_report_to_stderr() {
    let dir = tempfile::tempdir().unwrap();
    let output = run_in(dir.path(), &["--variants", "none", "--checks", "auth.missing-token", "--json", "-"]);
    assert_eq!(output.status.code(), Some(0), "{}", text(&output.stderr));
    let report: serde_json::Value =
        serde_json::from_slice(&output.stdout).expect("stdout is the JSON report");
    assert_eq!(report["passed"], true);
    assert!(text(&output.stderr).ends_with("1 passed, 0 failed\n"), "{}", text(&output.stderr));
}

#[test]
fn a_run_that_selects_nothing_warns() {
    let dir = tempfile::tempdir().unwrap();
    let output = run_in(dir.path(), &["--variants", "none", "--checks", "none"]);
    assert!(
        text(&output.stderr).contains("warning: this run selects no case and no check"),
        "{}",
        text(&output.stderr)
    );
}

#[test]
fn typos_get_a_did_you_mean() {
    let dir = tempfile::tempdir().unwrap();
    let output = run_in(dir.path(), &["--checks", "upstream.492"]);
    assert_eq!(output.status.code(), Some(2));
    assert!(text(&output.stderr).contains("did you mean `upstream.429`?"), "{}", text(&output.stderr));
    let output = run_in(dir.path(), &["--variants", "gros"]);
    assert!(text(&output.stderr).contains("did you mean `gross`?"));
    let show = Command::new(EXE)
        .args(["fixtures", "show", "trial_startd"])
        .current_dir(dir.path())
        .output()
        .unwrap();
    assert_eq!(show.status.code(), Some(2));
    assert!(text(&show.stderr).contains("did you mean `trial_started`?"), "{}", text(&show.stderr));
}

#[test]
fn map_and_fixtures_show_take_catalogue_names_from_any_directory() {
    let dir = tempfile::tempdir().unwrap();
    for args in [
        vec!["map", "subscription_renewed.ios"],
        vec!["map", "fixtures/events/subscription_renewed.ios.json"],
        vec!["fixtures", "show", "subscription_renewed.ios"],
    ] {
        let output = Command::new(EXE).args(&args).current_dir(dir.path()).output().unwrap();
        assert_eq!(output.status.code(), Some(0), "{args:?}: {}", text(&output.stderr));
        assert!(text(&output.stdout).contains("subscription_renewed"), "{args:?}");
    }
}
