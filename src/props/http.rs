//! Property cases over HTTP: webhooks to a running relay, uploads read from the fake CleverTap.
//!
//! Each case is one webhook, followed by a *marker* webhook (a plain forwarded event with
//! a unique user). Everything the fake CleverTap receives before the marker's record
//! belongs to the case, so a relay that uploads late, twice, or not at all is seen as it
//! is, without waiting on a timer. Every delivery gets a unique `user_id`, so a relay that
//! deduplicates redeliveries (on `event_name`, `user_id`, `transaction_id`, `time`) does
//! not swallow the near-identical events that shrinking sends; `user_id` plays no part in
//! the mapping. A relay that has shown, over [`SYNC_PROOF`] cases, that it uploads before it
//! answers the webhook is trusted to do so and its cases skip the marker; a record that then
//! arrives between cases turns the markers back on for the rest of the run.

use std::time::Duration;

use proptest::strategy::{Strategy, ValueTree};
use proptest::test_runner::{Config, RngAlgorithm, RngSeed, TestRunner};
use serde_json::Value;

use super::RelayMapping;
use super::runner::{PropConfig, PropOutcome, run_properties};
use super::strategies;
use crate::clevertap::FakeCleverTap;
use crate::error::{Error, Result};
use crate::mapping::Settings;
use crate::qonversion::catalogue::EVENT_KINDS;
use crate::qonversion::event::WebhookEvent;
use crate::qonversion::field::Field;
use crate::qonversion::sender::FakeQonversion;
use crate::relay::{RelayLaunch, RelaySpec, RelayTarget, RunningRelay, start_relay};

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
    if matches!(spec.target, RelayTarget::Url(_)) {
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
        Ok(HttpRelayMapping { runtime, fake, relays, deliveries: 0, sync: Synchronous::default() })
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

    fn unique(&mut self) -> String {
        self.deliveries += 1;
        format!("qc-prop-{}-{}", std::process::id(), self.deliveries)
    }

    fn case(&mut self, event: &WebhookEvent, settings: &Settings) -> Result<Vec<Value>> {
        let index = self.relays.iter().position(|(s, _, _)| s == settings).ok_or_else(|| {
            Error::Usage("this relay runs with fixed settings; the case asks for others".to_string())
        })?;
        let mut event = event.clone();
        event.user_id = Field::Value(self.unique());
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
            self.fake.reset_journal();
            return records;
        }
        let marker_token = self.unique();
        let marker = marker_event(settings, &marker_token);
        self.fake.reset_journal();
        let (_, relay, sender) = &self.relays[index];
        let (records, at_answer) = self.runtime.block_on(async {
            deliver(relay, sender, &event, "the event").await?;
            let at_answer = self.fake.journal().records().len();
            let Some(marker) = marker else {
                // No event kind is enabled: nothing can mark the end; give uploads a moment.
                tokio::time::sleep(Duration::from_millis(200)).await;
                return Ok((uploaded(&self.fake, relay)?, None));
            };
            deliver(relay, sender, &marker, "the marker event").await?;
            Ok::<_, Error>((records_before_marker(&self.fake, relay, &marker_token).await?, Some(at_answer)))
        })?;
        self.sync.observe(records.len(), at_answer);
        if self.sync.trusted {
            self.fake.reset_journal();
        }
        Ok(records)
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

/// Waits for the marker's record; returns every record uploaded before it.
async fn records_before_marker(
    fake: &FakeCleverTap,
    relay: &RunningRelay,
    token: &str,
) -> Result<Vec<Value>> {
    let journal = fake.journal();
    let found = journal
        .wait_until(CASE_DEADLINE, |j| {
            let requests = j.requests();
            if let Some(refused) = requests.iter().find(|r| r.status != 200) {
                return Ok(Err(format!(
                    "CleverTap refused an upload with {}: {}",
                    refused.status, refused.response
                )));
            }
            let records: Vec<Value> = requests.into_iter().flat_map(|r| r.records).collect();
            match records.iter().position(|r| r.to_string().contains(token)) {
                Some(at) => Ok(Ok(records[..at].to_vec())),
                None => Err(records.len()),
            }
        })
        .await;
    match found {
        Ok(Ok(records)) => Ok(records),
        Ok(Err(refused)) => Err(relay.error(refused)),
        Err(_) => Err(relay.error(format!(
            "the marker event sent after the case was not uploaded within {} s",
            CASE_DEADLINE.as_secs()
        ))),
    }
}
