//! A small Qonversion → CleverTap relay on axum: the example of testing a Rust relay with
//! qc-harness in-process (see `tests/relay.rs`).
//!
//! What it does, per `relay-contract.md`:
//! - answers 401 without `Authorization: Basic <token>`, 400 for a body that is not a JSON
//!   object, 2xx for unknown, disabled, sandbox and `subscription_downgraded` events;
//! - maps each forwarded event to one CleverTap record with the fields in [`MAPPED_FIELDS`]
//!   (no revenue: a declared partial mapping);
//! - uploads it, retrying 429, 5xx and connection errors with exponential backoff (honouring
//!   `Retry-After`), at most 15 uploads in flight; answers 2xx once uploaded, 503 when the
//!   retries ran out (Qonversion then redelivers);
//! - uploads a redelivered webhook once (key: event name, user, transaction, time).

mod mapping;
mod upload;

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use axum::Router;
use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::routing::post;
use serde_json::Value;

pub use mapping::{MAPPED_FIELDS, Settings, map_event};
pub use upload::Uploader;

/// The relay's configuration (in production: from the environment and the settings file).
#[derive(Debug, Clone)]
pub struct Config {
    /// CleverTap's base URL; uploads go to `<url>/1/upload`.
    pub clevertap_url: String,
    /// `X-CleverTap-Account-Id`.
    pub account_id: String,
    /// `X-CleverTap-Passcode`.
    pub passcode: String,
    /// The webhook token Qonversion sends as `Authorization: Basic <token>`.
    pub token: String,
    /// The integration settings.
    pub settings: Settings,
}

struct Relay {
    config: Config,
    uploader: Uploader,
    /// Per delivery key: uploaded yet? The lock makes a concurrent redelivery wait for the first.
    deliveries: Mutex<HashMap<String, Arc<tokio::sync::Mutex<bool>>>>,
}

/// The relay's routes: `POST /webhook`.
pub fn router(config: Config) -> Router {
    let uploader = Uploader::new(&config.clevertap_url, &config.account_id, &config.passcode);
    let relay = Arc::new(Relay { config, uploader, deliveries: Mutex::default() });
    Router::new().route("/webhook", post(webhook)).with_state(relay)
}

async fn webhook(State(relay): State<Arc<Relay>>, headers: HeaderMap, body: Bytes) -> StatusCode {
    let expected = format!("Basic {}", relay.config.token);
    if headers.get("authorization").and_then(|v| v.to_str().ok()) != Some(expected.as_str()) {
        return StatusCode::UNAUTHORIZED;
    }
    let Ok(Value::Object(event)) = serde_json::from_slice::<Value>(&body) else {
        return StatusCode::BAD_REQUEST;
    };
    let event = Value::Object(event);
    let Some(record) = map_event(&event, &relay.config.settings) else {
        return StatusCode::OK; // unknown, disabled, sandbox, downgraded or without a user
    };
    let slot = relay.deliveries.lock().unwrap().entry(delivery_key(&event)).or_default().clone();
    let mut delivered = slot.lock().await;
    if *delivered {
        return StatusCode::OK;
    }
    if relay.uploader.upload(&record).await {
        *delivered = true;
        StatusCode::OK
    } else {
        StatusCode::SERVICE_UNAVAILABLE
    }
}

/// What makes a webhook the same event again: name, user, transaction and time.
fn delivery_key(event: &Value) -> String {
    let part = |v: Option<&Value>| v.map(Value::to_string).unwrap_or_default();
    [
        part(event.get("event_name")),
        part(event.get("user_id")),
        part(event.get("transaction").and_then(|t| t.get("transaction_id"))),
        part(event.get("time")),
    ]
    .join("|")
}
