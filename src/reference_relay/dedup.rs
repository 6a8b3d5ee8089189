//! [`Deliveries`]: deduplication of webhook redeliveries, bounded in memory.
//!
//! Qonversion resends the same body when a delivery fails; there is no event id, so a
//! delivery is keyed on (`event_name`, `user_id`, `transaction.transaction_id`, `time`).
//! A key is remembered only once its upload reached a final outcome; a failed upload
//! leaves no trace, so the redelivery is uploaded again.

use std::collections::{HashMap, HashSet, VecDeque};
use std::sync::Mutex;

use tokio::sync::watch;

use crate::qonversion::event::WebhookEvent;

/// How many finished keys are remembered (the oldest are forgotten first).
pub const REMEMBERED_KEYS: usize = 100_000;

/// The dedup key of a webhook event.
pub fn delivery_key(event: &WebhookEvent) -> String {
    let transaction = event.transaction.get().and_then(|t| t.transaction_id.get()).map(|id| id.as_text());
    serde_json::json!([event.event_name, event.user_id.get(), transaction, event.time.get()]).to_string()
}

/// What a new delivery of a key should do.
#[derive(Debug)]
pub enum Claim<'a> {
    /// The key was already delivered: answer 2xx without uploading.
    Done,
    /// Another delivery of the key is uploading now: wait for its outcome, then claim again.
    Wait(watch::Receiver<Option<bool>>),
    /// This delivery uploads; report the outcome through the guard.
    Owner(ClaimGuard<'a>),
}

/// The finished keys and the keys being uploaded.
#[derive(Debug)]
pub struct Deliveries {
    capacity: usize,
    inner: Mutex<Inner>,
}

#[derive(Debug, Default)]
struct Inner {
    done: HashSet<String>,
    order: VecDeque<String>,
    in_flight: HashMap<String, watch::Sender<Option<bool>>>,
}

impl Deliveries {
    /// Remembers at most `capacity` finished keys.
    pub fn new(capacity: usize) -> Self {
        Deliveries { capacity: capacity.max(1), inner: Mutex::new(Inner::default()) }
    }

    /// Claims `key` for a delivery.
    pub fn claim(&self, key: &str) -> Claim<'_> {
        let mut inner = self.lock();
        if inner.done.contains(key) {
            return Claim::Done;
        }
        if let Some(sender) = inner.in_flight.get(key) {
            return Claim::Wait(sender.subscribe());
        }
        let (sender, _) = watch::channel(None);
        inner.in_flight.insert(key.to_string(), sender);
        Claim::Owner(ClaimGuard { deliveries: self, key: key.to_string(), finished: false })
    }

    /// How many finished keys are remembered now.
    pub fn remembered(&self) -> usize {
        self.lock().done.len()
    }

    fn finish(&self, key: &str, done: bool) {
        let mut inner = self.lock();
        if done && inner.done.insert(key.to_string()) {
            inner.order.push_back(key.to_string());
            while inner.order.len() > self.capacity {
                if let Some(old) = inner.order.pop_front() {
                    inner.done.remove(&old);
                }
            }
        }
        if let Some(sender) = inner.in_flight.remove(key) {
            let _ = sender.send(Some(done));
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Inner> {
        self.inner.lock().unwrap_or_else(|e| e.into_inner())
    }
}

/// The right to upload one key; dropping it unfinished counts as a failed upload.
#[derive(Debug)]
pub struct ClaimGuard<'a> {
    deliveries: &'a Deliveries,
    key: String,
    finished: bool,
}

impl ClaimGuard<'_> {
    /// Records the outcome: `done` = final (remember the key), else forget it.
    pub fn finish(mut self, done: bool) {
        self.finished = true;
        self.deliveries.finish(&self.key, done);
    }
}

impl Drop for ClaimGuard<'_> {
    fn drop(&mut self) {
        if !self.finished {
            self.deliveries.finish(&self.key, false);
        }
    }
}

/// Waits for another delivery's outcome: `true` when it was final.
pub async fn outcome(mut receiver: watch::Receiver<Option<bool>>) -> bool {
    match receiver.wait_for(Option::is_some).await {
        Ok(value) => value.unwrap_or(false),
        Err(_) => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_finished_key_is_a_duplicate_and_a_failed_one_is_not() {
        let deliveries = Deliveries::new(10);
        let Claim::Owner(guard) = deliveries.claim("a") else { panic!("first claim must own") };
        assert!(matches!(deliveries.claim("a"), Claim::Wait(_)));
        guard.finish(false);
        let Claim::Owner(guard) = deliveries.claim("a") else { panic!("a failed key must be free") };
        guard.finish(true);
        assert!(matches!(deliveries.claim("a"), Claim::Done));
    }

    #[test]
    fn remembers_a_bounded_number_of_keys() {
        let deliveries = Deliveries::new(3);
        for key in ["a", "b", "c", "d"] {
            let Claim::Owner(guard) = deliveries.claim(key) else { panic!("new key") };
            guard.finish(true);
        }
        assert_eq!(deliveries.remembered(), 3);
        assert!(matches!(deliveries.claim("a"), Claim::Owner(_)));
        assert!(matches!(deliveries.claim("d"), Claim::Done));
    }

    #[test]
    fn a_dropped_claim_frees_the_key_and_wakes_waiters() {
        let deliveries = Deliveries::new(3);
        let guard = deliveries.claim("k");
        let Claim::Wait(receiver) = deliveries.claim("k") else { panic!("must wait") };
        drop(guard);
        assert_eq!(*receiver.borrow(), Some(false));
        assert!(matches!(deliveries.claim("k"), Claim::Owner(_)));
    }
}
