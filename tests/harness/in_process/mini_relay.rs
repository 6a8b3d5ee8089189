//! A small in-process relay for the suite's own tests: the reference mapping, one upload per
//! webhook, no retries; `Bug` breaks it on purpose.

use std::sync::{Arc, Mutex};

use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::routing::post;
use qc_harness::{RelayAdapter, RelayHandle, RelaySetup};
use qc_harness::{Settings, WebhookEvent, mapping::expected_records};
use serde_json::Value;

/// What is wrong with the relay.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Bug {
    /// None: the reference mapping.
    None,
    /// Leaves `ts` out of every record.
    DropsTs,
    /// Forwards events the settings disable.
    ForwardsDisabledEvents,
    /// Sends only identity, ts, type, evtName and evtData.platform.
    FiveFields,
    /// [`Bug::FiveFields`] with the platform wrong.
    FiveFieldsWrongPlatform,
}

/// The five fields [`Bug::FiveFields`] sends.
pub const FIVE: [&str; 5] = ["identity", "ts", "type", "evtName", "evtData.platform"];

struct Relay {
    bug: Bug,
    setup_token: String,
    settings: Settings,
    upload_url: String,
    account_id: String,
    passcode: String,
    client: reqwest::Client,
}

/// An adapter starting the relay with `bug`; every start's settings are pushed to `seen`.
pub fn adapter(bug: Bug, seen: Arc<Mutex<Vec<Settings>>>) -> impl RelayAdapter {
    move |setup: RelaySetup| {
        let seen = seen.clone();
        async move {
            seen.lock().unwrap().push(setup.settings.clone());
            let relay = Arc::new(Relay {
                bug,
                setup_token: setup.token.clone(),
                settings: setup.settings.clone(),
                upload_url: setup.upload_url(),
                account_id: setup.account_id.clone(),
                passcode: setup.passcode.clone(),
                client: reqwest::Client::new(),
            });
            let app = axum::Router::new().route("/webhook", post(webhook)).with_state(relay);
            Ok(RelayHandle::spawn(async move { axum::serve(setup.listener, app).await }))
        }
    }
}

async fn webhook(State(relay): State<Arc<Relay>>, headers: HeaderMap, body: Bytes) -> StatusCode {
    let auth = headers.get("authorization").and_then(|v| v.to_str().ok());
    if auth != Some(&format!("Basic {}", relay.setup_token)) {
        return StatusCode::UNAUTHORIZED;
    }
    let Ok(event) = serde_json::from_slice::<WebhookEvent>(&body) else { return StatusCode::BAD_REQUEST };
    let mut settings = relay.settings.clone();
    if relay.bug == Bug::ForwardsDisabledEvents {
        settings.events.values_mut().for_each(|e| e.enabled = None);
    }
    let records: Vec<Value> =
        expected_records(&event, &settings).iter().map(|r| break_record(r.to_value(), relay.bug)).collect();
    if records.is_empty() {
        return StatusCode::OK;
    }
    let sent = relay
        .client
        .post(&relay.upload_url)
        .header("X-CleverTap-Account-Id", &relay.account_id)
        .header("X-CleverTap-Passcode", &relay.passcode)
        .json(&serde_json::json!({ "d": records }))
        .send()
        .await;
    match sent {
        Ok(answer) if answer.status().is_success() => StatusCode::OK,
        _ => StatusCode::SERVICE_UNAVAILABLE,
    }
}

fn break_record(mut record: Value, bug: Bug) -> Value {
    match bug {
        Bug::DropsTs => {
            record.as_object_mut().map(|r| r.remove("ts"));
        }
        Bug::FiveFields | Bug::FiveFieldsWrongPlatform => {
            let mut data = serde_json::Map::new();
            if let Some(platform) = record["evtData"].get("platform") {
                let wrong = Value::from("Windows Phone");
                data.insert("platform".into(), if bug == Bug::FiveFields { platform.clone() } else { wrong });
            }
            record["evtData"] = Value::Object(data);
        }
        Bug::None | Bug::ForwardsDisabledEvents => {}
    }
    record
}
