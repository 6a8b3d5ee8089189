//! The fake CleverTap with full validation, side by side with a bare `wiremock::MockServer`
//! that answers every request with a static 200, in one run.
//!
//! Cases: 1-record and 1000-record bodies at client concurrency 1 and 32. Targets: on
//! 1-record bodies at least 0.8x the bare server's requests per second; on 1000-record
//! bodies at most 2 ms added per request. Each case runs bare and fake alternately, three
//! rounds, and keeps each server's best round (the machine is shared).
//!
//! First, validation alone (criterion): a 1000-record upload body (the perf kit's) answered
//! by the streaming pass and by the whole-body `View` parse it replaced.
//!
//! Run: `cargo bench --bench clevertap` (`QC_BENCH_CASE=validate` for validation only).
//! Instruction counts: `QC_VALIDATE_DRIVER=stream:100 valgrind --tool=callgrind <bench binary>`
//! answers the body 100 times (`views:100` for the old path) and exits.

use std::sync::Arc;
use std::time::{Duration, Instant};

use criterion::{Criterion, Throughput};
use qc_harness::FakeCleverTap;
use qc_harness::clevertap::validate::{Rules, bench_answer};
use serde_json::json;
use wiremock::{Mock, MockServer, ResponseTemplate, matchers::any};

const ROUNDS: usize = 9;

struct Target {
    url: String,
    account: String,
    passcode: String,
}

fn body(records: usize) -> Arc<String> {
    let record = |i: usize| {
        json!({"type": "event", "identity": format!("user-{i}"), "ts": 1_700_000_000 + i,
               "evtName": "subscription_renewed",
               "evtData": {"product_id": "pro_monthly", "price": 9.99, "currency": "USD", "platform": "ios"}})
    };
    Arc::new(json!({ "d": (0..records).map(record).collect::<Vec<_>>() }).to_string())
}

/// Wall and process CPU time of one run.
#[derive(Clone, Copy)]
struct Took {
    wall: Duration,
    cpu: Duration,
}

fn cpu_time() -> Duration {
    let mut ts = libc::timespec { tv_sec: 0, tv_nsec: 0 };
    // SAFETY: clock_gettime writes into the timespec we own.
    unsafe { libc::clock_gettime(libc::CLOCK_PROCESS_CPUTIME_ID, &mut ts) };
    Duration::new(ts.tv_sec as u64, ts.tv_nsec as u32)
}

fn thread_cpu_time() -> Duration {
    let mut ts = libc::timespec { tv_sec: 0, tv_nsec: 0 };
    // SAFETY: clock_gettime writes into the timespec we own.
    unsafe { libc::clock_gettime(libc::CLOCK_THREAD_CPUTIME_ID, &mut ts) };
    Duration::new(ts.tv_sec as u64, ts.tv_nsec as u32)
}

/// Sends `total` requests with `concurrency` workers.
async fn drive(
    client: &reqwest::Client,
    target: &Target,
    body: &Arc<String>,
    total: usize,
    concurrency: usize,
) -> Took {
    let (started, cpu) = (Instant::now(), cpu_time());
    let per_worker = total / concurrency;
    let workers = (0..concurrency).map(|_| async move {
        for _ in 0..per_worker {
            let response = client
                .post(&target.url)
                .header("X-CleverTap-Account-Id", &target.account)
                .header("X-CleverTap-Passcode", &target.passcode)
                .body(body.as_str().to_owned())
                .send()
                .await
                .expect("the server answers");
            assert_eq!(response.status(), 200);
            response.bytes().await.unwrap();
        }
    });
    futures::future::join_all(workers).await;
    Took { wall: started.elapsed(), cpu: cpu_time() - cpu }
}

fn rss_mib() -> f64 {
    let statm = std::fs::read_to_string("/proc/self/statm").unwrap_or_default();
    let pages: f64 = statm.split_whitespace().nth(1).and_then(|p| p.parse().ok()).unwrap_or(0.0);
    pages * 4096.0 / (1024.0 * 1024.0)
}

async fn case(
    client: &reqwest::Client,
    bare: &Target,
    fake: &Target,
    records: usize,
    concurrency: usize,
) -> bool {
    let body = body(records);
    let total = if records == 1 { 1600 } else { 128 };
    drive(client, bare, &body, total / 4, concurrency).await; // warm-up
    drive(client, fake, &body, total / 4, concurrency).await;
    let best = |a: Took, b: Took| Took { wall: a.wall.min(b.wall), cpu: a.cpu.min(b.cpu) };
    let mut best_bare = Took { wall: Duration::MAX, cpu: Duration::MAX };
    let mut best_fake = best_bare;
    for _ in 0..ROUNDS {
        best_bare = best(best_bare, drive(client, bare, &body, total, concurrency).await);
        best_fake = best(best_fake, drive(client, fake, &body, total, concurrency).await);
    }
    let n = (total / concurrency * concurrency) as f64;
    let cpu_us = |took: Took| took.cpu.as_secs_f64() * 1e6 / n;
    let cpu = format!("cpu/request bare {:.0} us, fake {:.0} us", cpu_us(best_bare), cpu_us(best_fake));
    let (best_bare, best_fake) = (best_bare.wall, best_fake.wall);
    let (bare_rps, fake_rps) = (n / best_bare.as_secs_f64(), n / best_fake.as_secs_f64());
    // Server time added per request: the difference of wall time per request at this concurrency.
    let added_ms = (best_fake.as_secs_f64() - best_bare.as_secs_f64()) * 1000.0 / n;
    let (verdict, ok) = if records == 1 {
        let ratio = fake_rps / bare_rps;
        (format!("ratio {ratio:.2}x (target >= 0.80x)"), ratio >= 0.8)
    } else {
        (format!("added {added_ms:+.3} ms/request (target <= 2 ms)"), added_ms <= 2.0)
    };
    println!(
        "{records:>4} record(s)  concurrency {concurrency:>2}  bare {bare_rps:>8.0} req/s  fake {fake_rps:>8.0} req/s  \
         {verdict}  {}  ({cpu})",
        if ok { "OK" } else { "MISSED" }
    );
    ok
}

/// Memory: wiremock keeps a copy of every request; the fake replaces its mocks to free them.
async fn memory(client: &reqwest::Client, bare: &Target, fake: &Target) {
    let body = body(1000);
    for (name, target) in [("fake", fake), ("bare", bare)] {
        let before = rss_mib();
        drive(client, target, &body, 1500, 8).await;
        println!(
            "memory: {name} RSS {before:.0} MiB -> {:.0} MiB after 1500 more 1000-record requests",
            rss_mib()
        );
    }
}

fn bench_cases() -> Vec<(usize, usize)> {
    match std::env::var("QC_BENCH_CASE").ok().as_deref() {
        Some("1000") => vec![(1000, 1)],
        Some("1") => vec![(1, 1)],
        _ => vec![(1, 1), (1, 32), (1000, 1), (1000, 32)],
    }
}

fn num_cpus() -> usize {
    std::thread::available_parallelism().map_or(1, |n| n.get())
}

/// The perf kit's 1000-record body (`loadgen gen-body --records N`, `../shared/perf`).
fn perf_kit_body(records: usize) -> String {
    const EVENTS: [&str; 5] = [
        "subscription_renewed",
        "trial_started",
        "subscription_canceled",
        "billing_issue",
        "trial_converted",
    ];
    const PRODUCTS: [&str; 3] =
        ["com.example.pro.monthly", "com.example.pro.annual", "com.example.pro.weekly"];
    const REVENUES: [&str; 5] = ["6.993", "49.99", "1049.993", "0.99", "9.99"];
    const CURRENCIES: [&str; 4] = ["EUR", "USD", "TRY", "GBP"];
    let record = |i: usize| {
        format!(
            concat!(
                "{{\"identity\":\"user-{}\",\"ts\":{},\"type\":\"event\",\"evtName\":\"{}\",",
                "\"evtData\":{{\"platform\":\"{}\",\"product_id\":\"{}\",\"revenue\":{},\"currency\":\"{}\"}}}}"
            ),
            42 + i,
            1_717_000_000 + 60 * i,
            EVENTS[i % EVENTS.len()],
            ["iOS", "Android"][i % 2],
            PRODUCTS[i % PRODUCTS.len()],
            REVENUES[i % REVENUES.len()],
            CURRENCIES[i % CURRENCIES.len()],
        )
    };
    format!("{{\"d\":[{}]}}", (0..records).map(record).collect::<Vec<_>>().join(","))
}

/// Validation alone, both ways, on the perf kit's 1000-record body.
fn validation() {
    let body = perf_kit_body(1000);
    let rules = Rules::default();
    assert_eq!(bench_answer(body.as_bytes(), &rules, true), bench_answer(body.as_bytes(), &rules, false));
    let mut criterion = Criterion::default()
        .sample_size(30)
        .warm_up_time(Duration::from_secs(1))
        .measurement_time(Duration::from_secs(3));
    let mut group = criterion.benchmark_group("validate 1000-record upload");
    group.throughput(Throughput::Bytes(body.len() as u64));
    group.bench_function("streaming pass", |b| {
        b.iter(|| bench_answer(std::hint::black_box(body.as_bytes()), &rules, true))
    });
    group.bench_function("View parse (before)", |b| {
        b.iter(|| bench_answer(std::hint::black_box(body.as_bytes()), &rules, false))
    });
    group.finish();
}

/// `QC_VALIDATE_DRIVER=stream:N|views:N`: answers the body N times, for valgrind; true if run.
fn validation_driver() -> bool {
    let Ok(spec) = std::env::var("QC_VALIDATE_DRIVER") else { return false };
    let (path, times) = spec.split_once(':').unwrap_or((spec.as_str(), "1"));
    let times: usize = times.parse().expect("QC_VALIDATE_DRIVER=stream:N or views:N");
    let (body, rules) = (perf_kit_body(1000), Rules::default());
    let (mut bytes, cpu) = (0, thread_cpu_time());
    for _ in 0..times {
        bytes += bench_answer(std::hint::black_box(body.as_bytes()), &rules, path == "stream").len();
    }
    let cpu_us = (thread_cpu_time() - cpu).as_secs_f64() * 1e6 / times as f64;
    println!("{path}: {times} answers, {bytes} bytes of answers, body {} bytes", body.len());
    println!("{path}: {cpu_us:.1} us of thread CPU time per 1000-record answer");
    true
}

fn main() {
    if validation_driver() {
        return;
    }
    validation();
    if std::env::var("QC_BENCH_CASE").ok().as_deref() == Some("validate") {
        return;
    }
    let runtime = tokio::runtime::Builder::new_multi_thread().enable_all().build().unwrap();
    runtime.block_on(async {
        let server = MockServer::builder().disable_request_recording().start().await;
        let answer = r#"{"status":"success","processed":1,"unprocessed":[]}"#;
        Mock::given(any())
            .respond_with(ResponseTemplate::new(200).set_body_raw(answer, "application/json;charset=utf-8"))
            .mount(&server)
            .await;
        let fake = FakeCleverTap::builder().journal_byte_budget(16 * 1024 * 1024).start().await.unwrap();
        let bare =
            Target { url: format!("{}/1/upload", server.uri()), account: "A".into(), passcode: "P".into() };
        let target = Target {
            url: format!("{}/1/upload", fake.uri()),
            account: fake.account_id().into(),
            passcode: fake.passcode().into(),
        };
        let client = reqwest::Client::builder().pool_max_idle_per_host(64).build().unwrap();
        let load = std::fs::read_to_string("/proc/loadavg").unwrap_or_default();
        println!("fake CleverTap vs bare wiremock (static 200), best of {ROUNDS} alternating rounds each");
        println!(
            "machine: {} cores, load average {}",
            num_cpus(),
            load.split_whitespace().take(3).collect::<Vec<_>>().join(" ")
        );
        let mut all_ok = true;
        for (records, concurrency) in bench_cases() {
            all_ok &= case(&client, &bare, &target, records, concurrency).await;
        }
        memory(&client, &bare, &target).await;
        println!(
            "fake: {} mock recycles, journal kept {} requests ({} dropped)",
            fake.recycles(),
            fake.journal().len(),
            fake.journal().dropped()
        );
        println!("{}", if all_ok { "all targets met" } else { "some targets missed" });
    });
}
