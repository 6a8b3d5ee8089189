//! Typed, filtered reads and waits on the [`Journal`]: [`ReceivedRecord`] (a typed view of
//! each received record, the raw JSON still there), `wait_for` with a predicate and a
//! deadline, and `expect_quiet`: "nothing more arrives within this window".
//!
//! Every wait wakes on the journal's change notification; none sleeps or polls.

use std::fmt;
use std::sync::Arc;
use std::time::Duration;

use serde_json::{Map, Value};

use super::{Journal, JournalEntry, RecordEntry, RecordOutcome, Stored, WaitTimeout};
use crate::clevertap::FakeCleverTap;
use crate::mapping::EventRecord;

/// One record the fake CleverTap received: typed fields, the raw JSON, what became of it.
///
/// ```
/// use qc_harness::clevertap::{ReceivedRecord, RecordOutcome};
/// let raw = serde_json::json!({"identity": "u1", "ts": 1700000000, "type": "event",
///     "evtName": "trial_started", "evtData": {"platform": "iOS", "revenue": 9.99}});
/// let record = ReceivedRecord::new(raw, RecordOutcome::Processed, 1, 1);
/// assert_eq!(record.evt_name(), Some("trial_started"));
/// assert_eq!(record.data_str("platform"), Some("iOS"));
/// assert_eq!(record.data_f64("revenue"), Some(9.99));
/// assert_eq!(record.event.as_ref().unwrap().ts, Some(1700000000));
/// assert_eq!(record.field("evtData.platform"), Some(&serde_json::json!("iOS")));
/// assert!(record.is_processed());
/// ```
#[derive(Debug, Clone, PartialEq)]
pub struct ReceivedRecord {
    /// The record read as an event record; `None` when it is not one (a field missing or of
    /// the wrong type, e.g. `ts` as a string): then only [`raw`](Self::raw) has it.
    pub event: Option<EventRecord>,
    /// The record exactly as the relay sent it.
    pub raw: Value,
    /// What the fake made of it.
    pub outcome: RecordOutcome,
    /// Its request's number (1-based since start or reset).
    pub request_seq: u64,
    /// Its position in the request (1-based).
    pub index: usize,
    /// Sent with `?dryRun=1`.
    pub dry_run: bool,
}

impl ReceivedRecord {
    /// A record received as `raw`, with its outcome, request number and position.
    pub fn new(raw: Value, outcome: RecordOutcome, request_seq: u64, index: usize) -> ReceivedRecord {
        let event = serde_json::from_value(raw.clone()).ok();
        ReceivedRecord { event, raw, outcome, request_seq, index, dry_run: false }
    }

    /// `evtName`, when it is a string.
    pub fn evt_name(&self) -> Option<&str> {
        self.raw.get("evtName")?.as_str()
    }

    /// `identity` as a string (a number is turned into its string form).
    pub fn identity(&self) -> Option<String> {
        match self.raw.get("identity")? {
            Value::String(s) if !s.is_empty() => Some(s.clone()),
            Value::Number(n) => Some(n.to_string()),
            _ => None,
        }
    }

    /// `ts`, when it is an integer.
    pub fn ts(&self) -> Option<i64> {
        self.raw.get("ts")?.as_i64()
    }

    /// `evtData`, when it is an object.
    pub fn evt_data(&self) -> Option<&Map<String, Value>> {
        self.raw.get("evtData")?.as_object()
    }

    /// `evtData[key]`.
    pub fn data(&self, key: &str) -> Option<&Value> {
        self.evt_data()?.get(key)
    }

    /// `evtData[key]`, when it is a string.
    pub fn data_str(&self, key: &str) -> Option<&str> {
        self.data(key)?.as_str()
    }

    /// `evtData[key]`, when it is a number.
    pub fn data_f64(&self, key: &str) -> Option<f64> {
        self.data(key)?.as_f64()
    }

    /// The value at a dotted path (`evtData.platform`).
    pub fn field(&self, path: &str) -> Option<&Value> {
        path.split('.').try_fold(&self.raw, |at, key| at.as_object()?.get(key))
    }

    /// CleverTap processed it.
    pub fn is_processed(&self) -> bool {
        self.outcome == RecordOutcome::Processed
    }
}

impl From<RecordEntry> for ReceivedRecord {
    fn from(entry: RecordEntry) -> ReceivedRecord {
        let mut record = ReceivedRecord::new(entry.record, entry.outcome, entry.request_seq, entry.index);
        record.dry_run = entry.dry_run;
        record
    }
}

/// Something arrived in a window that was to stay quiet ([`Journal::expect_quiet`]).
#[derive(Debug, Clone)]
pub struct NotQuiet {
    /// The window.
    pub window: Duration,
    /// The requests journaled within it.
    pub arrived: Vec<JournalEntry>,
}

impl fmt::Display for NotQuiet {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "fake CleverTap: expected nothing more within {:?}, but {} request(s) arrived",
            self.window,
            self.arrived.len()
        )?;
        for entry in &self.arrived {
            let records: Vec<String> = entry.records.iter().map(Value::to_string).collect();
            write!(f, "\n  request #{} (HTTP {}): {}", entry.seq, entry.status, records.join(", "))?;
        }
        Ok(())
    }
}

impl std::error::Error for NotQuiet {}

impl From<NotQuiet> for crate::Error {
    fn from(not_quiet: NotQuiet) -> Self {
        crate::Error::Failed(not_quiet.to_string())
    }
}

impl Journal {
    /// Every record of every kept request, typed, in arrival order (dry runs included).
    pub fn received(&self) -> Vec<ReceivedRecord> {
        self.records().into_iter().map(ReceivedRecord::from).collect()
    }

    /// Waits until at least one received record matches `matches` (dry runs excluded);
    /// returns every matching record. Woken by the journal; errs at the deadline.
    pub async fn wait_for(
        &self,
        matches: impl FnMut(&ReceivedRecord) -> bool,
        deadline: Duration,
    ) -> Result<Vec<ReceivedRecord>, WaitTimeout> {
        self.wait_for_count(1, matches, deadline).await
    }

    /// Waits until at least `n` received records match `matches` (dry runs excluded);
    /// returns every matching record.
    pub async fn wait_for_count(
        &self,
        n: usize,
        mut matches: impl FnMut(&ReceivedRecord) -> bool,
        deadline: Duration,
    ) -> Result<Vec<ReceivedRecord>, WaitTimeout> {
        let mut seen = Seen::default();
        let ready = |journal: &Journal| {
            seen.update(journal, &mut matches);
            if seen.matched.len() >= n { Ok(seen.matched.clone()) } else { Err(seen.matched.len()) }
        };
        self.wait_until(deadline, ready).await.map_err(|got| WaitTimeout {
            wanted: format!("{n} matching record(s)"),
            got,
            waited: deadline,
        })
    }

    /// Succeeds when nothing is journaled during the next `window` (the relay's settle
    /// window: "nothing more arrived"); otherwise, after the window, fails with every
    /// request that arrived in it. Built on [`Journal::wait_quiet`]: woken by the journal,
    /// no polling.
    pub async fn expect_quiet(&self, window: Duration) -> Result<(), NotQuiet> {
        let (clears, (appended, _)) = (self.clears(), self.appended_since(u64::MAX));
        let end = tokio::time::Instant::now() + window;
        // The window is waited out either way; what was appended in it decides.
        let _quiet = self.wait_quiet(window, end).await;
        let since = if self.clears() == clears { appended } else { 0 };
        let arrived: Vec<JournalEntry> =
            self.appended_since(since).1.iter().map(|stored| stored.entry(true)).collect();
        if arrived.is_empty() {
            return Ok(()); // nothing, or only a clear()
        }
        Err(NotQuiet { window, arrived })
    }

    /// How many entries were appended since the last clear, and those appended after the
    /// first `seen` of them (by append order: a slow request is journaled after a later
    /// fast one, so request numbers cannot tell what is new).
    fn appended_since(&self, seen: u64) -> (u64, Vec<Arc<Stored>>) {
        let inner = self.lock();
        let total = inner.dropped + inner.entries.len() as u64;
        let skip = usize::try_from(seen.saturating_sub(inner.dropped)).unwrap_or(usize::MAX);
        (total, inner.entries.iter().skip(skip).cloned().collect())
    }
}

/// The records a wait has looked at so far: only new requests are read on each change.
#[derive(Default)]
struct Seen {
    clears: u64,
    appended: u64,
    matched: Vec<ReceivedRecord>,
}

impl Seen {
    fn update(&mut self, journal: &Journal, matches: &mut impl FnMut(&ReceivedRecord) -> bool) {
        if journal.clears() != self.clears {
            *self = Seen { clears: journal.clears(), ..Seen::default() };
        }
        let (appended, new) = journal.appended_since(self.appended);
        self.appended = appended;
        for stored in new {
            let records = stored.record_entries().into_iter().map(ReceivedRecord::from);
            self.matched.extend(records.filter(|r| !r.dry_run).filter(|r| matches(r)));
        }
    }
}

impl FakeCleverTap {
    /// Every record received so far, typed ([`Journal::received`]).
    pub fn received(&self) -> Vec<ReceivedRecord> {
        self.journal().received()
    }

    /// Waits until a received record matches `matches`; every matching record
    /// ([`Journal::wait_for`]).
    ///
    /// ```
    /// # #[tokio::main] async fn main() -> qc_harness::Result<()> {
    /// use std::time::Duration;
    /// let fake = qc_harness::FakeCleverTap::builder().start().await?;
    /// let upload = serde_json::json!({"d": [{"identity": "u1", "ts": 1700000000, "type": "event",
    ///     "evtName": "trial_started", "evtData": {"platform": "iOS"}}]});
    /// reqwest::Client::new().post(format!("{}/1/upload", fake.uri()))
    ///     .header("X-CleverTap-Account-Id", fake.account_id())
    ///     .header("X-CleverTap-Passcode", fake.passcode())
    ///     .json(&upload).send().await.unwrap();
    /// let trials = fake.wait_for(|r| r.evt_name() == Some("trial_started"), Duration::from_secs(5)).await?;
    /// assert_eq!(trials[0].data_str("platform"), Some("iOS"));
    /// fake.expect_quiet(Duration::from_millis(100)).await?;   // nothing more arrives
    /// # Ok(()) }
    /// ```
    pub async fn wait_for(
        &self,
        matches: impl FnMut(&ReceivedRecord) -> bool,
        deadline: Duration,
    ) -> Result<Vec<ReceivedRecord>, WaitTimeout> {
        self.journal().wait_for(matches, deadline).await
    }

    /// Waits until `n` received records match `matches` ([`Journal::wait_for_count`]).
    pub async fn wait_for_count(
        &self,
        n: usize,
        matches: impl FnMut(&ReceivedRecord) -> bool,
        deadline: Duration,
    ) -> Result<Vec<ReceivedRecord>, WaitTimeout> {
        self.journal().wait_for_count(n, matches, deadline).await
    }

    /// Fails with what arrived if anything is journaled within `window`
    /// ([`Journal::expect_quiet`]).
    pub async fn expect_quiet(&self, window: Duration) -> Result<(), NotQuiet> {
        self.journal().expect_quiet(window).await
    }
}
