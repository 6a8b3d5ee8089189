//! Reading the fake CleverTap's journal: accepted records, and waits with deadlines.

use std::time::Duration;

use tokio::time::Instant;

use super::compare::ObservedRecord;
use crate::clevertap::{FakeCleverTap, JournalEntry, RecordEntry, RecordOutcome};

/// Records of requests CleverTap answered 200 (processed, or listed in `unprocessed`),
/// dry runs excluded, in arrival order.
pub fn accepted_records(fake: &FakeCleverTap) -> Vec<ObservedRecord> {
    fake.journal().records().into_iter().filter(|r| !r.dry_run).filter_map(observed).collect()
}

/// A record as the comparison sees it; `None` for a record of a refused request.
pub(crate) fn observed(entry: RecordEntry) -> Option<ObservedRecord> {
    let problem = match &entry.outcome {
        RecordOutcome::Processed => None,
        RecordOutcome::Unprocessed { code, error } => Some(format!("unprocessed, code {code}: {error}")),
        RecordOutcome::Rejected { .. } => return None,
    };
    Some(ObservedRecord { record: entry.record, request_seq: entry.request_seq, index: entry.index, problem })
}

/// Upload requests that were not answered 200 (auth, envelope, faults, concurrency).
pub fn refused_requests(fake: &FakeCleverTap) -> Vec<JournalEntry> {
    fake.journal().requests().into_iter().filter(|r| !r.dry_run && r.status != 200).collect()
}

/// Waits until at least `at_least` accepted records arrived (or `deadline`), then until no
/// new request came for `quiet`, and returns the accepted records.
pub async fn collect(
    fake: &FakeCleverTap,
    at_least: usize,
    deadline: Instant,
    quiet: Duration,
) -> Vec<ObservedRecord> {
    wait_until(fake, deadline, || accepted_records(fake).len() >= at_least).await;
    settle(fake, quiet, deadline.max(Instant::now()) + quiet * 4).await;
    accepted_records(fake)
}

/// Waits until the journal saw no new request for `quiet`, or `cap` passes
/// ([`crate::clevertap::Journal::wait_quiet`]: woken by the journal, no polling).
pub async fn settle(fake: &FakeCleverTap, quiet: Duration, cap: Instant) {
    fake.journal().wait_quiet(quiet, cap).await;
}

/// Waits until `condition` (on `fake`'s journal) holds or `deadline` passes, checking it
/// again whenever the journal changes (no polling); returns whether it held.
pub async fn wait_until(
    fake: &FakeCleverTap,
    deadline: Instant,
    mut condition: impl FnMut() -> bool,
) -> bool {
    let mut changes = fake.journal().subscribe();
    loop {
        changes.borrow_and_update();
        if condition() {
            return true;
        }
        match tokio::time::timeout_at(deadline, changes.changed()).await {
            Ok(Ok(())) => {}
            Ok(Err(_)) | Err(_) => return condition(),
        }
    }
}

/// Records in an upload request, also when CleverTap refused its envelope (then the
/// journal keeps only the raw body).
pub fn records_in(entry: &JournalEntry) -> usize {
    if !entry.records.is_empty() {
        return entry.records.len();
    }
    let body: Option<serde_json::Value> = serde_json::from_str(&entry.body).ok();
    body.and_then(|b| b.get("d").and_then(|d| d.as_array().map(Vec::len))).unwrap_or(0)
}

/// `upload request #2 at +105 ms: HTTP 200, 1 record(s) (1 rejected with 525), ...`.
pub fn describe_request(entry: &JournalEntry) -> String {
    let fault = entry.fault.as_ref().map(|f| format!(" (injected fault: {f:?})")).unwrap_or_default();
    format!(
        "upload request #{} at +{} ms: HTTP {}{fault}, {} record(s){}, {} in flight, answered after {} ms",
        entry.seq,
        entry.offset.as_millis(),
        entry.status,
        records_in(entry),
        unprocessed_of(entry),
        entry.in_flight,
        entry.answered_after.as_millis()
    )
}

/// ` (1 rejected with 525)` when CleverTap listed records of the request in `unprocessed`.
fn unprocessed_of(entry: &JournalEntry) -> String {
    let mut codes: std::collections::BTreeMap<u16, usize> = std::collections::BTreeMap::new();
    for outcome in &entry.outcomes {
        if let RecordOutcome::Unprocessed { code, .. } = outcome {
            *codes.entry(*code).or_default() += 1;
        }
    }
    if codes.is_empty() {
        return String::new();
    }
    let parts: Vec<String> = codes.iter().map(|(code, n)| format!("{n} rejected with {code}")).collect();
    format!(" ({})", parts.join(", "))
}
