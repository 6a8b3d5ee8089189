//! Tests: `qc-harness snapshots`, reviewing `.snap.new` files without re-running the suite.

use std::path::Path;
use std::process::{Command, Output, Stdio};

use std::io::Write;

const EXE: &str = env!("CARGO_BIN_EXE_qc-harness");

fn snap(expression: &str, body: &str) -> String {
    format!("---\nsource: qc-harness run\nexpression: \"{expression}\"\n---\n{body}\n")
}

/// A store with one changed snapshot (a@v) and one new one (b@v).
fn store() -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    let write = |name: &str, text: String| std::fs::write(dir.path().join(name), text).unwrap();
    write("a@v.snap", snap("a@v", "[\n  {\n    \"ts\": 1\n  }\n]"));
    write("a@v.snap.new", snap("a@v", "[\n  {\n    \"ts\": 2\n  }\n]"));
    write("b@v.snap.new", snap("b@v", "[]"));
    dir
}

fn snapshots(dir: &Path, args: &[&str]) -> Output {
    Command::new(EXE)
        .arg("snapshots")
        .args(args)
        .args(["--snapshots", dir.to_str().unwrap()])
        .env("NO_COLOR", "1")
        .stdin(Stdio::null())
        .output()
        .unwrap()
}

fn stdout(output: &Output) -> String {
    String::from_utf8_lossy(&output.stdout).to_string()
}

#[test]
fn list_and_show_describe_pending_snapshots_as_diffs() {
    let dir = store();
    let list = snapshots(dir.path(), &[]);
    assert_eq!(list.status.code(), Some(0));
    let text = stdout(&list);
    assert!(text.lines().any(|l| l.starts_with("a@v") && l.contains("changed (2 line(s))")), "{text}");
    assert!(text.lines().any(|l| l.starts_with("b@v") && l.ends_with("new")), "{text}");
    let show = stdout(&snapshots(dir.path(), &["show", "a@v"]));
    assert!(show.contains("-     \"ts\": 1") && show.contains("+     \"ts\": 2"), "{show}");
}

#[test]
fn accept_and_reject_by_name_or_all_without_running_the_suite() {
    let dir = store();
    assert_eq!(snapshots(dir.path(), &["accept", "a@v.snap.new"]).status.code(), Some(0));
    let accepted = std::fs::read_to_string(dir.path().join("a@v.snap")).unwrap();
    assert!(accepted.contains("\"ts\": 2") && !dir.path().join("a@v.snap.new").exists());
    assert_eq!(snapshots(dir.path(), &["reject", "--all"]).status.code(), Some(0));
    assert!(!dir.path().join("b@v.snap.new").exists() && !dir.path().join("b@v.snap").exists());
    let unknown = snapshots(dir.path(), &["accept", "a@w"]);
    assert_eq!(unknown.status.code(), Some(2));
}

#[test]
fn a_typo_gets_a_suggestion() {
    let dir = store();
    let output = snapshots(dir.path(), &["accept", "b@w"]);
    assert_eq!(output.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&output.stderr).contains("did you mean `b@v`?"));
}

#[test]
fn the_review_takes_one_answer_per_snapshot() {
    let dir = store();
    let mut child = Command::new(EXE)
        .args(["snapshots", "review", "--snapshots", dir.path().to_str().unwrap()])
        .env("NO_COLOR", "1")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    child.stdin.take().unwrap().write_all(b"r\na\n").unwrap();
    let output = child.wait_with_output().unwrap();
    assert_eq!(output.status.code(), Some(0));
    assert!(stdout(&output).contains("1 accepted, 1 rejected, 0 skipped"), "{}", stdout(&output));
    assert!(dir.path().join("a@v.snap").exists() && !dir.path().join("a@v.snap.new").exists());
    assert!(std::fs::read_to_string(dir.path().join("a@v.snap")).unwrap().contains("\"ts\": 1"), "rejected");
    assert!(dir.path().join("b@v.snap").exists(), "accepted");
}

#[cfg(unix)]
#[test]
fn accepting_through_a_symlink_is_refused() {
    let dir = store();
    let outside = tempfile::NamedTempFile::new().unwrap();
    std::fs::remove_file(dir.path().join("a@v.snap")).unwrap();
    std::os::unix::fs::symlink(outside.path(), dir.path().join("a@v.snap")).unwrap();
    let output = snapshots(dir.path(), &["accept", "a@v"]);
    assert_eq!(output.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&output.stderr).contains("symlink"));
    assert_eq!(std::fs::read_to_string(outside.path()).unwrap(), "");
}
