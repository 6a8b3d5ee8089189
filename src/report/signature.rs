//! Failure signatures (pure): what a failing case has in common with others (the field and
//! the kind of difference, CleverTap's code, the rule that made a record unexpected), with a
//! hint for the patterns the harness recognises; and what the contract asks of each check.

use crate::conformance::hints::DiffHint;
use crate::conformance::reasons::{RecordReason, Rule};
use crate::conformance::{CaseResult, Difference};
use crate::snapshot::SnapshotStatus;

/// A case's contribution to one group: (headline, hint, detail).
pub(crate) type Signature = (String, Option<String>, String);

pub(crate) fn case_signatures(case: &CaseResult) -> Vec<Signature> {
    let mut out: Vec<Signature> = Vec::new();
    for problem in case.problems.iter().filter(|p| p.starts_with("webhook ")) {
        out.push((webhook_signature(problem), None, problem.clone()));
    }
    if case.fixture == crate::conformance::mapping_run::UNATTRIBUTED {
        let hint =
            "every record's identity is the webhook's custom_user_id, else properties._q_custom_user_id";
        for problem in &case.problems {
            out.push(("records with an identity no fixture has".into(), Some(hint.into()), problem.clone()));
        }
    }
    let ms = case.hints.iter().any(|h| h.path == "ts" && h.pattern.contains("1000"));
    let rejected = case.differences.iter().any(|d| matches!(d, Difference::Rejected { .. }));
    for difference in &case.differences {
        let signature = match difference {
            Difference::Extra { at, .. } if rejected && case.reasons.iter().all(|r| r.expected) => (
                "extra record (a rejected record sent again)".to_string(),
                Some("the relay re-sent a record CleverTap rejected; fix the rejection first".to_string()),
                format!("extra record ({at}): the same record again after CleverTap rejected it"),
            ),
            _ => difference_signature(difference, &case.hints, &case.reasons, ms),
        };
        out.push(signature);
    }
    match &case.snapshot {
        SnapshotStatus::Changed { pending, .. } => out.push((
            "snapshot changed".into(),
            Some("review with `qc-harness snapshots`, or accept with `qc-harness run --accept`".into()),
            format!("new version in {}", pending.display()),
        )),
        SnapshotStatus::Missing { path } => out.push((
            "no snapshot (CI mode: a missing snapshot fails)".into(),
            Some("run `qc-harness run --accept` outside CI and commit the .snap files".into()),
            format!("{} does not exist", path.display()),
        )),
        _ => {}
    }
    out
}

/// `webhook 3 was answered HTTP 500, ...` → `webhook answered HTTP 500, ...`.
fn webhook_signature(problem: &str) -> String {
    let rest = problem.trim_start_matches("webhook ").trim_start_matches(|c: char| c.is_ascii_digit());
    format!("webhook{}", rest.replacen(" was answered", " answered", 1))
}

fn difference_signature(d: &Difference, hints: &[DiffHint], reasons: &[RecordReason], ms: bool) -> Signature {
    match d {
        Difference::Field { path, expected, observed } => {
            if let Some(h) = hints.iter().find(|h| &h.path == path) {
                return (format!("{path}: {}", h.pattern), Some(h.hint.clone()), d.to_string());
            }
            let kind = match (expected, observed) {
                (Some(_), None) => "missing key",
                (None, Some(_)) => "unexpected key",
                _ => "differs",
            };
            (format!("{path}: {kind}"), None, d.to_string())
        }
        Difference::Missing { .. } => {
            let why = reasons.iter().find(|r| r.expected).map_or(String::new(), |r| format!(": {}", r.why));
            let detail = format!("no record arrived; one is expected{why}");
            match hints.iter().find(|h| h.path == "(record)") {
                Some(h) => (format!("missing record ({})", h.pattern), Some(h.hint.clone()), detail),
                None => ("missing record".into(), None, detail),
            }
        }
        Difference::Extra { at, .. } => extra_signature(at, reasons),
        Difference::Rejected { at, problem } => {
            let hint =
                ms.then(|| "follows from ts in milliseconds (CleverTap's 525: bad timestamp)".to_string());
            (
                format!("CleverTap rejected the record: {}", rejection_kind(problem)),
                hint,
                format!("{at}: {problem}"),
            )
        }
    }
}

/// `unprocessed, code 525: Timestamp should be ... . More` → `code 525: Timestamp should be ...`.
fn rejection_kind(problem: &str) -> String {
    let text = problem.trim_start_matches("unprocessed, ");
    let first = text.split(". ").next().unwrap_or(text);
    first.trim_end_matches('.').to_string()
}

fn extra_signature(at: &str, reasons: &[RecordReason]) -> Signature {
    let skipped = reasons.iter().find(|r| !r.expected);
    let detail = match skipped {
        Some(r) => format!("extra record ({at}); {r}"),
        None => format!("extra record ({at}): a second record for one webhook"),
    };
    let (headline, hint) = match skipped.map(|r| r.rule) {
        Some(Rule::Sandbox) => (
            "extra record for a sandbox event",
            "only sandbox fixtures have an extra record: the relay does not filter sandbox events \
             (forward an event whose environment is not \"production\" only when send_sandbox is true)",
        ),
        Some(Rule::EventSwitch) => (
            "extra record for a disabled event",
            "the relay ignores events.<name>.enabled = false in the settings",
        ),
        Some(Rule::Downgrade) => {
            ("extra record for subscription_downgraded", "subscription_downgraded is never forwarded")
        }
        Some(Rule::UnknownEvent) => {
            ("extra record for an unknown event", "forward only the catalogue's events")
        }
        Some(Rule::NoIdentity) => (
            "extra record for an event without identity",
            "skip events with neither custom_user_id nor properties._q_custom_user_id",
        ),
        Some(Rule::Forwarded) | None => (
            "extra record (duplicate)",
            "one webhook gave two records: deduplicate redeliveries, and do not re-send processed records",
        ),
    };
    (headline.to_string(), Some(hint.to_string()), detail)
}

/// What the contract asks of the checks of a group (a reminder, not a diagnosis).
pub(crate) fn contract_hint(checks: &[String]) -> Option<String> {
    let first = checks.first()?.as_str();
    let text = match first.split('.').next()? {
        "auth" => "answer 401 or 403 unless Authorization is `Basic <QONVERSION_WEBHOOK_TOKEN>`",
        "body" => "answer 400 to a body that is not a JSON object, upload nothing, keep serving",
        "delivery" => "a redelivered webhook (same body) is uploaded once: deduplicate",
        _ => match first {
            "event.sandbox" => {
                "forward an event whose environment is not \"production\" only when send_sandbox is true"
            }
            "event.disabled" => "skip an event whose events.<name>.enabled is false; upload the others",
            "event.downgraded" => "never forward subscription_downgraded",
            "event.unknown" => "answer 2xx to an unknown event_name and upload nothing",
            "upstream.429" | "upstream.5xx" | "upstream.connection-drop" => {
                "retry a 429, a 5xx or a dropped connection with backoff until CleverTap processes the \
                 record; if you give up, answer the webhook non-2xx so that Qonversion redelivers it"
            }
            "upstream.retry-after" => "after a 429 with Retry-After, wait that long before retrying",
            "upstream.backoff" => "wait longer between successive retries",
            "upstream.concurrency" => "at most 15 upload requests in flight per account",
            "upstream.batch-limit" => {
                "at most 1000 records per upload request, every event uploaded once; webhooks not answered \
                 2xx under load often mean a small listen backlog (see README, Troubleshooting)"
            }
            "upstream.partial" => {
                "retry only the records CleverTap lists as unprocessed with a retryable code"
            }
            "upstream.headers" => "upload with Content-Type: application/json and the account headers",
            _ => return None,
        },
    };
    Some(format!("the contract: {text}"))
}
