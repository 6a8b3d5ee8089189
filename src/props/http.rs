//! Property cases over HTTP: webhooks to a running relay, uploads read from the fake CleverTap.
//!
//! Each case is one webhook, followed by a *marker* webhook (a plain forwarded event with
//! a unique user). Records are matched to the case by content ([`super::matching`]): the
//! case is complete when the marker's record has arrived and, when the rules forward the
//! event, a record with the case's identity (or its delivery's `user_id`) has too, so a
//! relay that uploads from parallel background workers, in any order, is judged on what
//! it uploaded; one that uploads late, twice, or not at all is seen as it is. Every
//! delivery gets a unique `user_id`, so a relay that deduplicates redeliveries (on
//! `event_name`, `user_id`, `transaction_id`, `time`) does not swallow the near-identical
//! events that shrinking sends; `user_id` plays no part in the mapping. A relay that has
//! shown, over [`SYNC_PROOF`] cases, that it uploads before it answers the webhook is
//! trusted to do so and its cases skip the marker; a record that then arrives between
//! cases turns the markers back on for the rest of the run.

use std::time::Duration;

use proptest::strategy::{Strategy, ValueTree};
use proptest::test_runner::{Config, RngAlgorithm, RngSeed, TestRunner};
use serde_json::Value;

use super::RelayMapping;
use super::matching::{CaseKey, Gathered, MARKER_PREFIX, Stragglers};
use super::runner::{PropConfig, PropOutcome, run_properties};
use super::strategies;
use crate::clevertap::FakeCleverTap;
use crate::error::{Error, Result};
use crate::mapping::{Settings, map_event};
use crate::qonversion::catalogue::EVENT_KINDS;
use crate::qonversion::event::WebhookEvent;
use crate::qonversion::field::Field;
use crate::qonversion::sender::FakeQonversion;
use crate::relay::{RelayLaunch, RelaySpec, RunningRelay, start_relay};

/// How many generated settings a spawned relay is run with, besides the defaults and the contrast settings.
pub const GENERATED_SETTINGS: usize = 3;

/// How long a case may take: the webhook answers and the marker's record arrives.
pub const CASE_DEADLINE: Duration = Duration::from_secs(5);

/// Runs the properties against a relay reached over HTTP (`--relay-cmd`, `--relay-url`, built-in).
pub fn check_http_relay(
    spec: &RelaySpec,
    settings: Option<Settings>,
    config: &PropConfig,
) -> Result<PropOutcome> {
    let pool = settings_pool(spec, settings, config.seed);
    let mut mapping = HttpRelayMapping::start(spec, &pool)?;
    let outcome = run_properties(&mut mapping, &strategies::case_with_settings(pool), config);
    mapping.stop();
    outcome
}

/// The settings the relays run with: the declared ones for `--relay-url`; else the
/// defaults, `--settings` if given, and a few generated from the seed.
pub fn settings_pool(spec: &RelaySpec, declared: Option<Settings>, seed: u64) -> Vec<Settings> {
    if spec.is_attached() {
        return vec![declared.unwrap_or_default()];
    }
    let mut pool = vec![Settings::default()];
    pool.extend(declared);
    pool.extend(contrast_settings());
    let config =
        Config { rng_algorithm: RngAlgorithm::ChaCha, rng_seed: RngSeed::Fixed(seed), ..Config::default() };
    let mut runner = TestRunner::new(config);
    let strategy = strategies::settings();
    for _ in 0..GENERATED_SETTINGS {
        if let Ok(tree) = strategy.new_tree(&mut runner) {
            let settings = tree.current();
            if !pool.contains(&settings) {
                pool.push(settings);
            }
        }
    }
    pool
}

/// Two settings that turn every switch away from its default, so that a small pool
/// still exercises disabled events, custom names, gross revenue, sandbox and revenue overrides.
pub fn contrast_settings() -> [Settings; 2] {
    let parse = |value: Value| serde_json::from_value::<Settings>(value).unwrap_or_default();
    [
        parse(serde_json::json!({
            "send_revenue": true, "send_proceeds": false, "send_sandbox": true,
            "events": {
                "subscription_renewed": {"name": "Subscription Renewed"},
                "in_app_purchase": {"name": "Purchase", "send_revenue": false},
                "trial_canceled": {"send_revenue": true},
                "trial_started": {"enabled": false},
                "subscription_refunded": {"enabled": false}
            }
        })),
        parse(serde_json::json!({
            "send_revenue": false, "send_proceeds": true, "send_sandbox": false,
            "events": {
                // Global off, per event on: no revenue (both must hold).
                "subscription_renewed": {"send_revenue": true},
                "trial_converted": {"enabled": false, "name": "Converted"},
                "subscription_started": {"name": ""},
                "in_app_refunded": {"name": "Refund", "enabled": true}
            }
        })),
    ]
}

/// One relay process (or attached URL) per settings, all uploading to one fake CleverTap.
pub struct HttpRelayMapping {
    runtime: tokio::runtime::Runtime,
    fake: FakeCleverTap,
    relays: Vec<(Settings, RunningRelay, FakeQonversion)>,
    deliveries: u64,
    sync: Synchronous,
    stragglers: Stragglers,
    /// The journal's last request number already attributed to a case.
    cursor: u64,
}

impl HttpRelayMapping {
    /// Starts the fake CleverTap and one relay per settings of `pool`.
    pub fn start(spec: &RelaySpec, pool: &[Settings]) -> Result<Self> {
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .map_err(|e| Error::Network(format!("cannot start the async runtime: {e}")))?;
        let fake = runtime.block_on(async {
            let mut builder = FakeCleverTap::builder();
            if let Some(addr) = spec.clevertap_listen {
                builder = builder.listen(addr);
            }
            builder.start().await
        })?;
        let mut relays = Vec::new();
        for settings in pool {
            let launch = RelayLaunch::new(fake.uri(), settings.clone());
            let token = launch.token.clone();
            let relay = runtime.block_on(start_relay(spec, launch))?;
            let sender = FakeQonversion::new(relay.webhook_url(), token).timeout(CASE_DEADLINE);
            relays.push((settings.clone(), relay, sender));
        }
        Ok(HttpRelayMapping {
            runtime,
            fake,
            relays,
            deliveries: 0,
            sync: Synchronous::default(),
            stragglers: Stragglers::default(),
            cursor: 0,
        })
    }

    /// Stops every spawned relay.
    pub fn stop(self) {
        let HttpRelayMapping { runtime, relays, .. } = self;
        runtime.block_on(async {
            for (_, relay, _) in relays {
                let _ = relay.stop().await;
            }
        });
    }

    fn unique(&mut self, prefix: &str) -> String {
        self.deliveries += 1;
        format!("{prefix}{}-{}", std::process::id(), self.deliveries)
    }

    fn case(&mut self, event: &WebhookEvent, settings: &Settings) -> Result<Vec<Value>> {
        let index = self.relays.iter().position(|(s, _, _)| s == settings).ok_or_else(|| {
            Error::Usage("this relay runs with fixed settings; the case asks for others".to_string())
        })?;
        let mut event = event.clone();
        let delivery = self.unique("qc-prop-");
        event.user_id = Field::Value(delivery.clone());
        if self.sync.trusted && !self.fake.journal().is_empty() {
            // A record came after its webhook was answered: the relay is not synchronous.
            tracing::info!("late upload seen; closing every case with a marker event from now on");
            self.sync = Synchronous::never();
        }
        if self.sync.trusted {
            let records = self.runtime.block_on(async {
                let (_, relay, sender) = &self.relays[index];
                deliver(relay, sender, &event, "the event").await?;
                uploaded(&self.fake, relay)
            });
            self.reset();
            return records;
        }
        let marker_token = self.unique(MARKER_PREFIX);
        let marker = marker_event(settings, &marker_token);
        let identity = map_event(&event, settings).ok().map(|record| record.identity);
        let key = CaseKey { marker: marker.as_ref().map(|_| marker_token), identity, delivery };
        let (cursor, stragglers) = (self.cursor, self.stragglers);
        let (_, relay, sender) = &self.relays[index];
        let outcome = self.runtime.block_on(async {
            deliver(relay, sender, &event, "the event").await?;
            let at_answer = Gathered::from_requests(&self.fake.journal().requests_after(cursor), &key);
            match &marker {
                Some(marker) => deliver(relay, sender, marker, "the marker event").await?,
                // No event kind is enabled: nothing can mark the end; give uploads a moment.
                None => tokio::time::sleep(Duration::from_millis(200)).await,
            }
            let gathered = gather_case(&self.fake, relay, &key, cursor, stragglers).await?;
            Ok::<_, Error>((gathered, at_answer.records.len()))
        });
        let (gathered, at_answer) = outcome.inspect_err(|_| {
            // What a failed case left behind is not the next case's.
            self.cursor = self.fake.journal().last_seq();
        })?;
        self.stragglers.observe(gathered.lag());
        self.cursor = self.cursor.max(gathered.last_seq);
        self.sync.observe(gathered.records.len(), marker.map(|_| at_answer));
        if self.sync.trusted {
            self.reset();
        }
        Ok(gathered.records)
    }

    /// Empties the fake's journal (its request numbers start again at 1).
    fn reset(&mut self) {
        self.fake.reset_journal();
        self.cursor = 0;
    }
}

/// Whether the relay uploads before it answers a webhook. After [`SYNC_PROOF`] cases with
/// records that were all in when the webhook was answered, cases skip the marker event; a
/// record that arrives between cases switches the marker back on for good.
#[derive(Debug, Clone, Copy, Default)]
struct Synchronous {
    streak: u32,
    trusted: bool,
    disproved: bool,
}

/// Cases with records, all uploaded before the webhook was answered, that prove a relay synchronous.
pub const SYNC_PROOF: u32 = 32;

impl Synchronous {
    fn never() -> Self {
        Synchronous { streak: 0, trusted: false, disproved: true }
    }

    /// `records` were attributed to the case; `at_answer` of them had arrived when the
    /// webhook was answered (`None`: no marker was possible).
    fn observe(&mut self, records: usize, at_answer: Option<usize>) {
        match at_answer {
            Some(seen) if seen < records => *self = Synchronous::never(),
            Some(_) if records > 0 && !self.disproved => {
                self.streak += 1;
                self.trusted = self.streak >= SYNC_PROOF;
            }
            _ => {}
        }
    }
}

impl RelayMapping for HttpRelayMapping {
    fn map(&mut self, event: &Value, settings: &Settings) -> Result<Vec<Value>> {
        let event: WebhookEvent = serde_json::from_value(event.clone())
            .map_err(|e| Error::invalid("<event>", ".", e.to_string()))?;
        self.case(&event, settings)
    }

    fn map_event(&mut self, event: &WebhookEvent, settings: &Settings) -> Result<Vec<Value>> {
        self.case(event, settings)
    }

    /// A relay that died stops the run (exit code 3); a live one goes on to the next case.
    fn recover(&mut self) -> Result<()> {
        match self.relays.iter().find(|(_, relay, _)| relay.exit_status().is_some()) {
            Some((_, relay, _)) => Err(relay.error("the relay died during the property run")),
            None => Ok(()),
        }
    }
}

/// A plain forwarded event (the first enabled kind, production, unique user) that marks
/// the end of a case; `None` when the settings enable no event.
fn marker_event(settings: &Settings, token: &str) -> Option<WebhookEvent> {
    let kind = EVENT_KINDS.iter().find(|k| k.forwardable && settings.is_enabled(k))?;
    let body = serde_json::json!({
        "event_name": kind.name, "custom_user_id": token, "user_id": token, "product_id": token,
        "environment": "production", "platform": "iOS", "time": 1_700_000_000, "created_at": 1_700_000_000,
        "transaction": {"transaction_id": token},
    });
    serde_json::from_value(body).ok()
}

async fn deliver(
    relay: &RunningRelay,
    sender: &FakeQonversion,
    event: &WebhookEvent,
    what: &str,
) -> Result<()> {
    let delivery = sender.send(event).await;
    let Some(attempt) = delivery.last_attempt() else {
        return Err(relay.error(format!("{what} was not sent")));
    };
    match attempt.status {
        Some(status) if (200..300).contains(&status) => Ok(()),
        Some(status) => {
            Err(relay.error(format!("the webhook of {what} was answered {status}: {}", attempt.body)))
        }
        None => Err(relay.error(format!(
            "the webhook of {what} got no answer: {}",
            attempt.error.as_deref().unwrap_or("no response")
        ))),
    }
}

/// Every record in the journal; an upload CleverTap refused (auth, envelope) is an error.
fn uploaded(fake: &FakeCleverTap, relay: &RunningRelay) -> Result<Vec<Value>> {
    let requests = fake.journal().requests();
    if let Some(refused) = requests.iter().find(|r| r.status != 200) {
        let message = format!("CleverTap refused an upload with {}: {}", refused.status, refused.response);
        return Err(relay.error(message));
    }
    Ok(requests.into_iter().flat_map(|r| r.records).collect())
}

/// Waits until the case is complete (see [`super::matching`]): the marker's record, then the
/// case's own record when the rules forward the event, then any late records a relay seen
/// uploading out of order may still send. Returns every record since `cursor` that is not a marker's.
async fn gather_case(
    fake: &FakeCleverTap,
    relay: &RunningRelay,
    key: &CaseKey,
    cursor: u64,
    stragglers: Stragglers,
) -> Result<Gathered> {
    let journal = fake.journal();
    let now = |j: &crate::clevertap::Journal| Gathered::from_requests(&j.requests_after(cursor), key);
    let marker = journal
        .wait_until(CASE_DEADLINE, |j| {
            let gathered = now(j);
            if gathered.refused.is_some() || gathered.marker_done(key) { Ok(gathered) } else { Err(0) }
        })
        .await;
    let Ok(mut gathered) = marker else {
        return Err(relay.error(format!(
            "the marker event sent after the case was not uploaded within {} s",
            CASE_DEADLINE.as_secs()
        )));
    };
    if gathered.refused.is_none() && !gathered.own_done(key) {
        let own = journal
            .wait_until(stragglers.own_record_wait(), |j| {
                let gathered = now(j);
                if gathered.refused.is_some() || gathered.own_done(key) { Ok(gathered) } else { Err(0) }
            })
            .await;
        if let Ok(found) = own {
            gathered = found;
        }
    }
    let settle = stragglers.settle();
    if gathered.refused.is_none() && !settle.is_zero() {
        tokio::time::sleep(settle).await;
        gathered = now(&journal);
    }
    match gathered.refused.take() {
        Some(refused) => Err(relay.error(refused)),
        None => Ok(gathered),
    }
}
