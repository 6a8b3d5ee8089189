//! `auth.*` and `body.*`: refused webhooks are answered 401/403 or 400 and upload nothing.

use tokio::time::Instant;

use super::{CheckContext, Verdict, describe_uploads, processed_of, sample_event};
use crate::mapping::expected_records;
use crate::qonversion::sender::FakeQonversion;

/// A raw body, its `Authorization` header, and what it is.
type Webhook = (Vec<u8>, Option<String>, &'static str);

pub(super) async fn run(name: &str, ctx: &CheckContext<'_>) -> Verdict {
    let user = format!("qc-check-{}", name.replace('.', "-"));
    let (sent, wanted) = webhooks(name, ctx, &user);
    let mut details = Vec::new();
    let mut wrong = Vec::new();
    for (body, authorization, what) in sent {
        let attempt = ctx.sender.send_raw(body, authorization).await;
        details.push(format!("webhook with {what}: got {}", answer(attempt.status, &attempt.error)));
        if !attempt.status.is_some_and(|s| wanted.contains(&s)) {
            wrong.push(format!("{what} got {}", answer(attempt.status, &attempt.error)));
        }
    }
    super::super::observe::settle(ctx.bench.fake(), ctx.settle, Instant::now() + ctx.timeout).await;
    let uploads = ctx.bench.fake().journal().requests().len();
    details.extend(describe_uploads(ctx.bench));
    let mut verdict = judge(wanted, wrong, uploads);
    if verdict.passed && name.starts_with("body.") {
        verdict = keeps_serving(ctx, &user).await;
    }
    verdict.details.splice(0..0, details);
    verdict
}

/// The webhooks check `name` sends, and the answers a conforming relay gives them.
fn webhooks(name: &str, ctx: &CheckContext<'_>, user: &str) -> (Vec<Webhook>, &'static [u16]) {
    let body = FakeQonversion::body_of(&sample_event("subscription_started", user));
    let good = Some(ctx.sender.authorization());
    let token = &ctx.bench.token;
    match name {
        "auth.missing-token" => (vec![(body, None, "no Authorization header")], &[401, 403]),
        "auth.wrong-token" => (
            vec![
                (body.clone(), Some(format!("Basic wrong-{token}")), "Authorization: Basic <another token>"),
                (body, Some(format!("Bearer {token}")), "Authorization: Bearer <token>"),
            ],
            &[401, 403],
        ),
        "body.malformed" => (
            vec![
                (b"{\"event_name\": \"trial_started\", ".to_vec(), good.clone(), "truncated JSON"),
                (b"not json at all".to_vec(), good, "plain text"),
            ],
            &[400],
        ),
        _ => (
            vec![
                (b"[{\"event_name\": \"trial_started\"}]".to_vec(), good.clone(), "a JSON array"),
                (b"\"trial_started\"".to_vec(), good.clone(), "a JSON string"),
                (b"null".to_vec(), good, "JSON null"),
            ],
            &[400],
        ),
    }
}

fn judge(wanted: &[u16], wrong: Vec<String>, uploads: usize) -> Verdict {
    let want = wanted.iter().map(u16::to_string).collect::<Vec<_>>().join(" or ");
    if !wrong.is_empty() {
        return Verdict::new(false, format!("expected HTTP {want}, but {}", wrong.join("; ")), Vec::new());
    }
    if uploads > 0 {
        return Verdict::new(
            false,
            format!("answered {want}, but {uploads} upload request(s) reached CleverTap"),
            Vec::new(),
        );
    }
    Verdict::new(true, format!("answered {want}, nothing uploaded"), Vec::new())
}

/// After refused bodies, a valid webhook is still answered 2xx and uploaded.
async fn keeps_serving(ctx: &CheckContext<'_>, user: &str) -> Verdict {
    let event = sample_event("subscription_started", &format!("{user}-after"));
    let expected = expected_records(&event, &ctx.bench.settings).len();
    let delivery = ctx.sender.send(&event).await;
    let deadline = Instant::now() + ctx.timeout;
    let uploaded = super::super::observe::wait_until(deadline, || {
        processed_of(ctx.bench, &format!("{user}-after")) >= expected
    })
    .await;
    let details = super::describe_delivery("valid webhook afterwards", &delivery);
    if !delivery.succeeded() || !uploaded {
        let status = answer(delivery.final_status(), &None);
        return Verdict::new(
            false,
            format!(
                "answered 400, but the relay stopped serving: a valid webhook afterwards got {status} and {} of {expected} record(s) arrived",
                processed_of(ctx.bench, &format!("{user}-after"))
            ),
            details,
        );
    }
    Verdict::new(true, "answered 400, nothing uploaded, a valid webhook afterwards was handled", details)
}

pub(super) fn answer(status: Option<u16>, error: &Option<String>) -> String {
    match (status, error) {
        (Some(s), _) => format!("HTTP {s}"),
        (None, Some(e)) => format!("no answer ({e})"),
        (None, None) => "no answer".to_string(),
    }
}
