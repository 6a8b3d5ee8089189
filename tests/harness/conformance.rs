//! Tests: conformance (`qc-harness run`) against the reference relay and a correct batching relay.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

const EXE: &str = env!("CARGO_BIN_EXE_qc-harness");

fn repo() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR"))
}

fn run(args: &[&str]) -> Output {
    run_with_ci(args, false)
}

/// `qc-harness run`, in CI mode (`CI=1`) or outside it (`CI` and `INSTA_UPDATE` unset).
fn run_with_ci(args: &[&str], ci: bool) -> Output {
    let mut command = Command::new(EXE);
    command.args(["run"]).args(args).env("NO_COLOR", "1").env_remove("INSTA_UPDATE").env_remove("CI");
    if ci {
        command.env("CI", "1");
    }
    command.output().expect("qc-harness runs")
}

fn stdout(output: &Output) -> String {
    String::from_utf8_lossy(&output.stdout).to_string()
}

/// The lines that are not a pass, for assertion messages.
fn problems(output: &Output) -> String {
    let text = stdout(output);
    let lines: Vec<&str> = text.lines().filter(|l| !l.starts_with('✓') && !l.contains("  ✓  ")).collect();
    format!("{}\n{}", lines.join("\n"), String::from_utf8_lossy(&output.stderr))
}

fn last_line(output: &Output) -> String {
    stdout(output).lines().last().unwrap_or_default().to_string()
}

/// A copy of the committed snapshots, so that a failing run cannot write into the repository.
fn snapshot_copy() -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    for entry in std::fs::read_dir(repo().join("snapshots")).unwrap() {
        let path = entry.unwrap().path();
        if path.extension().is_some_and(|e| e == "snap") {
            std::fs::copy(&path, dir.path().join(path.file_name().unwrap())).unwrap();
        }
    }
    dir
}

fn pending_files(dir: &Path) -> Vec<PathBuf> {
    let mut files: Vec<PathBuf> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.to_string_lossy().ends_with(".snap.new"))
        .collect();
    files.sort();
    files
}

#[test]
fn reference_relay_passes_every_variant_and_check_and_matches_the_committed_snapshots() {
    // A copy of the committed snapshots: the repository's snapshots/ (and any pending
    // .snap.new files in it) are never written or deleted by the tests.
    let copy = snapshot_copy();
    let snapshots = copy.path();
    let json = tempfile::NamedTempFile::new().unwrap();
    let output = run(&[
        "--snapshots",
        snapshots.to_str().unwrap(),
        "--json",
        json.path().to_str().unwrap(),
        "--strict",
        "--details",
        "all",
    ]);
    assert_eq!(output.status.code(), Some(0), "{}", problems(&output));
    let cases = 68 * 9;
    assert_eq!(last_line(&output), format!("{} passed, 0 failed", cases + 24));
    assert!(pending_files(snapshots).is_empty(), "the reference relay changed snapshots");
    let report: serde_json::Value = serde_json::from_slice(&std::fs::read(json.path()).unwrap()).unwrap();
    assert_eq!(report["passed"], true);
    assert_eq!(report["cases"].as_array().unwrap().len(), cases);
    assert_eq!(report["checks"].as_array().unwrap().len(), 24);
    let text = stdout(&output);
    assert!(
        text.contains("✓ check upstream.429 [MUST]") && text.contains("✓ subscription_renewed.ios @ gross")
    );
    assert!(text.contains("\nevent ") && text.contains("event-no-revenue"), "the matrix is printed");
}

#[test]
fn a_correct_relay_that_batches_uploads_passes() {
    let snapshots = snapshot_copy();
    let relay = format!("BATCH=1 python3 {}", repo().join("tests/relays/relay.py").display());
    let output = run(&["--relay-cmd", &relay, "--snapshots", snapshots.path().to_str().unwrap(), "--strict"]);
    assert_eq!(output.status.code(), Some(0), "{}", problems(&output));
    assert!(last_line(&output).ends_with("passed, 0 failed"), "{}", last_line(&output));
    assert!(pending_files(snapshots.path()).is_empty());
}

#[test]
fn a_changed_snapshot_fails_with_snap_new_and_accept_writes_it() {
    let snapshots = snapshot_copy();
    let file = snapshots.path().join("subscription_renewed.ios@default.snap");
    let text = std::fs::read_to_string(&file).unwrap().replace("\"revenue\": 6.993", "\"revenue\": 9.99");
    std::fs::write(&file, &text).unwrap();
    let dir = snapshots.path().to_str().unwrap();
    let output = run(&["--snapshots", dir, "--variants", "default", "--checks", "none"]);
    assert_eq!(output.status.code(), Some(1), "{}", stdout(&output));
    assert_eq!(last_line(&output), "67 passed, 1 failed");
    assert!(stdout(&output).contains("✗ snapshot changed — 1 case(s)"), "{}", stdout(&output));
    assert!(
        stdout(&output).contains("subscription_renewed.ios @ default — new version in"),
        "{}",
        stdout(&output)
    );
    assert_eq!(
        pending_files(snapshots.path()),
        [snapshots.path().join("subscription_renewed.ios@default.snap.new")]
    );
    let accepted = run(&["--snapshots", dir, "--variants", "default", "--checks", "none", "--accept"]);
    assert_eq!(accepted.status.code(), Some(0), "{}", stdout(&accepted));
    assert!(pending_files(snapshots.path()).is_empty());
    assert!(std::fs::read_to_string(&file).unwrap().contains("\"revenue\": 6.993"));
}

#[test]
fn a_missing_snapshot_is_new_outside_ci_and_fails_in_ci_mode() {
    let snapshots = tempfile::tempdir().unwrap();
    let dir = snapshots.path().to_str().unwrap();
    let args = ["--snapshots", dir, "--variants", "gross", "--checks", "none"];
    let output = run(&args);
    assert_eq!(output.status.code(), Some(0), "{}", stdout(&output));
    let cases = pending_files(snapshots.path()).len();
    assert!(cases > 0);
    assert!(
        stdout(&output).contains(&format!("{cases} new snapshot(s) written as .snap.new (not a failure)"))
    );
    for file in pending_files(snapshots.path()) {
        std::fs::remove_file(file).unwrap();
    }
    let in_ci = run_with_ci(&args, true);
    assert_eq!(in_ci.status.code(), Some(1), "{}", stdout(&in_ci));
    assert!(pending_files(snapshots.path()).is_empty(), "CI mode writes no .snap.new");
    assert!(stdout(&in_ci).contains("no snapshot (CI mode: a missing snapshot fails)"), "{}", stdout(&in_ci));
}

#[test]
fn committed_snapshots_are_read_by_insta_itself() {
    let file = repo().join("snapshots/subscription_renewed.ios@gross.snap");
    let text = std::fs::read_to_string(&file).unwrap();
    let contents = qc_harness::snapshot::parse(&text).unwrap();
    let mut settings = insta::Settings::clone_current();
    settings.set_snapshot_path(repo().join("snapshots"));
    settings.set_prepend_module_to_snapshot(false);
    settings.bind(|| insta::assert_snapshot!("subscription_renewed.ios@gross", contents));
}

#[test]
fn junit_and_json_reports_are_written() {
    let dir = tempfile::tempdir().unwrap();
    let (junit, json) = (dir.path().join("out/junit.xml"), dir.path().join("out/report.json"));
    let output = run(&[
        "--no-snapshots",
        "--variants",
        "default",
        "--checks",
        "auth",
        "--junit",
        junit.to_str().unwrap(),
        "--json",
        json.to_str().unwrap(),
    ]);
    assert_eq!(output.status.code(), Some(0), "{}", stdout(&output));
    let xml = std::fs::read_to_string(&junit).unwrap();
    assert!(xml.contains("<testsuites") && xml.contains("name=\"auth.missing-token\""), "{xml}");
    assert!(xml.contains("name=\"subscription_renewed.ios@default\""));
    let report: serde_json::Value = serde_json::from_str(&std::fs::read_to_string(&json).unwrap()).unwrap();
    assert_eq!(report["schema"], "qc-harness/run/1");
    assert_eq!(report["totals"]["passed"], 70);
    assert_eq!(report["interrupted"], false);
}

#[test]
fn unknown_variant_or_check_is_a_usage_error() {
    let output = run(&["--variants", "default,gros"]);
    assert_eq!(output.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&output.stderr).contains("\"gros\""));
    let output = run(&["--checks", "upstream.nope"]);
    assert_eq!(output.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&output.stderr).contains("upstream.nope"));
}

#[test]
fn an_invalid_variant_file_names_the_file_and_field() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("mine.json");
    std::fs::write(&file, r#"{"events": {"trial_started": {"enabled": "no"}}}"#).unwrap();
    let output = run(&["--variant-file", file.to_str().unwrap(), "--checks", "none"]);
    assert_eq!(output.status.code(), Some(2));
    let err = String::from_utf8_lossy(&output.stderr);
    assert!(err.contains("mine.json") && err.contains("events.trial_started.enabled"), "{err}");
}

#[test]
fn a_user_settings_file_runs_as_an_extra_variant() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("eu.json");
    std::fs::write(&file, r#"{"send_proceeds": false, "events": {"trial_started": {"name": "Trial"}}}"#)
        .unwrap();
    let arg = format!("eu={}", file.display());
    let output = run(&[
        "--no-snapshots",
        "--variants",
        "default",
        "--variant-file",
        &arg,
        "--checks",
        "none",
        "--details",
        "all",
    ]);
    assert_eq!(output.status.code(), Some(0), "{}", stdout(&output));
    assert!(stdout(&output).contains("✓ trial_started.ios @ eu"));
    assert_eq!(last_line(&output), "136 passed, 0 failed");
}

#[test]
fn a_relay_that_cannot_start_exits_3_with_its_output() {
    let output = run(&[
        "--relay-cmd",
        "echo cannot bind >&2; exit 7",
        "--variants",
        "default",
        "--checks",
        "none",
        "--no-snapshots",
    ]);
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(output.status.code(), Some(3), "{}", stdout(&output));
    assert!(stderr.contains("cannot bind") && stderr.contains("exited with code 7"), "{stderr}");
    assert_eq!(stdout(&output).trim_end(), "no case ran: the relay did not start");
}

#[test]
fn an_interrupted_run_still_leaves_its_reports() {
    let dir = tempfile::tempdir().unwrap();
    let json = dir.path().join("report.json");
    let mut child = Command::new(EXE)
        .args(["run", "--no-snapshots", "--json", json.to_str().unwrap()])
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn()
        .unwrap();
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
    while !json.exists() && std::time::Instant::now() < deadline {
        std::thread::sleep(std::time::Duration::from_millis(10));
    }
    let pid = nix::unistd::Pid::from_raw(child.id() as i32);
    nix::sys::signal::kill(pid, nix::sys::signal::Signal::SIGINT).unwrap();
    let status = child.wait().unwrap();
    assert_ne!(status.code(), Some(0), "an interrupted run does not pass");
    let report: serde_json::Value = serde_json::from_str(&std::fs::read_to_string(&json).unwrap()).unwrap();
    assert_eq!(report["interrupted"], true);
    assert_eq!(report["passed"], false);
}

/// The built-in reference relay started on its own (as a user's running relay would be), with
/// token `url-mode-token`, uploading to a fake CleverTap the run will start on `clevertap_port`.
fn start_attached_reference_relay(
    settings: &std::path::Path,
    relay_port: u16,
    clevertap_port: u16,
) -> std::process::Child {
    let launch =
        qc_harness::relay::RelayLaunch::new(format!("http://127.0.0.1:{clevertap_port}"), Default::default());
    let launch = qc_harness::relay::RelayLaunch { token: "url-mode-token".to_string(), ..launch };
    Command::new(EXE)
        .arg("reference-relay")
        .envs(launch.environment(relay_port, settings))
        .stderr(std::process::Stdio::null())
        .spawn()
        .unwrap()
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port()
}

#[test]
fn a_running_relay_is_driven_by_url_and_can_be_run_against_twice() {
    let dir = tempfile::tempdir().unwrap();
    let settings = dir.path().join("declared.json");
    std::fs::write(&settings, r#"{"send_proceeds": false}"#).unwrap();
    let (relay_port, clevertap_port) = (free_port(), free_port());
    let mut relay = start_attached_reference_relay(&settings, relay_port, clevertap_port);
    let url = format!("http://127.0.0.1:{relay_port}");
    let listen = format!("127.0.0.1:{clevertap_port}");
    let args = [
        "--relay-url",
        &url,
        "--clevertap-listen",
        &listen,
        "--settings",
        settings.to_str().unwrap(),
        "--token",
        "url-mode-token",
        "--no-snapshots",
        "--checks",
        "auth,event,delivery.redelivery",
        "--details",
        "all",
    ];
    let first = run(&args);
    let second = run(&args);
    let _ = relay.kill();
    let _ = relay.wait();
    for output in [first, second] {
        assert_eq!(output.status.code(), Some(0), "{}", problems(&output));
        assert!(stdout(&output).contains("✓ subscription_renewed.ios @ declared"));
        // event.disabled needs settings the declared relay does not have.
        assert_eq!(last_line(&output), "74 passed, 0 failed, 1 skipped");
    }
}

#[test]
fn an_attached_relay_s_failures_carry_no_empty_relay_output_section() {
    let dir = tempfile::tempdir().unwrap();
    let (runs_with, declared) = (dir.path().join("runs.json"), dir.path().join("declared.json"));
    std::fs::write(&runs_with, r#"{"send_proceeds": false}"#).unwrap();
    // Declared settings the relay does not run with: the revenue cases fail.
    std::fs::write(&declared, r#"{"send_proceeds": true}"#).unwrap();
    let (relay_port, clevertap_port) = (free_port(), free_port());
    let mut relay = start_attached_reference_relay(&runs_with, relay_port, clevertap_port);
    let (url, listen) = (format!("http://127.0.0.1:{relay_port}"), format!("127.0.0.1:{clevertap_port}"));
    let json = dir.path().join("report.json");
    let output = run(&[
        "--relay-url",
        &url,
        "--clevertap-listen",
        &listen,
        "--settings",
        declared.to_str().unwrap(),
        "--token",
        "url-mode-token",
        "--no-snapshots",
        "--checks",
        "none",
        "--details",
        "all",
        "--json",
        json.to_str().unwrap(),
    ]);
    let _ = relay.kill();
    let _ = relay.wait();
    let text = stdout(&output);
    assert_eq!(output.status.code(), Some(1), "{}", problems(&output));
    assert!(text.contains("✗ subscription_renewed.ios @ declared"), "{text}");
    assert!(!text.contains("relay output"), "no output was captured, so no section: {text}");
    let report = std::fs::read_to_string(&json).unwrap();
    assert!(!report.contains("relay_tail"), "{report}");
}
