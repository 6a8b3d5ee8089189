//! Tests: the `qc-harness` process around the fake CleverTap: it raises its open-file limit
//! (wiremock's accept loop dies at the first "too many open files") and odd requests print
//! no panic backtrace.

use std::io::{BufRead, BufReader, Lines, Read, Write};
use std::net::TcpStream;
use std::process::{Child, ChildStdout, Command, Stdio};
use std::time::Duration;

const EXE: &str = env!("CARGO_BIN_EXE_qc-harness");

/// Starts `qc-harness clevertap` on a free port through `sh -c`, with `prelude` run first
/// (`ulimit ...`); returns the child and the port from its banner.
fn start_fake(prelude: &str) -> (Child, u16) {
    start_fake_with(prelude, "")
}

/// [`start_fake`] with more `clevertap` flags.
pub(crate) fn start_fake_with(prelude: &str, flags: &str) -> (Child, u16) {
    let (child, port, lines) = spawn_fake(prelude, flags);
    std::thread::spawn(move || lines.for_each(drop));
    (child, port)
}

/// [`start_fake_with`], also returning the lines of stdout after the banner (read them, or
/// the fake may block on a full pipe).
fn spawn_fake(prelude: &str, flags: &str) -> (Child, u16, Lines<BufReader<ChildStdout>>) {
    let mut child = Command::new("sh")
        .arg("-c")
        .arg(format!("{prelude}; exec '{EXE}' clevertap --listen 127.0.0.1:0 {flags}"))
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut lines = BufReader::new(child.stdout.take().unwrap()).lines();
    let banner = lines.next().expect("a banner line").unwrap();
    let port = banner.rsplit(':').next().and_then(|p| p.trim().parse().ok()).expect("a port in the banner");
    (child, port, lines)
}

/// SIGTERM, then everything the fake wrote on stderr.
fn stop(mut child: Child) -> String {
    nix::sys::signal::kill(nix::unistd::Pid::from_raw(child.id() as i32), nix::sys::signal::Signal::SIGTERM)
        .unwrap();
    let mut stderr = String::new();
    child.stderr.take().unwrap().read_to_string(&mut stderr).unwrap();
    child.wait().unwrap();
    stderr
}

fn soft_open_files(pid: u32) -> u64 {
    let limits = std::fs::read_to_string(format!("/proc/{pid}/limits")).unwrap();
    let line = limits.lines().find(|l| l.starts_with("Max open files")).unwrap();
    line.split_whitespace().nth(3).unwrap().parse().unwrap()
}

#[cfg(target_os = "linux")]
#[test]
fn the_fake_raises_its_open_file_limit() {
    let hard: u64 = nix::sys::resource::getrlimit(nix::sys::resource::Resource::RLIMIT_NOFILE).unwrap().1;
    if hard <= 256 {
        eprintln!("skipped: the hard limit ({hard}) leaves nothing to raise");
        return;
    }
    let (child, _) = start_fake("ulimit -Sn 256");
    let soft = soft_open_files(child.id());
    stop(child);
    assert!(soft > 256, "the soft limit stayed at {soft}");
}

#[test]
fn cut_off_and_badly_chunked_bodies_print_no_panic() {
    let (child, port) = start_fake("true");
    let requests = [
        "POST /1/upload HTTP/1.1\r\nHost: x\r\nContent-Length: 100\r\n\r\n{\"d\":[",
        "POST /1/upload HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\nnot hex\r\n",
        "POST http://[::1 HTTP/1.1\r\nHost: x\r\nContent-Length: 0\r\n\r\n",
    ];
    for request in requests {
        let mut stream = TcpStream::connect(("127.0.0.1", port)).unwrap();
        stream.set_read_timeout(Some(Duration::from_secs(2))).unwrap();
        stream.write_all(request.as_bytes()).unwrap();
        let _ = stream.shutdown(std::net::Shutdown::Write);
        // Each connection is answered or closed before the next: its handler has finished.
        let _ = stream.read(&mut [0u8; 256]);
    }
    let stderr = stop(child);
    assert!(!stderr.contains("panicked"), "a panic reached stderr:\n{stderr}");
}

/// `clevertap -q` prints its address first and its totals last, and the totals count every
/// request, also those its journal (here 2 requests long) no longer keeps.
#[test]
fn quiet_prints_the_address_and_totals_that_count_past_the_journal() {
    let (child, port, lines) = spawn_fake("true", "-q --journal-capacity 2 --account-id A --passcode P");
    let record = r#"{"identity":"u1","ts":1717000000,"type":"event","evtName":"trial_started","evtData":{}}"#;
    // Two records that pass and one without an identity, five times.
    let body = format!(r#"{{"d":[{record},{record},{{"type":"event"}}]}}"#);
    for _ in 0..5 {
        let mut stream = TcpStream::connect(("127.0.0.1", port)).unwrap();
        let request = format!(
            "POST /1/upload HTTP/1.1\r\nHost: x\r\nX-CleverTap-Account-Id: A\r\nX-CleverTap-Passcode: P\r\n\
             Content-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
            body.len()
        );
        stream.write_all(request.as_bytes()).unwrap();
        let mut answer = String::new();
        stream.read_to_string(&mut answer).unwrap();
        assert!(answer.starts_with("HTTP/1.1 200"), "{answer}");
    }
    let stderr = stop(child);
    let rest: Vec<String> = lines.map(Result::unwrap).collect();
    assert_eq!(rest, ["stopped: 5 requests, 10 records processed"], "stderr: {stderr}");
}
