//! The TCP listeners of this machine, from the kernel's socket diagnostics (a
//! `NETLINK_SOCK_DIAG` dump of sockets in state LISTEN only, as `ss -ltn` reads them).
//!
//! `/proc/net/tcp` lists every socket, TIME_WAIT ones included: a busy conformance run (and
//! even more a test suite running several) leaves tens of thousands, and reading that file took
//! 50 to 220 ms at each relay start (30,000 lines, measured under the suite). The dump below
//! returns the few dozen listeners, whatever else the machine holds.

use std::collections::HashSet;
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd};

/// `SOCK_DIAG_BY_FAMILY` (linux/sock_diag.h).
const SOCK_DIAG_BY_FAMILY: u16 = 20;
/// `NLM_F_REQUEST | NLM_F_DUMP` (linux/netlink.h).
const REQUEST_DUMP: u16 = 0x1 | 0x300;
/// `NLMSG_ERROR`, `NLMSG_DONE`.
const NLMSG_ERROR: u16 = 2;
const NLMSG_DONE: u16 = 3;
/// `TCP_LISTEN` in the kernel's state numbering.
const TCP_LISTEN: u32 = 10;
/// `struct nlmsghdr`, `struct inet_diag_req_v2` and the offsets in `struct inet_diag_msg`.
const HEADER: usize = 16;
const REQUEST: usize = 56;
const SPORT_AT: usize = 4;
const INODE_AT: usize = 68;
const MESSAGE: usize = 72;

/// Inodes of the sockets listening on `port` (IPv4 and IPv6, any address), as
/// `/proc/<pid>/fd` names them (`socket:[INODE]`); `None` when the kernel cannot be asked.
pub(crate) fn listening_inodes(port: u16) -> Option<HashSet<String>> {
    let mut inodes = HashSet::new();
    for family in [libc::AF_INET, libc::AF_INET6] {
        for (listener_port, inode) in listeners(family as u8)? {
            if listener_port == port {
                inodes.insert(inode.to_string());
            }
        }
    }
    Some(inodes)
}

/// `(port, inode)` of every listening TCP socket of `family`.
fn listeners(family: u8) -> Option<Vec<(u16, u32)>> {
    // SAFETY: socket(2) with constant arguments; the result is checked before use.
    let raw = unsafe {
        libc::socket(libc::AF_NETLINK, libc::SOCK_DGRAM | libc::SOCK_CLOEXEC, libc::NETLINK_SOCK_DIAG)
    };
    if raw < 0 {
        return None;
    }
    // SAFETY: `raw` is a socket this function just opened and owns alone.
    let socket = unsafe { OwnedFd::from_raw_fd(raw) };
    set_receive_timeout(&socket);
    send(&socket, &request(family))?;
    let mut found = Vec::new();
    let mut buffer = vec![0u8; 64 * 1024];
    loop {
        // SAFETY: the buffer is valid for writes of its whole length.
        let read = unsafe { libc::recv(socket.as_raw_fd(), buffer.as_mut_ptr().cast(), buffer.len(), 0) };
        let Ok(read) = usize::try_from(read) else { return None };
        if read == 0 {
            return None;
        }
        let mut at = 0;
        while at + HEADER <= read {
            let length = u32::from_ne_bytes(buffer[at..at + 4].try_into().ok()?) as usize;
            let kind = u16::from_ne_bytes(buffer[at + 4..at + 6].try_into().ok()?);
            if length < HEADER || at + length > read {
                return None;
            }
            match kind {
                NLMSG_DONE => return Some(found),
                NLMSG_ERROR => return None,
                SOCK_DIAG_BY_FAMILY if length >= HEADER + MESSAGE => {
                    let message = &buffer[at + HEADER..at + length];
                    let port = u16::from_be_bytes(message[SPORT_AT..SPORT_AT + 2].try_into().ok()?);
                    let inode = u32::from_ne_bytes(message[INODE_AT..INODE_AT + 4].try_into().ok()?);
                    found.push((port, inode));
                }
                _ => {}
            }
            at += (length + 3) & !3;
        }
    }
}

/// A dump request for the TCP listeners of `family`.
fn request(family: u8) -> [u8; HEADER + REQUEST] {
    let mut bytes = [0u8; HEADER + REQUEST];
    bytes[0..4].copy_from_slice(&((HEADER + REQUEST) as u32).to_ne_bytes());
    bytes[4..6].copy_from_slice(&SOCK_DIAG_BY_FAMILY.to_ne_bytes());
    bytes[6..8].copy_from_slice(&REQUEST_DUMP.to_ne_bytes());
    bytes[8..12].copy_from_slice(&1u32.to_ne_bytes()); // sequence number
    bytes[HEADER] = family;
    bytes[HEADER + 1] = libc::IPPROTO_TCP as u8;
    bytes[HEADER + 4..HEADER + 8].copy_from_slice(&(1u32 << TCP_LISTEN).to_ne_bytes());
    bytes
}

fn send(socket: &OwnedFd, bytes: &[u8]) -> Option<()> {
    // SAFETY: `bytes` is valid for reads of its length; an unconnected netlink socket sends to
    // the kernel.
    let sent = unsafe { libc::send(socket.as_raw_fd(), bytes.as_ptr().cast(), bytes.len(), 0) };
    (usize::try_from(sent).ok() == Some(bytes.len())).then_some(())
}

/// At most one second per answer: the kernel answers at once, but a wait must never hang.
fn set_receive_timeout(socket: &OwnedFd) {
    let timeout = libc::timeval { tv_sec: 1, tv_usec: 0 };
    // SAFETY: `timeout` is a valid `timeval` for the length given.
    unsafe {
        libc::setsockopt(
            socket.as_raw_fd(),
            libc::SOL_SOCKET,
            libc::SO_RCVTIMEO,
            (&raw const timeout).cast(),
            std::mem::size_of::<libc::timeval>() as libc::socklen_t,
        );
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::net::{Ipv4Addr, Ipv6Addr, TcpListener, TcpStream};

    /// The inode of a socket this process holds, as `/proc/self/fd` names it.
    fn inode_of(fd: i32) -> String {
        let target = std::fs::read_link(format!("/proc/self/fd/{fd}")).unwrap();
        let target = target.to_string_lossy();
        target.strip_prefix("socket:[").and_then(|rest| rest.strip_suffix(']')).unwrap().to_string()
    }

    #[test]
    fn finds_the_listener_on_a_port_and_not_its_connections() {
        let listener = TcpListener::bind((Ipv4Addr::LOCALHOST, 0)).unwrap();
        let port = listener.local_addr().unwrap().port();
        // A connection on the same port is not a listener.
        let _client = TcpStream::connect((Ipv4Addr::LOCALHOST, port)).unwrap();
        let (_served, _) = listener.accept().unwrap();
        let inodes = listening_inodes(port).expect("the kernel answers");
        assert_eq!(inodes, HashSet::from([inode_of(listener.as_raw_fd())]));
        drop(listener);
        assert!(listening_inodes(port).unwrap().is_empty(), "a closed listener is gone");
    }

    #[test]
    fn finds_ipv6_listeners_too() {
        let Ok(listener) = TcpListener::bind((Ipv6Addr::LOCALHOST, 0)) else { return }; // no IPv6 here
        let port = listener.local_addr().unwrap().port();
        assert_eq!(listening_inodes(port).unwrap(), HashSet::from([inode_of(listener.as_raw_fd())]));
    }

    #[test]
    fn agrees_with_proc_net_tcp() {
        let listeners: Vec<TcpListener> =
            (0..5).map(|_| TcpListener::bind((Ipv4Addr::LOCALHOST, 0)).unwrap()).collect();
        for listener in &listeners {
            let port = listener.local_addr().unwrap().port();
            assert_eq!(listening_inodes(port).unwrap(), super::super::port::proc_listening_inodes(port));
        }
    }
}
