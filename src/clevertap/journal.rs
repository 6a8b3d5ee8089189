//! The [`Journal`]: every request the fake received, its records and their outcomes, the
//! answer sent and the fault injected. Bounded: past its capacity (requests, or bytes kept)
//! the oldest entries are dropped and counted.
//!
//! It keeps each request's raw body (shared [`bytes::Bytes`]) and a compact outcome list
//! ([`stored`]); parsed records are made when read, and never kept, so the byte budget
//! bounds what the journal really holds. Reads copy a list of shared handles under the lock
//! and build entries after releasing it, so a large read never holds up an upload's append.

use std::collections::{BTreeMap, VecDeque};
use std::fmt;
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use serde::{Serialize, Serializer};
use serde_json::Value;
use tokio::sync::watch;

use super::Fault;
pub(crate) use stored::{Outcomes, Stored};

pub(crate) mod stored;
pub mod typed;
pub use typed::{NotQuiet, ReceivedRecord};

/// Default journal capacity, in requests.
pub const DEFAULT_CAPACITY: usize = 10_000;
/// Default journal budget in bytes (64 MiB): bodies, answers, headers and outcomes, all counted.
pub const DEFAULT_BYTE_BUDGET: usize = 64 * 1024 * 1024;
/// What a redacted header value reads.
pub use crate::redact::REDACTED;

/// What became of one record.
///
/// ```
/// # tokio::runtime::Runtime::new().unwrap().block_on(async {
/// use qc_harness::{FakeCleverTap, RecordOutcome};
/// let fake = FakeCleverTap::start().await;
/// let body = serde_json::json!({"d": [{"type": "event", "identity": "u1", "evtName": "App Launched", "evtData": {}}]});
/// reqwest::Client::new().post(format!("{}/1/upload", fake.uri()))
///     .header("X-CleverTap-Account-Id", fake.account_id()).header("X-CleverTap-Passcode", fake.passcode())
///     .json(&body).send().await.unwrap();
/// let request = &fake.journal().requests()[0];
/// assert!(matches!(request.outcomes[0], RecordOutcome::Unprocessed { code: 513, .. }));
/// # });
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "outcome", rename_all = "snake_case")]
pub enum RecordOutcome {
    /// Accepted (counted in `processed`).
    Processed,
    /// Listed in `unprocessed` with this code and error text.
    Unprocessed {
        /// CleverTap error code.
        code: u16,
        /// The full error text (with `Skipped record number : n`).
        error: String,
    },
    /// The whole request was refused with this HTTP status (0: connection dropped).
    Rejected {
        /// HTTP status of the request, 0 when the connection was dropped.
        status: u16,
    },
}

/// One request as the fake saw and answered it.
///
/// ```
/// # tokio::runtime::Runtime::new().unwrap().block_on(async {
/// let fake = qc_harness::FakeCleverTap::start().await;
/// reqwest::Client::new().post(format!("{}/1/upload", fake.uri()))
///     .header("X-CleverTap-Account-Id", fake.account_id()).header("X-CleverTap-Passcode", "wrong")
///     .body(r#"{"d":[]}"#).send().await.unwrap();
/// let entry: qc_harness::JournalEntry = fake.journal().requests().remove(0);
/// assert_eq!((entry.seq, entry.status, entry.path.as_str()), (1, 401, "/1/upload"));
/// assert_eq!(entry.headers["x-clevertap-passcode"], "[redacted]");
/// # });
/// ```
#[derive(Debug, Clone, Serialize)]
pub struct JournalEntry {
    /// 1-based number since start or the last reset.
    pub seq: u64,
    /// Wall-clock arrival (serialised as Unix milliseconds).
    #[serde(serialize_with = "epoch_millis")]
    pub received_at: SystemTime,
    /// Arrival, since the fake started or was last reset (serialised in milliseconds).
    #[serde(serialize_with = "millis")]
    pub offset: Duration,
    /// When the answer was due after arrival: latency plus any delay (milliseconds).
    #[serde(serialize_with = "millis")]
    pub answered_after: Duration,
    /// HTTP method.
    pub method: String,
    /// The `Host` header, as sent.
    pub host: Option<String>,
    /// Request path.
    pub path: String,
    /// Query string, without `?`.
    pub query: Option<String>,
    /// Headers, lower-case names; the passcode is redacted.
    pub headers: BTreeMap<String, String>,
    /// The raw body (lossy UTF-8).
    pub body: String,
    /// The records of `d`, when the envelope was valid (parsed from `body` when first read).
    pub records: Vec<Value>,
    /// One outcome per record.
    pub outcomes: Vec<RecordOutcome>,
    /// HTTP status sent (0 when the connection was dropped).
    pub status: u16,
    /// The response body sent.
    pub response: String,
    /// The injected fault, if any.
    pub fault: Option<Fault>,
    /// Uploads in flight for the account at arrival, this one included (0 when not authenticated).
    pub in_flight: usize,
    /// `?dryRun=1`: validated, nothing stored.
    pub dry_run: bool,
}

/// One record of one request, with its outcome.
///
/// ```
/// # tokio::runtime::Runtime::new().unwrap().block_on(async {
/// use std::time::Duration;
/// let fake = qc_harness::FakeCleverTap::start().await;
/// let record = serde_json::json!({"type": "event", "identity": "u1", "ts": 1700000000, "evtName": "trial_started", "evtData": {}});
/// reqwest::Client::new().post(format!("{}/1/upload", fake.uri()))
///     .header("X-CleverTap-Account-Id", fake.account_id()).header("X-CleverTap-Passcode", fake.passcode())
///     .json(&serde_json::json!({"d": [record]})).send().await.unwrap();
/// let records: Vec<qc_harness::RecordEntry> = fake.wait_for_records(1, Duration::from_secs(5)).await.unwrap();
/// assert_eq!((records[0].request_seq, records[0].index), (1, 1));
/// assert_eq!(records[0].record["evtName"], "trial_started");
/// # });
/// ```
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct RecordEntry {
    /// The request's [`JournalEntry::seq`].
    pub request_seq: u64,
    /// 1-based position in its request.
    pub index: usize,
    /// The record as sent.
    pub record: Value,
    /// What became of it.
    pub outcome: RecordOutcome,
    /// Sent with `?dryRun=1`.
    pub dry_run: bool,
    /// Arrival of its request (milliseconds when serialised).
    #[serde(serialize_with = "millis")]
    pub offset: Duration,
}

fn epoch_millis<S: Serializer>(time: &SystemTime, serializer: S) -> Result<S::Ok, S::Error> {
    let millis = time.duration_since(UNIX_EPOCH).unwrap_or_default().as_millis();
    // u64, not u128: not every serde format (serde_json's `Value`, internally tagged enums) takes u128.
    serializer.serialize_u64(u64::try_from(millis).unwrap_or(u64::MAX))
}

fn millis<S: Serializer>(duration: &Duration, serializer: S) -> Result<S::Ok, S::Error> {
    serializer.serialize_f64(duration.as_secs_f64() * 1000.0)
}

impl JournalEntry {
    /// This request's records, flattened with their outcomes.
    pub fn record_entries(&self) -> impl Iterator<Item = RecordEntry> + '_ {
        self.records.iter().zip(&self.outcomes).enumerate().map(|(i, (record, outcome))| RecordEntry {
            request_seq: self.seq,
            index: i + 1,
            record: record.clone(),
            outcome: outcome.clone(),
            dry_run: self.dry_run,
            offset: self.offset,
        })
    }
}

struct Inner {
    entries: VecDeque<Arc<Stored>>,
    bytes: usize,
    dropped: u64,
    clears: u64,
    capacity: usize,
    byte_budget: usize,
    /// Requests ever journaled, and their records `Processed` (dry runs included): kept
    /// across evictions and clears, so that a count never needs a reader woken per request.
    served: Totals,
}

/// What a journal has taken since it was made (evicted and cleared entries included).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub(crate) struct Totals {
    /// Requests journaled.
    pub requests: u64,
    /// Their records with outcome `Processed`, dry runs included.
    pub processed: u64,
}

/// A cheap, cloneable handle on the fake's journal.
///
/// ```
/// # tokio::runtime::Runtime::new().unwrap().block_on(async {
/// let fake = qc_harness::FakeCleverTap::start().await;
/// let journal: qc_harness::Journal = fake.journal(); // a cheap handle; clone it freely
/// assert!(journal.is_empty());
/// assert_eq!(journal.processed_count(), 0);
/// # });
/// ```
#[derive(Clone)]
pub struct Journal {
    inner: Arc<Mutex<Inner>>,
    changes: Arc<watch::Sender<u64>>,
}

impl fmt::Debug for Journal {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let inner = self.lock();
        write!(f, "Journal {{ requests: {}, dropped: {} }}", inner.entries.len(), inner.dropped)
    }
}

impl Journal {
    /// An empty journal keeping at most `capacity` requests and `byte_budget` bytes (bodies,
    /// answers, headers and outcomes; the newest entry is always kept).
    pub fn new(capacity: usize, byte_budget: usize) -> Journal {
        let inner = Inner {
            entries: VecDeque::new(),
            bytes: 0,
            dropped: 0,
            clears: 0,
            capacity: capacity.max(1),
            byte_budget,
            served: Totals::default(),
        };
        Journal { inner: Arc::new(Mutex::new(inner)), changes: Arc::new(watch::channel(0).0) }
    }

    fn lock(&self) -> MutexGuard<'_, Inner> {
        self.inner.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    /// Appends an entry, dropping the oldest past the capacity. Its `records` are not kept:
    /// they are parsed again from `body` when read.
    pub fn push(&self, entry: JournalEntry) {
        self.push_stored(Stored::from_entry(entry));
    }

    /// Appends a kept entry, dropping the oldest past the capacity or the byte budget.
    pub(crate) fn push_stored(&self, entry: Stored) {
        {
            let mut inner = self.lock();
            inner.bytes += entry.cost();
            inner.served.requests += 1;
            inner.served.processed += entry.outcomes().processed() as u64;
            inner.entries.push_back(Arc::new(entry));
            while inner.entries.len() > inner.capacity
                || (inner.bytes > inner.byte_budget && inner.entries.len() > 1)
            {
                let Some(old) = inner.entries.pop_front() else { break };
                inner.bytes -= old.cost();
                inner.dropped += 1;
            }
        }
        self.changes.send_modify(|version| *version += 1);
    }

    /// Forgets every entry (and the dropped count).
    pub fn clear(&self) {
        {
            let mut inner = self.lock();
            inner.entries.clear();
            inner.bytes = 0;
            inner.dropped = 0;
            inner.clears += 1;
        }
        self.changes.send_modify(|version| *version += 1);
    }

    /// Every kept request, oldest first.
    pub fn requests(&self) -> Vec<JournalEntry> {
        self.requests_after(0)
    }

    /// Kept requests with `seq` greater than `after`, oldest first.
    pub fn requests_after(&self, after: u64) -> Vec<JournalEntry> {
        self.page(after, usize::MAX).iter().map(|e| e.entry(true)).collect()
    }

    /// At most `limit` kept requests with `seq` greater than `after`, oldest first; their
    /// `records` parsed only when `with_records` (otherwise left empty).
    pub fn requests_page(&self, after: u64, limit: usize, with_records: bool) -> Vec<JournalEntry> {
        self.page(after, limit).iter().map(|e| e.entry(with_records)).collect()
    }

    /// Shared handles on at most `limit` entries after `after` (the lock is held only to copy them).
    pub(crate) fn page(&self, after: u64, limit: usize) -> Vec<Arc<Stored>> {
        let inner = self.lock();
        inner.entries.iter().filter(|e| e.seq() > after).take(limit).cloned().collect()
    }

    /// Every record of every kept request, in arrival order, with its outcome.
    pub fn records(&self) -> Vec<RecordEntry> {
        self.page(0, usize::MAX).iter().flat_map(|e| e.record_entries()).collect()
    }

    /// Records with outcome `Processed`, in arrival order; dry runs excluded.
    pub fn processed_records(&self) -> Vec<RecordEntry> {
        let with_processed: Vec<Arc<Stored>> =
            self.page(0, usize::MAX).into_iter().filter(|e| e.has_processed()).collect();
        with_processed.iter().flat_map(|e| e.processed_records()).collect()
    }

    /// How many records were processed (dry runs excluded), without parsing any body.
    pub fn processed_count(&self) -> usize {
        let inner = self.lock();
        let processed = |e: &Arc<Stored>| if e.has_processed() { e.outcomes().processed() } else { 0 };
        inner.entries.iter().map(processed).sum()
    }

    /// Bytes the kept entries are counted as (at most the byte budget, unless one entry alone is larger).
    pub fn bytes(&self) -> usize {
        self.lock().bytes
    }

    /// How many times the journal was cleared (a reader's cue to start over).
    pub fn clears(&self) -> u64 {
        self.lock().clears
    }

    /// Requests and processed records since the journal was made, evicted and cleared ones
    /// included (what `qc-harness clevertap -q` prints when it stops).
    #[cfg_attr(not(feature = "cli"), allow(dead_code))]
    pub(crate) fn totals(&self) -> Totals {
        self.lock().served
    }

    /// The `seq` of the newest kept request (0 when empty).
    pub fn last_seq(&self) -> u64 {
        self.lock().entries.back().map_or(0, |e| e.seq())
    }

    /// How many requests were dropped to keep the journal within its capacity.
    pub fn dropped(&self) -> u64 {
        self.lock().dropped
    }

    /// Number of kept requests.
    pub fn len(&self) -> usize {
        self.lock().entries.len()
    }

    /// True when no request is kept.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Waits until nothing was added to the journal for `quiet` (the relay's settle window:
    /// "nothing more within it"), or until `cap`; returns whether it went quiet. Wakes on
    /// journal changes, never polls.
    pub async fn wait_quiet(&self, quiet: Duration, cap: tokio::time::Instant) -> bool {
        let mut changes = self.subscribe();
        changes.borrow_and_update();
        loop {
            let quiet_end = tokio::time::Instant::now() + quiet;
            match tokio::time::timeout_at(quiet_end.min(cap), changes.changed()).await {
                Err(_) => return quiet_end <= cap,
                Ok(Ok(())) if tokio::time::Instant::now() < cap => changes.borrow_and_update(),
                Ok(Ok(())) => return false,
                Ok(Err(_)) => {
                    tokio::time::sleep_until(quiet_end.min(cap)).await;
                    return quiet_end <= cap;
                }
            };
        }
    }

    /// A receiver that changes whenever an entry is added or the journal is cleared.
    pub fn subscribe(&self) -> watch::Receiver<u64> {
        self.changes.subscribe()
    }

    /// Waits until `ready` returns `Some` for the journal, or the deadline passes.
    pub async fn wait_until<T>(
        &self,
        deadline: Duration,
        mut ready: impl FnMut(&Journal) -> Result<T, usize>,
    ) -> Result<T, usize> {
        let mut changes = self.subscribe();
        let wait = async {
            loop {
                changes.borrow_and_update();
                if let Ok(found) = ready(self) {
                    return found;
                }
                if changes.changed().await.is_err() {
                    std::future::pending::<()>().await;
                }
            }
        };
        match tokio::time::timeout(deadline, wait).await {
            Ok(found) => Ok(found),
            Err(_) => match ready(self) {
                Ok(found) => Ok(found),
                Err(got) => Err(got),
            },
        }
    }
}

/// A wait on the journal ran out of time.
///
/// ```
/// # tokio::runtime::Runtime::new().unwrap().block_on(async {
/// use std::time::Duration;
/// let fake = qc_harness::FakeCleverTap::start().await;
/// let timeout: qc_harness::WaitTimeout = fake.wait_for_records(1, Duration::from_millis(50)).await.unwrap_err();
/// assert_eq!(timeout.got, 0);
/// assert!(timeout.to_string().contains("waited"), "{timeout}");
/// # });
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WaitTimeout {
    /// What was waited for, e.g. `3 processed records`.
    pub wanted: String,
    /// How many there were at the deadline.
    pub got: usize,
    /// How long it waited.
    pub waited: Duration,
}

impl fmt::Display for WaitTimeout {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "fake CleverTap: waited {:?} for {}, got {}", self.waited, self.wanted, self.got)
    }
}

impl std::error::Error for WaitTimeout {}

impl From<WaitTimeout> for crate::Error {
    fn from(timeout: WaitTimeout) -> Self {
        crate::Error::Failed(timeout.to_string())
    }
}
