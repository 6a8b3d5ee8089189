//! Process groups of spawned relays: signals, liveness as the OS sees it, and the
//! process-wide registry of running relays that [`kill_all_relays`] stops.
//!
//! Every relay is started with [`MARKER_ENV`] set to a value of its own. Descendants inherit
//! it, so a relay that leaves its process group (`setsid`, a double fork) is still found on
//! Linux, by reading `/proc/<pid>/environ`. On macOS a process's environment is not readable
//! this way: there only the process group is stopped (see `docs/cancellation.md`).

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};
use std::sync::Mutex;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use nix::errno::Errno;
use nix::sys::signal::{Signal, killpg};
use nix::unistd::Pid;

/// How long a relay may take to exit after SIGTERM before it gets SIGKILL.
pub const TERM_GRACE: Duration = Duration::from_secs(5);

/// The environment variable that marks every process a relay starts: `<harness pid>-<n>`.
pub const MARKER_ENV: &str = "QC_HARNESS_RELAY";

/// Relays that are running now: process group → marker.
static LIVE_GROUPS: Mutex<BTreeMap<i32, String>> = Mutex::new(BTreeMap::new());

/// Temporary folders of running relays (their settings files). A relay's folder is removed
/// when the relay is dropped; a process that exits on a signal drops nothing, so
/// [`kill_all_relays`] removes what is left here.
static LIVE_FOLDERS: Mutex<BTreeSet<PathBuf>> = Mutex::new(BTreeSet::new());

pub(crate) fn register_folder(path: &Path) {
    LIVE_FOLDERS.lock().unwrap_or_else(|e| e.into_inner()).insert(path.to_path_buf());
}

pub(crate) fn unregister_folder(path: &Path) {
    LIVE_FOLDERS.lock().unwrap_or_else(|e| e.into_inner()).remove(path);
}

/// A fresh marker value for the next relay: `<harness pid>-<n>`.
pub(crate) fn new_marker() -> String {
    static NEXT: AtomicU64 = AtomicU64::new(0);
    format!("{}-{}", std::process::id(), NEXT.fetch_add(1, Ordering::Relaxed))
}

/// The marker prefix shared by every relay this process starts: `<harness pid>-`.
pub fn marker_prefix() -> String {
    format!("{}-", std::process::id())
}

pub(crate) fn register(pgid: i32, marker: &str) {
    LIVE_GROUPS.lock().unwrap_or_else(|e| e.into_inner()).insert(pgid, marker.to_string());
}

pub(crate) fn unregister(pgid: i32) {
    LIVE_GROUPS.lock().unwrap_or_else(|e| e.into_inner()).remove(&pgid);
}

/// Makes this process the "child subreaper" (Linux): a relay's descendants whose parent
/// exits (a daemon's double fork) are re-parented to this process instead of to init, so
/// they stay in reach. Process-wide: the CLI calls it; a library user may. `false` where the
/// OS has no such thing (macOS) or refuses.
pub fn become_subreaper() -> bool {
    #[cfg(target_os = "linux")]
    {
        // SAFETY: prctl with PR_SET_CHILD_SUBREAPER takes plain integers and touches no memory.
        unsafe { libc::prctl(libc::PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0) == 0 }
    }
    #[cfg(not(target_os = "linux"))]
    {
        false
    }
}

/// Sends `signal` to every process of group `pgid`; `false` when the group no longer exists.
pub fn signal_group(pgid: i32, signal: Signal) -> bool {
    !matches!(killpg(Pid::from_raw(pgid), signal), Err(Errno::ESRCH))
}

/// Sends `signal` to group `pgid` and to every live process carrying `marker` (daemons that
/// left the group).
pub(crate) fn signal_relay(pgid: i32, marker: &str, signal: Signal) {
    signal_group(pgid, signal);
    for pid in marked_processes(marker) {
        let _ = nix::sys::signal::kill(Pid::from_raw(pid), signal);
    }
}

/// The processes of group `pgid` that are still alive (zombies excluded), read from the OS.
///
/// On Linux this scans `/proc`; elsewhere it asks `kill(-pgid, 0)` and returns `[pgid]`
/// while the group exists.
pub fn group_members(pgid: i32) -> Vec<i32> {
    #[cfg(target_os = "linux")]
    {
        live_pids().into_iter().filter(|pid| process_group_if_alive(*pid) == Some(pgid)).collect()
    }
    #[cfg(not(target_os = "linux"))]
    {
        probe_group(pgid)
    }
}

/// Live processes (other than this one) whose environment holds `QC_HARNESS_RELAY=<marker>`
/// exactly, or, when `marker` ends with `-`, any value starting with it. Empty off Linux.
pub fn marked_processes(marker: &str) -> Vec<i32> {
    let prefix = marker.ends_with('-');
    live_pids()
        .into_iter()
        .filter(|pid| *pid != std::process::id() as i32)
        .filter(|pid| {
            marker_of(*pid)
                .is_some_and(|theirs| if prefix { theirs.starts_with(marker) } else { theirs == marker })
        })
        .filter(|pid| is_alive(*pid))
        .collect()
}

/// Every pid in `/proc` (empty off Linux).
fn live_pids() -> Vec<i32> {
    let Ok(entries) = std::fs::read_dir("/proc") else { return Vec::new() };
    entries.filter_map(|entry| entry.ok()?.file_name().to_str()?.parse::<i32>().ok()).collect()
}

#[cfg_attr(target_os = "linux", allow(dead_code))]
fn probe_group(pgid: i32) -> Vec<i32> {
    if signal_group_zero(pgid) { vec![pgid] } else { Vec::new() }
}

#[cfg_attr(target_os = "linux", allow(dead_code))]
fn signal_group_zero(pgid: i32) -> bool {
    !matches!(nix::sys::signal::killpg(Pid::from_raw(pgid), None), Err(Errno::ESRCH))
}

fn is_alive(pid: i32) -> bool {
    stat_fields(pid).is_some_and(|(state, _)| state != "Z" && state != "X")
}

/// `(state, process group)` of `pid` from `/proc/<pid>/stat`.
fn stat_fields(pid: i32) -> Option<(String, i32)> {
    read_stat(pid, |mut fields| {
        let state = fields.next()?.to_string();
        let pgrp = fields.nth(1)?.parse().ok()?;
        Some((state, pgrp))
    })
}

/// `read` applied to the fields of `/proc/<pid>/stat` from field 3 (the state) on: "pid (comm)
/// state ppid pgrp ...", where comm may hold spaces and parentheses.
pub(crate) fn read_stat<T>(pid: i32, read: impl FnOnce(std::str::SplitWhitespace) -> Option<T>) -> Option<T> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    read(stat[stat.rfind(')')? + 1..].split_whitespace())
}

/// The value of [`MARKER_ENV`] in `pid`'s environment; `None` when it has none or it cannot
/// be read (another user's process; off Linux).
pub(crate) fn marker_of(pid: i32) -> Option<String> {
    let environ = std::fs::read(format!("/proc/{pid}/environ")).ok()?;
    let name = format!("{MARKER_ENV}=");
    environ
        .split(|b| *b == 0)
        .find_map(|var| var.strip_prefix(name.as_bytes()))
        .map(|value| String::from_utf8_lossy(value).into_owned())
}

/// The process group of `pid`, `None` if it is gone or a zombie.
#[cfg_attr(not(target_os = "linux"), allow(dead_code))]
fn process_group_if_alive(pid: i32) -> Option<i32> {
    let (state, pgrp) = stat_fields(pid)?;
    (state != "Z" && state != "X").then_some(pgrp)
}

/// Whether nothing of a relay is alive: neither its group nor a marked process.
pub(crate) fn relay_gone(pgid: i32, marker: &str) -> bool {
    group_members(pgid).is_empty() && marked_processes(marker).is_empty()
}

/// Waits (blocking, polling) until group `pgid` has no live process, at most `deadline`.
/// For threads outside the async runtime only.
pub fn wait_group_empty_blocking(pgid: i32, deadline: Duration) -> bool {
    wait_blocking(deadline, || group_members(pgid).is_empty())
}

fn wait_blocking(deadline: Duration, done: impl Fn() -> bool) -> bool {
    let start = Instant::now();
    loop {
        if done() {
            return true;
        }
        if start.elapsed() >= deadline {
            return false;
        }
        std::thread::sleep(Duration::from_millis(10));
    }
}

/// SIGTERM to every registered relay (group and marked descendants), SIGKILL to those still
/// alive after [`TERM_GRACE`], then removes their temporary folders. Blocking: call it from a
/// plain thread or after the runtime.
pub fn kill_all_relays() {
    let relays: Vec<(i32, String)> =
        LIVE_GROUPS.lock().unwrap_or_else(|e| e.into_inner()).iter().map(|(p, m)| (*p, m.clone())).collect();
    for (pgid, marker) in &relays {
        signal_relay(*pgid, marker, Signal::SIGTERM);
    }
    let start = Instant::now();
    for (pgid, marker) in &relays {
        let left = TERM_GRACE.saturating_sub(start.elapsed());
        if !wait_blocking(left, || relay_gone(*pgid, marker)) {
            signal_relay(*pgid, marker, Signal::SIGKILL);
        }
        unregister(*pgid);
    }
    let folders = std::mem::take(&mut *LIVE_FOLDERS.lock().unwrap_or_else(|e| e.into_inner()));
    for folder in folders {
        let _ = std::fs::remove_dir_all(folder);
    }
}
