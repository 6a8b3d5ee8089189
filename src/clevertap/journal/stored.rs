//! What the journal actually keeps per request: the metadata, the raw body (shared
//! [`Bytes`]) and a compact per-record outcome. Parsed records and the public
//! [`JournalEntry`] are made on demand, never cached, so the journal's memory is what its
//! byte budget counts.

use std::mem::size_of;

use bytes::Bytes;

use super::{JournalEntry, RecordEntry, RecordOutcome};
use crate::clevertap::validate;

/// Fixed per-entry overhead counted on top of the variable parts (struct, `Arc`, deque slot).
const ENTRY_OVERHEAD: usize = size_of::<Stored>() + 64;
/// Per-header overhead counted on top of the name and value bytes (two `String`s, tree node).
const HEADER_OVERHEAD: usize = 64;

/// One outcome per record, compactly: a whole request usually shares one outcome.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Outcomes {
    /// `count` records, all with the same outcome (the common case, and the empty one).
    Uniform {
        /// The shared outcome.
        outcome: RecordOutcome,
        /// How many records.
        count: usize,
    },
    /// Records with differing outcomes.
    Mixed(Vec<RecordOutcome>),
}

impl Outcomes {
    /// Compacts a list of outcomes.
    pub(crate) fn from_vec(outcomes: Vec<RecordOutcome>) -> Outcomes {
        match outcomes.first() {
            None => Outcomes::Uniform { outcome: RecordOutcome::Processed, count: 0 },
            Some(first) if outcomes.iter().all(|o| o == first) => {
                Outcomes::Uniform { outcome: first.clone(), count: outcomes.len() }
            }
            Some(_) => Outcomes::Mixed(outcomes),
        }
    }

    /// No records (a request refused before its body was read).
    pub(crate) fn none() -> Outcomes {
        Outcomes::Uniform { outcome: RecordOutcome::Processed, count: 0 }
    }

    /// `count` records, all processed.
    pub(crate) fn all_processed(count: usize) -> Outcomes {
        Outcomes::Uniform { outcome: RecordOutcome::Processed, count }
    }

    /// `count` records, all refused with the request's HTTP `status` (0: dropped).
    pub(crate) fn rejected(status: u16, count: usize) -> Outcomes {
        if count == 0 {
            return Outcomes::none();
        }
        Outcomes::Uniform { outcome: RecordOutcome::Rejected { status }, count }
    }

    /// Number of records.
    pub(crate) fn len(&self) -> usize {
        match self {
            Outcomes::Uniform { count, .. } => *count,
            Outcomes::Mixed(all) => all.len(),
        }
    }

    /// The outcome of the record at 0-based `index`.
    pub(crate) fn get(&self, index: usize) -> Option<&RecordOutcome> {
        match self {
            Outcomes::Uniform { outcome, count } => (index < *count).then_some(outcome),
            Outcomes::Mixed(all) => all.get(index),
        }
    }

    /// How many records were processed.
    pub(crate) fn processed(&self) -> usize {
        match self {
            Outcomes::Uniform { outcome: RecordOutcome::Processed, count } => *count,
            Outcomes::Uniform { .. } => 0,
            Outcomes::Mixed(all) => all.iter().filter(|o| **o == RecordOutcome::Processed).count(),
        }
    }

    /// The full list.
    pub(crate) fn to_vec(&self) -> Vec<RecordOutcome> {
        (0..self.len()).filter_map(|i| self.get(i).cloned()).collect()
    }

    fn cost(&self) -> usize {
        let one = |o: &RecordOutcome| match o {
            RecordOutcome::Unprocessed { error, .. } => size_of::<RecordOutcome>() + error.len(),
            _ => size_of::<RecordOutcome>(),
        };
        match self {
            Outcomes::Uniform { outcome, .. } => one(outcome),
            Outcomes::Mixed(all) => all.iter().map(one).sum(),
        }
    }
}

/// One journaled request as kept.
#[derive(Debug)]
pub(crate) struct Stored {
    /// Every field but `body`, `records` and `outcomes` (those are empty here).
    meta: JournalEntry,
    body: Bytes,
    outcomes: Outcomes,
    cost: usize,
}

impl Stored {
    /// Keeps `meta` (its `body`, `records` and `outcomes` are ignored) with the raw body.
    pub(crate) fn new(mut meta: JournalEntry, body: Bytes, outcomes: Outcomes) -> Stored {
        meta.body = String::new();
        meta.records = Vec::new();
        meta.outcomes = Vec::new();
        let headers: usize = meta.headers.iter().map(|(k, v)| k.len() + v.len() + HEADER_OVERHEAD).sum();
        let text = meta.method.len()
            + meta.path.len()
            + meta.query.as_ref().map_or(0, String::len)
            + meta.host.as_ref().map_or(0, String::len)
            + meta.response.len();
        let cost = ENTRY_OVERHEAD + body.len() + text + headers + outcomes.cost();
        Stored { meta, body, outcomes, cost }
    }

    /// Keeps a public entry (its `records` are parsed again from `body` when read).
    pub(crate) fn from_entry(mut entry: JournalEntry) -> Stored {
        let body = Bytes::from(std::mem::take(&mut entry.body).into_bytes());
        let outcomes = Outcomes::from_vec(std::mem::take(&mut entry.outcomes));
        Stored::new(entry, body, outcomes)
    }

    /// Bytes this entry is counted as against the journal's budget.
    pub(crate) fn cost(&self) -> usize {
        self.cost
    }

    pub(crate) fn seq(&self) -> u64 {
        self.meta.seq
    }

    pub(crate) fn outcomes(&self) -> &Outcomes {
        &self.outcomes
    }

    /// True when a record was processed outside a dry run.
    pub(crate) fn has_processed(&self) -> bool {
        !self.meta.dry_run && self.outcomes.processed() > 0
    }

    /// The records of `d`, parsed from the body (empty when the envelope was refused).
    fn records(&self) -> Vec<serde_json::Value> {
        if self.outcomes.len() == 0 {
            return Vec::new();
        }
        validate::check_envelope(&self.body).unwrap_or_default()
    }

    /// The public entry; its records only when `with_records`.
    pub(crate) fn entry(&self, with_records: bool) -> JournalEntry {
        let mut entry = self.meta.clone();
        entry.body = String::from_utf8_lossy(&self.body).into_owned();
        entry.outcomes = self.outcomes.to_vec();
        if with_records {
            entry.records = self.records();
        }
        entry
    }

    /// This request's processed records (none for a dry run).
    pub(crate) fn processed_records(&self) -> Vec<RecordEntry> {
        if !self.has_processed() {
            return Vec::new();
        }
        let Ok(views) = validate::parse_envelope(&self.body) else { return Vec::new() };
        let processed = views
            .iter()
            .enumerate()
            .filter(|(i, _)| self.outcomes.get(*i) == Some(&RecordOutcome::Processed));
        processed.map(|(i, view)| self.record_entry(i, view.to_value())).collect()
    }

    /// Every record of this request with its outcome.
    pub(crate) fn record_entries(&self) -> Vec<RecordEntry> {
        let records = self.records();
        let kept = records.into_iter().take(self.outcomes.len()).enumerate();
        kept.map(|(i, record)| self.record_entry(i, record)).collect()
    }

    fn record_entry(&self, index: usize, record: serde_json::Value) -> RecordEntry {
        RecordEntry {
            request_seq: self.meta.seq,
            index: index + 1,
            record,
            outcome: self.outcomes.get(index).cloned().unwrap_or(RecordOutcome::Rejected { status: 0 }),
            dry_run: self.meta.dry_run,
            offset: self.meta.offset,
        }
    }
}
