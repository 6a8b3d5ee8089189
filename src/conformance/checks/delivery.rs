//! `upstream.429/5xx/connection-drop`, `delivery.redelivery`, `upstream.backoff`,
//! `upstream.retry-after`, `upstream.partial`: faults of CleverTap and Qonversion's redelivery.

use std::time::Duration;

use tokio::time::Instant;

use super::{
    CheckContext, Verdict, describe_delivery, describe_uploads, processed_of, sample_event, uploads_of,
};
use crate::clevertap::{Fault, FaultScript, JournalEntry};
use crate::conformance::bench::FakeSetup;
use crate::conformance::observe::{settle, wait_until};

/// How long `upstream.partial` waits for one more retry before it concludes the relay stopped.
const PARTIAL_QUIET: Duration = Duration::from_millis(1000);

/// 500s in a row for `upstream.backoff`: the last retry delay is compared with the first.
const FAULTS_IN_A_ROW: usize = 4;

/// The fake's faults for the checks of this group.
pub(super) fn setup(name: &str) -> Option<FakeSetup> {
    let faults = match name {
        "upstream.429" => FaultScript::new().on(1, Fault::TooManyRequests { retry_after: None }),
        "upstream.5xx" => FaultScript::new().on(1, Fault::ServerError).on(2, Fault::Unavailable),
        "upstream.connection-drop" => FaultScript::new().on(1, Fault::DropConnection),
        "upstream.backoff" => FaultScript::new().on_range(1..=FAULTS_IN_A_ROW as u64, Fault::ServerError),
        "upstream.retry-after" => FaultScript::new().on(1, Fault::TooManyRequests { retry_after: Some(1) }),
        "upstream.partial" => FaultScript::new().on_range(1..=50, Fault::Partial { records: vec![1] }),
        _ => return None,
    };
    Some(FakeSetup { faults: Some(faults), latency: None })
}

pub(super) async fn run(name: &str, ctx: &CheckContext<'_>) -> Verdict {
    let user = format!("qc-check-{}", name.replace('.', "-"));
    let event = sample_event("subscription_renewed", &user);
    let mut details = Vec::new();
    if name == "upstream.partial" {
        let delivery = ctx.sender.send(&event).await;
        details.extend(describe_delivery("webhook", &delivery));
        return with_details(partial(ctx, &user).await, details, ctx);
    }
    if name == "delivery.redelivery" {
        let first = ctx.sender.send(&event).await;
        let second = ctx.sender.redeliver(&first).await;
        details.extend(describe_delivery("first delivery", &first));
        details.extend(describe_delivery("redelivery (same body)", &second));
    } else {
        let delivery = ctx.sender.send_with_retries(&event).await;
        details.extend(describe_delivery("webhook", &delivery));
    }
    let deadline = Instant::now() + ctx.timeout;
    wait_until(deadline, || processed_of(ctx.bench, &user) >= 1).await;
    settle(ctx.bench.fake(), ctx.settle, deadline + ctx.settle).await;
    let count = processed_of(ctx.bench, &user);
    let uploads = uploads_of(ctx.bench, &user);
    let verdict = match name {
        "upstream.backoff" => exactly_once(count).and(backoff(&uploads)),
        "upstream.retry-after" => exactly_once(count).and(retry_after(&uploads)),
        _ => exactly_once(count),
    };
    with_details(verdict, details, ctx)
}

fn with_details(mut verdict: Verdict, mut details: Vec<String>, ctx: &CheckContext<'_>) -> Verdict {
    details.extend(describe_uploads(ctx.bench));
    details.append(&mut verdict.details);
    verdict.details = details;
    verdict
}

impl Verdict {
    fn and(self, next: Verdict) -> Verdict {
        if self.passed { next } else { self }
    }
}

fn exactly_once(count: usize) -> Verdict {
    match count {
        1 => Verdict::new(true, "the event was uploaded exactly once", Vec::new()),
        0 => Verdict::new(false, "the event was lost: CleverTap processed no record of it", Vec::new()),
        n => Verdict::new(
            false,
            format!("the event was doubled: CleverTap processed {n} records of it"),
            Vec::new(),
        ),
    }
}

/// The pause between the answer to upload `i` and the arrival of upload `i + 1`.
fn retry_delays(uploads: &[JournalEntry]) -> Vec<Duration> {
    uploads.windows(2).map(|w| w[1].offset.saturating_sub(w[0].offset + w[0].answered_after)).collect()
}

fn backoff(uploads: &[JournalEntry]) -> Verdict {
    let delays = retry_delays(uploads);
    let shown: Vec<String> = delays.iter().map(|d| format!("{} ms", d.as_millis())).collect();
    if delays.len() < FAULTS_IN_A_ROW {
        let observed = format!(
            "expected {FAULTS_IN_A_ROW} retries after {FAULTS_IN_A_ROW} faults, saw {} (delays: {})",
            delays.len(),
            shown.join(", ")
        );
        return Verdict::new(false, observed, Vec::new());
    }
    let (first, last) = (delays[0], delays[FAULTS_IN_A_ROW - 1]);
    let grows = last >= first.mul_f64(1.5) && last >= Duration::from_millis(20);
    let observed = format!("retry delays {}", shown.join(", "));
    match grows {
        true => Verdict::new(true, format!("{observed}: they grow"), Vec::new()),
        false => Verdict::new(
            false,
            format!("{observed}: the last is not at least 1.5× the first (and ≥ 20 ms)"),
            Vec::new(),
        ),
    }
}

fn retry_after(uploads: &[JournalEntry]) -> Verdict {
    let delays = retry_delays(uploads);
    let Some(first) = delays.first() else {
        return Verdict::new(false, "no retry after the 429 reached CleverTap", Vec::new());
    };
    let observed = format!("the retry came {} ms after the 429 with Retry-After: 1", first.as_millis());
    match *first >= Duration::from_millis(950) {
        true => Verdict::new(true, observed, Vec::new()),
        false => Verdict::new(false, format!("{observed}, expected ≥ 1000 ms"), Vec::new()),
    }
}

/// Counts the uploads of a record that CleverTap always lists in `unprocessed`.
async fn partial(ctx: &CheckContext<'_>, user: &str) -> Verdict {
    let cap = Instant::now() + ctx.timeout;
    wait_until(cap, || !uploads_of(ctx.bench, user).is_empty()).await;
    let mut seen = uploads_of(ctx.bench, user).len();
    let mut since = Instant::now();
    while Instant::now() < cap && seen <= 3 && since.elapsed() < PARTIAL_QUIET {
        tokio::time::sleep(Duration::from_millis(10)).await;
        let now = uploads_of(ctx.bench, user).len();
        if now != seen {
            (seen, since) = (now, Instant::now());
        }
    }
    match seen {
        0 => Verdict::new(false, "the record was never uploaded", Vec::new()),
        1..=3 => Verdict::new(
            true,
            format!("the unprocessed record was sent {seen} time(s), then given up"),
            Vec::new(),
        ),
        n => Verdict::new(
            false,
            format!("the unprocessed record was sent {n} times (at most 3 allowed)"),
            Vec::new(),
        ),
    }
}
