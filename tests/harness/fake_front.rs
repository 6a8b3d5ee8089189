//! Tests: the fake CleverTap's own HTTP front (issue 12's server defects): header timeout,
//! body limit without buffering, connection cap, readiness, and what still goes to wiremock.

use std::io::{Read, Write};
use std::net::TcpStream;
use std::time::{Duration, Instant};

use qc_harness::clevertap::{FakeCleverTap, Fault, FaultScript};

const UPLOAD: &str = r#"{"d":[{"type":"event","identity":"u1","evtName":"trial_started","evtData":{}}]}"#;

/// A one-record upload to `fake` with its credentials.
fn post_upload(client: &reqwest::Client, fake: &FakeCleverTap) -> reqwest::RequestBuilder {
    client
        .post(format!("{}/1/upload", fake.uri()))
        .header("X-CleverTap-Account-Id", fake.account_id())
        .header("X-CleverTap-Passcode", fake.passcode())
        .body(UPLOAD)
}

/// Raw request head for an upload with the fake's credentials and extra header lines.
fn upload_head(fake: &FakeCleverTap, extra: &str) -> String {
    format!(
        "POST /1/upload HTTP/1.1\r\nHost: x\r\nX-CleverTap-Account-Id: {}\r\nX-CleverTap-Passcode: {}\r\n{extra}\r\n",
        fake.account_id(),
        fake.passcode()
    )
}

/// Reads one answer (head and `Content-Length` body), or what came before the server closed;
/// `None` when nothing complete came within `limit`.
fn read_answer(stream: &mut TcpStream, limit: Duration) -> Option<String> {
    stream.set_read_timeout(Some(limit)).unwrap();
    let mut got = Vec::new();
    let mut buffer = [0u8; 4096];
    loop {
        let text = String::from_utf8_lossy(&got).into_owned();
        if let Some((head, body)) = text.split_once("\r\n\r\n") {
            let length = head
                .lines()
                .find_map(|l| {
                    l.to_ascii_lowercase().strip_prefix("content-length:").map(|v| v.trim().to_string())
                })
                .and_then(|v| v.parse::<usize>().ok());
            if length.is_some_and(|n| body.len() >= n) {
                return Some(text);
            }
        }
        match stream.read(&mut buffer) {
            Ok(0) => return Some(text),
            Ok(n) => got.extend_from_slice(&buffer[..n]),
            Err(e) if e.kind() == std::io::ErrorKind::ConnectionReset => return Some(text),
            Err(_) => return None,
        }
    }
}

/// Sends `fake` an upload head with `extra` header lines, then whatever `send_body` writes,
/// and reads the answer within `limit` (on a blocking thread).
async fn raw_upload(
    fake: &FakeCleverTap,
    extra: &str,
    send_body: impl FnOnce(&mut TcpStream) + Send + 'static,
    limit: Duration,
) -> Option<String> {
    let (addr, head) = (fake.address(), upload_head(fake, extra));
    blocking(move || {
        let mut stream = TcpStream::connect(addr).unwrap();
        stream.write_all(head.as_bytes()).unwrap();
        send_body(&mut stream);
        read_answer(&mut stream, limit)
    })
    .await
}

async fn blocking<T: Send + 'static>(work: impl FnOnce() -> T + Send + 'static) -> T {
    tokio::task::spawn_blocking(work).await.unwrap()
}

#[tokio::test]
async fn a_client_that_never_finishes_its_headers_is_cut_off() {
    let fake = FakeCleverTap::builder().header_timeout(Duration::from_millis(300)).start().await.unwrap();
    let addr = fake.address();
    let (partial, silent) = blocking(move || {
        let mut partial = TcpStream::connect(addr).unwrap();
        partial.write_all(b"POST /1/upload HTTP/1.1\r\nHost: x\r\n").unwrap();
        let mut silent = TcpStream::connect(addr).unwrap();
        let started = Instant::now();
        let partial = read_answer(&mut partial, Duration::from_secs(5)).map(|_| started.elapsed());
        let silent = read_answer(&mut silent, Duration::from_secs(5)).map(|_| started.elapsed());
        (partial, silent)
    })
    .await;
    let partial = partial.expect("a connection with half its headers was held for 5 s");
    assert!(partial < Duration::from_secs(3), "closed after {partial:?}");
    assert!(silent.is_some(), "a connection that sent nothing was held for 5 s");
    assert!(fake.journal().is_empty());
}

#[tokio::test]
async fn a_declared_body_over_10_mib_gets_413_before_a_byte_of_it_is_sent() {
    let fake = FakeCleverTap::start().await;
    let answer = raw_upload(&fake, "Content-Length: 300000000\r\n", |_| {}, Duration::from_secs(5))
        .await
        .expect("no answer within 5 s: the fake waits for a 300 MB body");
    assert!(answer.starts_with("HTTP/1.1 413"), "{answer}");
    assert!(answer.contains(r#""status":"fail""#) && answer.contains(r#""code":413"#), "{answer}");
    assert!(answer.contains("(300000000 bytes)"), "{answer}");
    let entries = fake.journal().requests();
    assert_eq!(entries.len(), 1, "the refused upload is journaled (the batch-limit check reads it)");
    assert_eq!((entries[0].status, entries[0].body.len()), (413, 0));
}

#[tokio::test]
async fn a_chunked_body_is_refused_once_past_10_mib_without_waiting_for_its_end() {
    let fake = FakeCleverTap::start().await;
    let eleven_mib_never_ending = |stream: &mut TcpStream| {
        let chunk = vec![b' '; 1 << 20];
        for _ in 0..11 {
            stream.write_all(format!("{:x}\r\n", chunk.len()).as_bytes()).unwrap();
            stream.write_all(&chunk).unwrap();
            stream.write_all(b"\r\n").unwrap();
        }
    };
    // The body never ends: a server that buffers to the end never answers.
    let chunked = "Transfer-Encoding: chunked\r\n";
    let answer = raw_upload(&fake, chunked, eleven_mib_never_ending, Duration::from_secs(15))
        .await
        .expect("no answer: the fake waits for the end of an endless body");
    assert!(answer.starts_with("HTTP/1.1 413"), "{answer}");
    assert!(answer.contains(r#""code":413"#), "{answer}");
    assert_eq!(fake.journal().requests()[0].status, 413);
}

#[tokio::test]
async fn connections_past_the_cap_wait_until_one_closes() {
    let fake = FakeCleverTap::builder().max_connections(2).start().await.unwrap();
    let (addr, head) = (fake.address(), upload_head(&fake, &format!("Content-Length: {}\r\n", UPLOAD.len())));
    // Two keep-alive connections, each answered once: the front has accepted both (no clock).
    let idle: Vec<TcpStream> = blocking(move || {
        let open_one = |_| {
            let mut stream = TcpStream::connect(addr).unwrap();
            stream.write_all(format!("{head}{UPLOAD}").as_bytes()).unwrap();
            let answer = read_answer(&mut stream, Duration::from_secs(5)).expect("answered");
            assert!(answer.starts_with("HTTP/1.1 200"), "{answer}");
            stream
        };
        (0..2).map(open_one).collect()
    })
    .await;
    let client = reqwest::Client::builder().timeout(Duration::from_millis(700)).build().unwrap();
    let post = || post_upload(&client, &fake).send();
    assert!(post().await.is_err(), "a third connection was served beside two open ones (cap 2)");
    drop(idle);
    let answer = post().await.expect("served once the idle connections closed");
    assert_eq!(answer.status(), 200);
}

#[tokio::test]
async fn the_first_request_to_a_fresh_fake_is_always_answered_by_the_fake() {
    let client = reqwest::Client::new();
    for start in 0..200 {
        let fake = FakeCleverTap::start().await;
        let answer = post_upload(&client, &fake).send().await.unwrap();
        let status = answer.status().as_u16();
        let text = answer.text().await.unwrap();
        assert_eq!(
            (status, text.contains(r#""processed":1"#)),
            (200, true),
            "start {start}: {status} {text:?}"
        );
        let other = client.get(format!("{}/elsewhere", fake.uri())).send().await.unwrap();
        assert_eq!(other.status(), 404, "start {start}");
        assert!(other.text().await.unwrap().contains(r#""code":404"#), "start {start}: a bare 404");
    }
}

#[tokio::test]
async fn requests_off_the_upload_path_still_go_through_wiremock_with_numbering_and_faults() {
    let fake = FakeCleverTap::builder()
        .faults(FaultScript::new().on(2, Fault::DropConnection))
        .start()
        .await
        .unwrap();
    let client = reqwest::Client::new();
    let get = client.get(format!("{}/1/upload", fake.uri())).send().await.unwrap();
    assert_eq!(get.status(), 405);
    let dropped = client.get(format!("{}/1/upload", fake.uri())).send().await;
    assert!(dropped.is_err(), "request 2 must be dropped without an answer: {dropped:?}");
    let upload = post_upload(&client, &fake).send().await.unwrap();
    assert_eq!(upload.status(), 200);
    let entries = fake.journal().requests();
    let seen: Vec<_> = entries.iter().map(|e| (e.seq, e.method.as_str(), e.status)).collect();
    assert_eq!(seen, [(1, "GET", 405), (2, "GET", 0), (3, "POST", 200)]);
}

/// The descriptor of the listening socket bound to `addr` in this process.
fn listening_fd(addr: std::net::SocketAddr) -> Option<i32> {
    let std::net::SocketAddr::V4(v4) = addr else { return None };
    for entry in std::fs::read_dir("/proc/self/fd").ok()?.filter_map(Result::ok) {
        let Ok(fd) = entry.file_name().to_string_lossy().parse::<i32>() else { continue };
        let mut sockaddr: libc::sockaddr_in = unsafe { std::mem::zeroed() };
        let mut len = std::mem::size_of::<libc::sockaddr_in>() as libc::socklen_t;
        let named = unsafe { libc::getsockname(fd, (&raw mut sockaddr).cast(), &mut len) } == 0;
        let (mut listening, mut optlen) = (0i32, std::mem::size_of::<i32>() as libc::socklen_t);
        let asked = unsafe {
            libc::getsockopt(
                fd,
                libc::SOL_SOCKET,
                libc::SO_ACCEPTCONN,
                (&raw mut listening).cast(),
                &mut optlen,
            )
        } == 0;
        let port = u16::from_be(sockaddr.sin_port);
        if named
            && asked
            && listening == 1
            && i32::from(sockaddr.sin_family) == libc::AF_INET
            && port == v4.port()
        {
            return Some(fd);
        }
    }
    None
}

#[cfg(target_os = "linux")]
#[tokio::test]
async fn a_fake_that_cannot_accept_for_good_says_it_is_dead() {
    let fake = FakeCleverTap::builder().accept_retry_for(Duration::from_millis(300)).start().await.unwrap();
    assert!(!fake.health().is_dead());
    let fd = listening_fd(fake.address()).expect("the fake's listening socket");
    // A shut-down listening socket fails every accept (EINVAL): a persistent accept error.
    assert_eq!(unsafe { libc::shutdown(fd, libc::SHUT_RDWR) }, 0);
    let reason = tokio::time::timeout(Duration::from_secs(10), fake.died()).await.expect("dead within 10 s");
    assert!(reason.contains("accepting connections failed"), "{reason}");
    assert!(fake.health().is_dead());
}
