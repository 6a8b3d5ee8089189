//! `auth.*` and `body.*`: refused webhooks are answered 401/403 or 400 and upload nothing.
//!
//! The auth checks send every bad `Authorization` header on an event of every filtering
//! class (forwarded, unknown, disabled, sandbox, downgraded): a relay that filters before it
//! authenticates would answer 2xx to the ones it does not forward.

use std::collections::BTreeMap;

use tokio::time::Instant;

use super::filtering::disabled_event;
use super::records::Tally;
use super::{CheckContext, Verdict, describe_delivery, describe_uploads, sample_event};
use crate::mapping::expected_records;
use crate::qonversion::WebhookEvent;
use crate::qonversion::field::Field;
use crate::qonversion::sender::FakeQonversion;

/// A raw body, its `Authorization` header, and what it is.
type Webhook = (Vec<u8>, Option<String>, String);

/// Answers a refused webhook may get.
const REFUSED: &[u16] = &[401, 403];

pub(super) async fn run(name: &str, ctx: &CheckContext<'_>) -> Verdict {
    let user = format!("qc-check-{}", name.replace('.', "-"));
    let headers = bad_headers(name, &ctx.bench.token);
    let mut details = Vec::new();
    let mut wrong: BTreeMap<(String, String), Vec<String>> = BTreeMap::new();
    for (class, event) in classes(ctx, &user) {
        let body = FakeQonversion::body_of(&event);
        for (header, what) in &headers {
            let attempt = ctx.sender.send_raw(body.clone(), header.clone()).await;
            let got = answer(attempt.status, &attempt.error);
            details.push(format!("{class} event with {what}: got {got}"));
            if !attempt.status.is_some_and(|s| REFUSED.contains(&s)) {
                wrong.entry((what.clone(), got)).or_default().push(class.to_string());
            }
        }
    }
    super::super::observe::settle(ctx.bench.fake(), ctx.settle, Instant::now() + ctx.timeout).await;
    let tally = Tally::matching(ctx.bench, |id| id.starts_with(&user));
    let requests = ctx.bench.fake().journal().requests().len();
    details.extend(describe_uploads(ctx.bench));
    let wrong: Vec<String> = wrong
        .into_iter()
        .map(|((what, got), classes)| format!("{what} got {got} on the {} event(s)", classes.join(", ")))
        .collect();
    let mut verdict = judge(REFUSED, wrong, requests, &tally);
    verdict.details = details;
    verdict
}

/// The bad `Authorization` headers of check `name`, with how the report names them.
fn bad_headers(name: &str, token: &str) -> Vec<(Option<String>, String)> {
    if name == "auth.missing-token" {
        return vec![(None, "no Authorization header".into())];
    }
    let mut headers = vec![
        (Some(format!("Basic wrong-{token}")), "Authorization: Basic <another token>".to_string()),
        (Some(format!("Basic {token}x")), "Authorization: Basic <token>x (suffixed)".into()),
        (Some(format!("Bearer {token}")), "Authorization: Bearer <token>".into()),
    ];
    let upper = token.to_ascii_uppercase();
    let swapped = if upper != token { upper } else { token.to_ascii_lowercase() };
    if swapped != token {
        headers
            .push((Some(format!("Basic {swapped}")), "Authorization: Basic <token in another case>".into()));
    }
    headers
}

/// One event of every filtering class, each with its own user (`<user>-<class>`).
fn classes(ctx: &CheckContext<'_>, user: &str) -> Vec<(&'static str, WebhookEvent)> {
    let mut sandbox = sample_event("subscription_renewed", &format!("{user}-sandbox"));
    sandbox.environment = Field::Value("sandbox".into());
    let mut classes = vec![
        ("forwarded", sample_event("subscription_started", &format!("{user}-forwarded"))),
        ("unknown", sample_event("subscription_paused", &format!("{user}-unknown"))),
        ("sandbox", sandbox),
        ("downgraded", sample_event("subscription_downgraded", &format!("{user}-downgraded"))),
    ];
    if let Some(disabled) = disabled_event(&ctx.bench.settings) {
        classes.insert(2, ("disabled", sample_event(disabled, &format!("{user}-disabled"))));
    }
    classes
}

/// `body.*`: bodies that are not a JSON object are answered 400; the relay keeps serving.
pub(super) async fn run_body(name: &str, ctx: &CheckContext<'_>) -> Verdict {
    let user = format!("qc-check-{}", name.replace('.', "-"));
    let mut details = Vec::new();
    let mut wrong = Vec::new();
    for (body, authorization, what) in bodies(name, ctx) {
        let attempt = ctx.sender.send_raw(body, authorization).await;
        details.push(format!("webhook with {what}: got {}", answer(attempt.status, &attempt.error)));
        if attempt.status != Some(400) {
            wrong.push(format!("{what} got {}", answer(attempt.status, &attempt.error)));
        }
    }
    super::super::observe::settle(ctx.bench.fake(), ctx.settle, Instant::now() + ctx.timeout).await;
    let uploads = ctx.bench.fake().journal().requests().len();
    details.extend(describe_uploads(ctx.bench));
    let mut verdict = judge(&[400], wrong, uploads, &Tally::default());
    if verdict.passed {
        verdict = keeps_serving(ctx, &user).await;
    }
    verdict.details.splice(0..0, details);
    verdict
}

/// The refused bodies of check `name`, with a valid token.
fn bodies(name: &str, ctx: &CheckContext<'_>) -> Vec<Webhook> {
    let good = Some(ctx.sender.authorization());
    let raw = |body: &[u8], what: &str| (body.to_vec(), good.clone(), what.to_string());
    match name {
        "body.empty" => vec![raw(b"", "an empty body")],
        "body.malformed" => vec![
            raw(b"{\"event_name\": \"trial_started\", ", "truncated JSON"),
            raw(b"not json at all", "plain text"),
        ],
        _ => vec![
            raw(b"[{\"event_name\": \"trial_started\"}]", "a JSON array"),
            raw(b"\"trial_started\"", "a JSON string"),
            raw(b"null", "JSON null"),
        ],
    }
}

fn judge(wanted: &[u16], wrong: Vec<String>, uploads: usize, tally: &Tally) -> Verdict {
    let want = wanted.iter().map(u16::to_string).collect::<Vec<_>>().join(" or ");
    if !wrong.is_empty() {
        return Verdict::new(false, format!("expected HTTP {want}, but {}", wrong.join("; ")), Vec::new());
    }
    if uploads > 0 {
        let what = if tally.uploaded() > 0 { format!(" ({tally})") } else { String::new() };
        return Verdict::new(
            false,
            format!("answered {want}, but {uploads} upload request(s) reached CleverTap{what}"),
            Vec::new(),
        );
    }
    Verdict::new(true, format!("answered {want}, nothing uploaded"), Vec::new())
}

/// After refused bodies, a valid webhook is still answered 2xx and uploaded.
async fn keeps_serving(ctx: &CheckContext<'_>, user: &str) -> Verdict {
    let after = format!("{user}-after");
    let event = sample_event("subscription_started", &after);
    let expected = expected_records(&event, &ctx.bench.settings).len();
    let delivery = ctx.sender.send(&event).await;
    let deadline = Instant::now() + ctx.timeout;
    super::super::observe::wait_until(ctx.bench.fake(), deadline, || {
        Tally::of(ctx.bench, &after).uploaded() >= expected
    })
    .await;
    let tally = Tally::of(ctx.bench, &after);
    let details = describe_delivery("valid webhook afterwards", &delivery);
    let status = answer(delivery.final_status(), &delivery.last_attempt().and_then(|a| a.error.clone()));
    let verdict = if !delivery.succeeded() {
        Verdict::new(
            false,
            format!(
                "answered 400, but the relay stopped serving: a valid webhook afterwards got {status} ({tally})"
            ),
            Vec::new(),
        )
    } else if tally.uploaded() < expected {
        Verdict::new(
            false,
            format!(
                "answered 400, but a valid webhook afterwards, answered {status}, was not uploaded: {tally} of {expected} expected"
            ),
            Vec::new(),
        )
    } else if tally.has_mapping_error() {
        tally.inconclusive(&format!(
            "answered 400, and the relay kept serving (a valid webhook afterwards got {status})"
        ))
    } else {
        Verdict::new(
            true,
            "answered 400, nothing uploaded, a valid webhook afterwards was handled",
            Vec::new(),
        )
    };
    Verdict { details, ..verdict }
}

pub(super) fn answer(status: Option<u16>, error: &Option<String>) -> String {
    match (status, error) {
        (Some(s), _) => format!("HTTP {s}"),
        (None, Some(e)) => format!("no answer ({e})"),
        (None, None) => "no answer".to_string(),
    }
}
