//! The journal at production sizes: its byte bound under a burst of large uploads, and the
//! paged journal endpoint (`?since=`, `?limit=`, `?records=`).

use qc_harness::{FakeCleverTap, RecordOutcome};
use serde_json::{Value, json};

use super::{batch, client, event, upload};

/// A 1000-record upload of about 190 KB, every record distinct.
fn large_batch(tag: usize) -> String {
    let records: Vec<Value> = (0..1000)
        .map(|i| {
            json!({"type": "event", "identity": format!("user-{tag}-{i}"), "ts": 1_700_000_000 + i,
                   "evtName": "subscription_renewed",
                   "evtData": {"product_id": "pro_monthly", "price": 9.99, "currency": "USD"}})
        })
        .collect();
    batch(&records)
}

#[tokio::test]
async fn the_journal_stays_within_its_byte_bound_under_a_burst_of_large_uploads() {
    const BUDGET: usize = 1024 * 1024;
    let fake = FakeCleverTap::builder().journal_max_bytes(BUDGET).max_concurrency(100).start().await.unwrap();
    let body_len = large_batch(0).len();
    let burst = (0..24).map(|tag| upload(&fake, large_batch(tag)));
    for got in futures::future::join_all(burst).await {
        assert_eq!(got.status, 200, "{}", got.text);
    }
    let journal = fake.journal();
    assert!(journal.bytes() <= BUDGET, "kept {} bytes, bound {BUDGET}", journal.bytes());
    let kept = journal.len();
    assert!(kept >= BUDGET / (body_len * 2) && kept < BUDGET / body_len + 1, "kept {kept} of 24");
    assert_eq!(journal.dropped() as usize + kept, 24);
    assert_eq!(journal.last_seq(), 24, "the newest are kept");
    // Reading parses the records but keeps none of them: the count stays the same.
    let bytes_before = journal.bytes();
    let records = journal.records();
    assert_eq!(records.len(), kept * 1000);
    assert!(records.iter().all(|r| r.outcome == RecordOutcome::Processed));
    assert_eq!(journal.bytes(), bytes_before);
    assert_eq!(journal.processed_count(), kept * 1000);
}

#[tokio::test]
async fn the_journal_counts_what_it_keeps_not_just_bodies() {
    let fake = FakeCleverTap::builder().journal_max_bytes(usize::MAX).start().await.unwrap();
    let body = large_batch(1);
    upload(&fake, body.clone()).await;
    let bytes = fake.journal().bytes();
    assert!(bytes > body.len(), "{bytes} bytes counted for a {} byte body", body.len());
    assert!(bytes < body.len() + 4096, "{bytes} bytes counted for a {} byte body", body.len());
}

async fn get(fake: &FakeCleverTap, query: &str) -> (u16, Option<String>, Value) {
    let response = client().get(format!("{}/__harness/requests{query}", fake.uri())).send().await.unwrap();
    let status = response.status().as_u16();
    let next = response.headers().get("x-qc-next-since").map(|v| v.to_str().unwrap().to_string());
    (status, next, response.json().await.unwrap())
}

#[tokio::test]
async fn the_journal_endpoint_pages_with_since_and_limit_and_records_on_request() {
    let fake = FakeCleverTap::builder().control_endpoints(true).start().await.unwrap();
    for name in ["a", "b", "c", "d", "e"] {
        upload(&fake, batch(&[event(name)])).await;
    }
    let (status, next, page) = get(&fake, "?since=1&limit=2").await;
    assert_eq!(status, 200);
    let seqs: Vec<_> = page.as_array().unwrap().iter().map(|e| e["seq"].as_u64().unwrap()).collect();
    assert_eq!(seqs, [2, 3]);
    assert_eq!(next.as_deref(), Some("3"));
    assert_eq!(page[0]["records"], json!([]), "paged reads leave the records out by default");
    assert_eq!(page[0]["outcomes"][0]["outcome"], "processed");
    let (_, next, page) = get(&fake, "?since=3&records=true").await;
    assert_eq!(page.as_array().unwrap().len(), 2);
    assert_eq!(page[1]["records"][0]["evtName"], "e");
    assert_eq!(next.as_deref(), Some("5"));
    let (_, next, page) = get(&fake, "?since=5").await;
    assert_eq!(page, json!([]));
    assert_eq!(next.as_deref(), Some("5"), "nothing new: the next page starts at the same place");
    let (_, _, whole) = get(&fake, "").await;
    assert_eq!(whole.as_array().unwrap().len(), 5);
    assert_eq!(whole[0]["records"][0]["evtName"], "a", "the unpaged read keeps its records");
}

#[tokio::test]
async fn the_journal_endpoint_refuses_bad_paging_parameters_with_400() {
    let fake = FakeCleverTap::builder().control_endpoints(true).start().await.unwrap();
    for query in ["?since=x", "?limit=-1", "?records=maybe"] {
        let (status, _, body) = get(&fake, query).await;
        assert_eq!(status, 400, "{query}");
        assert!(body["error"].as_str().unwrap().contains('='), "{query}: {body}");
    }
}

#[tokio::test]
async fn a_page_of_large_uploads_ends_early_and_the_next_pages_carry_the_rest() {
    let fake = FakeCleverTap::builder().control_endpoints(true).max_concurrency(100).start().await.unwrap();
    for tag in 0..16 {
        assert_eq!(upload(&fake, large_batch(tag)).await.status, 200);
    }
    let (mut since, mut seen, mut pages) = (0, Vec::new(), 0);
    loop {
        let (status, next, page) = get(&fake, &format!("?since={since}&limit=100")).await;
        assert_eq!(status, 200);
        let page = page.as_array().unwrap().clone();
        if page.is_empty() {
            break;
        }
        pages += 1;
        assert!(page.len() < 16, "a page stops after about 1 MiB, not at {} large uploads", page.len());
        seen.extend(page.iter().map(|e| e["seq"].as_u64().unwrap()));
        since = next.unwrap().parse().unwrap();
    }
    assert!(pages >= 2, "{pages} pages");
    assert_eq!(seen, (1..=16).collect::<Vec<u64>>(), "every request once, in order");
}

#[tokio::test]
async fn the_whole_journal_is_streamed_in_chunks_and_holds_what_the_pages_hold() {
    let fake = FakeCleverTap::builder().control_endpoints(true).max_concurrency(100).start().await.unwrap();
    for tag in 0..4 {
        assert_eq!(upload(&fake, large_batch(tag)).await.status, 200);
    }
    assert_eq!(upload(&fake, batch(&[event("App Launched")])).await.status, 200);
    let response = client().get(format!("{}/__harness/requests", fake.uri())).send().await.unwrap();
    assert_eq!(response.status().as_u16(), 200);
    assert_eq!(response.headers()["x-qc-next-since"], "5");
    assert!(response.headers().get("content-length").is_none(), "streamed, not built whole");
    let text = response.text().await.unwrap();
    assert!(text.len() > 4 * 256 * 1024, "{} bytes: several chunks", text.len());
    assert!(text.starts_with("[\n  {"), "pretty JSON as before");
    let whole: Vec<Value> = serde_json::from_str(&text).unwrap();
    let mut paged = Vec::new();
    for since in 0..5 {
        let (_, _, page) = get(&fake, &format!("?since={since}&limit=1&records=true")).await;
        paged.extend(page.as_array().unwrap().iter().cloned());
    }
    assert_eq!(whole, paged, "the whole journal and its pages hold the same entries");
    assert_eq!(whole[4]["outcomes"][0]["code"], 513);
    assert_eq!(whole[0]["records"].as_array().unwrap().len(), 1000);
}
