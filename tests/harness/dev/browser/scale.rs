//! The page stays responsive with 10,000 records in the journal: it shows one page of 50,
//! and follows a stream of uploads live.

use std::time::{Duration, Instant};

use serde_json::json;

use super::browser;
use crate::dev::{DEADLINE, Dev, test_relay};

const RECORDS: usize = 10_000;
/// Records uploaded while the page is open, one per request (a relay that does not batch).
const LIVE_RECORDS: usize = 1_000;
/// Records per request before the page opens (a batching relay).
const BATCH: usize = 10;

/// Uploads `count` valid records straight to the fake CleverTap, `per_upload` per request;
/// identities are `user-<request>-<index>`, requests numbered from `first`.
async fn upload(dev: &Dev, first: usize, count: usize, per_upload: usize) {
    let fake = &dev.server.state().fake;
    let url = format!("{}/1/upload", fake.uri());
    for upload in first..first + count / per_upload {
        let records: Vec<_> = (0..per_upload)
            .map(|i| {
                json!({"type": "event", "identity": format!("user-{upload}-{i}"), "ts": 1_700_000_000 + i,
                       "evtName": "Subscription Renewed", "evtData": {"revenue": 4.99, "n": i}})
            })
            .collect();
        let response = dev
            .http
            .post(&url)
            .header("X-CleverTap-Account-Id", fake.account_id())
            .header("X-CleverTap-Passcode", fake.passcode())
            .json(&json!({"d": records}))
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), 200);
    }
}

/// Milliseconds the page's main thread takes to run a task queued now (event-loop lag).
async fn main_thread_lag_ms(b: &super::Browser) -> f64 {
    let script = "const done = arguments[arguments.length - 1]; const t = performance.now(); \
                  setTimeout(() => done(performance.now() - t), 0);";
    b.client.execute_async(script, vec![]).await.unwrap().as_f64().unwrap()
}

/// The record count the page shows.
async fn shown_total(b: &super::Browser) -> String {
    b.element("#records-total").await.text().await.unwrap()
}

/// Uploads the live records one per request while sampling the page's main-thread lag and
/// record count, until the page shows all 10,000; the worst lag and how long it took.
async fn stream_live_records(b: &super::Browser, dev: &Dev) -> (f64, Duration) {
    let start = Instant::now();
    let mut worst = 0.0f64;
    let mut totals_seen = std::collections::BTreeSet::new();
    {
        let arriving = upload(dev, RECORDS / BATCH, LIVE_RECORDS, 1);
        tokio::pin!(arriving);
        loop {
            tokio::select! {
                () = &mut arriving => break,
                sample = async { (main_thread_lag_ms(b).await, shown_total(b).await) } => {
                    worst = worst.max(sample.0);
                    totals_seen.insert(sample.1);
                }
            }
        }
    }
    assert!(totals_seen.len() > 2, "the page did not follow the stream live: it showed {totals_seen:?}");
    while shown_total(b).await != "10000 records" {
        worst = worst.max(main_thread_lag_ms(b).await);
        assert!(start.elapsed() < DEADLINE, "the live records never showed");
    }
    (worst, start.elapsed())
}

#[tokio::test]
async fn the_page_stays_responsive_with_10000_records() {
    let Some(b) = browser().await else { return };
    let dev = Dev::start(test_relay("")).await;
    upload(&dev, 0, RECORDS - LIVE_RECORDS, BATCH).await;
    dev.wait_for("/api/records?limit=1", |p| p["total"] == RECORDS - LIVE_RECORDS).await;

    let load = b.open(&dev).await;
    let (lag_while_arriving, live_update) = stream_live_records(&b, &dev).await;
    let shown = b.all("article.record").await.len();
    assert_eq!(shown, 50, "one page of records in the DOM");
    let nodes = b.client.execute("return document.getElementsByTagName('*').length", vec![]).await.unwrap();

    let second = &dev.get("/api/records?offset=50&limit=1", 200).await["items"][0];
    let start = Instant::now();
    b.click("#records-older").await;
    b.text_until("#records-page", |t| t == "page 2 of 200").await;
    b.element(&format!(
        "article.record[data-seq='{}'][data-index='{}']",
        second["request_seq"], second["index"]
    ))
    .await;
    let next_page = start.elapsed();

    let start = Instant::now();
    b.fill("#record-filter", "user-7-3\"").await;
    b.count_until("article.record", 1).await;
    let filtered = start.elapsed();

    let lag = main_thread_lag_ms(&b).await;
    println!(
        "dev page with {RECORDS} records: loaded with {} (in {} requests) in {} ms; the last {LIVE_RECORDS} \
         (one per request) all shown {} ms after the first was sent, main-thread lag meanwhile at most \
         {lag_while_arriving:.1} ms; next page in {} ms; filter in {} ms; {shown} records and {nodes} DOM \
         nodes shown; main-thread lag {lag:.1} ms",
        RECORDS - LIVE_RECORDS,
        (RECORDS - LIVE_RECORDS) / BATCH,
        load.as_millis(),
        live_update.as_millis(),
        next_page.as_millis(),
        filtered.as_millis()
    );
    assert!(load < Duration::from_secs(5), "page load took {load:?}");
    assert!(next_page < Duration::from_secs(2), "next page took {next_page:?}");
    assert!(filtered < Duration::from_secs(3), "filtering took {filtered:?}");
    assert!(lag < 200.0, "the main thread is busy for {lag} ms");
    assert!(
        lag_while_arriving < 500.0,
        "the main thread was busy for {lag_while_arriving} ms during live updates"
    );
    b.close().await;
    dev.stop().await;
}
