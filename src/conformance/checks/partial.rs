//! `upstream.partial`: a record CleverTap keeps listing in `unprocessed` is sent at most 3
//! times (SHOULD 10).
//!
//! The check watches as long as the rule needs: until the relay has been quiet for
//! [`QUIET_FACTOR`] times the longest gap between its sends so far (at least
//! [`MIN_QUIET`]), so that a relay re-sending slowly but forever is seen sending a 4th time.

use std::time::Duration;

use tokio::time::Instant;

use super::delivery::with_details;
use super::{CheckContext, Verdict, describe_delivery, sample_event, uploads_of};
use crate::clevertap::{Fault, FaultScript};
use crate::conformance::bench::FakeSetup;
use crate::conformance::observe::wait_until;

/// The shortest quiet time after which the relay is taken to have given up.
const MIN_QUIET: Duration = Duration::from_millis(1500);
/// The quiet time is this many times the longest gap between two sends seen so far.
const QUIET_FACTOR: f64 = 2.5;
/// Sends allowed by SHOULD 10.
const MAX_SENDS: usize = 3;

pub(super) fn setup(name: &str) -> Option<FakeSetup> {
    (name == "upstream.partial").then(|| FakeSetup {
        faults: Some(FaultScript::new().on_range(1..=u64::MAX, Fault::Partial { records: vec![1] })),
        latency: None,
    })
}

pub(super) async fn run(ctx: &CheckContext<'_>) -> Verdict {
    let user = "qc-check-upstream-partial";
    let event = sample_event("subscription_renewed", user);
    let delivery = ctx.sender.send(&event).await;
    let details = describe_delivery("webhook", &delivery);
    with_details(watch(ctx, user).await, details, ctx)
}

/// Counts the sends of the record until the relay stays quiet long enough, or it is sent
/// more than [`MAX_SENDS`] times, or three times the timeout passes.
async fn watch(ctx: &CheckContext<'_>, user: &str) -> Verdict {
    let cap = Instant::now() + ctx.timeout * 3;
    wait_until(ctx.bench.fake(), Instant::now() + ctx.timeout, || !uploads_of(ctx.bench, user).is_empty())
        .await;
    let mut seen = uploads_of(ctx.bench, user).len();
    let (mut since, mut longest_gap) = (Instant::now(), Duration::ZERO);
    let quiet = |gap: Duration| MIN_QUIET.max(gap.mul_f64(QUIET_FACTOR));
    while Instant::now() < cap && seen <= MAX_SENDS && since.elapsed() < quiet(longest_gap) {
        let quiet_end = (since + quiet(longest_gap)).min(cap);
        wait_until(ctx.bench.fake(), quiet_end, || uploads_of(ctx.bench, user).len() != seen).await;
        let now = uploads_of(ctx.bench, user).len();
        if now != seen {
            longest_gap = longest_gap.max(since.elapsed());
            (seen, since) = (now, Instant::now());
        }
    }
    let watched = format!("watched until quiet for {} ms", quiet(longest_gap).as_millis());
    match seen {
        0 => Verdict::new(false, "the record was never uploaded", Vec::new()),
        1..=MAX_SENDS => Verdict::new(
            true,
            format!("the unprocessed record was sent {seen} time(s), then given up ({watched})"),
            Vec::new(),
        ),
        n => Verdict::new(
            false,
            format!(
                "the unprocessed record was sent {n} times (at most {MAX_SENDS} allowed; longest gap between sends {} ms)",
                longest_gap.as_millis()
            ),
            Vec::new(),
        ),
    }
}
