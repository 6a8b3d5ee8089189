//! Keeps wiremock's memory bounded.
//!
//! Uploads and journal reads are answered by the fake's front and never reach wiremock; what
//! does (wrong paths, other methods) still leaves a copy in wiremock, so this stays.
//!
//! wiremock 0.6 pushes a copy of every matched request (body included) into the mock that
//! matched it, and a mock unmounted through its `MockGuard` is only marked out of scope: the
//! copies stay. Only `MockServer::reset` frees them, and a plain `reset` then `register`
//! leaves a gap in which requests get wiremock's bare 404.
//!
//! The gap is closed by queueing: wiremock serves every request from one current-thread
//! runtime while holding its state's `tokio::sync::RwLock` for writing, and that lock hands
//! itself out first in, first out. When a responder decides it is time, it asks this
//! module's thread to queue `reset`, then `register(admission)`, then `register(answer)` on
//! the lock, and blocks (briefly, on wiremock's own thread, so no other request can queue
//! in between) until all three are queued. When the responder returns, the lock passes to
//! the three in order: no request ever sees the server without its mocks.

use std::sync::atomic::{AtomicU8, AtomicU64, Ordering};
use std::sync::mpsc::{Receiver, SyncSender, sync_channel};
use std::sync::{Arc, Weak};
use std::time::Duration;

use wiremock::MockServer;

use super::engine::Engine;
use super::server::mocks;

const WAITING: u8 = 0;
const QUEUEING: u8 = 1;
const ABANDONED: u8 = 2;

/// How long a responder waits for the recycler thread to take a job before giving up.
const HANDOFF_TIMEOUT: Duration = Duration::from_secs(1);

struct Job {
    state: Arc<AtomicU8>,
    queued: SyncSender<()>,
}

/// Handle on the recycler thread of one fake.
#[derive(Clone)]
pub(crate) struct Recycler {
    jobs: Arc<SyncSender<Job>>,
    count: Arc<AtomicU64>,
}

impl Recycler {
    /// Starts the thread (named `fake-ct-PORT`); it ends when every handle is gone.
    pub(crate) fn spawn(port: u16, server: Weak<MockServer>, engine: Weak<Engine>) -> Recycler {
        let (jobs, receiver) = sync_channel::<Job>(1);
        let jobs = Arc::new(jobs);
        let count = Arc::new(AtomicU64::new(0));
        let handle = Recycler { jobs: jobs.clone(), count: count.clone() };
        let weak_jobs = Arc::downgrade(&jobs);
        let spawned = std::thread::Builder::new()
            .name(format!("fake-ct-{port}"))
            .spawn(move || run(receiver, weak_jobs, server, engine, handle.count));
        if let Err(e) = spawned {
            tracing::warn!("fake CleverTap: no recycler thread ({e}); wiremock memory will grow");
        }
        Recycler { jobs, count }
    }

    /// How many recycles completed their queueing.
    pub(crate) fn count(&self) -> u64 {
        self.count.load(Ordering::Relaxed)
    }

    /// Called from a responder (wiremock's thread, state lock held): queues the replacement
    /// and returns once it is queued, or gives up after [`HANDOFF_TIMEOUT`].
    pub(crate) fn recycle_now(&self) {
        let state = Arc::new(AtomicU8::new(WAITING));
        let (queued, done) = sync_channel(1);
        if self.jobs.try_send(Job { state: state.clone(), queued }).is_err() {
            return; // the thread is busy or gone: try again after the next batch
        }
        if done.recv_timeout(HANDOFF_TIMEOUT).is_ok() {
            return;
        }
        if state.compare_exchange(WAITING, ABANDONED, Ordering::AcqRel, Ordering::Acquire).is_err() {
            // The thread is queueing right now: it signals within microseconds.
            let _ = done.recv();
        }
    }
}

fn run(
    jobs: Receiver<Job>,
    sender: Weak<SyncSender<Job>>,
    server: Weak<MockServer>,
    engine: Weak<Engine>,
    count: Arc<AtomicU64>,
) {
    while let Ok(job) = jobs.recv() {
        let (Some(server), Some(engine), Some(sender)) =
            (server.upgrade(), engine.upgrade(), sender.upgrade())
        else {
            let _ = job.queued.send(());
            return;
        };
        if job.state.compare_exchange(WAITING, QUEUEING, Ordering::AcqRel, Ordering::Acquire).is_err() {
            continue;
        }
        let recycler = Recycler { jobs: sender, count: count.clone() };
        let (admission, answer) = mocks(&engine, &recycler);
        drop((engine, recycler));
        futures::executor::block_on(async {
            let reset = server.reset();
            let first = server.register(admission);
            let second = server.register(answer);
            futures::pin_mut!(reset, first, second);
            // Each first poll queues on wiremock's state lock, which the responder holds.
            let _ = futures::poll!(reset.as_mut());
            let _ = futures::poll!(first.as_mut());
            let _ = futures::poll!(second.as_mut());
            count.fetch_add(1, Ordering::Relaxed);
            let _ = job.queued.send(());
            reset.await;
            first.await;
            second.await;
        });
    }
}
