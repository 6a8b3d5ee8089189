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
use crate::conformance::observe::{settle, wait_until};
use crate::qonversion::field::Field;

/// How long CleverTap holds the first upload of `delivery.concurrent-redelivery` (doubled
/// on every further try).
const SLOW_UPLOAD: Duration = Duration::from_millis(1500);
/// Tries of `delivery.concurrent-redelivery` to get the redelivery in during the upload.
const OVERLAP_TRIES: u32 = 3;
/// How far apart the two events of `delivery.distinct-events` are (`time`, seconds).
const TIME_APART: i64 = 3600;

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

/// A redelivery sent while the first delivery's upload is still in flight. When it did not
/// overlap (a slow relay, a loaded machine), the scenario is played again with a new event
/// and CleverTap holding the upload twice as long, up to [`OVERLAP_TRIES`] times.
async fn concurrent_redelivery(ctx: &CheckContext<'_>) -> Verdict {
    let mut details = Vec::new();
    for attempt in 1..=OVERLAP_TRIES {
        let hold = SLOW_UPLOAD * 2u32.pow(attempt - 1);
        let user = format!("qc-check-delivery-concurrent-redelivery-{attempt}");
        let next = ctx.bench.fake().journal().last_seq() + 1;
        ctx.bench.fake().set_faults(FaultScript::new().on(next, Fault::Delay(hold)));
        let (lines, overlapped) = redeliver_during_upload(ctx, &user).await;
        details.extend(lines);
        let tally = wait_for(ctx, &user, 1).await;
        let mut verdict = tally.exactly_once();
        if overlapped || !verdict.passed || attempt == OVERLAP_TRIES {
            let overlap = match overlapped {
                true => format!(
                    "the redelivery arrived while the first upload was in flight (held {} ms)",
                    hold.as_millis()
                ),
                false => format!(
                    "not judged as concurrent: in {OVERLAP_TRIES} tries the redelivery never arrived while the first upload was in flight"
                ),
            };
            verdict.observed = format!("{} ({overlap})", verdict.observed);
            return with_details(verdict, details, ctx);
        }
    }
    unreachable!("the last try returns")
}

/// Sends the event, and its redelivery as soon as the first upload reached CleverTap;
/// returns the detail lines and whether the redelivery was sent while that upload was held.
async fn redeliver_during_upload(ctx: &CheckContext<'_>, user: &str) -> (Vec<String>, bool) {
    let event = sample_event("subscription_renewed", user);
    let body = crate::qonversion::sender::FakeQonversion::body_of(&event);
    let authorization = Some(ctx.sender.authorization());
    let first = ctx.sender.send_with_retries(&event);
    let second = async {
        // The journal shows an upload as soon as it arrives; its answer is held.
        wait_until(ctx.bench.fake(), Instant::now() + ctx.timeout, || {
            !uploads_of(ctx.bench, user).is_empty()
        })
        .await;
        let sent_at = SystemTime::now();
        (sent_at, ctx.sender.send_raw(body, authorization).await)
    };
    let (first, (sent_at, second)) = tokio::join!(first, second);
    let mut details = describe_delivery(&format!("{user}: first delivery"), &first);
    details.push(format!(
        "{user}: redelivery (same body), sent once the first upload reached CleverTap: got {}",
        super::auth::answer(second.status, &second.error)
    ));
    let overlapped = uploads_of(ctx.bench, user).into_iter().next().is_some_and(|upload| {
        upload.received_at <= sent_at && sent_at <= upload.received_at + upload.answered_after
    });
    (details, overlapped)
}

async fn wait_for(ctx: &CheckContext<'_>, user: &str, records: usize) -> Tally {
    let deadline = Instant::now() + ctx.timeout;
    wait_until(ctx.bench.fake(), deadline, || Tally::of(ctx.bench, user).uploaded() >= records).await;
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
