//! Ports for spawned relays: a free port, never the same twice in this process, and a
//! check (from `/proc` on Linux) that the port is served by the relay's own process group
//! and not by some other process that grabbed it in between.

use std::collections::{BTreeSet, HashSet, VecDeque};
use std::net::{Ipv4Addr, TcpListener};
use std::sync::Mutex;

use super::port_claim::{PortClaim, claim};
use crate::error::{Error, Result};

/// Ports handed out lately; a port is not handed out again while it is in this list.
static RECENT: Mutex<(BTreeSet<u16>, VecDeque<u16>)> = Mutex::new((BTreeSet::new(), VecDeque::new()));
const REMEMBER: usize = 4096;

/// A TCP port on 127.0.0.1 that was free a moment ago, was not handed out lately, and is
/// claimed for this process ([`PortClaim`]: no other harness process gets it while the claim
/// is held).
///
/// On Linux it is taken from below the kernel's ephemeral range
/// (`/proc/sys/net/ipv4/ip_local_port_range`, usually 32768-60999): a socket bound to port 0
/// (every fake CleverTap, every outgoing connection) is given a port from that range only, so
/// none can take the relay's port between this call and the relay's own bind.
pub(crate) fn free_port() -> Result<PortClaim> {
    if let Some(range) = below_ephemeral_range() {
        let len = range.len() as u64;
        for _ in 0..256 {
            let port = range.start + (next_random() % len) as u16;
            let Some(claim) = claim(port) else { continue };
            if TcpListener::bind((Ipv4Addr::LOCALHOST, port)).is_ok() && remember(port) {
                return Ok(claim);
            }
        }
    }
    for _ in 0..64 {
        let listener = TcpListener::bind((Ipv4Addr::LOCALHOST, 0))
            .map_err(|e| Error::Network(format!("cannot find a free port on 127.0.0.1: {e}")))?;
        let port = listener.local_addr().map_err(|e| Error::Network(format!("free port: {e}")))?.port();
        if let Some(claim) = claim(port)
            && remember(port)
        {
            return Ok(claim);
        }
    }
    Err(Error::Network("cannot find a free port on 127.0.0.1 that was not used lately".into()))
}

/// Records `port` as handed out; false when it was handed out lately.
fn remember(port: u16) -> bool {
    let mut recent = RECENT.lock().unwrap_or_else(|e| e.into_inner());
    if !recent.0.insert(port) {
        return false;
    }
    recent.1.push_back(port);
    if recent.1.len() > REMEMBER
        && let Some(old) = recent.1.pop_front()
    {
        recent.0.remove(&old);
    }
    true
}

/// Up to 12,000 ports just below the ephemeral range (never below 10,000), or `None` where
/// the range cannot be read or leaves no room.
fn below_ephemeral_range() -> Option<std::ops::Range<u16>> {
    let text = std::fs::read_to_string("/proc/sys/net/ipv4/ip_local_port_range").ok()?;
    let low: u16 = text.split_whitespace().next()?.parse().ok()?;
    let start = low.saturating_sub(12_000).max(10_000);
    (low > start + 1000).then_some(start..low)
}

/// A pseudo-random number (splitmix64), seeded from the pid and the clock: processes that
/// pick ports at the same moment (parallel test binaries, shards on one machine) pick
/// different ones, and rarely the port another has picked but not yet bound.
fn next_random() -> u64 {
    use std::sync::atomic::{AtomicU64, Ordering};
    static STATE: AtomicU64 = AtomicU64::new(0);
    let _ = STATE.compare_exchange(0, seed(), Ordering::Relaxed, Ordering::Relaxed);
    let mut z = STATE.fetch_add(0x9E37_79B9_7F4A_7C15, Ordering::Relaxed).wrapping_add(0x9E37_79B9_7F4A_7C15);
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^ (z >> 31)
}

fn seed() -> u64 {
    let nanos =
        std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map_or(0, |d| d.as_nanos() as u64);
    (u64::from(std::process::id()) << 32 ^ nanos) | 1
}

/// Whether the socket listening on `port` belongs to another program: then the port was
/// grabbed between [`free_port`] and the relay's bind, and the probe answered for someone
/// else. The relay is led by `pgid`, and its processes carry `QC_HARNESS_RELAY=marker`.
///
/// - A listener that carries another relay's marker is another program, whenever it started:
///   a relay of another harness (parallel test processes, CI shards on one machine) or of
///   another unit of this one.
/// - Otherwise, a listener outside the relay's group that started after the relay (in a later
///   clock tick) is accepted: that is how `docker run -p {port}:8000 ...` relays listen (through
///   docker-proxy, which carries no marker). One that was already running is another program.
///
/// `false` whenever this cannot be told (no `/proc`, sockets of other users not readable).
pub(crate) fn served_by_another_program(pgid: i32, marker: &str, port: u16) -> bool {
    #[cfg(target_os = "linux")]
    {
        let inodes = listening_inodes(port);
        let Some(relay_start) = start_time(pgid) else { return false };
        if inodes.is_empty() {
            return false;
        }
        let owners: Vec<i32> = all_pids().filter(|pid| holds_any(*pid, &inodes)).collect();
        // Read only for a listener without a marker: the relay's own carry theirs.
        let group = std::cell::OnceCell::new();
        let me = std::process::id() as i32;
        // The relay's own: in its group, below its leader, or an orphan of it that this
        // process (the child subreaper) adopted. Start times count in clock ticks (10 ms): a
        // listener started in the relay's own tick is older unless it is the relay's.
        let the_relays = |pid: i32| {
            group.get_or_init(|| super::group::group_members(pgid)).contains(&pid)
                || descends_from(pid, pgid)
                || (pid != me && parent(pid) == Some(me))
        };
        let foreign = |pid: &i32| match super::group::marker_of(*pid) {
            Some(theirs) => theirs != marker,
            None => !the_relays(*pid) && start_time(*pid).is_some_and(|t| t <= relay_start),
        };
        !owners.is_empty() && owners.iter().all(foreign)
    }
    #[cfg(not(target_os = "linux"))]
    {
        let _ = (pgid, marker, port);
        false
    }
}

#[cfg(target_os = "linux")]
fn all_pids() -> impl Iterator<Item = i32> {
    std::fs::read_dir("/proc")
        .into_iter()
        .flatten()
        .filter_map(|entry| entry.ok()?.file_name().to_str()?.parse::<i32>().ok())
}

/// Start time of `pid` in clock ticks since boot (`/proc/<pid>/stat`, field 22).
#[cfg(target_os = "linux")]
fn start_time(pid: i32) -> Option<u64> {
    stat_field(pid, 22)
}

/// The parent of `pid` (`/proc/<pid>/stat`, field 4).
#[cfg(target_os = "linux")]
fn parent(pid: i32) -> Option<i32> {
    stat_field(pid, 4).and_then(|ppid| i32::try_from(ppid).ok())
}

/// Whether `ancestor` is `pid`'s parent, grandparent, ... (at most 64 steps up).
#[cfg(target_os = "linux")]
fn descends_from(pid: i32, ancestor: i32) -> bool {
    let mut current = pid;
    for _ in 0..64 {
        match parent(current) {
            Some(p) if p == ancestor => return true,
            Some(p) if p > 1 => current = p,
            _ => return false,
        }
    }
    false
}

/// Field `number` (counted from 1, as in proc(5)) of `/proc/<pid>/stat`, as a number.
#[cfg(target_os = "linux")]
fn stat_field(pid: i32, number: usize) -> Option<u64> {
    super::group::read_stat(pid, |mut fields| fields.nth(number - 3)?.parse().ok())
}

/// Socket inodes listening on `port` (any address): from the kernel's socket diagnostics,
/// else from `/proc/net/tcp` and `tcp6` (slow when they list many TIME_WAIT sockets).
#[cfg(target_os = "linux")]
fn listening_inodes(port: u16) -> HashSet<String> {
    super::sock_diag::listening_inodes(port).unwrap_or_else(|| proc_listening_inodes(port))
}

/// Socket inodes listening on `port` (any address), from `/proc/net/tcp` and `tcp6`.
#[cfg(target_os = "linux")]
pub(super) fn proc_listening_inodes(port: u16) -> HashSet<String> {
    let port_hex = format!(":{port:04X}");
    let mut inodes = HashSet::new();
    for table in ["/proc/net/tcp", "/proc/net/tcp6"] {
        let Ok(text) = std::fs::read_to_string(table) else { continue };
        for line in text.lines().skip(1) {
            let fields: Vec<&str> = line.split_whitespace().collect();
            // sl local_address rem_address st tx:rx tr:when retrnsmt uid timeout inode
            if fields.len() > 9 && fields[1].ends_with(&port_hex) && fields[3] == "0A" {
                inodes.insert(fields[9].to_string());
            }
        }
    }
    inodes
}

#[cfg(target_os = "linux")]
fn holds_any(pid: i32, inodes: &HashSet<String>) -> bool {
    let Ok(fds) = std::fs::read_dir(format!("/proc/{pid}/fd")) else { return false };
    fds.filter_map(|fd| std::fs::read_link(fd.ok()?.path()).ok()).any(|target| {
        let target = target.to_string_lossy();
        target
            .strip_prefix("socket:[")
            .and_then(|rest| rest.strip_suffix(']'))
            .is_some_and(|inode| inodes.contains(inode))
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn never_hands_out_the_same_port_twice() {
        let ports: HashSet<u16> = (0..200).map(|_| free_port().unwrap().port()).collect();
        assert_eq!(ports.len(), 200);
    }

    #[test]
    #[cfg(target_os = "linux")]
    fn ports_come_from_below_the_ephemeral_range_so_no_port_0_bind_can_take_them() {
        let Some(range) = below_ephemeral_range() else { return };
        for _ in 0..50 {
            assert!(range.contains(&free_port().unwrap().port()));
        }
        // What the fakes get when they bind port 0 is never in that range.
        let bound = TcpListener::bind((Ipv4Addr::LOCALHOST, 0)).unwrap().local_addr().unwrap().port();
        assert!(!range.contains(&bound), "{bound} in {range:?}");
    }

    #[test]
    fn a_port_served_by_the_group_itself_is_not_taken() {
        let listener = TcpListener::bind((Ipv4Addr::LOCALHOST, 0)).unwrap();
        let port = listener.local_addr().unwrap().port();
        let own_group = nix::unistd::getpgrp().as_raw();
        assert!(!served_by_another_program(own_group, "1-0", port));
    }
}
