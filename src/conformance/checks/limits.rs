//! `upstream.headers`, `upstream.batch-limit`, `upstream.concurrency`: CleverTap's limits.

use std::collections::BTreeMap;
use std::time::Duration;

use futures::StreamExt;
use tokio::time::Instant;

use super::records::Tally;
use super::{CheckContext, Verdict, describe_uploads, sample_event};
use crate::clevertap::{Fault, FaultScript, JournalEntry};
use crate::conformance::attribution::record_identity;
use crate::conformance::bench::FakeSetup;
use crate::conformance::observe::{records_in, settle, wait_until};
use crate::mapping::expected_records;
use crate::qonversion::WebhookEvent;
use crate::qonversion::sender::Delivery;

/// Events sent at once by `upstream.batch-limit`: more than a batcher may put in one request.
const BATCH_EVENTS: usize = 1500;
/// How long CleverTap takes to answer the first upload of `upstream.batch-limit`, so that a
/// batcher that uploads one batch at a time queues the whole burst behind it.
const FIRST_BATCH_DELAY: Duration = Duration::from_millis(1500);
/// Events sent at once by `upstream.concurrency`.
const CONCURRENT_EVENTS: usize = 45;
/// CleverTap's documented limit of uploads in flight per account.
const MAX_IN_FLIGHT: usize = 15;
/// CleverTap's documented limit of records per upload request.
const MAX_RECORDS: usize = 1000;

pub(super) fn setup(name: &str) -> Option<FakeSetup> {
    let (faults, latency) = match name {
        "upstream.concurrency" => (None, Some(Duration::from_millis(200))),
        // Retries carry the headers too: the first three uploads fail.
        "upstream.headers" => (
            Some(
                FaultScript::new()
                    .on(1, Fault::ServerError)
                    .on(2, Fault::TooManyRequests { retry_after: None })
                    .on(3, Fault::DropConnection),
            ),
            None,
        ),
        "upstream.batch-limit" => (Some(FaultScript::new().on(1, Fault::Delay(FIRST_BATCH_DELAY))), None),
        _ => return None,
    };
    Some(FakeSetup { faults, latency })
}

pub(super) async fn run(name: &str, ctx: &CheckContext<'_>) -> Verdict {
    let count = match name {
        "upstream.headers" => 3,
        "upstream.batch-limit" => BATCH_EVENTS,
        _ => CONCURRENT_EVENTS,
    };
    let prefix = format!("qc-check-{}", name.replace('.', "-"));
    let events: Vec<WebhookEvent> =
        (0..count).map(|i| sample_event("subscription_started", &format!("{prefix}-{i:04}"))).collect();
    let expected: usize = events.iter().map(|e| expected_records(e, &ctx.bench.settings).len()).sum();
    let deliveries: Vec<Delivery> = match name {
        // One at a time, with Qonversion's redelivery: every upload's retry is seen.
        "upstream.headers" => {
            futures::stream::iter(events.iter()).then(|e| ctx.sender.send_with_retries(e)).collect().await
        }
        _ => {
            futures::stream::iter(events.iter())
                .map(|e| ctx.sender.send(e))
                .buffer_unordered(count)
                .collect()
                .await
        }
    };
    let deadline = Instant::now() + ctx.timeout;
    let all_of = |p: &str| Tally::matching(ctx.bench, |id| id.starts_with(p));
    wait_until(ctx.bench.fake(), deadline, || all_of(&prefix).uploaded() >= expected).await;
    settle(ctx.bench.fake(), ctx.settle, deadline + ctx.settle).await;
    let mut verdict = match name {
        "upstream.headers" => headers(ctx),
        "upstream.batch-limit" => batch_limit(ctx),
        _ => concurrency(ctx),
    };
    if verdict.passed && name != "upstream.headers" {
        verdict = verdict.and_once(ctx, &prefix, expected, &deliveries);
    }
    verdict.details.extend(describe_uploads(ctx.bench));
    verdict
}

impl Verdict {
    /// Every event of the check was uploaded exactly once.
    fn and_once(
        self,
        ctx: &CheckContext<'_>,
        prefix: &str,
        expected: usize,
        deliveries: &[Delivery],
    ) -> Verdict {
        let mut per_user: BTreeMap<String, usize> = BTreeMap::new();
        for request in ctx.bench.fake().journal().requests().iter().filter(|r| r.status == 200 && !r.dry_run)
        {
            for id in request.records.iter().filter_map(record_identity).filter(|id| id.starts_with(prefix)) {
                *per_user.entry(id).or_default() += 1;
            }
        }
        let doubled = per_user.values().filter(|n| **n > 1).count();
        let got = per_user.len();
        let tally = Tally::matching(ctx.bench, |id| id.starts_with(prefix));
        if got == expected && doubled == 0 {
            return match tally.has_mapping_error() {
                true => tally.inconclusive(&self.observed),
                false => self,
            };
        }
        Verdict::new(
            false,
            format!(
                "{}; but {got} of {expected} events were uploaded, {doubled} more than once; webhook answers: {}",
                self.observed,
                webhook_answers(deliveries)
            ),
            self.details,
        )
    }
}

/// The answers the webhooks got, grouped: `1429 × HTTP 200, 60 × connection reset, 11 × timeout`.
pub(super) fn webhook_answers(deliveries: &[Delivery]) -> String {
    let mut groups: BTreeMap<String, usize> = BTreeMap::new();
    for delivery in deliveries {
        let Some(attempt) = delivery.last_attempt() else { continue };
        *groups.entry(answer_kind(attempt.status, attempt.error.as_deref())).or_default() += 1;
    }
    let mut groups: Vec<(String, usize)> = groups.into_iter().collect();
    groups.sort_by(|a, b| b.1.cmp(&a.1).then(a.0.cmp(&b.0)));
    groups.iter().map(|(kind, n)| format!("{n} × {kind}")).collect::<Vec<_>>().join(", ")
}

/// What one webhook attempt got, as a group: `HTTP 503`, `timeout`, `connection reset`,
/// `connection refused`, `connection closed`, or the error.
fn answer_kind(status: Option<u16>, error: Option<&str>) -> String {
    let error = error.unwrap_or_default().to_ascii_lowercase();
    let kind = match status {
        Some(s) if error.is_empty() => return format!("HTTP {s}"),
        _ if error.contains("timed out") => "timeout",
        _ if error.contains("reset") => "connection reset",
        _ if error.contains("refused") => "connection refused",
        _ if error.contains("closed") || error.contains("incomplete") => "connection closed",
        _ if error.is_empty() => "no answer",
        _ => return format!("no answer ({error})"),
    };
    kind.to_string()
}

fn headers(ctx: &CheckContext<'_>) -> Verdict {
    let fake = ctx.bench.fake();
    let account = fake.account_id().to_string();
    let requests: Vec<_> = fake.journal().requests().into_iter().filter(|r| !r.dry_run).collect();
    if requests.is_empty() {
        return Verdict::new(false, "no upload request reached CleverTap", Vec::new());
    }
    let mut problems = Vec::new();
    for r in &requests {
        let header = |name: &str| r.headers.get(name).map(String::as_str);
        let retry = if is_retry(r, &requests) { " (a retry)" } else { "" };
        if header("x-clevertap-account-id") != Some(account.as_str()) {
            problems.push(format!(
                "request #{}{retry}: X-CleverTap-Account-Id is {:?}, expected {account:?}",
                r.seq,
                header("x-clevertap-account-id")
            ));
        }
        // The journal redacts the passcode: its value is judged by the fake (401) where no
        // fault was injected, its presence everywhere.
        if header("x-clevertap-passcode").is_none() || r.status == 401 {
            problems.push(format!("request #{}{retry}: X-CleverTap-Passcode missing or not valid", r.seq));
        }
        if !header("content-type")
            .is_some_and(|c| c.trim().to_ascii_lowercase().starts_with("application/json"))
        {
            problems.push(format!(
                "request #{}{retry}: Content-Type is {:?}, expected application/json",
                r.seq,
                header("content-type")
            ));
        }
    }
    let faulted = requests.iter().filter(|r| r.fault.is_some()).count();
    match problems.is_empty() {
        true => Verdict::new(
            true,
            format!(
                "{} upload request(s), {} after the {faulted} that failed (500, 429, drop), all with the three headers",
                requests.len(),
                requests.len().saturating_sub(faulted)
            ),
            Vec::new(),
        ),
        false => Verdict::new(false, problems.join("; "), Vec::new()),
    }
}

/// Whether an earlier request carried a record of the same identity as `request`.
fn is_retry(request: &JournalEntry, all: &[JournalEntry]) -> bool {
    let identities: Vec<String> = request.records.iter().filter_map(record_identity).collect();
    all.iter()
        .filter(|earlier| earlier.seq < request.seq)
        .any(|earlier| earlier.records.iter().filter_map(record_identity).any(|id| identities.contains(&id)))
}

fn batch_limit(ctx: &CheckContext<'_>) -> Verdict {
    let requests = ctx.bench.fake().journal().requests();
    let largest = requests.iter().map(records_in).max().unwrap_or(0);
    let over: Vec<String> = requests
        .iter()
        .filter(|r| records_in(r) > MAX_RECORDS || r.status == 413)
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
            format!("more than {MAX_RECORDS} records in one request: {}", over.join("; ")),
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

#[cfg(test)]
mod tests {
    use std::time::{Duration, SystemTime};

    use super::*;
    use crate::qonversion::sender::Attempt;

    fn delivery(status: Option<u16>, error: Option<&str>) -> Delivery {
        let attempt = Attempt {
            number: 1,
            scheduled: Duration::ZERO,
            started: Duration::ZERO,
            elapsed: Duration::ZERO,
            status,
            body: String::new(),
            error: error.map(str::to_string),
            nominal: Duration::ZERO,
            url: "http://127.0.0.1:1/webhook".into(),
            sent_at: SystemTime::now(),
        };
        Delivery { attempts: vec![attempt], url: String::new(), sent_body: Vec::new(), delay: Duration::ZERO }
    }

    #[test]
    fn groups_what_the_webhooks_got() {
        let mut all = vec![delivery(Some(200), None); 3];
        all.extend(vec![delivery(None, Some("request failed: connection reset by peer (os error 104)")); 2]);
        all.push(delivery(None, Some("timed out after 10s")));
        all.push(delivery(Some(503), None));
        assert_eq!(webhook_answers(&all), "3 × HTTP 200, 2 × connection reset, 1 × HTTP 503, 1 × timeout");
    }
}
