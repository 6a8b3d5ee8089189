//! Tests: correct relays that do things differently (`tests/relays/correct/relay.py`) pass
//! every mode: `qc-harness run --strict` (every check, every variant, the committed
//! snapshots) and `qc-harness prop` over HTTP. And each really does what it says: the
//! uploads are looked at directly, so that a mode that silently does nothing is caught.

use std::path::Path;
use std::process::{Command, Output};
use std::time::Duration;

use qc_harness::relay::{RelayLaunch, start_relay};
use qc_harness::{
    FakeCleverTap, FakeQonversion, FixtureCatalogue, JournalEntry, RelaySpec, RelayTarget, Settings,
    WebhookEvent, map_event,
};

const EXE: &str = env!("CARGO_BIN_EXE_qc-harness");

/// The correct relay with `MODES=<modes>` and any other `VAR=value` words before it.
fn relay(env: &str) -> String {
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/relays/correct/relay.py");
    format!("{env} python3 '{}'", script.display())
}

fn qc_harness(args: &[&str]) -> Output {
    Command::new(EXE).args(args).env("NO_COLOR", "1").env_remove("MODES").output().expect("qc-harness runs")
}

fn text(output: &Output) -> String {
    let stdout = String::from_utf8_lossy(&output.stdout);
    let problems: Vec<&str> =
        stdout.lines().filter(|l| !l.starts_with('✓') && !l.contains("  ✓  ")).collect();
    format!("{}\n{}", problems.join("\n"), String::from_utf8_lossy(&output.stderr))
}

/// `run --strict` on a copy of the committed snapshots: exit 0, no failure, no new snapshot.
fn passes_run_strict(command: &str) {
    let snapshots = tempfile::tempdir().unwrap();
    let committed = Path::new(env!("CARGO_MANIFEST_DIR")).join("snapshots");
    for entry in std::fs::read_dir(committed).unwrap() {
        let path = entry.unwrap().path();
        if path.extension().is_some_and(|e| e == "snap") {
            std::fs::copy(&path, snapshots.path().join(path.file_name().unwrap())).unwrap();
        }
    }
    let dir = snapshots.path().to_str().unwrap();
    let output = qc_harness(&["run", "--relay-cmd", command, "--snapshots", dir, "--strict"]);
    assert_eq!(output.status.code(), Some(0), "{command}:\n{}", text(&output));
    let stdout = String::from_utf8_lossy(&output.stdout);
    let last = stdout.lines().last().unwrap_or_default();
    assert!(last.ends_with(" passed, 0 failed"), "{command}: {last}");
    let pending = std::fs::read_dir(snapshots.path())
        .unwrap()
        .filter(|e| e.as_ref().unwrap().path().to_string_lossy().ends_with(".snap.new"))
        .count();
    assert_eq!(pending, 0, "{command}: snapshots changed");
}

/// `prop` over HTTP with 100 cases: every property holds.
fn passes_prop(command: &str, seed: &str) {
    let output = qc_harness(&["prop", "--relay-cmd", command, "--cases", "100", "--seed", seed]);
    assert_eq!(output.status.code(), Some(0), "{command}:\n{}", text(&output));
    let expected = format!("100 cases passed, every property held (seed {seed})");
    assert!(String::from_utf8_lossy(&output.stdout).contains(&expected), "{command}:\n{}", text(&output));
}

/// Forwarded production events of the built-in catalogue (default settings).
fn forwarded_events(n: usize) -> Vec<WebhookEvent> {
    let catalogue = FixtureCatalogue::built_in().unwrap();
    let settings = Settings::default();
    let forwarded = catalogue.events.into_iter().map(|f| f.event).filter(|e| map_event(e, &settings).is_ok());
    forwarded.take(n).collect()
}

/// What the relay did with `events`: the upload requests CleverTap received, and for each
/// webhook whether its record was already in when the webhook was answered.
struct Observed {
    requests: Vec<JournalEntry>,
    uploaded_before_answer: Vec<bool>,
}

/// Starts the relay against a fake CleverTap, sends `events` (one after another, or all at
/// once when `together`) and waits for their records.
async fn observe(env: &str, events: &[WebhookEvent], together: bool) -> Observed {
    let fake = FakeCleverTap::start().await;
    let spec = RelaySpec::new(RelayTarget::Command(relay(env)));
    let launch = RelayLaunch::new(fake.uri(), Settings::default());
    let token = launch.token.clone();
    let running = start_relay(&spec, launch).await.expect("the relay starts");
    let sender = FakeQonversion::new(running.webhook_url(), token);
    let mut uploaded_before_answer = Vec::new();
    if together {
        let deliveries = futures::future::join_all(events.iter().map(|e| sender.send(e))).await;
        assert!(deliveries.iter().all(|d| d.last_attempt().and_then(|a| a.status) == Some(200)));
    } else {
        for (i, event) in events.iter().enumerate() {
            let delivery = sender.send(event).await;
            assert_eq!(delivery.last_attempt().and_then(|a| a.status), Some(200), "{env}");
            uploaded_before_answer.push(fake.journal().records().len() > i);
            fake.wait_for_records(i + 1, Duration::from_secs(10)).await.expect("the record arrives");
        }
    }
    fake.wait_for_records(events.len(), Duration::from_secs(10)).await.expect("every record arrives");
    let requests = fake.journal().requests();
    running.stop().await.unwrap();
    Observed { requests, uploaded_before_answer }
}

fn records(observed: &Observed) -> usize {
    observed.requests.iter().map(|r| r.records.len()).sum()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_async_queue_relay_answers_first_and_uploads_from_parallel_workers() {
    let events = forwarded_events(8);
    let observed = observe("MODES=workers UPLOAD_JITTER_MS=100", &events, false).await;
    let answered_first = observed.uploaded_before_answer.iter().filter(|before| !**before).count();
    assert!(answered_first >= 5, "only {answered_first} of 8 webhooks were answered before the upload");
    assert_eq!(records(&observed), 8);
    assert!(observed.requests.iter().all(|r| r.records.len() == 1), "one record per request");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_batching_relay_puts_several_records_in_one_request() {
    let events = forwarded_events(30);
    let observed = observe("MODES=workers,batch WORKERS=2 UPLOAD_JITTER_MS=20", &events, true).await;
    assert_eq!(records(&observed), 30);
    assert!(observed.requests.len() < 30, "{} requests for 30 records", observed.requests.len());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_synchronous_relay_uploads_one_request_per_event_before_answering() {
    let events = forwarded_events(5);
    let observed = observe("MODES=", &events, false).await;
    assert!(observed.uploaded_before_answer.iter().all(|before| *before));
    assert_eq!(observed.requests.len(), 5);
    let close =
        |r: &JournalEntry| r.headers.get("connection").is_some_and(|c| c.eq_ignore_ascii_case("close"));
    assert!(observed.requests.iter().all(close), "a new connection per upload");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_pretty_relay_sends_other_key_orders_and_whitespace() {
    let observed = observe("MODES=pretty", &forwarded_events(3), false).await;
    for request in &observed.requests {
        let body = &request.body;
        assert!(body.starts_with("\n\n") && body.contains(" :  "), "{body}");
        let (evt_data, identity) = (body.find("\"evtData\"").unwrap(), body.find("\"identity\"").unwrap());
        assert!(evt_data < identity, "keys in reverse order: {body}");
    }
    assert_eq!(records(&observed), 3, "the records still parse");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_keepalive_relay_with_extra_headers_keeps_its_connection() {
    let observed = observe("MODES=keepalive,headers", &forwarded_events(3), false).await;
    for request in &observed.requests {
        assert_eq!(request.headers.get("connection"), None, "{:?}", request.headers);
        let agent = request.headers.get("user-agent").map(String::as_str).unwrap_or_default();
        assert!(agent.starts_with("qc-correct-relay/"), "{:?}", request.headers);
        assert!(request.headers.contains_key("x-request-id"), "{:?}", request.headers);
    }
}

/// Two tests per correct relay: `prop` over HTTP with its seed, and `run --strict` (nextest
/// places them apart: `prop` judges no timing, `run --strict` does).
macro_rules! passes_prop_and_run_strict {
    ($($(#[doc = $doc:literal])* $modes:literal seed $seed:literal: $prop:ident, $strict:ident;)*) => {$(
        $(#[doc = $doc])*
        #[test]
        fn $prop() {
            passes_prop(&relay($modes), $seed);
        }

        $(#[doc = $doc])*
        #[test]
        fn $strict() {
            passes_run_strict(&relay($modes));
        }
    )*};
}

passes_prop_and_run_strict! {
    /// The relay of issue 10 that `prop` used to fail: answers each webhook once its record is
    /// queued, uploads from 8 background workers (records overtake one another).
    "MODES=workers WORKERS=8 UPLOAD_JITTER_MS=10" seed "3":
        an_async_queue_relay_with_8_workers_passes_prop, an_async_queue_relay_with_8_workers_passes_run_strict;
    /// Batches from background workers, other key order and whitespace, kept-alive uploads.
    "MODES=workers,batch,pretty,keepalive" seed "4":
        a_batching_pretty_keepalive_relay_passes_prop, a_batching_pretty_keepalive_relay_passes_run_strict;
    /// One upload per event, before answering; `Connection: close` on both sides; extra headers.
    "MODES=pretty,close,headers" seed "5":
        a_one_upload_per_event_relay_that_closes_connections_passes_prop,
        a_one_upload_per_event_relay_that_closes_connections_passes_run_strict;
    /// Synchronous, kept-alive uploads with extra headers, compact JSON.
    "MODES=keepalive,headers" seed "6":
        a_keepalive_relay_with_extra_headers_passes_prop, a_keepalive_relay_with_extra_headers_passes_run_strict;
}

#[test]
fn an_unknown_mode_stops_the_relay_with_a_clear_message() {
    let output =
        qc_harness(&["run", "--relay-cmd", &relay("MODES=warp"), "--no-snapshots", "--variants", "default"]);
    assert_eq!(output.status.code(), Some(3), "{}", text(&output));
    assert!(text(&output).contains("unknown MODES ['warp']"), "{}", text(&output));
}
