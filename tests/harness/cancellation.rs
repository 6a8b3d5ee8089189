//! Tests: one owner for cancellation. The library installs no signal handler; the CLI owns
//! SIGINT, SIGTERM and SIGHUP; an interrupted `run` stops every relay (daemons included),
//! removes its temporary folders and writes a complete report marked interrupted.

use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use nix::sys::signal::Signal;
use qc_harness::relay::{RelayLaunch, group_members, marked_processes, start_relay};
use qc_harness::{RelaySpec, RelayTarget, Settings};

const EXE: &str = env!("CARGO_BIN_EXE_qc-harness");

/// A relay command that first leaves a daemon behind (`setsid` plus a double fork, the
/// daemon's pid in `pid_file`), then serves HTTP.
fn daemonizing_relay(pid_file: &Path) -> String {
    format!(
        "(setsid sh -c 'echo $$ > {}; exec sleep 300' &) ; exec python3 -m http.server $PORT --bind 127.0.0.1",
        pid_file.display()
    )
}

fn alive(pid: i32) -> bool {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).unwrap_or_default();
    let state = stat.rfind(')').and_then(|i| stat[i + 1..].split_whitespace().next()).unwrap_or("Z");
    state != "Z" && state != "X"
}

fn wait_until(what: &str, deadline: Duration, done: impl Fn() -> bool) {
    let start = Instant::now();
    while !done() {
        assert!(start.elapsed() < deadline, "{what} within {deadline:?}");
        std::thread::sleep(Duration::from_millis(20));
    }
}

fn read_pid(file: &Path) -> i32 {
    wait_until("the pid file is written", Duration::from_secs(10), || {
        std::fs::read_to_string(file).is_ok_and(|s| s.trim().parse::<i32>().is_ok())
    });
    std::fs::read_to_string(file).unwrap().trim().parse().unwrap()
}

/// A started relay that left a daemon outside its group: the relay, the daemon's pid, and the
/// folder holding the pid file (kept for the test's length).
async fn start_daemonizing() -> (qc_harness::relay::RunningRelay, i32, tempfile::TempDir) {
    let dir = tempfile::tempdir().unwrap();
    let pid_file = dir.path().join("daemon.pid");
    let spec = RelaySpec::new(RelayTarget::Command(daemonizing_relay(&pid_file)));
    let launch = RelayLaunch::new("http://127.0.0.1:9", Settings::default());
    let relay = start_relay(&spec, launch).await.expect("the relay starts");
    (relay, read_pid(&pid_file), dir)
}

#[cfg(target_os = "linux")]
#[tokio::test]
async fn stop_also_stops_a_daemon_the_relay_left_outside_its_group() {
    let (relay, daemon, _dir) = start_daemonizing().await;
    assert!(alive(daemon), "the daemon runs");
    assert!(!group_members(relay.process_group().unwrap()).contains(&daemon), "the daemon left the group");
    relay.stop().await.unwrap();
    assert!(!alive(daemon), "the daemon {daemon} survived stop()");
}

#[cfg(target_os = "linux")]
#[tokio::test]
async fn dropping_a_relay_kills_its_daemon_without_blocking() {
    let (relay, daemon, _dir) = start_daemonizing().await;
    let pgid = relay.process_group().unwrap();
    let start = Instant::now();
    drop(relay);
    assert!(start.elapsed() < Duration::from_millis(200), "drop blocked for {:?}", start.elapsed());
    wait_until("the daemon is killed", Duration::from_secs(3), || !alive(daemon));
    wait_until("the group is gone", Duration::from_secs(3), || group_members(pgid).is_empty());
}

/// Set in the environment of the child test process that starts a relay and is interrupted.
const NO_HANDLER_ENV: &str = "QC_HARNESS_NO_HANDLER_PGID_FILE";

/// Not a test of its own: run by `the_library_installs_no_signal_handler` in a child process.
#[tokio::test]
#[ignore = "helper process for the_library_installs_no_signal_handler"]
async fn no_handler_helper_process() {
    let Ok(file) = std::env::var(NO_HANDLER_ENV) else { return };
    let spec =
        RelaySpec::new(RelayTarget::Command("exec python3 -m http.server $PORT --bind 127.0.0.1".into()));
    let launch = RelayLaunch::new("http://127.0.0.1:9", Settings::default());
    let relay = start_relay(&spec, launch).await.expect("the relay starts");
    std::fs::write(&file, relay.process_group().unwrap().to_string()).unwrap();
    tokio::time::sleep(Duration::from_secs(60)).await;
}

#[test]
fn the_library_installs_no_signal_handler() {
    use std::os::unix::process::ExitStatusExt;
    let dir = tempfile::tempdir().unwrap();
    let pgid_file = dir.path().join("pgid");
    let mut child = Command::new(std::env::current_exe().unwrap())
        .args(["cancellation::no_handler_helper_process", "--exact", "--ignored", "--nocapture"])
        .env(NO_HANDLER_ENV, &pgid_file)
        // Killed by SIGINT with no handler, it cannot remove its relay's folder: keep it in ours.
        .env("TMPDIR", dir.path())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let pgid = read_pid(&pgid_file);
    nix::sys::signal::kill(nix::unistd::Pid::from_raw(child.id() as i32), Signal::SIGINT).unwrap();
    let status = child.wait().unwrap();
    // The helper did not ask for a handler, so its relay is left to us: stop it first.
    nix::sys::signal::killpg(nix::unistd::Pid::from_raw(pgid), Signal::SIGKILL).unwrap();
    assert_eq!(status.signal(), Some(2), "SIGINT must keep its default action in a library user: {status}");
}

/// `qc-harness run ARGS` in `dir`, with `TMPDIR` inside `dir` so that its temporary folders
/// can be counted.
fn start_run(dir: &Path, args: &[&str]) -> Child {
    let tmp = dir.join("tmp");
    std::fs::create_dir_all(&tmp).unwrap();
    Command::new(EXE)
        .arg("run")
        .args(args)
        .current_dir(dir)
        .env("TMPDIR", &tmp)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap()
}

fn relay_folders(dir: &Path) -> Vec<String> {
    let entries = std::fs::read_dir(dir.join("tmp")).unwrap();
    entries
        .filter_map(|e| e.ok()?.file_name().into_string().ok())
        .filter(|name| name.starts_with("qc-harness-relay-"))
        .collect()
}

/// Sends `signal` to the running harness, waits for it and checks the exit code, that no
/// relay and no temporary folder is left; returns what it printed.
fn interrupt(mut child: Child, dir: &Path, signal: Signal, code: i32) -> String {
    let pid = child.id() as i32;
    nix::sys::signal::kill(nix::unistd::Pid::from_raw(pid), signal).unwrap();
    let start = Instant::now();
    let status = loop {
        if let Some(status) = child.try_wait().unwrap() {
            break status;
        }
        if start.elapsed() > Duration::from_secs(8) {
            let _ = child.kill();
            let _ = child.wait();
            panic!("`run` did not end within 8 s of {signal}");
        }
        std::thread::sleep(Duration::from_millis(20));
    };
    let output = child.wait_with_output().unwrap();
    let text =
        format!("{}{}", String::from_utf8_lossy(&output.stdout), String::from_utf8_lossy(&output.stderr));
    let left = marked_processes(&format!("{pid}-"));
    for relay in &left {
        let _ = nix::sys::signal::kill(nix::unistd::Pid::from_raw(*relay), Signal::SIGKILL);
    }
    assert!(left.is_empty(), "relay processes left after {signal}: {left:?}\n{text}");
    assert_eq!(status.code(), Some(code), "exit code after {signal}\n{text}");
    assert_eq!(relay_folders(dir), Vec::<String>::new(), "temporary folders left after {signal}");
    text
}

/// Starts a full run with `--json`, signals it once it has written a partial report, and
/// checks the final report: complete JSON, marked interrupted.
fn mid_run_signal(signal: Signal, code: i32) {
    let dir = tempfile::tempdir().unwrap();
    let child = start_run(dir.path(), &["--json", "report.json", "--no-snapshots", "--jobs", "2"]);
    let report = dir.path().join("report.json");
    wait_until("a partial report is written", Duration::from_secs(60), || report.exists());
    interrupt(child, dir.path(), signal, code);
    let json: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&report).unwrap()).expect("a complete JSON report");
    assert_eq!(json["interrupted"], true, "{json}");
}

#[test]
fn sigterm_to_run_leaves_no_relay_no_folder_and_a_complete_report() {
    mid_run_signal(Signal::SIGTERM, 143);
}

#[test]
fn sighup_to_run_leaves_no_relay_no_folder_and_a_complete_report() {
    mid_run_signal(Signal::SIGHUP, 129);
}

#[test]
fn an_early_ctrl_c_exits_130_and_cleans_up() {
    let dir = tempfile::tempdir().unwrap();
    let slow = "sleep 5; exec python3 -m http.server $PORT --bind 127.0.0.1";
    let child = start_run(dir.path(), &["--relay-cmd", slow, "--checks", "none", "--json", "early.json"]);
    wait_until("the relay is spawned", Duration::from_secs(30), || !relay_folders(dir.path()).is_empty());
    let text = interrupt(child, dir.path(), Signal::SIGINT, 130);
    assert!(text.contains("interrupted"), "{text}");
    let json: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(dir.path().join("early.json")).unwrap()).unwrap();
    assert_eq!(json["interrupted"], true, "{json}");
}
