//! `upstream.headers`, `upstream.batch-limit`, `upstream.concurrency`: CleverTap's limits.

use std::collections::BTreeMap;
use std::time::Duration;

use futures::StreamExt;
use tokio::time::Instant;

use super::{CheckContext, Verdict, describe_uploads, sample_event};
use crate::conformance::attribution::record_identity;
use crate::conformance::bench::FakeSetup;
use crate::conformance::observe::{accepted_records, records_in, settle, wait_until};
use crate::mapping::expected_records;
use crate::qonversion::WebhookEvent;

/// Events sent by `upstream.batch-limit` (more than one request may carry).
const BATCH_EVENTS: usize = 1010;
/// Events sent at once by `upstream.concurrency`.
const CONCURRENT_EVENTS: usize = 45;
/// CleverTap's documented limit of uploads in flight per account.
const MAX_IN_FLIGHT: usize = 15;

pub(super) fn setup(name: &str) -> Option<FakeSetup> {
    (name == "upstream.concurrency")
        .then(|| FakeSetup { faults: None, latency: Some(Duration::from_millis(200)) })
}

pub(super) async fn run(name: &str, ctx: &CheckContext<'_>) -> Verdict {
    let (count, in_flight) = match name {
        "upstream.headers" => (3, 1),
        "upstream.batch-limit" => (BATCH_EVENTS, 128),
        _ => (CONCURRENT_EVENTS, CONCURRENT_EVENTS),
    };
    let prefix = format!("qc-check-{}", name.replace('.', "-"));
    let events: Vec<WebhookEvent> =
        (0..count).map(|i| sample_event("subscription_started", &format!("{prefix}-{i:04}"))).collect();
    let expected: usize = events.iter().map(|e| expected_records(e, &ctx.bench.settings).len()).sum();
    let answers: Vec<Option<u16>> = futures::stream::iter(events.iter())
        .map(|e| async { ctx.sender.send(e).await.final_status() })
        .buffer_unordered(in_flight)
        .collect()
        .await;
    let deadline = Instant::now() + ctx.timeout;
    wait_until(deadline, || accepted_records(ctx.bench.fake()).len() >= expected).await;
    settle(ctx.bench.fake(), ctx.settle, deadline + ctx.settle).await;
    let not_2xx = answers.iter().filter(|s| !s.is_some_and(|s| (200..300).contains(&s))).count();
    let mut verdict = match name {
        "upstream.headers" => headers(ctx),
        "upstream.batch-limit" => batch_limit(ctx),
        _ => concurrency(ctx),
    };
    if verdict.passed && name != "upstream.headers" {
        verdict = verdict.and_once(ctx, &prefix, expected, not_2xx);
    }
    verdict.details.extend(describe_uploads(ctx.bench));
    verdict
}

impl Verdict {
    /// Every event of the check was uploaded exactly once.
    fn and_once(self, ctx: &CheckContext<'_>, prefix: &str, expected: usize, not_2xx: usize) -> Verdict {
        let mut per_user: BTreeMap<String, usize> = BTreeMap::new();
        for record in accepted_records(ctx.bench.fake()).iter().filter(|r| r.problem.is_none()) {
            if let Some(id) = record_identity(&record.record).filter(|id| id.starts_with(prefix)) {
                *per_user.entry(id).or_default() += 1;
            }
        }
        let doubled = per_user.values().filter(|n| **n > 1).count();
        let got = per_user.len();
        if got == expected && doubled == 0 {
            return self;
        }
        Verdict::new(
            false,
            format!(
                "{}; but {got} of {expected} events were uploaded, {doubled} more than once ({not_2xx} webhook(s) not answered 2xx)",
                self.observed
            ),
            self.details,
        )
    }
}

fn headers(ctx: &CheckContext<'_>) -> Verdict {
    let account = ctx.bench.fake().account_id().to_string();
    let requests: Vec<_> = ctx.bench.fake().journal().requests().into_iter().filter(|r| !r.dry_run).collect();
    if requests.is_empty() {
        return Verdict::new(false, "no upload request reached CleverTap", Vec::new());
    }
    let mut problems = Vec::new();
    for r in &requests {
        let header = |name: &str| r.headers.get(name).map(String::as_str);
        if header("x-clevertap-account-id") != Some(account.as_str()) {
            problems.push(format!(
                "request #{}: X-CleverTap-Account-Id is {:?}, expected {account:?}",
                r.seq,
                header("x-clevertap-account-id")
            ));
        }
        if header("x-clevertap-passcode").is_none() || r.status == 401 {
            problems.push(format!(
                "request #{}: X-CleverTap-Passcode missing or not valid (HTTP {})",
                r.seq, r.status
            ));
        }
        if !header("content-type")
            .is_some_and(|c| c.trim().to_ascii_lowercase().starts_with("application/json"))
        {
            problems.push(format!(
                "request #{}: Content-Type is {:?}, expected application/json",
                r.seq,
                header("content-type")
            ));
        }
    }
    match problems.is_empty() {
        true => Verdict::new(
            true,
            format!("{} upload request(s), all with the three headers", requests.len()),
            Vec::new(),
        ),
        false => Verdict::new(false, problems.join("; "), Vec::new()),
    }
}

fn batch_limit(ctx: &CheckContext<'_>) -> Verdict {
    let requests = ctx.bench.fake().journal().requests();
    let largest = requests.iter().map(records_in).max().unwrap_or(0);
    let over: Vec<String> = requests
        .iter()
        .filter(|r| records_in(r) > 1000 || r.status == 413)
        .map(|r| format!("request #{} had {} records (HTTP {})", r.seq, records_in(r), r.status))
        .collect();
    match over.is_empty() {
        true => Verdict::new(
            true,
            format!("{} upload request(s), the largest with {largest} records", requests.len()),
            Vec::new(),
        ),
        false => Verdict::new(
            false,
            format!("more than 1000 records in one request: {}", over.join("; ")),
            Vec::new(),
        ),
    }
}

fn concurrency(ctx: &CheckContext<'_>) -> Verdict {
    let requests = ctx.bench.fake().journal().requests();
    let peak = requests.iter().map(|r| r.in_flight).max().unwrap_or(0);
    let refused = requests.iter().filter(|r| r.status == 429 && r.fault.is_none()).count();
    let observed = format!(
        "at most {peak} upload(s) in flight over {} request(s), {refused} answered 429",
        requests.len()
    );
    Verdict::new(peak <= MAX_IN_FLIGHT && refused == 0, observed, Vec::new())
}
