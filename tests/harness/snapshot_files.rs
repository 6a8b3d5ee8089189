//! Tests: snapshot files that cannot be used are input errors (exit 2) naming the file, the
//! variant's cases stay in the totals, and a planted symbolic link is never written through.
//! Also: `run --clevertap-listen` beyond loopback warns as `clevertap --listen` does.

use std::path::Path;
use std::process::{Command, Output};

const EXE: &str = env!("CARGO_BIN_EXE_qc-harness");

fn run_default_variant(snapshots: &Path, extra: &[&str]) -> Output {
    Command::new(EXE)
        .args(["run", "--variants", "default", "--checks", "none", "--snapshots"])
        .arg(snapshots)
        .args(extra)
        .env_remove("CI") // outside CI mode: pending `.snap.new` files are written (and refused here)
        .env_remove("INSTA_UPDATE")
        .output()
        .unwrap()
}

/// `N passed, M failed` → N + M.
fn counted(stdout: &str) -> usize {
    let line = stdout.lines().rev().find(|l| l.contains(" passed, ")).expect("a totals line");
    let numbers: Vec<usize> =
        line.split(|c: char| !c.is_ascii_digit()).filter_map(|n| n.parse().ok()).collect();
    numbers.iter().take(2).sum()
}

fn copy_snapshots(to: &Path) {
    std::fs::create_dir_all(to).unwrap();
    for entry in std::fs::read_dir(concat!(env!("CARGO_MANIFEST_DIR"), "/snapshots")).unwrap() {
        let entry = entry.unwrap();
        let name = entry.file_name();
        if name.to_string_lossy().ends_with("@default.snap") {
            std::fs::copy(entry.path(), to.join(name)).unwrap();
        }
    }
}

#[test]
fn a_corrupt_snapshot_and_a_planted_symlink_are_input_errors_and_cases_stay_counted() {
    let dir = tempfile::tempdir().unwrap();
    let snaps = dir.path().join("snapshots");
    copy_snapshots(&snaps);
    let clean = run_default_variant(&snaps, &[]);
    assert_eq!(clean.status.code(), Some(0), "{}", String::from_utf8_lossy(&clean.stderr));
    let all_cases = counted(&String::from_utf8_lossy(&clean.stdout));

    let corrupt = snaps.join("trial_started.ios@default.snap");
    std::fs::write(&corrupt, "garbage").unwrap();
    let outside = dir.path().join("outside.txt");
    std::fs::write(&outside, "precious").unwrap();
    let planted = snaps.join("trial_canceled.ios@default.snap");
    std::fs::remove_file(&planted).unwrap();
    std::os::unix::fs::symlink(&outside, snaps.join("trial_canceled.ios@default.snap.new")).unwrap();

    let out = run_default_variant(&snaps, &[]);
    let (stdout, stderr) = (String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr));
    assert_eq!(out.status.code(), Some(2), "{stdout}\n{stderr}");
    assert!(stderr.contains("trial_started.ios@default.snap"), "{stderr}");
    assert!(
        stderr.contains("trial_canceled.ios@default.snap.new") && stderr.contains("symbolic link"),
        "{stderr}"
    );
    assert!(!stdout.contains("relay error") && !stderr.contains("relay error"), "{stdout}\n{stderr}");
    assert_eq!(std::fs::read_to_string(&outside).unwrap(), "precious", "written through the symlink");
    assert_eq!(counted(&stdout), all_cases, "every case of the variant is counted: {stdout}");
}

#[test]
fn a_fixture_name_too_long_for_the_file_system_is_an_input_error_naming_the_file() {
    let dir = tempfile::tempdir().unwrap();
    let fixtures = dir.path().join("fixtures");
    std::fs::create_dir(&fixtures).unwrap();
    let events = concat!(env!("CARGO_MANIFEST_DIR"), "/fixtures/events/");
    let long = format!("{}.ios", "t".repeat(246));
    // Two different events: a relay deduplicates the same event sent twice.
    let started = std::fs::read(format!("{events}trial_started.ios.json")).unwrap();
    let converted = std::fs::read(format!("{events}trial_converted.ios.json")).unwrap();
    std::fs::write(fixtures.join(format!("{long}.json")), &started).unwrap();
    std::fs::write(fixtures.join("short.ios.json"), &converted).unwrap();
    let snaps = dir.path().join("snapshots");
    let fixtures = fixtures.to_string_lossy().into_owned();
    let out = run_default_variant(&snaps, &["--fixtures", &fixtures, "--accept"]);
    let (stdout, stderr) = (String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr));
    assert_eq!(out.status.code(), Some(2), "{stdout}\n{stderr}");
    assert!(stderr.contains(&format!("{long}@default.snap")), "{stderr}");
    assert_eq!(counted(&stdout), 2, "{stdout}");
}

#[test]
fn run_warns_when_the_fake_listens_beyond_loopback() {
    let out = Command::new(EXE)
        .args(["run", "--relay-url", "http://127.0.0.1:9", "--clevertap-listen", "0.0.0.0:0"])
        .args(["--checks", "none", "--no-snapshots", "--startup-timeout", "200ms"])
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("warning: listening on 0.0.0.0:0") && stderr.contains("other machines"),
        "{stderr}"
    );
    let quiet = Command::new(EXE)
        .args(["run", "--relay-url", "http://127.0.0.1:9", "--clevertap-listen", "127.0.0.1:0"])
        .args(["--checks", "none", "--no-snapshots", "--startup-timeout", "200ms"])
        .output()
        .unwrap();
    assert!(!String::from_utf8_lossy(&quiet.stderr).contains("reachable from"));
}
