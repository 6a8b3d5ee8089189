//! The page stays responsive with 10,000 records in the journal: it shows one page of 50.

use std::time::{Duration, Instant};

use serde_json::json;

use super::browser;
use crate::dev::{Dev, test_relay};

const RECORDS: usize = 10_000;
const PER_UPLOAD: usize = 100;
/// Records uploaded while the page is open.
const LIVE_RECORDS: usize = 1_000;

/// Uploads valid records straight to the fake CleverTap, 100 per request: requests
/// `uploads` (1-based numbers in the identities).
async fn upload(dev: &Dev, uploads: std::ops::Range<usize>) {
    let fake = &dev.server.state().fake;
    let url = format!("{}/1/upload", fake.uri());
    for upload in uploads {
        let records: Vec<_> = (0..PER_UPLOAD)
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

#[tokio::test]
async fn the_page_stays_responsive_with_10000_records() {
    let Some(b) = browser().await else { return };
    let dev = Dev::start(test_relay("")).await;
    let (uploads, live) = (RECORDS / PER_UPLOAD, LIVE_RECORDS / PER_UPLOAD);
    upload(&dev, 0..uploads - live).await;
    dev.wait_for("/api/records?limit=1", |p| p["total"] == RECORDS - LIVE_RECORDS).await;

    let load = b.open(&dev).await;
    // The last 1,000 arrive while the page is open: it follows them live.
    let start = Instant::now();
    let mut lag_while_arriving = 0.0f64;
    {
        let arriving = upload(&dev, uploads - live..uploads);
        tokio::pin!(arriving);
        loop {
            tokio::select! {
                () = &mut arriving => break,
                lag = main_thread_lag_ms(&b) => lag_while_arriving = lag_while_arriving.max(lag),
            }
        }
    }
    while b.element("#records-total").await.text().await.unwrap() != "10000 records" {
        lag_while_arriving = lag_while_arriving.max(main_thread_lag_ms(&b).await);
        assert!(start.elapsed() < crate::dev::DEADLINE, "the live records never showed");
    }
    let live_update = start.elapsed();
    let shown = b.all("article.record").await.len();
    assert_eq!(shown, 50, "one page of records in the DOM");
    let nodes = b.client.execute("return document.getElementsByTagName('*').length", vec![]).await.unwrap();

    let start = Instant::now();
    b.click("#records-older").await;
    b.text_until("#records-page", |t| t == "page 2 of 200").await;
    b.element("article.record[data-seq='100'][data-index='51']").await;
    let next_page = start.elapsed();

    let start = Instant::now();
    b.fill("#record-filter", "user-7-42\"").await;
    b.count_until("article.record", 1).await;
    let filtered = start.elapsed();

    let lag = main_thread_lag_ms(&b).await;
    println!(
        "dev page with {RECORDS} records: loaded with {} in {} ms, the last {LIVE_RECORDS} shown live {} ms \
         after they started (main-thread lag meanwhile {lag_while_arriving:.1} ms), next page in {} ms, \
         filter in {} ms, {shown} records and {nodes} DOM nodes shown, main-thread lag {lag:.1} ms",
        RECORDS - LIVE_RECORDS,
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
    assert!(live_update < Duration::from_secs(10), "the live records took {live_update:?} to show");
    b.close().await;
    dev.stop().await;
}
