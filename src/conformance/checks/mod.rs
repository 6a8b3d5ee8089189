//! The behaviour checks: every MUST and SHOULD of `relay-contract.md` §4, by name.
//!
//! Each check gets its own relay and fake CleverTap (a [`Bench`]), scripts the fake's faults,
//! sends webhooks (with Qonversion's redelivery where the contract allows a relay to rely on
//! it) and reports what it expected and what it observed.

mod auth;
mod backoff;
mod dedupe;
mod delivery;
mod filtering;
mod limits;
mod outage;
mod partial;
pub mod records;

use std::time::Duration;

use serde_json::json;

use super::bench::{Bench, FakeSetup};
use super::observe::describe_request;
use super::outcome::Level;
use crate::clevertap::JournalEntry;
use crate::error::{Error, Result};
use crate::mapping::Settings;
use crate::qonversion::WebhookEvent;
use crate::qonversion::sender::{Delivery, FakeQonversion};

/// A named behaviour check.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CheckDef {
    /// Name, e.g. `upstream.429`.
    pub name: &'static str,
    /// MUST or SHOULD.
    pub level: Level,
    /// The contract clause (`relay-contract.md` §4).
    pub clause: &'static str,
    /// What a conforming relay does.
    pub expected: &'static str,
}

const fn must(name: &'static str, clause: &'static str, expected: &'static str) -> CheckDef {
    CheckDef { name, level: Level::Must, clause, expected }
}

const fn should(name: &'static str, clause: &'static str, expected: &'static str) -> CheckDef {
    CheckDef { name, level: Level::Should, clause, expected }
}

/// Every check, in report order.
pub const CHECKS: [CheckDef; 24] = [
    must(
        "auth.missing-token",
        "MUST 1",
        "a webhook without Authorization is answered 401/403 and nothing is uploaded, whatever the event (forwarded, unknown, disabled, sandbox, downgraded)",
    ),
    must(
        "auth.wrong-token",
        "MUST 1",
        "a webhook with another token (different, suffixed, in another letter case, or Bearer) is answered 401/403 and nothing is uploaded, whatever the event",
    ),
    must(
        "body.empty",
        "MUST 4",
        "an empty body is answered 400, nothing is uploaded, the relay keeps serving",
    ),
    must(
        "body.malformed",
        "MUST 4",
        "a body that is not JSON is answered 400, nothing is uploaded, the relay keeps serving",
    ),
    must(
        "body.not-object",
        "MUST 4",
        "a JSON body that is not an object is answered 400, nothing is uploaded, the relay keeps serving",
    ),
    must("event.unknown", "MUST 3", "an unknown event name is answered 2xx and not uploaded"),
    must("event.downgraded", "MUST 3", "subscription_downgraded is answered 2xx and not uploaded"),
    must(
        "event.sandbox",
        "MUST 3",
        "sandbox (and unmarked) events are answered 2xx and uploaded only when send_sandbox is true",
    ),
    must(
        "event.disabled",
        "MUST 3",
        "a disabled event is answered 2xx and not uploaded; enabled ones still are",
    ),
    must(
        "upstream.headers",
        "MUST 6",
        "every upload, retries included, has X-CleverTap-Account-Id, the X-CleverTap-Passcode and Content-Type: application/json",
    ),
    must(
        "upstream.batch-limit",
        "MUST 6",
        "1500 webhooks at once (the first upload answered after 1.5 s): no upload request has more than 1000 records; every event is uploaded once",
    ),
    must("upstream.429", "MUST 5", "after a 429 the event is still uploaded exactly once"),
    must("upstream.5xx", "MUST 5", "after 500 and 503 answers the event is still uploaded exactly once"),
    must(
        "upstream.connection-drop",
        "MUST 5",
        "after a dropped connection the event is still uploaded exactly once",
    ),
    must(
        "delivery.outage",
        "MUST 5",
        "through a CleverTap outage that outlasts the relay's retries (every upload fails until each webhook was answered once, and for at least 1.5 s), with Qonversion redelivering on its schedule, every event is uploaded exactly once",
    ),
    must(
        "delivery.distinct-events",
        "MUST 5",
        "two genuine events that differ only in `time` are both uploaded (the dedupe key includes `time`)",
    ),
    should("delivery.redelivery", "SHOULD 7", "the same webhook delivered twice is uploaded once"),
    should(
        "delivery.concurrent-redelivery",
        "SHOULD 7",
        "a redelivery that arrives while the first delivery is still uploading is not uploaded again",
    ),
    should(
        "upstream.backoff",
        "SHOULD 8",
        "after 4 HTTP 500s in a row the retry delays grow: the last is at least 1.5× the first and ≥ 100 ms",
    ),
    should(
        "upstream.backoff-429",
        "SHOULD 8",
        "after 4 HTTP 429s without Retry-After the retry delays grow: the last is at least 1.5× the first",
    ),
    should(
        "upstream.backoff-drop",
        "SHOULD 8",
        "after 4 dropped connections in a row the retry delays grow: the last is at least 1.5× the first and ≥ 100 ms",
    ),
    should(
        "upstream.retry-after",
        "SHOULD 8",
        "after 429 with Retry-After: 1 the next upload waits at least 1 s",
    ),
    should("upstream.concurrency", "SHOULD 9", "at most 15 uploads in flight for the account"),
    should(
        "upstream.partial",
        "SHOULD 10",
        "a record CleverTap lists in `unprocessed` is sent at most 3 times (watched until the relay was quiet for 2.5× its longest retry gap)",
    ),
];

/// The definition of a check by name.
pub fn check_def(name: &str) -> Option<&'static CheckDef> {
    CHECKS.iter().find(|c| c.name == name)
}

/// Resolves `--checks`: names or groups (`upstream`, `upstream.*`), `all` (default) or `none`.
///
/// ```
/// use qc_harness::conformance::checks::select_checks;
/// assert_eq!(select_checks(Some("auth")).unwrap(), ["auth.missing-token", "auth.wrong-token"]);
/// assert!(select_checks(Some("nope")).is_err());
/// ```
pub fn select_checks(list: Option<&str>) -> Result<Vec<String>> {
    let items: Vec<&str> = match list.map(str::trim) {
        None | Some("") | Some("all") => return Ok(CHECKS.iter().map(|c| c.name.to_string()).collect()),
        Some("none") => return Ok(Vec::new()),
        Some(list) => list.split(',').map(str::trim).filter(|s| !s.is_empty()).collect(),
    };
    let mut selected: Vec<String> = Vec::new();
    for item in items {
        let group = item.trim_end_matches(".*");
        let matched: Vec<&CheckDef> = CHECKS
            .iter()
            .filter(|c| c.name == item || c.name.strip_prefix(group).is_some_and(|r| r.starts_with('.')))
            .collect();
        if matched.is_empty() {
            let names: Vec<&str> = CHECKS.iter().map(|c| c.name).collect();
            return Err(Error::Usage(format!(
                "--checks: unknown check {item:?}; checks: {}",
                names.join(", ")
            )));
        }
        for def in matched {
            if !selected.iter().any(|s| s == def.name) {
                selected.push(def.name.to_string());
            }
        }
    }
    selected.sort_by_key(|name| CHECKS.iter().position(|c| c.name == name));
    Ok(selected)
}

/// What a check needs from its bench.
pub struct CheckPlan {
    /// Settings the relay runs with.
    pub settings: Settings,
    /// The fake's faults and latency.
    pub setup: FakeSetup,
}

/// The settings and fake setup of check `name`, starting from `base`.
///
/// With `fixed` settings (a `--relay-url` relay runs with the settings declared for it),
/// checks that can do without a settings change keep `base`: the auth checks then send
/// the disabled class only when `base` disables an event.
pub fn plan(name: &str, base: &Settings, fixed: bool) -> CheckPlan {
    let mut settings = base.clone();
    let disables = name == "event.disabled" || (name.starts_with("auth.") && !fixed);
    if disables && filtering::disabled_event(base).is_none() {
        settings.event_mut(filtering::DISABLED_EVENT).enabled = Some(false);
    }
    let setup = delivery::setup(name)
        .or_else(|| backoff::setup(name))
        .or_else(|| limits::setup(name))
        .or_else(|| outage::setup(name))
        .or_else(|| partial::setup(name))
        .unwrap_or_default();
    CheckPlan { settings, setup }
}

/// The result of running one check.
#[derive(Debug, Clone, Default)]
pub struct Verdict {
    /// The check held.
    pub passed: bool,
    /// What happened, in one sentence.
    pub observed: String,
    /// Requests, webhook attempts, timings.
    pub details: Vec<String>,
}

impl Verdict {
    fn new(passed: bool, observed: impl Into<String>, details: Vec<String>) -> Self {
        Verdict { passed, observed: observed.into(), details }
    }
}

/// What a check runs with.
pub struct CheckContext<'a> {
    /// The relay and the fake.
    pub bench: &'a Bench,
    /// A sender to the relay.
    pub sender: FakeQonversion,
    /// Longest wait for records.
    pub timeout: Duration,
    /// Quiet time that ends a wait for extras.
    pub settle: Duration,
}

/// Runs check `name` on `bench`.
pub async fn run_check(name: &str, ctx: &CheckContext<'_>) -> Verdict {
    match name {
        "auth.missing-token" | "auth.wrong-token" => auth::run(name, ctx).await,
        "body.empty" | "body.malformed" | "body.not-object" => auth::run_body(name, ctx).await,
        "event.unknown" | "event.downgraded" | "event.sandbox" | "event.disabled" => {
            filtering::run(name, ctx).await
        }
        "upstream.headers" | "upstream.batch-limit" | "upstream.concurrency" => limits::run(name, ctx).await,
        "delivery.outage" => outage::run(ctx).await,
        "delivery.distinct-events" | "delivery.concurrent-redelivery" => dedupe::run(name, ctx).await,
        "upstream.backoff" | "upstream.backoff-429" | "upstream.backoff-drop" | "upstream.retry-after" => {
            backoff::run(name, ctx).await
        }
        "upstream.partial" => partial::run(ctx).await,
        _ => delivery::run(name, ctx).await,
    }
}

/// A production webhook for `event_name` whose identity is `user`.
pub fn sample_event(event_name: &str, user: &str) -> WebhookEvent {
    let body = json!({
        "event_name": event_name,
        "user_id": format!("QON_{user}_{}", run_nonce()),
        "custom_user_id": user,
        "time": 1_790_000_000,
        "created_at": 1_790_000_030,
        "product_id": "com.example.app.premium.monthly",
        "revenue": {"value": 9.99, "value_usd": 9.99, "currency": "USD", "is_proceed": 0, "proceeds_rate": 70},
        "price": {"value": 9.99, "value_usd": 9.99, "currency": "USD"},
        "transaction": {"transaction_id": format!("tx-{user}"), "original_transaction_id": format!("otx-{user}")},
        "properties": {"_q_custom_user_id": user},
        "device_id": format!("device-{user}"),
        "environment": "production",
        "platform": "iOS",
        "country": "US",
        "quantity": 1
    });
    serde_json::from_value(body).expect("the sample webhook is a valid event")
}

/// A number unique to this process, put in `user_id`s (which no record carries): a relay
/// that keeps running between runs (`--relay-url`) must not take a new run's webhooks for
/// redeliveries of the last run's.
pub fn run_nonce() -> u64 {
    static NONCE: std::sync::OnceLock<u64> = std::sync::OnceLock::new();
    *NONCE.get_or_init(|| {
        let now = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap_or_default();
        now.as_nanos() as u64 ^ u64::from(std::process::id())
    })
}

/// Upload requests carrying at least one record of `user` (dry runs excluded).
pub fn uploads_of(bench: &Bench, user: &str) -> Vec<JournalEntry> {
    let has_user = |r: &serde_json::Value| super::attribution::record_identity(r).as_deref() == Some(user);
    bench
        .fake()
        .journal()
        .requests()
        .into_iter()
        .filter(|e| !e.dry_run && e.records.iter().any(has_user))
        .collect()
}

/// Processed records of `user`.
pub fn processed_of(bench: &Bench, user: &str) -> usize {
    super::observe::accepted_records(bench.fake())
        .iter()
        .filter(|r| {
            r.problem.is_none() && super::attribution::record_identity(&r.record).as_deref() == Some(user)
        })
        .count()
}

/// One line per webhook attempt of a delivery.
pub fn describe_delivery(label: &str, delivery: &Delivery) -> Vec<String> {
    delivery
        .attempts
        .iter()
        .map(|a| {
            let answer = match (a.status, &a.error) {
                (Some(s), _) => format!("HTTP {s}"),
                (None, Some(e)) => format!("no answer ({e})"),
                (None, None) => "no answer".to_string(),
            };
            format!(
                "{label}: webhook attempt {} at +{} ms: {answer} after {} ms",
                a.number,
                a.started.as_millis(),
                a.elapsed.as_millis()
            )
        })
        .collect()
}

/// One line per upload request in the journal.
pub fn describe_uploads(bench: &Bench) -> Vec<String> {
    let requests = bench.fake().journal().requests();
    let mut lines: Vec<String> = requests.iter().take(20).map(describe_request).collect();
    if requests.len() > 20 {
        lines.push(format!("… and {} more upload request(s)", requests.len() - 20));
    }
    if lines.is_empty() {
        lines.push("no upload request reached the fake CleverTap".to_string());
    }
    lines
}
