//! The JSON-lines adapter: answers, deadlines, stderr tails, restarts, no process left behind.

use std::time::{Duration, Instant};

use qc_harness::relay::LinesRelay;
use qc_harness::{RelayMapping, Settings};
use serde_json::json;

const RELAY: &str = concat!("python3 ", env!("CARGO_MANIFEST_DIR"), "/tests/relays/lines/relay.py");

fn renewal() -> serde_json::Value {
    json!({"event_name": "subscription_renewed", "custom_user_id": "u1", "environment": "production",
           "time": 1700000000, "price": {"value": 10.0, "currency": "EUR"}})
}

fn relay_error(result: qc_harness::Result<LinesRelay>) -> (String, String) {
    match result {
        Err(qc_harness::Error::Relay { message, tail }) => (message, tail),
        Err(other) => panic!("expected a relay error, got {other}"),
        Ok(_) => panic!("expected a relay error, the relay started"),
    }
}

#[test]
fn answers_the_records_of_each_line() {
    let mut relay = LinesRelay::spawn(RELAY).unwrap();
    let records = relay.request(&renewal(), &Settings::default()).unwrap();
    assert_eq!(records.len(), 1);
    assert_eq!(records[0]["evtData"]["revenue"], json!(7.0));
    let mut sandbox = renewal();
    sandbox["environment"] = json!("sandbox");
    assert!(relay.map(&sandbox, &Settings::default()).unwrap().is_empty());
}

#[test]
fn a_relay_that_does_not_answer_fails_at_start_after_the_line_deadline() {
    let started = Instant::now();
    let silent = "python3 -c 'import sys\nfor line in sys.stdin: pass'";
    let (message, _) = relay_error(LinesRelay::spawn_with_timeout(silent, Duration::from_millis(300)));
    assert!(message.contains("no answer to line 1 within 0.3 s"), "{message}");
    assert!(started.elapsed() < Duration::from_secs(3));
}

#[test]
fn a_relay_that_dies_at_start_shows_its_stderr_tail() {
    let dying = "python3 -c 'import sys; sys.stderr.write(\"cannot load mapping.yaml\\n\"); sys.exit(4)'";
    let (message, tail) = relay_error(LinesRelay::spawn(dying));
    assert!(message.contains("did not start"), "{message}");
    assert!(message.contains("exit status: 4"), "{message}");
    assert!(tail.contains("cannot load mapping.yaml"), "{tail}");
}

#[test]
fn an_answer_that_is_not_a_records_object_is_an_error() {
    let garbage = "python3 -c 'import sys\nfor line in sys.stdin: print(\"[1, 2]\", flush=True)'";
    let (message, _) = relay_error(LinesRelay::spawn(garbage));
    assert!(message.contains("is not {\"records\": [...]}: [1, 2]"), "{message}");
}

#[test]
fn a_crashed_relay_is_restarted_by_recover() {
    let mut relay = LinesRelay::spawn(&format!("{RELAY} --bug crash_numeric_id")).unwrap();
    let mut numeric = renewal();
    numeric["transaction"] = json!({"transaction_id": 42});
    let error = relay.map(&numeric, &Settings::default()).unwrap_err().to_string();
    assert!(error.contains("cannot handle numeric transaction id 42"), "{error}");
    assert!(!relay.is_running());
    relay.recover().unwrap();
    assert_eq!(relay.map(&renewal(), &Settings::default()).unwrap().len(), 1);
}

#[test]
fn dropping_the_adapter_kills_the_whole_process_group() {
    // The relay starts a background child and reports its pid on stderr.
    let command = format!("sleep 300 & echo $! >&2; exec {RELAY}");
    let relay = LinesRelay::spawn(&command).unwrap();
    let pid: u32 = relay.stderr_tail().lines().next().unwrap().trim().parse().unwrap();
    assert!(std::path::Path::new(&format!("/proc/{pid}")).exists());
    drop(relay);
    let deadline = Instant::now() + Duration::from_secs(3);
    while alive(pid) && Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(10));
    }
    assert!(!alive(pid), "the relay's child {pid} survived the adapter");
}

fn alive(pid: u32) -> bool {
    // A zombie waiting for its new parent to reap it is dead too.
    std::fs::read_to_string(format!("/proc/{pid}/stat"))
        .is_ok_and(|stat| stat.rsplit(')').next().is_some_and(|rest| !rest.trim_start().starts_with('Z')))
}
