//! Journal entries in request-number order, whatever thread answered them.
//!
//! The front answers uploads on several threads (and wiremock answers other requests on its
//! own): request 5 may finish before request 4. Readers page the journal by number
//! (`?since=4`, the standalone printer), so an entry must never appear after a higher one:
//! each request is journaled only once every lower number of its generation (requests since
//! the last reset) has been. The wait is short: between taking its number and journaling, a
//! request only runs synchronous code (no await), so its predecessor is always running. It
//! is capped at [`MAX_WAIT`] anyway, after which the entry is journaled out of turn.

use std::sync::{Condvar, Mutex};
use std::time::{Duration, Instant};

/// Longest a request waits for its predecessors before it is journaled anyway.
const MAX_WAIT: Duration = Duration::from_secs(1);

/// The last request number journaled, per generation.
#[derive(Default)]
pub(crate) struct Order {
    last: Mutex<(u64, u64)>,
    turn: Condvar,
}

impl Order {
    /// Runs `journal` once every request before `seq` of `generation` has been journaled.
    pub(crate) fn in_turn(&self, generation: u64, seq: u64, journal: impl FnOnce()) {
        let mut last = self.last.lock().unwrap_or_else(|p| p.into_inner());
        if generation > last.0 {
            *last = (generation, 0);
        }
        let deadline = Instant::now() + MAX_WAIT;
        while generation == last.0 && seq > last.1 + 1 {
            let left = deadline.saturating_duration_since(Instant::now());
            if left.is_zero() {
                tracing::debug!("fake CleverTap: request {seq} journaled before request {}", last.1 + 1);
                break;
            }
            last = self.turn.wait_timeout(last, left).unwrap_or_else(|p| p.into_inner()).0;
        }
        journal();
        if generation == last.0 {
            last.1 = last.1.max(seq);
        }
        drop(last);
        self.turn.notify_all();
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use super::*;

    #[test]
    fn a_later_number_waits_for_the_earlier_one() {
        let order = Arc::new(Order::default());
        let log = Arc::new(Mutex::new(Vec::new()));
        let (o, l) = (order.clone(), log.clone());
        let second = std::thread::spawn(move || o.in_turn(1, 2, || l.lock().unwrap().push(2)));
        std::thread::sleep(Duration::from_millis(50));
        assert!(log.lock().unwrap().is_empty(), "2 was journaled before 1");
        order.in_turn(1, 1, || log.lock().unwrap().push(1));
        second.join().unwrap();
        assert_eq!(*log.lock().unwrap(), [1, 2]);
    }

    #[test]
    fn a_new_generation_starts_from_one_and_old_ones_never_wait() {
        let order = Order::default();
        let log = Mutex::new(Vec::new());
        order.in_turn(1, 1, || log.lock().unwrap().push((1, 1)));
        order.in_turn(2, 1, || log.lock().unwrap().push((2, 1)));
        order.in_turn(1, 7, || log.lock().unwrap().push((1, 7)));
        order.in_turn(2, 2, || log.lock().unwrap().push((2, 2)));
        assert_eq!(*log.lock().unwrap(), [(1, 1), (2, 1), (1, 7), (2, 2)]);
    }
}
