//! One variant's mapping run: send every fixture and journey, attribute, compare, snapshot.

use futures::StreamExt;
use serde_json::Value;
use tokio::time::Instant;

use super::attribution::{Expectation, attribute, record_identity};
use super::bench::{Bench, BenchPool, FakeSetup};
use super::compare::{CompareOptions, ObservedRecord, compare_records};
use super::config::RunConfig;
use super::hints::case_hints;
use super::observe::{collect, describe_request, refused_requests};
use super::outcome::{CaseResult, Status};
use super::reasons::reasons;
use super::variants::Variant;
use crate::error::Result;
use crate::mapping::reference::identity;
use crate::mapping::{Settings, expected_records};
use crate::qonversion::WebhookEvent;
use crate::qonversion::sender::FakeQonversion;
use crate::snapshot::{SnapshotStatus, SnapshotStore};

/// Webhooks in flight at once during a mapping run.
const SEND_CONCURRENCY: usize = 32;

/// Name of the pseudo-case holding records that belong to no fixture.
pub const UNATTRIBUTED: &str = "(unattributed records)";

/// One fixture or journey: its events are sent in order.
#[derive(Debug, Clone)]
pub struct CaseInput {
    /// Fixture or journey name.
    pub name: String,
    /// The webhook events.
    pub events: Vec<WebhookEvent>,
}

/// Every fixture, then every journey, of the run's catalogue.
pub fn case_inputs(config: &RunConfig) -> Vec<CaseInput> {
    let fixtures = config
        .catalogue
        .events
        .iter()
        .map(|f| CaseInput { name: f.name.clone(), events: vec![f.event.clone()] });
    let journeys = config
        .catalogue
        .journeys
        .iter()
        .map(|j| CaseInput { name: j.name.clone(), events: j.events.clone() });
    fixtures.chain(journeys).collect()
}

/// What a case expects under `settings`.
pub fn expectation(case: &CaseInput, settings: &Settings) -> Expectation {
    let mut identities: Vec<String> = Vec::new();
    for event in &case.events {
        let ids = [identity(event), event.custom_user_id.get().cloned()];
        for id in ids.into_iter().flatten().filter(|id| !id.is_empty()) {
            if !identities.contains(&id) {
                identities.push(id);
            }
        }
    }
    let expected =
        case.events.iter().flat_map(|e| expected_records(e, settings)).map(|r| r.to_value()).collect();
    Expectation { case: case.name.clone(), identities, expected }
}

/// Runs one variant; a relay that cannot start is an `Err` (exit code 3).
pub async fn run_variant(config: &RunConfig, pool: &BenchPool, variant: &Variant) -> Result<Vec<CaseResult>> {
    let bench = pool.acquire(&variant.settings, &FakeSetup::default()).await?;
    let results = send_and_compare(config, &bench, variant, pool.fixed_settings().is_some()).await;
    let died =
        bench.relay().exit_status().map(|_| bench.relay().error("the relay died during the mapping run"));
    bench.finish().await?;
    match died {
        Some(error) => Err(error),
        None => results,
    }
}

/// Makes `user_id` (which no record carries) unique to this run, so that a relay that keeps
/// running between runs (`--relay-url`) does not deduplicate this run's webhooks.
fn tag_user_ids(cases: &mut [CaseInput]) {
    let nonce = super::checks::run_nonce();
    for event in cases.iter_mut().flat_map(|c| c.events.iter_mut()) {
        if let Some(id) = event.user_id.get_mut() {
            *id = format!("{id}~run{nonce}");
        }
    }
}

async fn send_and_compare(
    config: &RunConfig,
    bench: &Bench,
    variant: &Variant,
    pool_is_attached: bool,
) -> Result<Vec<CaseResult>> {
    let mut cases = case_inputs(config);
    if pool_is_attached {
        tag_user_ids(&mut cases);
    }
    let expectations: Vec<Expectation> = cases.iter().map(|c| expectation(c, &bench.settings)).collect();
    let sender =
        FakeQonversion::new(bench.relay().webhook_url(), bench.token.clone()).timeout(config.timeout);
    let statuses: Vec<Vec<Option<u16>>> = futures::stream::iter(cases.iter())
        .map(|case| send_case(&sender, &case.events))
        .buffered(SEND_CONCURRENCY)
        .collect()
        .await;
    let total: usize = expectations.iter().map(|e| e.expected.len()).sum();
    let deadline = Instant::now() + config.timeout;
    let observed = collect(bench.fake(), total, deadline, config.settle).await;
    let refused: Vec<String> = refused_requests(bench.fake()).iter().map(describe_request).collect();
    let split = attribute(&expectations, observed);
    let store = config
        .snapshots
        .as_ref()
        .map(|dir| SnapshotStore::new(dir, secrets(bench), config.accept).ci(config.ci));
    let options = CompareOptions { allow_extra_keys: config.allow_extra_keys };
    let mut results = Vec::new();
    for (((exp, got), sent), case) in expectations.iter().zip(split.by_case).zip(statuses).zip(&cases) {
        let judged = Judged { expectation: exp, observed: got, statuses: sent, refused: &refused, case };
        results.push(judged.into_result(variant, options, store.as_ref(), bench)?);
    }
    if !split.unattributed.is_empty() {
        results.push(unattributed(variant, split.unattributed, bench));
    }
    Ok(results)
}

async fn send_case(sender: &FakeQonversion, events: &[WebhookEvent]) -> Vec<Option<u16>> {
    let mut statuses = Vec::with_capacity(events.len());
    for event in events {
        statuses.push(sender.send(event).await.final_status());
    }
    statuses
}

struct Judged<'a> {
    expectation: &'a Expectation,
    observed: Vec<ObservedRecord>,
    statuses: Vec<Option<u16>>,
    refused: &'a [String],
    case: &'a CaseInput,
}

impl Judged<'_> {
    fn into_result(
        self,
        variant: &Variant,
        options: CompareOptions,
        store: Option<&SnapshotStore>,
        bench: &Bench,
    ) -> Result<CaseResult> {
        let differences = compare_records(&self.expectation.expected, &self.observed, options);
        let hints = case_hints(&self.case.events, &bench.settings, &differences);
        let mut problems = webhook_problems(&self.statuses);
        if !differences.is_empty() && !self.refused.is_empty() {
            problems
                .push(format!("CleverTap refused {} upload request(s) of this variant:", self.refused.len()));
            problems.extend(self.refused.iter().take(5).map(|r| format!("  {r}")));
        }
        let records: Vec<Value> = self.observed.iter().map(|o| o.record.clone()).collect();
        let mapping_failed = !differences.is_empty() || !problems.is_empty();
        // A failing case's records are wrong: never store them, not even as `.snap.new`.
        let snapshot = match store {
            Some(store) if mapping_failed && store.accepts() => SnapshotStatus::NotAccepted,
            Some(_) if mapping_failed => SnapshotStatus::NotChecked,
            Some(store) => store.check(&self.expectation.case, &variant.name, &records).unwrap_or_else(|e| {
                SnapshotStatus::unusable(store.path(&self.expectation.case, &variant.name), &e)
            }),
            None => SnapshotStatus::NotChecked,
        };
        let failed = mapping_failed || snapshot.is_failure();
        Ok(CaseResult {
            fixture: self.expectation.case.clone(),
            variant: variant.name.clone(),
            status: if failed { Status::Failed } else { Status::Passed },
            expected: self.expectation.expected.clone(),
            reasons: reasons(&self.case.events, &bench.settings),
            observed: self.observed,
            differences,
            hints,
            webhook_statuses: self.statuses,
            problems,
            snapshot,
            relay_tail: if failed { bench.captured_tail() } else { None },
        })
    }
}

fn webhook_problems(statuses: &[Option<u16>]) -> Vec<String> {
    let mut problems = Vec::new();
    for (i, status) in statuses.iter().enumerate() {
        match status {
            Some(s) if (200..300).contains(s) => {}
            Some(s) => {
                problems.push(format!("webhook {} was answered HTTP {s}, expected 2xx (MUST 4)", i + 1))
            }
            None => {
                problems.push(format!("webhook {} got no answer (connection failed or timed out)", i + 1))
            }
        }
    }
    problems
}

fn unattributed(variant: &Variant, records: Vec<ObservedRecord>, bench: &Bench) -> CaseResult {
    let problems = records
        .iter()
        .map(|r| {
            let id = record_identity(&r.record).unwrap_or_else(|| "none".into());
            format!("record with identity {id} belongs to no fixture: {}", r.record)
        })
        .collect();
    CaseResult {
        fixture: UNATTRIBUTED.to_string(),
        variant: variant.name.clone(),
        status: Status::Failed,
        expected: Vec::new(),
        reasons: Vec::new(),
        observed: records,
        differences: Vec::new(),
        hints: Vec::new(),
        webhook_statuses: Vec::new(),
        problems,
        snapshot: SnapshotStatus::NotChecked,
        relay_tail: bench.captured_tail(),
    }
}

fn secrets(bench: &Bench) -> Vec<String> {
    vec![bench.token.clone(), bench.fake().passcode().to_string()]
}
