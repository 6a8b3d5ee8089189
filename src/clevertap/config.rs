//! [`FakeCleverTapBuilder`]: accounts, latency, limits, faults and where to listen.

use std::fmt;
use std::net::SocketAddr;
use std::time::Duration;

use super::fault::Chaos;
use super::front::FrontLimits;
use super::journal::{DEFAULT_BYTE_BUDGET, DEFAULT_CAPACITY};
use super::validate::Rules;
use super::{FakeCleverTap, FaultScript};
use crate::error::Result;

/// The account id of a fake built without `.account(..)`, and the one the harness gives a
/// relay it starts.
///
/// ```
/// # tokio::runtime::Runtime::new().unwrap().block_on(async {
/// let fake = qc_harness::FakeCleverTap::start().await;
/// assert_eq!(fake.account_id(), qc_harness::DEFAULT_ACCOUNT_ID);
/// # });
/// ```
pub const DEFAULT_ACCOUNT_ID: &str = "TEST-ACC-000";
/// The passcode of a fake built without `.account(..)`, and the one the harness gives a
/// relay it starts.
///
/// ```
/// # tokio::runtime::Runtime::new().unwrap().block_on(async {
/// let fake = qc_harness::FakeCleverTap::start().await;
/// assert_eq!(fake.passcode(), qc_harness::DEFAULT_PASSCODE);
/// # });
/// ```
pub const DEFAULT_PASSCODE: &str = "TEST-PASSCODE";
/// The default region (the fake's, and the one the harness gives a relay it starts).
///
/// ```
/// # tokio::runtime::Runtime::new().unwrap().block_on(async {
/// let fake = qc_harness::FakeCleverTap::start().await;
/// assert_eq!(fake.region(), qc_harness::DEFAULT_REGION);
/// # });
/// ```
pub const DEFAULT_REGION: &str = "eu1";
/// The default concurrency limit per account.
pub const DEFAULT_MAX_CONCURRENCY: usize = 15;
/// How many requests one wiremock mock serves before it is replaced (wiremock keeps a copy
/// of every request a mock matched; replacing the mock frees them).
pub const DEFAULT_RECYCLE_AFTER: usize = 4096;

/// A CleverTap account: its id and every passcode that is valid for it.
#[derive(Clone, PartialEq, Eq)]
pub struct Account {
    /// `X-CleverTap-Account-Id`.
    pub id: String,
    /// Valid `X-CleverTap-Passcode` values.
    pub passcodes: Vec<String>,
}

impl fmt::Debug for Account {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Account {{ id: {:?}, passcodes: {} redacted }}", self.id, self.passcodes.len())
    }
}

/// Everything a fake is configured with (what the builder collects).
#[derive(Debug, Clone)]
pub struct FakeConfig {
    /// The accounts; the first is the one [`FakeCleverTap::account_id`] reports.
    pub accounts: Vec<Account>,
    /// Informational region (`eu1`, `in1`, ...), handed to relays.
    pub region: String,
    /// Simulated processing time of every answered request.
    pub latency: Duration,
    /// Most uploads in flight per account; one more gets 429.
    pub max_concurrency: usize,
    /// Record rules (property limit, discarded events).
    pub rules: Rules,
    /// Scripted faults.
    pub faults: FaultScript,
    /// Random faults.
    pub chaos: Option<Chaos>,
    /// Where to listen; `None`: 127.0.0.1 on a free port.
    pub listen: Option<SocketAddr>,
    /// Journal capacity in requests.
    pub journal_capacity: usize,
    /// Most bytes the journal keeps (bodies, answers, headers, outcomes).
    pub journal_byte_budget: usize,
    /// Serve `GET`/`DELETE /__harness/requests` (standalone mode).
    pub control_endpoints: bool,
    /// Requests served by one wiremock mock before it is replaced.
    pub recycle_after: usize,
    /// The front's connection cap, header timeout, accept retry time and threads.
    pub front: FrontLimits,
}

impl Default for FakeConfig {
    fn default() -> Self {
        FakeConfig {
            accounts: Vec::new(),
            region: DEFAULT_REGION.to_string(),
            latency: Duration::ZERO,
            max_concurrency: DEFAULT_MAX_CONCURRENCY,
            rules: Rules::default(),
            faults: FaultScript::new(),
            chaos: None,
            listen: None,
            journal_capacity: DEFAULT_CAPACITY,
            journal_byte_budget: DEFAULT_BYTE_BUDGET,
            control_endpoints: false,
            recycle_after: DEFAULT_RECYCLE_AFTER,
            front: FrontLimits::default(),
        }
    }
}

impl FakeConfig {
    /// The accounts, or the default one when none was configured.
    pub(crate) fn effective_accounts(&self) -> Vec<Account> {
        if self.accounts.is_empty() {
            vec![Account { id: DEFAULT_ACCOUNT_ID.into(), passcodes: vec![DEFAULT_PASSCODE.into()] }]
        } else {
            self.accounts.clone()
        }
    }
}

/// Builds a [`FakeCleverTap`]; every setting has a default.
///
/// ```
/// # tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap().block_on(async {
/// use std::time::Duration;
/// use qc_harness::clevertap::{FakeCleverTap, Fault, FaultScript};
/// let fake = FakeCleverTap::builder()
///     .account("ACC-1", ["PASS-A", "PASS-B"])
///     .latency(Duration::from_millis(20))
///     .discard_event("old_event")
///     .faults(FaultScript::new().on(1, Fault::ServerError))
///     .start()
///     .await
///     .unwrap();
/// assert_eq!(fake.account_id(), "ACC-1");
/// # });
/// ```
#[derive(Debug, Clone, Default)]
#[must_use = "call .start().await to run the fake"]
pub struct FakeCleverTapBuilder {
    config: FakeConfig,
}

impl FakeCleverTapBuilder {
    /// Adds an account with one or more valid passcodes (replaces the default account).
    pub fn account<I, P>(mut self, id: impl Into<String>, passcodes: I) -> Self
    where
        I: IntoIterator<Item = P>,
        P: Into<String>,
    {
        let passcodes = passcodes.into_iter().map(Into::into).collect();
        self.config.accounts.push(Account { id: id.into(), passcodes });
        self
    }

    /// The region reported by [`FakeCleverTap::region`] (default `eu1`).
    pub fn region(mut self, region: impl Into<String>) -> Self {
        self.config.region = region.into();
        self
    }

    /// Simulated processing time of each request (default 0).
    pub fn latency(mut self, latency: Duration) -> Self {
        self.config.latency = latency;
        self
    }

    /// Most uploads in flight per account (default 15); the next one gets 429.
    pub fn max_concurrency(mut self, limit: usize) -> Self {
        self.config.max_concurrency = limit;
        self
    }

    /// Most properties per event (default [`DEFAULT_PROPERTY_LIMIT`](super::validate::DEFAULT_PROPERTY_LIMIT), 100); more gets code 522.
    pub fn property_limit(mut self, limit: usize) -> Self {
        self.config.rules.property_limit = limit;
        self
    }

    /// Switches the account's Nested Objects feature on: objects and arrays are accepted in
    /// `evtData` up to 3 levels deep (off by default: they get code 512).
    pub fn nested_objects(mut self, on: bool) -> Self {
        self.config.rules.nested_objects = on;
        self
    }

    /// Marks an event name as discarded in the account (code 528).
    pub fn discard_event(mut self, name: impl Into<String>) -> Self {
        self.config.rules.discarded.insert(name.into());
        self
    }

    /// Scripted faults (request numbers count from start or the last reset).
    pub fn faults(mut self, script: FaultScript) -> Self {
        self.config.faults = script;
        self
    }

    /// Random faults: each request gets one with probability `rate`, reproducibly per `seed`.
    pub fn chaos(mut self, seed: u64, rate: f64) -> Self {
        self.config.chaos = Some(Chaos { seed, rate });
        self
    }

    /// Listen on this address instead of 127.0.0.1 on a free port.
    pub fn listen(mut self, addr: SocketAddr) -> Self {
        self.config.listen = Some(addr);
        self
    }

    /// Journal capacity in requests (default 10 000); the oldest are dropped and counted.
    pub fn journal_capacity(mut self, requests: usize) -> Self {
        self.config.journal_capacity = requests;
        self
    }

    /// Most bytes the journal keeps (default 64 MiB): raw bodies, answers, headers and
    /// outcomes, all counted; the oldest requests are dropped past it (the newest is always kept).
    pub fn journal_max_bytes(mut self, bytes: usize) -> Self {
        self.config.journal_byte_budget = bytes;
        self
    }

    /// The same as [`journal_max_bytes`](Self::journal_max_bytes) (its earlier name).
    pub fn journal_byte_budget(self, bytes: usize) -> Self {
        self.journal_max_bytes(bytes)
    }

    /// Serves `GET`/`DELETE /__harness/requests` (standalone mode); off by default.
    pub fn control_endpoints(mut self, on: bool) -> Self {
        self.config.control_endpoints = on;
        self
    }

    /// Requests one wiremock mock serves before it is replaced (default 4096; memory bound).
    pub fn recycle_after(mut self, requests: usize) -> Self {
        self.config.recycle_after = requests.max(1);
        self
    }

    /// Most connections open at once (default
    /// [`DEFAULT_MAX_CONNECTIONS`](super::DEFAULT_MAX_CONNECTIONS), 1024); more wait in
    /// the kernel's accept queue until one closes.
    pub fn max_connections(mut self, connections: usize) -> Self {
        self.config.front.max_connections = connections.max(1);
        self
    }

    /// How long a client may take to send a request's headers before the connection is
    /// closed (default [`DEFAULT_HEADER_TIMEOUT`](super::DEFAULT_HEADER_TIMEOUT), 10 s).
    pub fn header_timeout(mut self, timeout: Duration) -> Self {
        self.config.front.header_timeout = timeout.max(Duration::from_millis(1));
        self
    }

    /// How long accepting connections may keep failing (for example "too many open files")
    /// before the fake gives up and reports itself dead (default
    /// [`DEFAULT_ACCEPT_RETRY_FOR`](super::DEFAULT_ACCEPT_RETRY_FOR), 30 s).
    pub fn accept_retry_for(mut self, time: Duration) -> Self {
        self.config.front.accept_retry_for = time;
        self
    }

    /// Threads that serve requests (default 1; `qc-harness clevertap` uses 2). With more than
    /// one, connections are handed out to the threads in turn, each served on one.
    pub fn threads(mut self, threads: usize) -> Self {
        self.config.front.threads = threads.clamp(1, 64);
        self
    }

    /// The collected configuration.
    pub fn config(&self) -> &FakeConfig {
        &self.config
    }

    /// Binds and starts the fake.
    pub async fn start(self) -> Result<FakeCleverTap> {
        FakeCleverTap::start_with(self.config).await
    }
}
