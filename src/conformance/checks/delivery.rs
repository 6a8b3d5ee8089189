//! `upstream.429/5xx/connection-drop` and `delivery.redelivery`: one fault of CleverTap, or
//! one redelivery by Qonversion, and the event is still uploaded exactly once.

use tokio::time::Instant;

use super::records::Tally;
use super::{CheckContext, Verdict, describe_delivery, describe_uploads, sample_event};
use crate::clevertap::{Fault, FaultScript};
use crate::conformance::bench::FakeSetup;
use crate::conformance::observe::{settle, wait_until};

/// The fake's faults for the checks of this group.
pub(super) fn setup(name: &str) -> Option<FakeSetup> {
    let faults = match name {
        "upstream.429" => FaultScript::new().on(1, Fault::TooManyRequests { retry_after: None }),
        "upstream.5xx" => FaultScript::new().on(1, Fault::ServerError).on(2, Fault::Unavailable),
        "upstream.connection-drop" => FaultScript::new().on(1, Fault::DropConnection),
        _ => return None,
    };
    Some(FakeSetup { faults: Some(faults), latency: None })
}

pub(super) async fn run(name: &str, ctx: &CheckContext<'_>) -> Verdict {
    let user = format!("qc-check-{}", name.replace('.', "-"));
    let event = sample_event("subscription_renewed", &user);
    let mut details = Vec::new();
    if name == "delivery.redelivery" {
        let first = ctx.sender.send(&event).await;
        let second = ctx.sender.redeliver(&first).await;
        details.extend(describe_delivery("first delivery", &first));
        details.extend(describe_delivery("redelivery (same body)", &second));
    } else {
        let delivery = ctx.sender.send_with_retries(&event).await;
        details.extend(describe_delivery("webhook", &delivery));
    }
    let tally = wait_for_one(ctx, &user).await;
    with_details(tally.exactly_once(), details, ctx)
}

/// Waits until a record of `user` was uploaded (or the timeout), then for quiet.
pub(super) async fn wait_for_one(ctx: &CheckContext<'_>, user: &str) -> Tally {
    let deadline = Instant::now() + ctx.timeout;
    wait_until(ctx.bench.fake(), deadline, || Tally::of(ctx.bench, user).uploaded() >= 1).await;
    settle(ctx.bench.fake(), ctx.settle, deadline + ctx.settle).await;
    Tally::of(ctx.bench, user)
}

/// Puts the webhook lines first, then the upload requests, then the verdict's own details.
pub(super) fn with_details(
    mut verdict: Verdict,
    mut details: Vec<String>,
    ctx: &CheckContext<'_>,
) -> Verdict {
    details.extend(describe_uploads(ctx.bench));
    details.append(&mut verdict.details);
    verdict.details = details;
    verdict
}

impl Verdict {
    /// `self` when it failed, else `next`.
    pub(super) fn and(self, next: Verdict) -> Verdict {
        if self.passed { next } else { self }
    }
}

impl Tally {
    /// One record processed: the event was uploaded exactly once. When CleverTap processed
    /// none but rejected the relay's record (re-sent or not), the check cannot tell.
    pub(super) fn exactly_once(&self) -> Verdict {
        match (self.processed, self.invalid_count()) {
            (1, _) => Verdict::new(true, format!("the event was uploaded exactly once ({self})"), Vec::new()),
            (0, 0) => {
                Verdict::new(false, "the event was lost: CleverTap processed no record of it", Vec::new())
            }
            (0, _) => self.inconclusive("the relay uploaded the event"),
            _ => Verdict::new(false, format!("the event was doubled: {self}"), Vec::new()),
        }
    }
}
