//! A Rust relay tested in-process, the way the relay's own `cargo test` would use qc-harness
//! as a dev-dependency: fake CleverTap, the relay on a free port, fake Qonversion, a
//! deadline on every wait, and an insta snapshot of what CleverTap received.
//!
//! `my_relay` below stands in for your crate: replace it with your own router/server.

use std::time::Duration;

use qc_harness::{FakeCleverTap, FakeQonversion, FixtureCatalogue};
use serde_json::Value;

/// Every wait in these tests ends within this.
const DEADLINE: Duration = Duration::from_secs(10);
const TOKEN: &str = "in-process-token";

/// A minimal Rust relay (axum + reqwest): auth, reference mapping, one upload per event.
mod my_relay {
    use std::sync::Arc;

    use axum::Router;
    use axum::extract::State;
    use axum::http::{HeaderMap, StatusCode};
    use axum::routing::post;
    use qc_harness::WebhookEvent;
    use qc_harness::{map_event, upload_body};

    /// What the relay needs (in production: from the environment, `relay-contract.md` §1).
    pub use qc_harness::relay::RelayLaunch as Config;

    /// The running relay; stops when dropped.
    pub struct Relay {
        pub url: String,
        task: tokio::task::JoinHandle<()>,
    }

    impl Drop for Relay {
        fn drop(&mut self) {
            self.task.abort();
        }
    }

    /// Starts the relay on 127.0.0.1 and a free port.
    pub async fn start(config: Config) -> Relay {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("bind 127.0.0.1:0");
        let url = format!("http://{}", listener.local_addr().expect("local address"));
        let app = Router::new().route("/webhook", post(webhook)).with_state(Arc::new(config));
        let task = tokio::spawn(async move {
            axum::serve(listener, app).await.expect("relay server");
        });
        Relay { url, task }
    }

    async fn webhook(State(config): State<Arc<Config>>, headers: HeaderMap, body: String) -> StatusCode {
        let expected = format!("Basic {}", config.token);
        if headers.get("authorization").and_then(|v| v.to_str().ok()) != Some(expected.as_str()) {
            return StatusCode::UNAUTHORIZED;
        }
        let Ok(event) = WebhookEvent::from_json(body.as_bytes(), "webhook") else {
            return StatusCode::BAD_REQUEST;
        };
        // Your relay's own mapping goes here; this example borrows the reference one.
        let Ok(record) = map_event(&event, &config.settings) else {
            return StatusCode::OK; // not forwarded: still acknowledged
        };
        let upload = reqwest::Client::new()
            .post(format!("{}/1/upload", config.clevertap_url))
            .header("X-CleverTap-Account-Id", &config.account_id)
            .header("X-CleverTap-Passcode", &config.passcode)
            .json(&upload_body(&[record]))
            .send()
            .await;
        match upload {
            Ok(answer) if answer.status().is_success() => StatusCode::OK,
            _ => StatusCode::SERVICE_UNAVAILABLE, // Qonversion redelivers
        }
    }
}

async fn start_relay_against(clevertap: &FakeCleverTap) -> my_relay::Relay {
    let launch = my_relay::Config::new(clevertap.uri(), qc_harness::Settings::default());
    let (account_id, passcode) = (clevertap.account_id().to_string(), clevertap.passcode().to_string());
    my_relay::start(my_relay::Config { token: TOKEN.to_string(), account_id, passcode, ..launch }).await
}

#[tokio::test]
async fn rust_relay_in_process_uploads_the_snapshotted_records() {
    let clevertap = FakeCleverTap::start().await;
    let relay = start_relay_against(&clevertap).await;
    let qonversion = FakeQonversion::new(format!("{}/webhook", relay.url), TOKEN);
    let catalogue = FixtureCatalogue::built_in().expect("built-in fixtures");
    let names = ["trial_started.ios", "subscription_renewed.android", "in_app_refunded.ios"];
    for name in names.into_iter().chain(["subscription_downgraded.ios"]) {
        let fixture = catalogue.get(name).unwrap_or_else(|| panic!("no built-in fixture {name}"));
        let delivery = qonversion.send(&fixture.event).await;
        assert!(delivery.succeeded(), "{name}: {:?}", delivery.attempts);
    }

    let records =
        clevertap.wait_for_records(names.len(), DEADLINE).await.expect("records within the deadline");
    let mut records: Vec<Value> = records.into_iter().map(|entry| entry.record).collect();
    records.sort_by_key(|r| r["evtName"].as_str().unwrap_or_default().to_string());
    assert_eq!(records.len(), 3, "subscription_downgraded is never forwarded: {records:#?}");
    insta::assert_json_snapshot!("in_process_rust_relay_records", records);
}

#[tokio::test]
async fn rust_relay_in_process_rejects_a_wrong_token_and_uploads_nothing() {
    let clevertap = FakeCleverTap::start().await;
    let relay = start_relay_against(&clevertap).await;
    let qonversion = FakeQonversion::new(format!("{}/webhook", relay.url), TOKEN);
    let catalogue = FixtureCatalogue::built_in().expect("built-in fixtures");
    let event = &catalogue.get("subscription_renewed.ios").expect("fixture").event;

    let body = FakeQonversion::body_of(event);
    let wrong = qonversion.send_raw(body.clone(), Some("Basic not-the-token".to_string())).await;
    let missing = qonversion.send_raw(body, None).await;
    assert_eq!((wrong.status, missing.status), (Some(401), Some(401)));

    // A correct delivery afterwards is the only upload.
    assert!(qonversion.send(event).await.succeeded());
    let requests = clevertap.wait_for_requests(1, DEADLINE).await.expect("one upload");
    assert_eq!(requests.len(), 1, "{requests:#?}");
}
