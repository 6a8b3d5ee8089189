//! Tests: `qc-harness clevertap` out of file descriptors (issue 12): it recovers when the
//! connections close, and when accepting keeps failing it exits 3 saying so, never silently.

use std::io::{Read, Write};
use std::net::TcpStream;
use std::process::Child;
use std::time::{Duration, Instant};

/// The descriptor limit the fake runs under (soft and hard, so it cannot raise it).
const FD_LIMIT: u64 = 64;
/// More idle connections than the limit allows.
const IDLE: usize = 100;

/// `qc-harness clevertap` under `ulimit -n FD_LIMIT` with `flags`; the child and its port.
fn start_fake(flags: &str) -> (Child, u16) {
    crate::fake_process::start_fake_with(&format!("ulimit -n {FD_LIMIT}"), flags)
}

fn upload_status(port: u16) -> Option<u16> {
    let mut stream = TcpStream::connect(("127.0.0.1", port)).ok()?;
    stream.set_read_timeout(Some(Duration::from_secs(2))).ok()?;
    let body = r#"{"d":[{"type":"event","identity":"u1","evtName":"a","evtData":{}}]}"#;
    let request = format!(
        "POST /1/upload HTTP/1.1\r\nHost: x\r\nConnection: close\r\nX-CleverTap-Account-Id: TEST-ACC-000\r\n\
         X-CleverTap-Passcode: TEST-PASSCODE\r\nContent-Length: {}\r\n\r\n{body}",
        body.len()
    );
    stream.write_all(request.as_bytes()).ok()?;
    let mut answer = String::new();
    let _ = stream.read_to_string(&mut answer);
    answer.get(9..12)?.parse().ok()
}

fn open_idle(port: u16) -> Vec<TcpStream> {
    (0..IDLE).filter_map(|_| TcpStream::connect(("127.0.0.1", port)).ok()).collect()
}

fn kill(child: &mut Child) {
    let _ = nix::sys::signal::kill(
        nix::unistd::Pid::from_raw(child.id() as i32),
        nix::sys::signal::Signal::SIGKILL,
    );
    let _ = child.wait();
}

#[cfg(target_os = "linux")]
#[test]
fn out_of_descriptors_the_fake_recovers_once_the_connections_close() {
    let (mut child, port) = start_fake("--header-timeout 60");
    assert_eq!(upload_status(port), Some(200));
    let idle = open_idle(port);
    std::thread::sleep(Duration::from_millis(500)); // the fake has now hit "too many open files"
    drop(idle);
    let deadline = Instant::now() + Duration::from_secs(10);
    let mut status = None;
    while status != Some(200) && Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(100));
        status = upload_status(port);
    }
    let alive = child.try_wait().unwrap().is_none();
    kill(&mut child);
    assert!(alive, "the fake exited");
    assert_eq!(status, Some(200), "the fake no longer answers after running out of descriptors");
}

#[cfg(target_os = "linux")]
#[test]
fn when_accepting_keeps_failing_the_fake_exits_3_and_says_why() {
    let (mut child, port) = start_fake("--header-timeout 60 --accept-retry-for 1");
    let idle = open_idle(port);
    let deadline = Instant::now() + Duration::from_secs(20);
    while child.try_wait().unwrap().is_none() && Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(100));
    }
    drop(idle);
    let status = child.try_wait().unwrap();
    let mut stderr = String::new();
    if status.is_none() {
        kill(&mut child);
    }
    child.stderr.take().unwrap().read_to_string(&mut stderr).unwrap();
    assert_eq!(status.and_then(|s| s.code()), Some(3), "still running or wrong code; stderr:\n{stderr}");
    assert!(stderr.contains("accepting connections failed"), "{stderr}");
}
