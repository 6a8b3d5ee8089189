//! Tests: reference relay. The built binary is spawned through the driver
//! (`qc-harness reference-relay`), fed by the fake Qonversion and uploading to the fake
//! CleverTap, exactly as a foreign relay is driven.

mod behaviour;
mod config;
mod end_to_end;
mod faults;

use std::time::{Duration, Instant};

use qc_harness::relay::{RelayLaunch, RunningRelay, start_relay};
use qc_harness::{
    DEFAULT_TOKEN, FakeCleverTap, FakeQonversion, Field, FixtureCatalogue, JournalEntry, RecordEntry,
    RelaySpec, Settings, WebhookEvent,
};

/// Every wait in these tests ends by this deadline.
pub const WAIT: Duration = Duration::from_secs(20);

/// The fake CleverTap, the reference relay uploading to it, and a fake Qonversion sending to it.
pub struct Rig {
    pub fake: FakeCleverTap,
    pub relay: RunningRelay,
    pub qonversion: FakeQonversion,
    /// How long the relay took to become ready.
    pub startup: Duration,
}

/// The spec of the built-in relay from the built binary.
pub fn built_in_spec() -> RelaySpec {
    RelaySpec::built_in(env!("CARGO_BIN_EXE_qc-harness"))
}

/// Starts the reference relay against `fake` with `settings`.
pub async fn rig(fake: FakeCleverTap, settings: Settings) -> Rig {
    let launch = RelayLaunch::new(fake.uri(), settings);
    let started = Instant::now();
    let relay = tokio::time::timeout(WAIT, start_relay(&built_in_spec(), launch))
        .await
        .expect("start_relay has a deadline")
        .unwrap_or_else(|e| panic!("the reference relay starts: {e}"));
    let startup = started.elapsed();
    let qonversion = FakeQonversion::new(relay.webhook_url(), DEFAULT_TOKEN);
    Rig { fake, relay, qonversion, startup }
}

/// A rig with a default fake CleverTap and default settings.
pub async fn default_rig() -> Rig {
    rig(FakeCleverTap::start().await, Settings::default()).await
}

/// A fake CleverTap with `latency` on every answer.
pub async fn slow_fake(latency: Duration) -> FakeCleverTap {
    FakeCleverTap::builder().latency(latency).start().await.expect("the fake starts")
}

/// A forwarded event (a production `subscription_renewed` with revenue) for user `n`.
pub fn event(n: usize) -> WebhookEvent {
    let catalogue = FixtureCatalogue::built_in().expect("built-in fixtures");
    let mut event = catalogue.get("subscription_renewed.ios").expect("fixture").event.clone();
    event.custom_user_id = Field::Value(format!("relay-test-user-{n}"));
    event.user_id = Field::Value(format!("QON_relay_test_{n}"));
    event
}

/// Processed (non-dry-run) records, after waiting until at least `n` arrived.
pub async fn processed(fake: &FakeCleverTap, n: usize) -> Vec<RecordEntry> {
    fake.wait_for_records(n, WAIT).await.unwrap_or_else(|e| panic!("{e}"))
}

/// The relay's settle window: an upload that has not arrived after this much quiet is
/// taken not to come (the reference relay flushes every few tens of milliseconds).
pub const SETTLE: Duration = Duration::from_millis(300);

/// Waits until the journal stayed quiet for [`SETTLE`] (event-driven: a late upload restarts
/// the window), then returns every request the fake received.
pub async fn settled_requests(fake: &FakeCleverTap) -> Vec<JournalEntry> {
    let quiet = fake.journal().wait_quiet(SETTLE, tokio::time::Instant::now() + WAIT).await;
    assert!(quiet, "the relay kept uploading for {WAIT:?}");
    fake.journal().requests()
}

/// Asserts that the fake received no upload at all (after waiting a moment for late ones).
pub async fn assert_nothing_uploaded(fake: &FakeCleverTap) {
    let requests = settled_requests(fake).await;
    assert!(requests.is_empty(), "nothing may be uploaded, got {requests:#?}");
}

/// Asserts that a delivery ended with `status`.
pub fn assert_status(delivery: &qc_harness::Delivery, status: u16) {
    assert_eq!(delivery.final_status(), Some(status), "attempts: {:?}", delivery.attempts);
}
