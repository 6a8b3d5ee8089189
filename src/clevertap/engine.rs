//! The fake's runtime state and what it does with one request: number it, pick its fault,
//! check auth, concurrency, envelope and records, build the answer and the journal entry.
//! Everything here is synchronous and runs on the front's or wiremock's server thread, so it
//! stays small.

use std::collections::{BTreeMap, HashMap};
use std::sync::{Mutex, MutexGuard};
use std::time::{Duration, Instant, SystemTime};

use bytes::Bytes;
use wiremock::Request;

use super::answer::{self, Answer};
use super::config::{Account, FakeConfig};
use super::fault::Chaos;
use super::journal::{Journal, JournalEntry, Outcomes, REDACTED, RecordOutcome, Stored};
use super::order::Order;
use super::validate::{self, RecordResult, Rules, Upload};
use super::{Fault, FaultScript};

/// The path of the Upload API.
pub const UPLOAD_PATH: &str = "/1/upload";
/// The path of the standalone journal endpoint.
pub const CONTROL_PATH: &str = "/__harness/requests";

/// Bodies wiremock may hold copies of before its mocks are replaced.
const RECYCLE_BYTES: usize = 16 * 1024 * 1024;

/// What the admission step decided for one request.
#[derive(Debug, Clone)]
pub(crate) struct Ticket {
    seq: u64,
    generation: u64,
    arrival: Instant,
    offset: Duration,
    received_at: SystemTime,
    fault: Option<Fault>,
}

/// A response to send.
#[derive(Debug, Clone)]
pub(crate) struct Reply {
    pub status: u16,
    pub body: String,
    pub retry_after: Option<u64>,
    pub delay: Duration,
}

impl Ticket {
    /// The request's fault closes the connection without an answer.
    pub(crate) fn drops_connection(&self) -> bool {
        self.fault == Some(Fault::DropConnection)
    }
}

impl Reply {
    fn now(status: u16, body: String) -> Reply {
        Reply { status, body, retry_after: None, delay: Duration::ZERO }
    }
}

struct State {
    seq: u64,
    /// Resets so far: request numbers restart at each.
    generation: u64,
    epoch: Instant,
    script: FaultScript,
    chaos: Option<Chaos>,
    latency: Duration,
    in_flight: HashMap<String, Vec<Instant>>,
    pending: Option<Ticket>,
    served: usize,
    served_bytes: usize,
}

/// The shared heart of one fake.
pub(crate) struct Engine {
    accounts: Vec<Account>,
    rules: Rules,
    max_concurrency: usize,
    pub(crate) control: bool,
    pub(crate) recycle_after: usize,
    state: Mutex<State>,
    pub(crate) journal: Journal,
    order: Order,
}

/// What processing a request produced, before it goes to the journal.
struct Processed {
    reply: Reply,
    outcomes: Outcomes,
    in_flight: usize,
}

impl Engine {
    pub(crate) fn new(config: &FakeConfig) -> Engine {
        let state = State {
            seq: 0,
            generation: 0,
            epoch: Instant::now(),
            script: config.faults.clone(),
            chaos: config.chaos,
            latency: config.latency,
            in_flight: HashMap::new(),
            pending: None,
            served: 0,
            served_bytes: 0,
        };
        Engine {
            accounts: config.effective_accounts(),
            rules: config.rules.clone(),
            max_concurrency: config.max_concurrency,
            control: config.control_endpoints,
            recycle_after: config.recycle_after,
            state: Mutex::new(state),
            journal: Journal::new(config.journal_capacity, config.journal_byte_budget),
            order: Order::default(),
        }
    }

    fn lock(&self) -> MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    pub(crate) fn first_account(&self) -> &Account {
        &self.accounts[0]
    }

    pub(crate) fn set_faults(&self, script: FaultScript) {
        self.lock().script = script;
    }

    pub(crate) fn set_latency(&self, latency: Duration) {
        self.lock().latency = latency;
    }

    /// Clears the journal and the request counter; with `faults`, also the script and chaos.
    pub(crate) fn reset(&self, faults: bool) {
        let mut state = self.lock();
        state.seq = 0;
        state.generation += 1;
        state.epoch = Instant::now();
        if faults {
            state.script = FaultScript::new();
            state.chaos = None;
        }
        self.journal.clear();
    }

    pub(crate) fn is_control(&self, request: &Request) -> bool {
        self.control && request.url.path() == CONTROL_PATH
    }

    /// Numbers the request and picks its fault; true when the connection must be dropped.
    /// (wiremock's path: the ticket waits in `pending` for the responder on the same thread.)
    pub(crate) fn admit(&self, request: &Request) -> bool {
        if self.is_control(request) {
            return false;
        }
        let ticket = self.ticket();
        let drop = ticket.drops_connection();
        self.lock().pending = Some(ticket);
        drop
    }

    /// Numbers a request and picks its fault (the front's path: the caller keeps the ticket).
    pub(crate) fn ticket(&self) -> Ticket {
        let mut state = self.lock();
        state.seq += 1;
        let seq = state.seq;
        let fault = state.script.fault_for(seq).or_else(|| state.chaos.and_then(|c| c.fault_for(seq)));
        let arrival = Instant::now();
        let offset = arrival.saturating_duration_since(state.epoch);
        let generation = state.generation;
        Ticket { seq, generation, arrival, offset, received_at: SystemTime::now(), fault }
    }

    fn take_ticket(&self) -> Ticket {
        let mut state = self.lock();
        state.pending.take().unwrap_or_else(|| {
            // Not reachable through wiremock (admission always runs first); stay total anyway.
            state.seq += 1;
            let arrival = Instant::now();
            let offset = arrival.saturating_duration_since(state.epoch);
            let (seq, generation) = (state.seq, state.generation);
            Ticket { seq, generation, arrival, offset, received_at: SystemTime::now(), fault: None }
        })
    }

    /// Counts a served request (wiremock keeps a copy of it); true when the wiremock mocks
    /// should be replaced now: after `recycle_after` requests or [`RECYCLE_BYTES`] of bodies.
    pub(crate) fn count_served(&self, request: &Request) -> bool {
        let mut state = self.lock();
        state.served += 1;
        state.served_bytes += request.body.len();
        if state.served >= self.recycle_after || state.served_bytes >= RECYCLE_BYTES {
            state.served = 0;
            state.served_bytes = 0;
            true
        } else {
            false
        }
    }

    /// Journals a dropped connection (the client gets no response).
    pub(crate) fn record_drop(&self, request: &Request) {
        self.record_drop_for(self.take_ticket(), request, Bytes::copy_from_slice(&request.body));
    }

    /// [`record_drop`](Self::record_drop) with the ticket the caller holds; `body` is the
    /// request's body (kept by the journal as it is, shared).
    pub(crate) fn record_drop_for(&self, ticket: Ticket, request: &Request, body: Bytes) {
        let outcomes = Outcomes::rejected(0, validate::record_count(&body));
        let processed = Processed { reply: Reply::now(0, String::new()), outcomes, in_flight: 0 };
        self.journal_in_turn(&ticket, request, body, processed);
    }

    /// Answers an upload (or any other request) and journals it.
    pub(crate) fn answer(&self, request: &Request) -> Reply {
        self.answer_for(self.take_ticket(), request, Bytes::copy_from_slice(&request.body))
    }

    /// [`answer`](Self::answer) with the ticket the caller holds; `body` is the request's body
    /// (`request.body` is not read), kept by the journal as it is, shared.
    pub(crate) fn answer_for(&self, ticket: Ticket, request: &Request, body: Bytes) -> Reply {
        let processed = self.process(&ticket, request, &body);
        let reply = processed.reply.clone();
        self.journal_in_turn(&ticket, request, body, processed);
        reply
    }

    /// Answers an upload whose body was too large to read (`request.body` is empty): the
    /// ticket's fault and the credentials are checked as for any upload, then HTTP `status`
    /// with `error`. Journaled like any refused request.
    pub(crate) fn refuse_for(&self, ticket: Ticket, request: &Request, status: u16, error: &str) -> Reply {
        let reply = fault_reply(ticket.fault.as_ref()).unwrap_or_else(|| {
            let latency = self.lock().latency.saturating_add(fault_delay(ticket.fault.as_ref()));
            let latency = latency.min(crate::duration::MAX.saturating_mul(2));
            let (status, error) = match self.authenticate(request) {
                Ok(_) => (status, error),
                Err(auth) => (401, auth),
            };
            Reply { delay: latency, ..Reply::now(status, answer::failure(error, status)) }
        });
        let processed = Processed { reply: reply.clone(), outcomes: Outcomes::none(), in_flight: 0 };
        self.journal_in_turn(&ticket, request, Bytes::new(), processed);
        reply
    }

    /// Journals after every lower request number (see [`Order`]).
    fn journal_in_turn(&self, ticket: &Ticket, request: &Request, body: Bytes, processed: Processed) {
        let stored = journal_entry(ticket, request, body, processed);
        self.order.in_turn(ticket.generation, ticket.seq, || self.journal.push_stored(stored));
    }

    fn process(&self, ticket: &Ticket, request: &Request, body: &[u8]) -> Processed {
        if let Some(reply) = fault_reply(ticket.fault.as_ref()) {
            return rejected_whole(body, reply, 0);
        }
        // Capped so that `arrival + latency` cannot overflow whatever a library user configured.
        let latency = (self.lock().latency.saturating_add(fault_delay(ticket.fault.as_ref())))
            .min(crate::duration::MAX.saturating_mul(2));
        if request.url.path() != UPLOAD_PATH || request.method != "POST" {
            let (status, error) = if request.url.path() == UPLOAD_PATH {
                (405, "Method Not Allowed")
            } else {
                (404, "Not Found")
            };
            let reply = Reply { delay: latency, ..Reply::now(status, answer::failure(error, status)) };
            return rejected_whole(body, reply, 0);
        }
        let account = match self.authenticate(request) {
            Ok(account) => account,
            Err(error) => {
                let reply = Reply { delay: latency, ..Reply::now(401, answer::failure(error, 401)) };
                return rejected_whole(body, reply, 0);
            }
        };
        let Some(in_flight) = self.enter(&account.id, ticket.arrival, latency) else {
            let in_flight = self.max_concurrency + 1;
            let reply = Reply::now(429, answer::failure(answer::TOO_MANY_CONCURRENT, 429));
            return rejected_whole(body, reply, in_flight);
        };
        let upload = match Upload::read(body, &self.rules) {
            Ok(upload) => upload,
            Err(e) => {
                let reply =
                    Reply { delay: latency, ..Reply::now(e.status, answer::failure(&e.error, e.status)) };
                return rejected_whole(body, reply, in_flight);
            }
        };
        let partial = match &ticket.fault {
            Some(Fault::Partial { records }) => records.as_slice(),
            _ => &[],
        };
        let results = self.check_records(&upload, partial);
        let answer = Answer::build(&results, |i| upload.echo(i));
        let outcomes = outcomes_of(&results);
        let reply = Reply { delay: latency, ..Reply::now(200, answer.body()) };
        Processed { reply, outcomes, in_flight }
    }

    /// Each record's result: most proven valid by the streaming pass, the rest checked on
    /// their own `View` (`validate::Upload`).
    fn check_records(&self, upload: &Upload, partial: &[usize]) -> Vec<RecordResult> {
        upload.results(&self.rules, partial)
    }

    fn authenticate(&self, request: &Request) -> Result<&Account, &'static str> {
        let header = |name: &str| request.headers.get(name).and_then(|v| v.to_str().ok());
        let id = header("x-clevertap-account-id").ok_or(answer::BAD_ACCOUNT)?;
        let account = self.accounts.iter().find(|a| a.id == id).ok_or(answer::BAD_ACCOUNT)?;
        let passcode = header("x-clevertap-passcode").ok_or(answer::BAD_PASSCODE)?;
        if account.passcodes.iter().any(|p| p == passcode) { Ok(account) } else { Err(answer::BAD_PASSCODE) }
    }

    /// Takes a concurrency slot until `arrival + busy`; `None` when the account is at its limit.
    /// Returns the in-flight count including this request.
    fn enter(&self, account: &str, arrival: Instant, busy: Duration) -> Option<usize> {
        let mut state = self.lock();
        let slots = state.in_flight.entry(account.to_string()).or_default();
        slots.retain(|end| *end > arrival);
        if slots.len() >= self.max_concurrency {
            return None;
        }
        if !busy.is_zero() {
            slots.push(arrival + busy);
        }
        Some(slots.len() + usize::from(busy.is_zero()))
    }
}

fn fault_reply(fault: Option<&Fault>) -> Option<Reply> {
    match fault? {
        Fault::TooManyRequests { retry_after } => Some(Reply {
            retry_after: *retry_after,
            ..Reply::now(429, answer::failure(answer::TOO_MANY_CONCURRENT, 429))
        }),
        Fault::ServerError => Some(Reply::now(500, answer::failure(answer::SERVER_ERROR, 500))),
        Fault::Unavailable => Some(Reply::now(503, answer::failure(answer::UNAVAILABLE, 503))),
        _ => None,
    }
}

fn fault_delay(fault: Option<&Fault>) -> Duration {
    match fault {
        Some(Fault::Delay(delay)) => *delay,
        _ => Duration::ZERO,
    }
}

/// A whole-request refusal: every record of a valid envelope gets `Rejected` (counted by the
/// streaming pass, without parsing them).
fn rejected_whole(body: &[u8], reply: Reply, in_flight: usize) -> Processed {
    let outcomes = Outcomes::rejected(reply.status, validate::record_count(body));
    Processed { reply, outcomes, in_flight }
}

/// The outcomes of answered records: one shared `Processed` when all were (no list built).
fn outcomes_of(results: &[RecordResult]) -> Outcomes {
    if results.iter().all(Result::is_ok) {
        return Outcomes::all_processed(results.len());
    }
    let outcome = |(i, result): (usize, &RecordResult)| match result {
        Ok(()) => RecordOutcome::Processed,
        Err((code, message)) => {
            RecordOutcome::Unprocessed { code: *code, error: answer::skipped_text(message, i + 1) }
        }
    };
    Outcomes::from_vec(results.iter().enumerate().map(outcome).collect())
}

/// Request headers with lower-case names; the passcode redacted.
pub(crate) fn redacted_headers(request: &Request) -> BTreeMap<String, String> {
    let mut headers = BTreeMap::new();
    for (name, value) in &request.headers {
        let value = if name.as_str() == "x-clevertap-passcode" {
            REDACTED.to_string()
        } else {
            String::from_utf8_lossy(value.as_bytes()).into_owned()
        };
        headers
            .entry(name.as_str().to_string())
            .and_modify(|v: &mut String| {
                v.push_str(", ");
                v.push_str(&value)
            })
            .or_insert(value);
    }
    headers
}

fn is_dry_run(request: &Request) -> bool {
    request.url.query_pairs().any(|(k, v)| k == "dryRun" && (v == "1" || v.eq_ignore_ascii_case("true")))
}

fn journal_entry(ticket: &Ticket, request: &Request, body: Bytes, processed: Processed) -> Stored {
    let headers = redacted_headers(request);
    let meta = JournalEntry {
        seq: ticket.seq,
        received_at: ticket.received_at,
        offset: ticket.offset,
        answered_after: processed.reply.delay,
        method: request.method.to_string(),
        host: headers.get("host").cloned(),
        path: request.url.path().to_string(),
        query: request.url.query().map(str::to_string),
        headers,
        body: String::new(),  // kept as the raw bytes below
        records: Vec::new(),  // parsed from the body when the journal is read
        outcomes: Vec::new(), // kept compactly below
        status: processed.reply.status,
        response: processed.reply.body,
        fault: ticket.fault.clone(),
        in_flight: processed.in_flight,
        dry_run: is_dry_run(request),
    };
    Stored::new(meta, body, processed.outcomes)
}
