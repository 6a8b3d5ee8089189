//! `delivery.distinct-events` (MUST 5: the dedupe key is the full key, `time` included)
//! and `delivery.concurrent-redelivery` (SHOULD 7: a redelivery that overlaps the first
//! delivery's upload is not uploaded again).

use std::time::{Duration, SystemTime};

use serde_json::Value;
use tokio::time::Instant;

use super::delivery::with_details;
use super::records::Tally;
use super::{CheckContext, Verdict, describe_delivery, sample_event, uploads_of};
use crate::clevertap::{Fault, FaultScript};
use crate::conformance::bench::FakeSetup;
use crate::conformance::observe::{settle, wait_until};
use crate::qonversion::field::Field;

/// How long CleverTap takes to answer the first upload of `delivery.concurrent-redelivery`.
const SLOW_UPLOAD: Duration = Duration::from_millis(1500);
/// How far apart the two events of `delivery.distinct-events` are (`time`, seconds).
const TIME_APART: i64 = 3600;

pub(super) fn setup(name: &str) -> Option<FakeSetup> {
    (name == "delivery.concurrent-redelivery").then(|| FakeSetup {
        faults: Some(FaultScript::new().on(1, Fault::Delay(SLOW_UPLOAD))),
        latency: None,
    })
}

pub(super) async fn run(name: &str, ctx: &CheckContext<'_>) -> Verdict {
    match name {
        "delivery.distinct-events" => distinct_events(ctx).await,
        _ => concurrent_redelivery(ctx).await,
    }
}

/// Two events identical but for `time`: both must be uploaded.
async fn distinct_events(ctx: &CheckContext<'_>) -> Verdict {
    let user = "qc-check-delivery-distinct-events";
    let first = sample_event("subscription_renewed", user);
    let mut second = first.clone();
    let time = first.time.get().copied().unwrap_or_default();
    second.time = Field::Value(time + TIME_APART);
    let mut details = describe_delivery("event (time T)", &ctx.sender.send_with_retries(&first).await);
    let later = ctx.sender.send_with_retries(&second).await;
    details.extend(describe_delivery("event identical but for time (T + 1 h)", &later));
    let tally = wait_for(ctx, user, 2).await;
    let stamps = timestamps(ctx, user);
    let verdict = match (tally.processed, tally.invalid_count()) {
        (2, _) => Verdict::new(true, format!("both events were uploaded (ts {stamps})"), Vec::new()),
        (0 | 1, invalid) if invalid > 0 => tally.inconclusive("the relay uploaded records of the two events"),
        (n, _) if tally.uploaded() < 2 => Verdict::new(
            false,
            format!(
                "only {n} of the 2 events was uploaded ({tally}; ts {stamps}): the second, which differs only in `time`, was taken for a redelivery of the first; the dedupe key must include `time`"
            ),
            Vec::new(),
        ),
        _ => Verdict::new(false, format!("expected 2 records, {tally} (ts {stamps})"), Vec::new()),
    };
    with_details(verdict, details, ctx)
}

/// A redelivery sent while the first delivery's upload is still in flight.
async fn concurrent_redelivery(ctx: &CheckContext<'_>) -> Verdict {
    let user = "qc-check-delivery-concurrent-redelivery";
    let event = sample_event("subscription_renewed", user);
    let body = crate::qonversion::sender::FakeQonversion::body_of(&event);
    let authorization = Some(ctx.sender.authorization());
    let first = ctx.sender.send_with_retries(&event);
    let second = async {
        // The journal shows an upload as soon as it arrives; its answer takes SLOW_UPLOAD.
        wait_until(Instant::now() + ctx.timeout, || !uploads_of(ctx.bench, user).is_empty()).await;
        let sent_at = SystemTime::now();
        (sent_at, ctx.sender.send_raw(body, authorization).await)
    };
    let (first, (sent_at, second)) = tokio::join!(first, second);
    let mut details = describe_delivery("first delivery", &first);
    details.push(format!(
        "redelivery (same body), sent once the first upload reached CleverTap: got {}",
        super::auth::answer(second.status, &second.error)
    ));
    let tally = wait_for(ctx, user, 1).await;
    let overlap = overlapped(ctx, user, sent_at);
    let mut verdict = tally.exactly_once();
    verdict.observed = format!("{} ({overlap})", verdict.observed);
    with_details(verdict, details, ctx)
}

/// Whether the redelivery, sent at `sent_at`, arrived while the first upload was in flight.
fn overlapped(ctx: &CheckContext<'_>, user: &str, sent_at: SystemTime) -> String {
    let Some(upload) = uploads_of(ctx.bench, user).into_iter().next() else {
        return "no upload reached CleverTap".into();
    };
    let answered = upload.received_at + upload.answered_after;
    if upload.received_at <= sent_at && sent_at <= answered {
        "the redelivery arrived while the first upload was in flight".into()
    } else {
        "the first upload was not in flight when the redelivery arrived".into()
    }
}

async fn wait_for(ctx: &CheckContext<'_>, user: &str, records: usize) -> Tally {
    let deadline = Instant::now() + ctx.timeout;
    wait_until(deadline, || Tally::of(ctx.bench, user).uploaded() >= records).await;
    settle(ctx.bench.fake(), ctx.settle, deadline + ctx.settle).await;
    Tally::of(ctx.bench, user)
}

/// The `ts` of the user's records, as a list.
fn timestamps(ctx: &CheckContext<'_>, user: &str) -> String {
    let stamps: Vec<String> = uploads_of(ctx.bench, user)
        .iter()
        .filter(|r| r.status == 200)
        .flat_map(|r| {
            r.records.iter().filter_map(|rec| rec.get("ts").map(Value::to_string)).collect::<Vec<_>>()
        })
        .collect();
    if stamps.is_empty() { "none".into() } else { stamps.join(", ") }
}
