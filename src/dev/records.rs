//! What the fake CleverTap received, as the page shows it: uploads (requests) and their
//! records, each record with its outcome in words and, when a webhook sent from the page
//! expects it, the reference record and the field-level differences in the words of the
//! `run` report ([`compare_records`]).

use serde::{Deserialize, Serialize};
use serde_json::Value;

use super::redact::Redactor;
use super::words;
use crate::clevertap::{JournalEntry, RecordEntry, RecordOutcome};
use crate::conformance::compare::{CompareOptions, Difference, ObservedRecord, compare_records, distance};

/// Default page size.
pub const DEFAULT_LIMIT: usize = 50;
/// Largest page size.
pub const MAX_LIMIT: usize = 500;
/// Longest answer shown per upload.
const SHOWN_ANSWER: usize = 2_000;
/// How far back an upload looks for the failed request it repeats.
const RETRY_LOOKBACK: usize = 50;

/// `?offset=&limit=&q=&outcome=` of the list endpoints.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ListQuery {
    /// Items to skip (newest first).
    #[serde(default)]
    pub offset: usize,
    /// Page size, 1 to 500 (default 50).
    #[serde(default)]
    pub limit: Option<usize>,
    /// Case-insensitive text that must occur in the record (or the outcome words).
    #[serde(default)]
    pub q: Option<String>,
    /// `processed`, `unprocessed` or `rejected`.
    #[serde(default)]
    pub outcome: Option<String>,
}

impl ListQuery {
    /// The page size, checked.
    pub fn limit(&self) -> Result<usize, String> {
        match self.limit {
            None => Ok(DEFAULT_LIMIT),
            Some(n) if (1..=MAX_LIMIT).contains(&n) => Ok(n),
            Some(n) => Err(format!("limit {n}: must be between 1 and {MAX_LIMIT}")),
        }
    }

    /// The outcome filter, checked.
    pub fn outcome(&self) -> Result<Option<&str>, String> {
        match self.outcome.as_deref().map(str::trim) {
            None | Some("") | Some("all") => Ok(None),
            Some(o @ ("processed" | "unprocessed" | "rejected")) => Ok(Some(o)),
            Some(other) => Err(format!("outcome {other:?}: use processed, unprocessed, rejected or all")),
        }
    }
}

/// One page of a list, newest first.
#[derive(Debug, Clone, Serialize)]
pub struct Page<T> {
    /// Items matching the query.
    pub total: usize,
    /// Items skipped.
    pub offset: usize,
    /// Page size.
    pub limit: usize,
    /// This page.
    pub items: Vec<T>,
}

/// One record the fake received.
#[derive(Debug, Clone, Serialize)]
pub struct RecordView {
    /// Its request's number.
    pub request_seq: u64,
    /// 1-based position in the request.
    pub index: usize,
    /// `evtName`, when a string.
    pub evt_name: Option<String>,
    /// `identity`, when a string.
    pub identity: Option<String>,
    /// `processed`, `unprocessed` or `rejected`.
    pub outcome: &'static str,
    /// CleverTap's code (unprocessed) or HTTP status (rejected).
    pub code: Option<u16>,
    /// The outcome in words.
    pub explained: String,
    /// CleverTap's own error text, when unprocessed.
    pub error: Option<String>,
    /// The fault injected into its request.
    pub fault: Option<String>,
    /// `?dryRun=1`.
    pub dry_run: bool,
    /// The record as received.
    pub record: Value,
    /// The reference record it was paired with.
    pub expected: Option<Value>,
    /// The webhook that expects it.
    pub webhook_id: Option<u64>,
    /// Differences from the reference, in the `run` report's words.
    pub differences: Vec<String>,
    /// Paired, processed and no difference.
    pub matches: bool,
}

/// One upload request.
#[derive(Debug, Clone, Serialize)]
pub struct UploadView {
    /// 1-based request number.
    pub seq: u64,
    /// Milliseconds since the journal was cleared.
    pub offset_ms: f64,
    /// HTTP status sent (0: connection dropped).
    pub status: u16,
    /// The status in words.
    pub explained: &'static str,
    /// The fault injected, in words.
    pub fault: Option<String>,
    /// Records in the request.
    pub records: usize,
    /// Records processed.
    pub processed: usize,
    /// The answer sent (cut at 2000 characters).
    pub answer: String,
    /// The latest earlier request with the same body, when it was not accepted: this one retries it.
    pub retry_of: Option<u64>,
    /// The latest earlier request with the same body, when it was accepted: this one repeats it.
    pub duplicate_of: Option<u64>,
}

/// A page of records, newest request first.
pub fn record_page(
    entries: &[JournalEntry],
    expected: &[(u64, Value)],
    query: &ListQuery,
    redactor: &Redactor,
) -> Result<Page<RecordView>, String> {
    let (limit, outcome) = (query.limit()?, query.outcome()?);
    let needle = query.q.as_deref().map(str::trim).filter(|q| !q.is_empty()).map(str::to_lowercase);
    let wanted = |entry: &JournalEntry, record: &RecordEntry| {
        outcome.is_none_or(|o| o == outcome_name(&record.outcome))
            && needle.as_deref().is_none_or(|n| mentions(entry, record, n))
    };
    let mut total = 0;
    let mut items = Vec::new();
    for entry in entries.iter().rev() {
        for record in entry.record_entries().filter(|r| wanted(entry, r)) {
            if total >= query.offset && items.len() < limit {
                items.push(record_view(entry, record, expected, redactor));
            }
            total += 1;
        }
    }
    Ok(Page { total, offset: query.offset, limit, items })
}

/// A page of uploads, newest first.
pub fn upload_page(
    entries: &[JournalEntry],
    query: &ListQuery,
    redactor: &Redactor,
) -> Result<Page<UploadView>, String> {
    let limit = query.limit()?;
    let positions = (0..entries.len()).rev().skip(query.offset).take(limit);
    let items = positions.map(|i| upload_view(entries, i, redactor)).collect();
    Ok(Page { total: entries.len(), offset: query.offset, limit, items })
}

/// The view of `entries[i]`.
pub fn upload_view(entries: &[JournalEntry], i: usize, redactor: &Redactor) -> UploadView {
    let entry = &entries[i];
    let mut answer = redactor.text(&entry.response);
    if answer.len() > SHOWN_ANSWER {
        answer.truncate(answer.floor_char_boundary(SHOWN_ANSWER));
        answer.push('…');
    }
    let mut earlier = entries[i.saturating_sub(RETRY_LOOKBACK)..i].iter().rev();
    let same_body = earlier.find(|e| e.body == entry.body);
    let accepted = |e: &&JournalEntry| e.status == 200 && e.outcomes.iter().all(is_processed);
    UploadView {
        seq: entry.seq,
        offset_ms: entry.offset.as_secs_f64() * 1000.0,
        status: entry.status,
        explained: words::request_status(entry.status),
        fault: entry.fault.as_ref().map(words::fault),
        records: entry.outcomes.len(),
        processed: entry.outcomes.iter().filter(|o| is_processed(o)).count(),
        answer,
        retry_of: same_body.filter(|e| !accepted(e)).map(|e| e.seq),
        duplicate_of: same_body.filter(accepted).map(|e| e.seq),
    }
}

fn is_processed(outcome: &RecordOutcome) -> bool {
    *outcome == RecordOutcome::Processed
}

fn outcome_name(outcome: &RecordOutcome) -> &'static str {
    match outcome {
        RecordOutcome::Processed => "processed",
        RecordOutcome::Unprocessed { .. } => "unprocessed",
        RecordOutcome::Rejected { .. } => "rejected",
    }
}

fn mentions(entry: &JournalEntry, record: &RecordEntry, needle: &str) -> bool {
    let haystack = format!("{} {} #{}", record.record, words::outcome(&record.outcome), entry.seq);
    haystack.to_lowercase().contains(needle)
}

fn record_view(
    entry: &JournalEntry,
    record: RecordEntry,
    expected: &[(u64, Value)],
    redactor: &Redactor,
) -> RecordView {
    let (code, error, problem) = match &record.outcome {
        RecordOutcome::Processed => (None, None, None),
        RecordOutcome::Unprocessed { code, error } => {
            (Some(*code), Some(error.clone()), Some(format!("unprocessed, code {code}: {error}")))
        }
        RecordOutcome::Rejected { status } => (Some(*status), None, Some(words::outcome(&record.outcome))),
    };
    let observed = ObservedRecord {
        record: record.record.clone(),
        request_seq: entry.seq,
        index: record.index,
        problem,
    };
    let options = CompareOptions::default();
    // Its pair: the closest expected record of the same event; failing that, of the same
    // user (a wrong event name is then a difference, as in the `run` report).
    let same = |want: &Value, key: &str| want.get(key) == observed.record.get(key);
    let by_name: Vec<&(u64, Value)> = expected.iter().filter(|(_, want)| same(want, "evtName")).collect();
    let candidates = if by_name.is_empty() {
        expected.iter().filter(|(_, want)| same(want, "identity")).collect()
    } else {
        by_name
    };
    let pair = candidates
        .into_iter()
        .map(|(id, want)| (distance(want, &observed.record, options), *id, want))
        .min_by_key(|(d, _, _)| *d);
    let differences: Vec<Difference> = match pair {
        Some((_, _, want)) => {
            compare_records(std::slice::from_ref(want), std::slice::from_ref(&observed), options)
        }
        None => compare_records(&[], std::slice::from_ref(&observed), options),
    };
    let text = |key: &str| record.record.get(key).and_then(Value::as_str).map(str::to_string);
    RecordView {
        request_seq: entry.seq,
        index: record.index,
        evt_name: text("evtName"),
        identity: text("identity"),
        outcome: outcome_name(&record.outcome),
        code,
        explained: words::outcome(&record.outcome),
        error,
        fault: entry.fault.as_ref().map(words::fault),
        dry_run: record.dry_run,
        matches: pair.is_some() && differences.is_empty(),
        record: redactor.value(&record.record),
        expected: pair.map(|(_, _, want)| want.clone()),
        webhook_id: pair.map(|(_, id, _)| id),
        differences: differences.iter().map(|d| redactor.text(&d.to_string())).collect(),
    }
}

#[cfg(test)]
mod tests;
