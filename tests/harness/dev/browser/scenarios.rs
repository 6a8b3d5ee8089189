//! One browser test per action of the page.

use std::time::{Duration, Instant};

use serde_json::Value;

use super::browser;
use crate::dev::{DEADLINE, Dev, example_relay, test_relay};

/// Sends `fixture` from the page: search, pick, (overrides), send.
async fn send_from_page(b: &super::Browser, search: &str, fixture: &str, overrides: &str) {
    b.fill("#fixture-search", search).await;
    let words: Vec<&str> = search.split_whitespace().collect();
    b.texts_until(".fixture-item", |name| words.iter().all(|w| name.contains(w))).await;
    b.click(&format!(".fixture-item[data-name='{fixture}']")).await;
    b.fill("#overrides", overrides).await;
    b.click("#send-button").await;
}

#[tokio::test]
async fn sending_a_fixture_shows_the_record_with_its_outcome_and_reference() {
    let Some(b) = browser().await else { return };
    let dev = Dev::start(example_relay()).await;
    b.open(&dev).await;
    send_from_page(&b, "trial_started ios", "trial_started.ios", "").await;
    let row = b.text_until("#webhooks tbody tr.webhook-row", |t| !t.is_empty()).await;
    assert!(row.contains("trial_started") && row.contains("HTTP 200"), "{row}");
    let record = b.text_until("article.record", |t| t.contains("matches the reference")).await;
    assert!(record.contains("request #1 record #1") && record.contains("processed"), "{record}");
    let output = b.text_until("#relay-output", |t| t.contains("relay:")).await;
    assert!(!output.is_empty());
    // The record and reference the user opened stay open while new records arrive.
    b.click("article.record[data-seq='1'] summary").await;
    b.element("article.record[data-seq='1'] details[open]").await;
    send_from_page(&b, "renewed ios", "subscription_renewed.ios", "").await;
    b.count_until("article.record", 2).await;
    b.element("article.record[data-seq='1'] details[open]").await;
    assert!(b.all("article.record[data-seq='2'] details[open]").await.is_empty());
    b.close().await;
    dev.stop().await;
}

#[tokio::test]
async fn a_broken_relay_shows_the_code_in_words_and_the_field_diff() {
    let Some(b) = browser().await else { return };
    let dev = Dev::start(test_relay("ms-timestamp,extra-key")).await;
    b.open(&dev).await;
    send_from_page(&b, "trial_started", "trial_started.ios", "").await;
    let outcome = b.text_until("article.record .outcome", |t| !t.is_empty()).await;
    assert!(outcome.starts_with("unprocessed, code 525: ts is not a Unix timestamp"), "{outcome}");
    let diffs = b.text_until("article.record .differences", |t| t.contains("evtData.sandbox")).await;
    assert!(diffs.contains("evtData.sandbox: unexpected key (observed false)"), "{diffs}");
    assert!(diffs.contains("ts: expected "), "{diffs}");
    b.close().await;
    dev.stop().await;
}

#[tokio::test]
async fn a_429_fault_shows_the_relays_retry() {
    let Some(b) = browser().await else { return };
    let dev = Dev::start(example_relay()).await;
    b.open(&dev).await;
    b.select("#fault-kind", "429").await;
    b.fill("#fault-count", "1").await;
    b.click("#fault-add").await;
    b.text_until("#fault-list li.fault", |t| t.contains("HTTP 429 without Retry-After")).await;
    send_from_page(&b, "trial_started", "trial_started.ios", "").await;
    let first = b.text_until("#uploads tr[data-seq='1']", |t| t.contains("HTTP 429")).await;
    assert!(first.contains("too many requests"), "{first}");
    let retry = b.text_until("#uploads tr[data-seq='2']", |t| t.contains("HTTP 200")).await;
    assert!(retry.contains("retry of request #1"), "{retry}");
    b.text_until("article.record[data-seq='2']", |t| t.contains("matches the reference")).await;
    b.close().await;
    dev.stop().await;
}

#[tokio::test]
async fn overrides_are_sent_and_a_bad_one_is_explained() {
    let Some(b) = browser().await else { return };
    let dev = Dev::start(test_relay("")).await;
    b.open(&dev).await;
    send_from_page(&b, "renewed ios", "subscription_renewed.ios", "revenue.value=4.99").await;
    let row = b.text_until("#webhooks tr.webhook-row", |t| t.contains("HTTP")).await;
    assert!(row.contains("--set revenue.value=4.99"), "{row}");
    b.text_until("article.record", |t| t.contains("matches the reference")).await;
    b.fill("#overrides", "revenue.value").await;
    b.click("#send-button").await;
    let error = b.text_until("#send-error", |t| !t.is_empty()).await;
    assert_eq!(error, "--set revenue.value: expected PATH=VALUE, e.g. `revenue.value=4.99`");
    b.fill("#fixture-name", "no_such_fixture").await;
    b.fill("#overrides", "").await;
    b.click("#send-button").await;
    b.text_until("#send-error", |t| t.contains("unknown fixture \"no_such_fixture\"")).await;
    b.close().await;
    dev.stop().await;
}

#[tokio::test]
async fn a_journey_sends_all_its_events() {
    let Some(b) = browser().await else { return };
    let dev = Dev::start(test_relay("")).await;
    b.open(&dev).await;
    let journeys = dev.get("/api/fixtures", 200).await["journeys"].clone();
    let journey = &journeys[0];
    b.select("#journey-select", journey["name"].as_str().unwrap()).await;
    b.click("#journey-button").await;
    b.count_until("#webhooks tr.webhook-row", journey["events"].as_array().unwrap().len()).await;
    b.close().await;
    dev.stop().await;
}

#[tokio::test]
async fn switching_the_settings_variant_restarts_the_relay() {
    let Some(b) = browser().await else { return };
    let dev = Dev::start(test_relay("")).await;
    b.open(&dev).await;
    b.select("#variant-select", "renamed").await;
    b.click("#variant-button").await;
    b.text_until("#variant-current", |t| t == "variant: renamed").await;
    b.text_until("#relay-state", |t| t.contains("running (start 2)")).await;
    send_from_page(&b, "trial_started", "trial_started.ios", "").await;
    let record = b.text_until("article.record", |t| t.contains("matches the reference")).await;
    assert!(record.contains("QC Trial Started"), "{record}");
    b.click("#restart-button").await;
    b.text_until("#relay-state", |t| t.contains("running (start 3)")).await;
    b.close().await;
    dev.stop().await;
}

#[tokio::test]
async fn every_fault_kind_can_be_added_and_removed() {
    let Some(b) = browser().await else { return };
    let dev = Dev::start(test_relay("")).await;
    b.open(&dev).await;
    let kinds = [
        ("429", ""),
        ("429:", "3"),
        ("500", ""),
        ("503", ""),
        ("delay:", "50"),
        ("drop", ""),
        ("partial:", "1+2"),
        ("chaos", ""),
    ];
    for (n, (kind, arg)) in kinds.iter().enumerate() {
        b.select("#fault-kind", kind).await;
        if !arg.is_empty() {
            b.fill("#fault-arg", arg).await;
        }
        b.fill("#fault-count", "2").await;
        b.click("#fault-add").await;
        b.count_until("#fault-list li.fault", n + 1).await;
    }
    let specs: Vec<Value> =
        dev.get("/api/faults", 200).await.as_array().unwrap().iter().map(|r| r["spec"].clone()).collect();
    assert_eq!(specs, ["429", "429:3", "500", "503", "delay:50ms", "drop", "partial:1+2", "chaos"]);
    b.select("#fault-kind", "429:").await;
    b.fill("#fault-arg", "soon").await;
    b.click("#fault-add").await;
    b.text_until("#fault-error", |t| t.contains("invalid fault `429:soon`")).await;
    b.click("#fault-list li.fault[data-spec='drop'] button.fault-remove").await;
    b.count_until("#fault-list li.fault", 7).await;
    assert!(b.all("#fault-list li.fault[data-spec='drop']").await.is_empty());
    b.click("#fault-clear").await;
    b.count_until("#fault-list li.fault", 0).await;
    assert_eq!(dev.get("/api/faults", 200).await, serde_json::json!([]));
    b.close().await;
    dev.stop().await;
}

#[tokio::test]
async fn the_journal_downloads_and_clears() {
    let Some(b) = browser().await else { return };
    let dev = Dev::start(test_relay("")).await;
    b.open(&dev).await;
    send_from_page(&b, "trial_started", "trial_started.ios", "").await;
    b.element("article.record").await;
    b.click("#journal-download").await;
    let file = b.downloads.path().join("qc-harness-journal.json");
    let start = Instant::now();
    let journal: Value = loop {
        if let Ok(text) = std::fs::read_to_string(&file)
            && let Ok(value) = serde_json::from_str(&text)
        {
            break value;
        }
        assert!(start.elapsed() < DEADLINE, "no download at {}", file.display());
        tokio::time::sleep(Duration::from_millis(50)).await;
    };
    assert_eq!(journal.as_array().unwrap().len(), 1);
    assert_eq!(journal[0]["headers"]["x-clevertap-passcode"], "[redacted]");
    b.click("#journal-clear").await;
    b.count_until("article.record", 0).await;
    b.count_until("#webhooks tr.webhook-row", 0).await;
    b.text_until("#records-total", |t| t == "0 records").await;
    b.close().await;
    dev.stop().await;
}

#[tokio::test]
async fn searching_finds_fixtures_and_filters_records() {
    let Some(b) = browser().await else { return };
    let dev = Dev::start(test_relay("")).await;
    b.open(&dev).await;
    b.fill("#fixture-search", "renewed android").await;
    let names =
        b.texts_until(".fixture-item", |name| name.contains("renewed") && name.contains("android")).await;
    assert!(names.contains(&"subscription_renewed.android".to_string()), "{names:?}");
    assert!(names.len() < dev.get("/api/fixtures", 200).await["fixtures"].as_array().unwrap().len());
    send_from_page(&b, "renewed android", "subscription_renewed.android", "").await;
    send_from_page(&b, "trial_started ios", "trial_started.ios", "").await;
    b.count_until("article.record", 2).await;
    b.fill("#record-filter", "renewed").await;
    b.count_until("article.record", 1).await;
    let left = b.text_until("article.record", |t| !t.is_empty()).await;
    assert!(left.contains("subscription_renewed"), "{left}");
    b.select("#outcome-filter", "rejected").await;
    b.count_until("article.record", 0).await;
    b.close().await;
    dev.stop().await;
}

#[tokio::test]
#[ignore = "writes docs/images/dev.png; run it with --ignored to refresh the README's screenshot"]
async fn screenshot_for_the_readme() {
    let Some(b) = browser().await else { return };
    let dev = Dev::start(test_relay("extra-key")).await;
    b.open(&dev).await;
    b.select("#fault-kind", "429:").await;
    b.fill("#fault-arg", "1").await;
    b.click("#fault-add").await;
    send_from_page(&b, "trial_started ios", "trial_started.ios", "").await;
    b.element("#uploads tr[data-seq='2']").await;
    send_from_page(&b, "renewed android", "subscription_renewed.android", "revenue.value=4.99").await;
    b.element("article.record[data-seq='3']").await;
    b.select("#fault-kind", "drop").await;
    b.fill("#fault-count", "0").await;
    b.click("#fault-add").await;
    b.element("#fault-list li.fault").await;
    b.fill("#fixture-search", "").await;
    b.client.execute("window.scrollTo(0, 0)", vec![]).await.unwrap();
    tokio::time::sleep(Duration::from_millis(500)).await;
    let png = b.client.screenshot().await.unwrap();
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("docs/images/dev.png");
    std::fs::write(&path, png).unwrap();
    println!("wrote {}", path.display());
    b.close().await;
    dev.stop().await;
}
