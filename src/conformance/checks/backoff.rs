//! `upstream.backoff`, `upstream.backoff-429`, `upstream.backoff-drop`,
//! `upstream.retry-after`: how long a relay waits before it retries (SHOULD 8).

use std::time::Duration;

use super::delivery::{wait_for_one, with_details};
use super::{CheckContext, Verdict, describe_delivery, sample_event, uploads_of};
use crate::clevertap::{Fault, FaultScript, JournalEntry};
use crate::conformance::bench::FakeSetup;

/// Faults in a row for the backoff checks: the last retry delay is compared with the first.
const FAULTS_IN_A_ROW: usize = 4;

/// The last retry delay after [`FAULTS_IN_A_ROW`] faults is at least this long: retries "at
/// once" stay well below it even on a loaded machine.
const MIN_LAST_DELAY: Duration = Duration::from_millis(100);

/// The fault each backoff check repeats.
fn repeated_fault(name: &str) -> Option<Fault> {
    match name {
        "upstream.backoff" => Some(Fault::ServerError),
        "upstream.backoff-429" => Some(Fault::TooManyRequests { retry_after: None }),
        "upstream.backoff-drop" => Some(Fault::DropConnection),
        _ => None,
    }
}

/// The fake's faults for the checks of this group.
pub(super) fn setup(name: &str) -> Option<FakeSetup> {
    let faults = match repeated_fault(name) {
        Some(fault) => FaultScript::new().on_range(1..=FAULTS_IN_A_ROW as u64, fault),
        None if name == "upstream.retry-after" => {
            FaultScript::new().on(1, Fault::TooManyRequests { retry_after: Some(1) })
        }
        None => return None,
    };
    Some(FakeSetup { faults: Some(faults), latency: None })
}

pub(super) async fn run(name: &str, ctx: &CheckContext<'_>) -> Verdict {
    let user = format!("qc-check-{}", name.replace('.', "-"));
    let event = sample_event("subscription_renewed", &user);
    let delivery = ctx.sender.send_with_retries(&event).await;
    let details = describe_delivery("webhook", &delivery);
    let tally = wait_for_one(ctx, &user).await;
    let uploads = uploads_of(ctx.bench, &user);
    let verdict = match repeated_fault(name) {
        Some(fault) => tally.exactly_once().and(backoff(&uploads, &fault)),
        None => tally.exactly_once().and(retry_after(&uploads)),
    };
    with_details(verdict, details, ctx)
}

/// The pause between the answer to upload `i` and the arrival of upload `i + 1`.
fn retry_delays(uploads: &[JournalEntry]) -> Vec<Duration> {
    uploads.windows(2).map(|w| w[1].offset.saturating_sub(w[0].offset + w[0].answered_after)).collect()
}

fn backoff(uploads: &[JournalEntry], fault: &Fault) -> Verdict {
    let delays = retry_delays(uploads);
    let shown: Vec<String> = delays.iter().map(|d| format!("{} ms", d.as_millis())).collect();
    let faults = format!("{FAULTS_IN_A_ROW} faults ({fault}) in a row");
    if delays.len() < FAULTS_IN_A_ROW {
        let observed = format!(
            "expected {FAULTS_IN_A_ROW} retries after {faults}, saw {} (delays: {})",
            delays.len(),
            shown.join(", ")
        );
        return Verdict::new(false, observed, Vec::new());
    }
    let (first, last) = (delays[0], delays[FAULTS_IN_A_ROW - 1]);
    let grows = last >= first.mul_f64(1.5) && last >= MIN_LAST_DELAY;
    let observed = format!("after {faults}, retry delays {}", shown.join(", "));
    match grows {
        true => Verdict::new(true, format!("{observed}: they grow"), Vec::new()),
        false => Verdict::new(
            false,
            format!(
                "{observed}: the last is not at least 1.5× the first and ≥ {} ms",
                MIN_LAST_DELAY.as_millis()
            ),
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
