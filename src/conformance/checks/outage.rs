//! `delivery.outage` (MUST 5): CleverTap fails every upload for longer than a relay's own
//! retries last, while Qonversion redelivers on its (compressed) schedule. However the
//! relay gets there (its own retries, a durable queue, or non-2xx answers so that
//! Qonversion redelivers), every event must end up in CleverTap exactly once.
//!
//! The outage ends when every webhook has been answered once **and** at least
//! [`OUTAGE_MIN`] has passed, so it outlasts whatever a relay tries before it answers, and
//! covers Qonversion's attempts at 0, +5 min and +4 h (30 ms and 1.44 s compressed). A
//! relay that answers 200 and then gives up, or that takes the redelivery of an upload
//! that failed for a duplicate, loses the event.

use std::time::{Duration, SystemTime};

use futures::future::join_all;
use tokio::sync::watch;
use tokio::time::Instant;

use super::delivery::with_details;
use super::records::Tally;
use super::{CheckContext, Verdict, describe_delivery, sample_event, uploads_of};
use crate::clevertap::{Fault, FaultScript};
use crate::conformance::bench::FakeSetup;
use crate::conformance::observe::{settle, wait_until};
use crate::qonversion::WebhookEvent;
use crate::qonversion::schedule::{DEFAULT_TIME_SCALE, RETRY_SCHEDULE, compress};
use crate::qonversion::sender::Delivery;

/// The shortest outage.
pub(super) const OUTAGE_MIN: Duration = Duration::from_millis(1500);
/// Events sent into the outage.
const EVENTS: usize = 3;
/// The faults of the outage, in rotation (then 503 for every later request).
const ROTATION: [Fault; 4] = [
    Fault::Unavailable,
    Fault::TooManyRequests { retry_after: None },
    Fault::ServerError,
    Fault::DropConnection,
];
/// Requests that get the rotation.
const ROTATED: u64 = 400;

pub(super) fn setup(name: &str) -> Option<FakeSetup> {
    (name == "delivery.outage").then(|| FakeSetup { faults: Some(outage_script()), latency: None })
}

fn outage_script() -> FaultScript {
    let always = FaultScript::new().on_range(1..=u64::MAX, Fault::Unavailable);
    (1..=ROTATED).fold(always, |script, n| script.on(n, ROTATION[(n as usize - 1) % ROTATION.len()].clone()))
}

pub(super) async fn run(ctx: &CheckContext<'_>) -> Verdict {
    let start = Instant::now();
    let users: Vec<String> = (1..=EVENTS).map(|i| format!("qc-check-delivery-outage-{i}")).collect();
    let events: Vec<WebhookEvent> = users.iter().map(|u| sample_event("subscription_renewed", u)).collect();
    let (answered, mut first_answers) = watch::channel(0usize);
    let deliveries = join_all(events.iter().map(|e| deliver(ctx, e, &answered)));
    let outage = async {
        let _ = first_answers.wait_for(|n| *n >= EVENTS).await;
        tokio::time::sleep_until(start + OUTAGE_MIN).await;
        ctx.bench.fake().set_faults(FaultScript::new());
        (start.elapsed(), SystemTime::now())
    };
    let (deliveries, (lasted, ended)) = tokio::join!(deliveries, outage);
    let deadline = Instant::now() + ctx.timeout;
    wait_until(ctx.bench.fake(), deadline, || users.iter().all(|u| Tally::of(ctx.bench, u).uploaded() >= 1))
        .await;
    settle(ctx.bench.fake(), ctx.settle, deadline + ctx.settle).await;
    let mut details = Vec::new();
    for (i, delivery) in deliveries.iter().enumerate() {
        details.extend(describe_delivery(&format!("event {}", i + 1), delivery));
    }
    let verdict = judge(ctx, &users, &deliveries, lasted, ended);
    with_details(verdict, details, ctx)
}

/// Delivers `event` on Qonversion's schedule, telling `answered` when the first attempt got
/// its answer.
async fn deliver(ctx: &CheckContext<'_>, event: &WebhookEvent, answered: &watch::Sender<usize>) -> Delivery {
    let first = Instant::now();
    let mut delivery = ctx.sender.send(event).await;
    answered.send_modify(|n| *n += 1);
    for (index, nominal) in RETRY_SCHEDULE.iter().enumerate().skip(1) {
        if delivery.succeeded() {
            break;
        }
        let due = compress(*nominal, DEFAULT_TIME_SCALE);
        tokio::time::sleep_until(first + due).await;
        let started = first.elapsed();
        let again = ctx.sender.redeliver(&delivery).await;
        if let Some(mut attempt) = again.attempts.into_iter().next() {
            (attempt.number, attempt.nominal, attempt.scheduled, attempt.started) =
                (index + 1, *nominal, due, started);
            delivery.attempts.push(attempt);
        }
    }
    delivery
}

fn judge(
    ctx: &CheckContext<'_>,
    users: &[String],
    deliveries: &[Delivery],
    lasted: Duration,
    ended: SystemTime,
) -> Verdict {
    let mut problems = Vec::new();
    let mut unjudged = None;
    for (i, (user, delivery)) in users.iter().zip(deliveries).enumerate() {
        let tally = Tally::of(ctx.bench, user);
        let uploads = uploads_of(ctx.bench, user);
        let after = uploads.iter().filter(|u| u.received_at >= ended).count();
        let answers = answers(delivery);
        match (tally.processed, tally.invalid_count()) {
            (1, _) => {}
            (0, 0) => problems.push(format!(
                "event {} was lost: CleverTap processed no record of it (webhook answers: {answers}; {} upload request(s) during the outage, {after} after it)",
                i + 1,
                uploads.len() - after
            )),
            (0, _) => unjudged = Some(tally),
            _ => problems.push(format!("event {} was doubled: {tally}", i + 1)),
        }
    }
    let outage = format!("a {} ms outage (503, 429, 500, dropped connections)", lasted.as_millis());
    if !problems.is_empty() {
        return Verdict::new(false, format!("through {outage}: {}", problems.join("; ")), Vec::new());
    }
    if let Some(tally) = unjudged {
        return tally.inconclusive(&format!("the relay uploaded each event once after {outage}"));
    }
    Verdict::new(
        true,
        format!("through {outage}, all {} events were uploaded exactly once", users.len()),
        Vec::new(),
    )
}

/// `503, 503, 200`: the relay's answers to the attempts of a delivery.
fn answers(delivery: &Delivery) -> String {
    let answers: Vec<String> = delivery
        .attempts
        .iter()
        .map(|a| a.status.map_or_else(|| "no answer".to_string(), |s| s.to_string()))
        .collect();
    answers.join(", ")
}
