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
mod registry;
mod trial;

pub use registry::*;
pub use trial::try_check;

use std::future::Future;
use std::pin::Pin;
use std::sync::LazyLock;
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

/// A behaviour check: its definition, the fake's setup it needs, and the check itself.
///
/// One type per check, listed once in [`REGISTRY`]; see `docs/adding-a-check.md`.
pub trait Check: Send + Sync {
    /// Name, level, clause and expectation.
    fn def(&self) -> &'static CheckDef;
    /// The fake CleverTap's faults and latency for this check (none by default).
    fn setup(&self) -> FakeSetup {
        FakeSetup::default()
    }
    /// The check needs an event disabled in the relay's settings. `fixed_settings`: the relay
    /// runs with settings the harness cannot change (`--relay-url`).
    fn disables_an_event(&self, fixed_settings: bool) -> bool {
        let _ = fixed_settings;
        false
    }
    /// Runs the check on `ctx`'s bench.
    fn run<'a>(&'a self, ctx: &'a CheckContext<'a>) -> CheckFuture<'a>;
}

/// What [`Check::run`] returns.
pub type CheckFuture<'a> = Pin<Box<dyn Future<Output = Verdict> + 'a>>;

/// Every check's definition, in report order (from [`REGISTRY`]).
pub static CHECKS: LazyLock<Vec<CheckDef>> = LazyLock::new(|| REGISTRY.iter().map(|c| *c.def()).collect());

/// The registered check named `name`.
pub fn check_named(name: &str) -> Option<&'static dyn Check> {
    REGISTRY.iter().copied().find(|c| c.def().name == name)
}

/// The definition of a check by name.
pub fn check_def(name: &str) -> Option<&'static CheckDef> {
    check_named(name).map(|c| c.def())
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

/// The settings and fake setup of `check`, starting from `base`.
///
/// With `fixed` settings (a `--relay-url` relay runs with the settings declared for it),
/// checks that can do without a settings change keep `base`: the auth checks then send
/// the disabled class only when `base` disables an event.
pub fn plan(check: &dyn Check, base: &Settings, fixed: bool) -> CheckPlan {
    let mut settings = base.clone();
    if check.disables_an_event(fixed) && filtering::disabled_event(base).is_none() {
        settings.event_mut(filtering::DISABLED_EVENT).enabled = Some(false);
    }
    CheckPlan { settings, setup: check.setup() }
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
    /// A verdict: whether the check held, what happened, and the details.
    pub fn new(passed: bool, observed: impl Into<String>, details: Vec<String>) -> Self {
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
