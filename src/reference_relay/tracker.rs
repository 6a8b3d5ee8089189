//! [`Tracker`]: counts deliveries in progress so that a shutdown can wait for them.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use tokio::sync::Notify;

/// A count of deliveries in progress.
#[derive(Debug, Clone, Default)]
pub(crate) struct Tracker(Arc<Inner>);

#[derive(Debug, Default)]
struct Inner {
    count: AtomicUsize,
    idle: Notify,
}

/// One delivery in progress; dropping it ends it.
#[derive(Debug)]
pub(crate) struct TrackerGuard(Arc<Inner>);

impl Tracker {
    /// Starts counting one delivery.
    pub(crate) fn enter(&self) -> TrackerGuard {
        self.0.count.fetch_add(1, Ordering::SeqCst);
        TrackerGuard(self.0.clone())
    }

    /// Deliveries in progress now.
    pub(crate) fn active(&self) -> usize {
        self.0.count.load(Ordering::SeqCst)
    }

    /// Returns once no delivery is in progress.
    pub(crate) async fn wait_idle(&self) {
        loop {
            let notified = self.0.idle.notified();
            tokio::pin!(notified);
            notified.as_mut().enable();
            if self.active() == 0 {
                return;
            }
            notified.await;
        }
    }
}

impl Drop for TrackerGuard {
    fn drop(&mut self) {
        if self.0.count.fetch_sub(1, Ordering::SeqCst) == 1 {
            self.0.idle.notify_waiters();
        }
    }
}
