use std::collections::BTreeMap;
use std::time::{Duration, SystemTime};

use serde_json::{Value, json};

use super::*;
use crate::clevertap::Fault;

fn entry(seq: u64, status: u16, records: Vec<Value>, outcomes: Vec<RecordOutcome>) -> JournalEntry {
    let body = json!({"d": records}).to_string();
    JournalEntry {
        seq,
        received_at: SystemTime::now(),
        offset: Duration::from_millis(seq),
        answered_after: Duration::ZERO,
        method: "POST".into(),
        host: None,
        path: "/1/upload".into(),
        query: None,
        headers: BTreeMap::new(),
        body,
        records,
        outcomes,
        status,
        response: "{}".into(),
        fault: None,
        in_flight: 1,
        dry_run: false,
    }
}

fn record(name: &str, identity: &str) -> Value {
    json!({"type": "event", "identity": identity, "ts": 1, "evtName": name, "evtData": {"platform": "iOS"}})
}

fn all() -> ListQuery {
    ListQuery { limit: Some(MAX_LIMIT), ..ListQuery::default() }
}

#[test]
fn a_record_is_paired_with_its_webhook_and_judged_in_the_run_reports_words() {
    let mut sent = record("trial_started", "u1");
    sent["evtData"]["sandbox"] = json!(false);
    let entries = [entry(1, 200, vec![sent], vec![RecordOutcome::Processed])];
    let expected = [(7, record("trial_started", "u1")), (8, record("trial_converted", "u1"))];
    let page = record_page(&entries, &expected, &all(), &Redactor::default()).unwrap();
    let view = &page.items[0];
    assert_eq!(view.webhook_id, Some(7));
    assert_eq!(view.differences, ["evtData.sandbox: unexpected key (observed false)"]);
    assert!(!view.matches);
}

#[test]
fn a_record_no_webhook_expects_is_an_extra_record() {
    let entries = [entry(1, 200, vec![record("trial_started", "u1")], vec![RecordOutcome::Processed])];
    let expected = [(1, record("subscription_renewed", "u2"))];
    let page = record_page(&entries, &expected, &all(), &Redactor::default()).unwrap();
    assert_eq!(page.items[0].webhook_id, None);
    assert!(page.items[0].differences[0].starts_with("extra record (request #1 record #1)"));
    assert!(!page.items[0].matches);
}

#[test]
fn a_wrong_event_name_pairs_by_user_and_is_a_difference() {
    let entries = [entry(1, 200, vec![record("trial_started", "u1")], vec![RecordOutcome::Processed])];
    let expected = [(1, record("QC Trial Started", "u1")), (2, record("QC Trial Started", "u9"))];
    let page = record_page(&entries, &expected, &all(), &Redactor::default()).unwrap();
    assert_eq!(page.items[0].webhook_id, Some(1));
    assert_eq!(
        page.items[0].differences,
        ["evtName: expected \"QC Trial Started\", observed \"trial_started\""]
    );
}

#[test]
fn a_matching_processed_record_matches_and_an_unprocessed_one_does_not() {
    let want = record("trial_started", "u1");
    let unprocessed = RecordOutcome::Unprocessed { code: 525, error: "Timestamp".into() };
    let entries = [
        entry(1, 200, vec![want.clone()], vec![RecordOutcome::Processed]),
        entry(2, 200, vec![want.clone()], vec![unprocessed]),
    ];
    let page = record_page(&entries, &[(1, want)], &all(), &Redactor::default()).unwrap();
    let (second, first) = (&page.items[0], &page.items[1]);
    assert!(first.matches && first.differences.is_empty());
    assert!(!second.matches);
    assert_eq!(
        second.differences,
        ["CleverTap did not process request #2 record #1: unprocessed, code 525: Timestamp"]
    );
}

#[test]
fn pages_are_newest_first_and_filters_count_only_what_matches() {
    let entries: Vec<JournalEntry> = (1..=5)
        .map(|seq| {
            entry(
                seq,
                200,
                vec![record("a", &format!("user-{seq}")), record("b", "x")],
                vec![RecordOutcome::Processed; 2],
            )
        })
        .collect();
    let query = ListQuery { offset: 2, limit: Some(3), ..ListQuery::default() };
    let page = record_page(&entries, &[], &query, &Redactor::default()).unwrap();
    assert_eq!(page.total, 10);
    let shown: Vec<(u64, usize)> = page.items.iter().map(|r| (r.request_seq, r.index)).collect();
    assert_eq!(shown, [(4, 1), (4, 2), (3, 1)]);
    let query = ListQuery { q: Some("USER-3".into()), ..ListQuery::default() };
    let page = record_page(&entries, &[], &query, &Redactor::default()).unwrap();
    assert_eq!((page.total, page.items[0].request_seq), (1, 3));
    let query = ListQuery { outcome: Some("rejected".into()), ..ListQuery::default() };
    assert_eq!(record_page(&entries, &[], &query, &Redactor::default()).unwrap().total, 0);
}

#[test]
fn an_upload_repeating_a_refused_one_is_a_retry_and_one_repeating_an_accepted_one_a_duplicate() {
    let body = vec![record("a", "u1")];
    let mut refused = entry(1, 429, body.clone(), vec![RecordOutcome::Rejected { status: 429 }]);
    refused.fault = Some(Fault::TooManyRequests { retry_after: None });
    let entries = [
        refused,
        entry(2, 200, body.clone(), vec![RecordOutcome::Processed]),
        entry(3, 200, body, vec![RecordOutcome::Processed]),
    ];
    let page = upload_page(&entries, &ListQuery::default(), &Redactor::default()).unwrap();
    let retries: Vec<(Option<u64>, Option<u64>)> =
        page.items.iter().map(|u| (u.retry_of, u.duplicate_of)).collect();
    assert_eq!(retries, [(None, Some(2)), (Some(1), None), (None, None)]);
    assert_eq!(page.items[2].fault.as_deref(), Some("HTTP 429 without Retry-After"));
}

#[test]
fn bad_page_sizes_and_outcomes_are_refused() {
    let query = ListQuery { limit: Some(501), ..ListQuery::default() };
    assert_eq!(query.limit().unwrap_err(), "limit 501: must be between 1 and 500");
    let query = ListQuery { outcome: Some("odd".into()), ..ListQuery::default() };
    assert!(query.outcome().is_err());
}
