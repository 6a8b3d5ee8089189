//! Process groups of spawned relays: signals, liveness as the OS sees it, and the
//! process-wide registry that an interrupt (Ctrl-C, SIGTERM) cleans up.

use std::collections::BTreeSet;
use std::sync::{Mutex, OnceLock};
use std::time::{Duration, Instant};

use nix::errno::Errno;
use nix::sys::signal::{Signal, killpg};
use nix::unistd::Pid;

/// How long a relay may take to exit after SIGTERM before it gets SIGKILL.
pub const TERM_GRACE: Duration = Duration::from_secs(5);

/// Process groups of relays that are running now.
static LIVE_GROUPS: Mutex<BTreeSet<i32>> = Mutex::new(BTreeSet::new());

/// Set by [`defer_exit_on_interrupt`].
static DEFER_EXIT: std::sync::atomic::AtomicBool = std::sync::atomic::AtomicBool::new(false);

/// How long the handler waits, after a first interrupt, for the caller to finish its report.
const DEFERRED_EXIT: Duration = Duration::from_secs(10);

/// The caller handles the first interrupt itself (stops its work, prints a partial report and
/// exits): the handler then only stops the relays and exits on a second interrupt, or
/// [`DEFERRED_EXIT`] later.
pub fn defer_exit_on_interrupt() {
    DEFER_EXIT.store(true, std::sync::atomic::Ordering::SeqCst);
}

pub(crate) fn register(pgid: i32) {
    LIVE_GROUPS.lock().unwrap_or_else(|e| e.into_inner()).insert(pgid);
}

pub(crate) fn unregister(pgid: i32) {
    LIVE_GROUPS.lock().unwrap_or_else(|e| e.into_inner()).remove(&pgid);
}

/// Sends `signal` to every process of group `pgid`; `false` when the group no longer exists.
pub fn signal_group(pgid: i32, signal: Signal) -> bool {
    !matches!(killpg(Pid::from_raw(pgid), signal), Err(Errno::ESRCH))
}

/// The processes of group `pgid` that are still alive (zombies excluded), read from the OS.
///
/// On Linux this scans `/proc`; elsewhere it asks `kill(-pgid, 0)` and returns `[pgid]`
/// while the group exists.
pub fn group_members(pgid: i32) -> Vec<i32> {
    #[cfg(target_os = "linux")]
    {
        let Ok(entries) = std::fs::read_dir("/proc") else { return probe_group(pgid) };
        entries
            .filter_map(|entry| entry.ok()?.file_name().to_str()?.parse::<i32>().ok())
            .filter(|pid| process_group_if_alive(*pid) == Some(pgid))
            .collect()
    }
    #[cfg(not(target_os = "linux"))]
    {
        probe_group(pgid)
    }
}

#[cfg_attr(target_os = "linux", allow(dead_code))]
fn probe_group(pgid: i32) -> Vec<i32> {
    if signal_group_zero(pgid) { vec![pgid] } else { Vec::new() }
}

fn signal_group_zero(pgid: i32) -> bool {
    !matches!(nix::sys::signal::killpg(Pid::from_raw(pgid), None), Err(Errno::ESRCH))
}

/// The process group of `pid` from `/proc/<pid>/stat`, `None` if it is gone or a zombie.
#[cfg(target_os = "linux")]
fn process_group_if_alive(pid: i32) -> Option<i32> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    // "pid (comm) state ppid pgrp ..."; comm may hold spaces and parentheses.
    let rest = &stat[stat.rfind(')')? + 1..];
    let mut fields = rest.split_whitespace();
    let state = fields.next()?;
    let pgrp = fields.nth(1)?.parse().ok()?;
    (state != "Z" && state != "X").then_some(pgrp)
}

/// Waits (blocking, polling) until group `pgid` has no live process, at most `deadline`.
pub fn wait_group_empty_blocking(pgid: i32, deadline: Duration) -> bool {
    let start = Instant::now();
    loop {
        if group_members(pgid).is_empty() {
            return true;
        }
        if start.elapsed() >= deadline {
            return false;
        }
        std::thread::sleep(Duration::from_millis(10));
    }
}

/// SIGTERM to every registered relay group, SIGKILL to those still alive after [`TERM_GRACE`].
pub fn kill_all_relays() {
    let groups: Vec<i32> = LIVE_GROUPS.lock().unwrap_or_else(|e| e.into_inner()).iter().copied().collect();
    for &pgid in &groups {
        signal_group(pgid, Signal::SIGTERM);
    }
    let start = Instant::now();
    for &pgid in &groups {
        let left = TERM_GRACE.saturating_sub(start.elapsed());
        if !wait_group_empty_blocking(pgid, left) {
            signal_group(pgid, Signal::SIGKILL);
        }
        unregister(pgid);
    }
}

/// Makes SIGINT (Ctrl-C), SIGTERM and SIGHUP stop every relay this process started, then
/// exit with 130 (SIGINT), 143 (SIGTERM) or 129 (SIGHUP). Idempotent; call it once early in a command that
/// starts relays. [`start_relay`](super::start_relay) calls it too.
pub fn install_interrupt_handler() {
    static INSTALLED: OnceLock<bool> = OnceLock::new();
    INSTALLED.get_or_init(|| {
        let (ready_tx, ready_rx) = std::sync::mpsc::channel();
        let spawned = std::thread::Builder::new().name("qc-harness-signals".into()).spawn(move || {
            let Ok(rt) = tokio::runtime::Builder::new_current_thread().enable_all().build() else {
                let _ = ready_tx.send(false);
                return;
            };
            rt.block_on(wait_for_interrupt(ready_tx));
        });
        spawned.is_ok() && ready_rx.recv_timeout(Duration::from_secs(5)).unwrap_or(false)
    });
}

async fn wait_for_interrupt(ready: std::sync::mpsc::Sender<bool>) {
    use tokio::signal::unix::{SignalKind, signal};
    let registered =
        (signal(SignalKind::interrupt()), signal(SignalKind::terminate()), signal(SignalKind::hangup()));
    let (Ok(mut int), Ok(mut term), Ok(mut hup)) = registered else {
        let _ = ready.send(false);
        return;
    };
    let _ = ready.send(true);
    let code = tokio::select! {
        _ = int.recv() => 130,
        _ = term.recv() => 143,
        _ = hup.recv() => 129,
    };
    if DEFER_EXIT.load(std::sync::atomic::Ordering::SeqCst) {
        eprintln!("qc-harness: interrupted, finishing the report (interrupt again to stop at once)");
        tokio::select! {
            _ = int.recv() => {}
            _ = term.recv() => {}
            _ = tokio::time::sleep(DEFERRED_EXIT) => {}
        }
    } else {
        eprintln!("qc-harness: interrupted, stopping the relay processes");
    }
    kill_all_relays();
    std::process::exit(code);
}
