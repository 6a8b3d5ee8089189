//! `event.*`: events that must not be forwarded are answered 2xx and not uploaded.

use tokio::time::Instant;

use super::auth::answer;
use super::records::Tally;
use super::{CheckContext, Verdict, describe_delivery, describe_uploads, sample_event, uploads_of};
use crate::mapping::{Settings, expected_records};
use crate::qonversion::WebhookEvent;
use crate::qonversion::catalogue::event_kind;
use crate::qonversion::field::Field;

/// The event `event.disabled` disables in the relay's settings.
pub(super) const DISABLED_EVENT: &str = "trial_started";

pub(super) async fn run(name: &str, ctx: &CheckContext<'_>) -> Verdict {
    let base = format!("qc-check-{}", name.replace('.', "-"));
    let disabled = disabled_event(&ctx.bench.settings).unwrap_or(DISABLED_EVENT).to_string();
    let cases: Vec<(String, WebhookEvent)> = match name {
        "event.unknown" => {
            vec![("unknown event `subscription_paused`".into(), sample_event("subscription_paused", &base))]
        }
        "event.downgraded" => {
            vec![("subscription_downgraded".into(), sample_event("subscription_downgraded", &base))]
        }
        "event.sandbox" => {
            let mut sandbox = sample_event("subscription_renewed", &format!("{base}-sandbox"));
            sandbox.environment = Field::Value("sandbox".into());
            let mut unmarked = sample_event("subscription_renewed", &format!("{base}-unmarked"));
            unmarked.environment = Field::Absent;
            vec![("environment \"sandbox\"".into(), sandbox), ("no environment".into(), unmarked)]
        }
        _ => vec![
            (format!("disabled `{disabled}`"), sample_event(&disabled, &format!("{base}-disabled"))),
            (
                "enabled `subscription_started`".into(),
                sample_event("subscription_started", &format!("{base}-enabled")),
            ),
        ],
    };
    let mut details = Vec::new();
    let mut problems = Vec::new();
    let mut wanted = Vec::new();
    for (label, event) in &cases {
        let expected = expected_records(event, &ctx.bench.settings).len();
        let delivery = ctx.sender.send(event).await;
        details.extend(describe_delivery(label, &delivery));
        if !delivery.succeeded() {
            let error = delivery.last_attempt().and_then(|a| a.error.clone());
            problems.push(format!("{label} got {}, expected 2xx", answer(delivery.final_status(), &error)));
        }
        wanted.push((label, user(event), expected));
    }
    let deadline = Instant::now() + ctx.timeout;
    super::super::observe::wait_until(ctx.bench.fake(), deadline, || {
        wanted.iter().all(|(_, u, n)| Tally::of(ctx.bench, u).uploaded() >= *n)
    })
    .await;
    super::super::observe::settle(ctx.bench.fake(), ctx.settle, deadline + ctx.settle).await;
    let mut summary = Vec::new();
    let mut unjudged = Vec::new();
    for (label, user, expected) in &wanted {
        let tally = Tally::of(ctx.bench, user);
        let requests = uploads_of(ctx.bench, user).len();
        summary.push(format!("{label}: {tally}"));
        if *expected == 0 && (tally.uploaded() > 0 || requests > 0) {
            problems
                .push(format!("{label}: expected no upload, but {tally} in {requests} upload request(s)"));
        } else if tally.processed < *expected && tally.has_mapping_error() {
            unjudged.push((label, tally));
        } else if tally.processed != *expected {
            problems.push(format!("{label}: expected {expected} record(s) uploaded, but {tally}"));
        }
    }
    details.extend(describe_uploads(ctx.bench));
    let mut verdict = match (problems.is_empty(), unjudged.first()) {
        (false, _) => Verdict::new(false, problems.join("; "), Vec::new()),
        (true, Some((label, tally))) => tally.inconclusive(&format!("answered 2xx and {label} was uploaded")),
        (true, None) => Verdict::new(true, format!("answered 2xx; {}", summary.join("; ")), Vec::new()),
    };
    verdict.details = details;
    verdict
}

/// An event `settings` disables, if any (the `event.disabled` check and the auth checks use it).
pub(super) fn disabled_event(settings: &Settings) -> Option<&str> {
    settings
        .events
        .iter()
        .find(|(name, event)| {
            event.enabled == Some(false)
                && event_kind(name).is_some()
                && name.as_str() != "subscription_downgraded"
        })
        .map(|(name, _)| name.as_str())
}

fn user(event: &WebhookEvent) -> String {
    event.custom_user_id.get().cloned().unwrap_or_default()
}
