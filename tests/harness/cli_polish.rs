//! Tests: command-line polish (issue 11 point 9): settings files, colour, addresses, help.

use std::process::{Command, Output};

const EXE: &str = env!("CARGO_BIN_EXE_qc-harness");

fn qc(args: &[&str]) -> Output {
    Command::new(EXE).args(args).env_remove("NO_COLOR").output().unwrap()
}

fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).to_string()
}

#[test]
fn a_settings_file_that_is_not_an_object_is_refused_naming_the_file() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("mine.json");
    std::fs::write(&file, "[]").unwrap();
    let path = file.to_str().unwrap();
    for args in [vec!["map", "trial_started.ios", "--settings", path], vec!["run", "--variant-file", path]] {
        let output = qc(&args);
        assert_eq!(output.status.code(), Some(2), "{args:?}");
        let stderr = text(&output.stderr);
        assert!(stderr.contains(path) && stderr.contains("must be a JSON object"), "{stderr}");
    }
}

#[test]
fn color_always_colours_a_pipe_and_never_does_not() {
    let always = qc(&["--color", "always", "map", "no-such-fixture"]);
    assert!(text(&always.stderr).contains("\u{1b}["), "{}", text(&always.stderr));
    let never = qc(&["--color", "never", "map", "no-such-fixture"]);
    assert!(!text(&never.stderr).contains("\u{1b}["));
}

#[test]
fn localhost_is_accepted_as_an_address() {
    let output =
        qc(&["send", "trial_started", "--to", "localhost:9/webhook", "--token", "t", "--timeout", "1"]);
    assert_eq!(output.status.code(), Some(1), "an address, not a usage error: {}", text(&output.stderr));
    assert!(text(&output.stdout).contains("http://localhost:9/webhook"), "{}", text(&output.stdout));
    let bad = qc(&["clevertap", "--listen", "localhost:http"]);
    assert_eq!(bad.status.code(), Some(2));
    assert!(text(&bad.stderr).contains("the port must be a number"));
}

#[test]
fn run_help_groups_its_options() {
    let help = text(&qc(&["run", "--help"]).stdout);
    for heading in ["Relay:", "Selection:", "Snapshots:", "Reports:"] {
        assert!(help.lines().any(|l| l == heading), "no {heading} in\n{help}");
    }
    assert!(help.contains("QONVERSION_WEBHOOK_TOKEN"));
}

#[cfg(unix)]
#[test]
fn ctrl_c_prints_a_partial_summary() {
    let dir = tempfile::tempdir().unwrap();
    let child = Command::new(EXE)
        .args(["run", "--relay-cmd", "python3 -m http.server $PORT --bind 127.0.0.1", "--checks", "none"])
        .args(["--json", "report.json"])
        .current_dir(dir.path())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    // The run is under way once its first partial report is written: signal it then, not after a guess.
    let report = dir.path().join("report.json");
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(60);
    while !report.exists() {
        assert!(std::time::Instant::now() < deadline, "no partial report within 60 s");
        std::thread::sleep(std::time::Duration::from_millis(20));
    }
    let pid = nix::unistd::Pid::from_raw(child.id() as i32);
    nix::sys::signal::kill(pid, nix::sys::signal::Signal::SIGINT).unwrap();
    let output = child.wait_with_output().unwrap();
    let stdout = text(&output.stdout);
    assert_eq!(output.status.code(), Some(130), "{stdout}{}", text(&output.stderr));
    assert!(stdout.contains("interrupted: the run stopped before every case and check finished"), "{stdout}");
    assert!(stdout.lines().last().unwrap_or_default().contains("passed"), "{stdout}");
}
