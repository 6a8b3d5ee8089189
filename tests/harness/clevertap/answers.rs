//! The envelope rules and the shape of the answers: mixed batches, record numbers, dryRun.

use qc_harness::{FakeCleverTap, RecordOutcome};
use serde_json::json;

use super::{WAIT, batch, event, event_with, failure, upload, upload_as, without};

#[tokio::test]
async fn accepts_exactly_1000_records() {
    let fake = FakeCleverTap::start().await;
    let records = vec![event("trial_started"); 1000];
    let got = upload(&fake, batch(&records)).await;
    assert_eq!(got.status, 200);
    assert_eq!(got.body, json!({"status": "success", "processed": 1000, "unprocessed": []}));
    assert_eq!(fake.wait_for_records(1000, WAIT).await.unwrap().len(), 1000);
}

#[tokio::test]
async fn rejects_1001_records_with_400_naming_the_limit() {
    let fake = FakeCleverTap::start().await;
    let got = upload(&fake, batch(&vec![event("trial_started"); 1001])).await;
    assert_eq!(got.status, 400);
    assert_eq!(got.body["status"], "fail");
    assert_eq!(got.body["code"], 400);
    assert!(got.body["error"].as_str().unwrap().contains("1000"), "{}", got.text);
    assert_eq!(got.body.as_object().unwrap().len(), 3);
    assert!(fake.journal().processed_records().is_empty());
    let entry = &fake.journal().requests()[0];
    assert_eq!(entry.outcomes.len(), 0, "the envelope was refused: no records parsed");
}

#[tokio::test]
async fn rejects_a_body_over_10_mib_with_413() {
    let fake = FakeCleverTap::start().await;
    let padding = "x".repeat(500);
    let record = event_with("evtData", json!({ "pad": padding }));
    let count = 10 * 1024 * 1024 / record.to_string().len() + 10;
    let got = upload(&fake, batch(&vec![record; count])).await;
    assert_eq!(got.status, 413);
    assert_eq!(got.body["status"], "fail");
    assert_eq!(got.body["code"], 413);
    assert_eq!(got.content_type, "application/json;charset=utf-8");
}

#[tokio::test]
async fn rejects_malformed_bodies_with_400() {
    let fake = FakeCleverTap::start().await;
    for body in [
        "",
        "not json",
        "[]",
        r#"[{"d":[]}]"#,
        "{}",
        r#"{"d":{}}"#,
        r#"{"d":"x"}"#,
        r#"{"d":[]}"#,
        "null",
        "{\"d\":[1]",
    ] {
        let got = upload(&fake, body).await;
        assert_eq!((got.status, &got.body), (400, &failure("Malformed request", 400)), "body {body:?}");
    }
}

#[tokio::test]
async fn answers_partial_with_1_based_record_numbers_and_echoed_records() {
    let fake = FakeCleverTap::start().await;
    let bad_email = json!({"type": "profile", "identity": "u2", "profileData": {"Email": "nope"}});
    let no_name = without(event("x"), "evtName");
    let records = [event("a"), bad_email.clone(), event("b"), no_name.clone(), event("c")];
    let got = upload(&fake, batch(&records)).await;
    assert_eq!(got.status, 200);
    assert_eq!(got.body["status"], "partial");
    assert_eq!(got.body["processed"], 3);
    let unprocessed = got.body["unprocessed"].as_array().unwrap();
    assert_eq!(unprocessed.len(), 2);
    assert_eq!(
        unprocessed[0],
        json!({"status": "fail", "code": 515,
        "error": "Profile data is incorrect. Email is not valid.Skipped record number : 2", "record": bad_email})
    );
    assert_eq!(unprocessed[1]["code"], 509);
    assert_eq!(unprocessed[1]["record"], no_name);
    assert!(unprocessed[1]["error"].as_str().unwrap().ends_with("Skipped record number : 4"));
    assert!(
        got.text
            .starts_with(r#"{"status":"partial","processed":3,"unprocessed":[{"status":"fail","code":515,"#)
    );
    let outcomes = &fake.journal().requests()[0].outcomes;
    assert_eq!(outcomes[0], RecordOutcome::Processed);
    assert!(
        matches!(&outcomes[1], RecordOutcome::Unprocessed { code: 515, error } if error.ends_with(": 2"))
    );
    let processed: Vec<_> = fake.journal().processed_records().iter().map(|r| r.index).collect();
    assert_eq!(processed, [1, 3, 5]);
}

#[tokio::test]
async fn answers_fail_when_no_record_is_processed() {
    let fake = FakeCleverTap::start().await;
    let got = upload(&fake, batch(&[event("App Launched"), json!({"type": "nope"})])).await;
    assert_eq!(got.status, 200);
    assert_eq!(got.body["status"], "fail");
    assert_eq!(got.body["processed"], 0);
    let codes: Vec<_> =
        got.body["unprocessed"].as_array().unwrap().iter().map(|u| u["code"].clone()).collect();
    assert_eq!(codes, [json!(513), json!(524)]);
}

#[tokio::test]
async fn answers_record_numbers_up_to_1000_in_a_full_batch() {
    let fake = FakeCleverTap::start().await;
    let mut records = vec![event("ok"); 1000];
    records[0] = event("Stayed");
    records[999] = event_with("ts", json!(0));
    let got = upload(&fake, batch(&records)).await;
    assert_eq!(got.body["processed"], 998);
    let errors: Vec<_> =
        got.body["unprocessed"].as_array().unwrap().iter().map(|u| u["error"].clone()).collect();
    assert!(errors[0].as_str().unwrap().ends_with("Skipped record number : 1"));
    assert!(errors[1].as_str().unwrap().ends_with("Skipped record number : 1000"));
}

#[tokio::test]
async fn dry_run_gives_the_same_answers_and_stores_nothing() {
    let fake = FakeCleverTap::start().await;
    let records = [event("a"), event("Stayed")];
    let real = upload_as(&fake, fake.account_id(), fake.passcode(), "", batch(&records)).await;
    let dry = upload_as(&fake, fake.account_id(), fake.passcode(), "?dryRun=1", batch(&records)).await;
    assert_eq!((dry.status, &dry.text), (real.status, &real.text));
    let bad = upload_as(&fake, fake.account_id(), "wrong", "?dryRun=1", batch(&records)).await;
    assert_eq!(bad.status, 401);
    let entries = fake.journal().requests();
    assert_eq!(entries.iter().map(|e| e.dry_run).collect::<Vec<_>>(), [false, true, true]);
    assert_eq!(entries[1].query.as_deref(), Some("dryRun=1"));
    assert_eq!(fake.journal().processed_records().len(), 1, "only the real request's record is stored");
    assert!(fake.journal().records().iter().filter(|r| r.dry_run).count() == 4);
    fake.wait_for_records(1, WAIT).await.unwrap();
    let err = fake.wait_for_records(2, std::time::Duration::from_millis(200)).await.unwrap_err();
    assert_eq!(err.got, 1, "dry-run records do not count as stored");
}
