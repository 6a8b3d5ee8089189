//! [`FakeCleverTap`]: the Upload API, served by the fake's own front with a
//! `wiremock::MockServer` behind it.
//!
//! The front (`super::front`) owns the listener: it answers `POST /1/upload` and the journal
//! endpoint itself, from the engine, and forwards every other request to wiremock, which
//! listens on a private loopback port. On wiremock, two mocks carry the same engine: a high-priority one whose matcher numbers each request and
//! picks its fault (it matches only when the connection must be dropped, and then answers
//! with a responder error, so hyper closes the connection without a response), and one that
//! answers everything else. wiremock keeps a copy of every request a mock matched, so the
//! pair is replaced every [`recycle_after`](super::FakeCleverTapBuilder::recycle_after)
//! requests without a gap (see [`super::recycle`]).

use std::fmt;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use wiremock::{Match, Mock, MockServer, Request, Respond, ResponseTemplate};

use super::FaultScript;
use super::answer::CONTENT_TYPE;
use super::config::{FakeCleverTapBuilder, FakeConfig};
use super::engine::Engine;
use super::front::{Front, Health};
use super::journal::{Journal, JournalEntry, RecordEntry, WaitTimeout};
use super::recycle::Recycler;
use crate::error::{Error, Result};

/// The fake CleverTap Upload API. Dropping it stops the server.
///
/// ```
/// # tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap().block_on(async {
/// use std::time::Duration;
/// use qc_harness::FakeCleverTap;
/// let fake = FakeCleverTap::start().await;
/// let answer = reqwest::Client::new()
///     .post(format!("{}/1/upload", fake.uri()))
///     .header("X-CleverTap-Account-Id", fake.account_id())
///     .header("X-CleverTap-Passcode", fake.passcode())
///     .body(r#"{"d":[{"type":"event","identity":"u1","evtName":"trial_started","evtData":{}}]}"#)
///     .send().await.unwrap();
/// assert_eq!(answer.text().await.unwrap(), r#"{"status":"success","processed":1,"unprocessed":[]}"#);
/// let records = fake.wait_for_records(1, Duration::from_secs(5)).await.unwrap();
/// assert_eq!(records[0].record["evtName"], "trial_started");
/// # });
/// ```
pub struct FakeCleverTap {
    /// Boxed: a fake is moved around in benches and its size matters there.
    front: Box<Serving>,
    /// wiremock, behind the front; only kept alive here.
    _wiremock: ServerHandle,
    engine: Arc<Engine>,
    recycler: Recycler,
}

/// The front, the address it listens on, and the region.
struct Serving {
    front: Front,
    address: SocketAddr,
    region: String,
}

/// Owns the wiremock server and drops it on a plain thread.
///
/// `MockServer`'s `Drop` blocks with `futures::executor::block_on` on a tokio lock; inside a
/// tokio task whose co-operative budget is spent, that lock answers "pending" forever and the
/// drop spins at 100% CPU. A thread outside the runtime has no budget, so the drop completes.
struct ServerHandle(Option<Arc<MockServer>>);

impl Drop for ServerHandle {
    fn drop(&mut self) {
        if let Some(server) = self.0.take() {
            let dropper = std::thread::Builder::new().name("qc-fake-clevertap-drop".into());
            // If no thread can be spawned, the closure (and the server) drops right here.
            let _ = dropper.spawn(move || drop(server));
        }
    }
}

impl fmt::Debug for FakeCleverTap {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("FakeCleverTap")
            .field("uri", &self.uri())
            .field("account_id", &self.account_id())
            .field("region", &self.front.region)
            .finish_non_exhaustive()
    }
}

impl FakeCleverTap {
    /// Starts a fake with the defaults on 127.0.0.1 and a free port.
    ///
    /// # Panics
    /// Only when no local port can be bound.
    pub async fn start() -> FakeCleverTap {
        match FakeCleverTap::builder().start().await {
            Ok(fake) => fake,
            Err(e) => panic!("cannot start the fake CleverTap: {e}"),
        }
    }

    /// A builder for a configured fake.
    pub fn builder() -> FakeCleverTapBuilder {
        FakeCleverTapBuilder::default()
    }

    pub(crate) async fn start_with(config: FakeConfig) -> Result<FakeCleverTap> {
        let addr = config.listen.unwrap_or_else(|| SocketAddr::from(([127, 0, 0, 1], 0)));
        let listener = std::net::TcpListener::bind(addr)
            .map_err(|e| Error::Network(format!("fake CleverTap: cannot listen on {addr}: {e}")))?;
        let address = listener
            .local_addr()
            .map_err(|e| Error::Network(format!("fake CleverTap: no address for {addr}: {e}")))?;
        let private = std::net::TcpListener::bind(SocketAddr::from(([127, 0, 0, 1], 0)))
            .map_err(|e| Error::Network(format!("fake CleverTap: cannot listen on 127.0.0.1: {e}")))?;
        let server = MockServer::builder().listener(private).disable_request_recording().start().await;
        let server = Arc::new(server);
        let engine = Arc::new(Engine::new(&config));
        let recycler = Recycler::spawn(address.port(), Arc::downgrade(&server), Arc::downgrade(&engine));
        let (admission, answer) = mocks(&engine, &recycler);
        server.register(admission).await;
        server.register(answer).await;
        // Only now does the front accept: the first request finds the engine and the mocks ready.
        let front = Front::spawn(listener, engine.clone(), *server.address(), config.front).await?;
        let server = ServerHandle(Some(server));
        let front = Box::new(Serving { front, address, region: config.region });
        Ok(FakeCleverTap { front, _wiremock: server, engine, recycler })
    }

    /// `http://127.0.0.1:PORT`; relays POST to `uri() + "/1/upload"`.
    pub fn uri(&self) -> String {
        format!("http://{}", self.front.address)
    }

    /// The bound address.
    pub fn address(&self) -> SocketAddr {
        self.front.address
    }

    /// Whether the fake still accepts connections. It is [`Health::Dead`] only when accepting
    /// kept failing (for example out of file descriptors) for longer than
    /// [`accept_retry_for`](super::FakeCleverTapBuilder::accept_retry_for); anything it
    /// observed after that is not the relay's fault.
    ///
    /// ```
    /// # tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap().block_on(async {
    /// let fake = qc_harness::clevertap::FakeCleverTap::start().await;
    /// assert!(!fake.health().is_dead());
    /// # });
    /// ```
    pub fn health(&self) -> Health {
        self.front.front.health()
    }

    /// Completes when the fake dies (see [`health`](Self::health)), with the reason; never
    /// completes while it serves.
    pub async fn died(&self) -> String {
        let mut watch = self.front.front.watch();
        loop {
            if let Health::Dead { reason } = &*watch.borrow_and_update() {
                return reason.clone();
            }
            if watch.changed().await.is_err() {
                std::future::pending::<()>().await;
            }
        }
    }

    /// The first account's id (default `TEST-ACC-000`).
    pub fn account_id(&self) -> &str {
        &self.engine.first_account().id
    }

    /// The first account's first passcode (default `TEST-PASSCODE`).
    pub fn passcode(&self) -> &str {
        self.engine.first_account().passcodes.first().map(String::as_str).unwrap_or("")
    }

    /// The configured region (default `eu1`).
    pub fn region(&self) -> &str {
        &self.front.region
    }

    /// A handle on the journal.
    pub fn journal(&self) -> Journal {
        self.engine.journal.clone()
    }

    /// Replaces the fault script; request numbers count from the last reset.
    pub fn set_faults(&self, script: FaultScript) {
        self.engine.set_faults(script);
    }

    /// Changes the simulated latency of requests arriving from now on.
    pub fn set_latency(&self, latency: Duration) {
        self.engine.set_latency(latency);
    }

    /// Clears the journal, the request counter and the faults (script and chaos).
    pub fn reset(&self) {
        self.engine.reset(true);
    }

    /// Clears the journal and the request counter; keeps the faults (so a script replays).
    pub fn reset_journal(&self) {
        self.engine.reset(false);
    }

    /// How many times the wiremock mocks were replaced to free wiremock's request copies.
    pub fn recycles(&self) -> u64 {
        self.recycler.count()
    }

    /// Waits until at least `n` records were processed (dry runs excluded); all of them.
    pub async fn wait_for_records(
        &self,
        n: usize,
        deadline: Duration,
    ) -> Result<Vec<RecordEntry>, WaitTimeout> {
        let journal = self.journal();
        let ready = |j: &Journal| match j.processed_count() {
            count if count >= n => Ok(j.processed_records()),
            count => Err(count),
        };
        journal.wait_until(deadline, ready).await.map_err(|got| WaitTimeout {
            wanted: format!("{n} processed records"),
            got,
            waited: deadline,
        })
    }

    /// Waits until at least `n` requests are in the journal; all of them.
    pub async fn wait_for_requests(
        &self,
        n: usize,
        deadline: Duration,
    ) -> Result<Vec<JournalEntry>, WaitTimeout> {
        let journal = self.journal();
        let ready = |j: &Journal| match j.len() {
            count if count >= n => Ok(j.requests()),
            count => Err(count),
        };
        journal.wait_until(deadline, ready).await.map_err(|got| WaitTimeout {
            wanted: format!("{n} requests"),
            got,
            waited: deadline,
        })
    }
}

/// The pair of mocks that carry one engine (see the module docs).
pub(crate) fn mocks(engine: &Arc<Engine>, recycler: &Recycler) -> (Mock, Mock) {
    let admission = Mock::given(Admission(engine.clone()))
        .respond_with_err(drop_responder(engine.clone(), recycler.clone()))
        .with_priority(1)
        .named("fake CleverTap: dropped connections");
    let answer = Mock::given(Always)
        .respond_with(Answerer { engine: engine.clone(), recycler: recycler.clone() })
        .with_priority(2)
        .named("fake CleverTap: Upload API");
    (admission, answer)
}

struct Admission(Arc<Engine>);

impl Match for Admission {
    fn matches(&self, request: &Request) -> bool {
        self.0.admit(request)
    }
}

struct Always;

impl Match for Always {
    fn matches(&self, _: &Request) -> bool {
        true
    }
}

/// The error a dropped connection is answered with (hyper then closes the connection).
#[derive(Debug)]
struct ConnectionDropped;

impl fmt::Display for ConnectionDropped {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "fake CleverTap: connection dropped by an injected fault")
    }
}

impl std::error::Error for ConnectionDropped {}

/// Journals a dropped connection and returns the error that makes hyper close it.
fn drop_responder(
    engine: Arc<Engine>,
    recycler: Recycler,
) -> impl Fn(&Request) -> ConnectionDropped + Send + Sync {
    move |request: &Request| {
        engine.record_drop(request);
        if engine.count_served(request) {
            recycler.recycle_now();
        }
        ConnectionDropped
    }
}

struct Answerer {
    engine: Arc<Engine>,
    recycler: Recycler,
}

impl Respond for Answerer {
    fn respond(&self, request: &Request) -> ResponseTemplate {
        // The front serves the control path itself; anything here is answered by the engine.
        let template = template_for(self.engine.answer(request));
        if self.engine.count_served(request) {
            self.recycler.recycle_now();
        }
        template
    }
}

fn template_for(reply: super::engine::Reply) -> ResponseTemplate {
    let mut template = ResponseTemplate::new(reply.status).set_body_raw(reply.body, CONTENT_TYPE);
    if let Some(secs) = reply.retry_after {
        template = template.insert_header("retry-after", secs.to_string().as_str());
    }
    if !reply.delay.is_zero() {
        template = template.set_delay(reply.delay);
    }
    template
}
