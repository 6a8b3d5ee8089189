//! The relay's HTTP side: `POST <webhook path>` and `GET /health`.

use std::sync::Arc;

use axum::Router;
use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use serde_json::{Value, json};

use super::dedup::{Claim, Deliveries, delivery_key, outcome};
use super::tracker::Tracker;
use super::upload::{UploadOutcome, Uploader};
use crate::mapping::{Settings, Skip, map_event};
use crate::qonversion::catalogue::event_kind;
use crate::qonversion::event::WebhookEvent;

/// What the handlers share.
#[derive(Debug)]
pub(crate) struct Relay {
    pub(crate) token: String,
    pub(crate) settings: Settings,
    pub(crate) uploader: Uploader,
    pub(crate) deliveries: Deliveries,
    pub(crate) tracker: Tracker,
}

/// The relay's routes.
pub(crate) fn router(relay: Arc<Relay>, webhook_path: &str) -> Router {
    Router::new().route(webhook_path, post(webhook)).route("/health", get(health)).with_state(relay)
}

async fn health() -> Response {
    (StatusCode::OK, axum::Json(json!({"status": "ok"}))).into_response()
}

async fn webhook(State(relay): State<Arc<Relay>>, headers: HeaderMap, body: Bytes) -> Response {
    if !authorized(&headers, &relay.token) {
        tracing::warn!("webhook refused: missing or wrong Authorization header");
        let mut response =
            answer(StatusCode::UNAUTHORIZED, "refused", "missing or wrong Authorization: Basic <token>");
        response.headers_mut().insert(header::WWW_AUTHENTICATE, header::HeaderValue::from_static("Basic"));
        return response;
    }
    let event = match parse(&body) {
        Ok(Some(event)) => event,
        Ok(None) => return answer(StatusCode::OK, "skipped", "unknown event"),
        Err(message) => {
            tracing::warn!("webhook rejected: {message}");
            return answer(StatusCode::BAD_REQUEST, "invalid", &message);
        }
    };
    let record = match map_event(&event, &relay.settings) {
        Ok(record) => record.to_value(),
        Err(skip) => {
            let reason = skip_reason(skip);
            tracing::info!("{}: not forwarded ({reason})", event.event_name);
            return answer(StatusCode::OK, "skipped", reason);
        }
    };
    // The delivery runs as a task of its own: it finishes (and is remembered) even when
    // Qonversion hangs up first, and a graceful shutdown waits for it.
    let guard = relay.tracker.enter();
    let task = tokio::spawn(async move {
        let _guard = guard;
        deliver(&relay, &event, &record).await
    });
    match task.await {
        Ok(response) => response,
        Err(e) => answer(StatusCode::INTERNAL_SERVER_ERROR, "failed", &format!("delivery task failed: {e}")),
    }
}

/// Uploads once per delivery key; redeliveries are answered from the first one's outcome.
async fn deliver(relay: &Relay, event: &WebhookEvent, record: &Value) -> Response {
    let key = delivery_key(event);
    let name = &event.event_name;
    loop {
        let guard = match relay.deliveries.claim(&key) {
            Claim::Done => {
                tracing::info!("{name}: redelivery of {key}, already uploaded");
                return answer(StatusCode::OK, "duplicate", "already delivered");
            }
            Claim::Wait(receiver) => {
                if outcome(receiver).await {
                    return answer(StatusCode::OK, "duplicate", "already delivered");
                }
                continue;
            }
            Claim::Owner(guard) => guard,
        };
        let result = relay.uploader.upload(record).await;
        let (final_outcome, response) = respond(name, &result);
        guard.finish(final_outcome);
        return response;
    }
}

/// The webhook answer for an upload outcome, and whether the key is finished.
fn respond(name: &str, result: &UploadOutcome) -> (bool, Response) {
    match result {
        UploadOutcome::Uploaded { attempts } => {
            tracing::info!("{name}: uploaded ({attempts} attempt(s))");
            (true, answer(StatusCode::OK, "uploaded", &format!("{attempts} attempt(s)")))
        }
        UploadOutcome::Rejected { code, error } => {
            // A record CleverTap keeps refusing would be refused again: acknowledge it so
            // that Qonversion does not redeliver it, and remember it as finished.
            tracing::error!("{name}: CleverTap rejected the record ({code}: {error}); not retried");
            (true, answer(StatusCode::OK, "rejected", &format!("CleverTap code {code}: {error}")))
        }
        UploadOutcome::Refused { status, body } => {
            tracing::error!("{name}: CleverTap refused the upload with {status}: {body}");
            let message = format!("CleverTap answered {status}: {body}");
            (false, answer(StatusCode::BAD_GATEWAY, "failed", &message))
        }
        UploadOutcome::GaveUp { reason } => {
            tracing::error!("{name}: upload failed, Qonversion should redeliver: {reason}");
            (false, answer(StatusCode::SERVICE_UNAVAILABLE, "failed", reason))
        }
    }
}

/// Why an event is not uploaded, in words.
fn skip_reason(skip: Skip) -> &'static str {
    match skip {
        Skip::UnknownEvent => "unknown event",
        Skip::NotForwardable => "never forwarded to integrations",
        Skip::Disabled => "disabled in the settings",
        Skip::Sandbox => "sandbox event and send_sandbox is false",
        Skip::NoIdentity => "no custom_user_id: no CleverTap identity",
    }
}

/// `Ok(Some(event))` for a known event, `Ok(None)` for an unknown one, `Err` for a bad body.
fn parse(body: &[u8]) -> Result<Option<WebhookEvent>, String> {
    let value: Value = serde_json::from_slice(body).map_err(|e| format!("the body is not JSON: {e}"))?;
    let Value::Object(object) = &value else {
        return Err("the body is not a JSON object".to_string());
    };
    let name = object.get("event_name").and_then(Value::as_str);
    let name = name.ok_or("event_name is missing or not a string")?;
    if event_kind(name).is_none() {
        tracing::info!("{name}: unknown event, not forwarded");
        return Ok(None);
    }
    crate::json_input::parse(body, "webhook").map(Some).map_err(|e| e.to_string())
}

/// `Authorization: Basic <token>` with the raw token (scheme case-insensitive).
fn authorized(headers: &HeaderMap, token: &str) -> bool {
    let Some(value) = headers.get(header::AUTHORIZATION).and_then(|v| v.to_str().ok()) else {
        return false;
    };
    let Some((scheme, given)) = value.trim().split_once(' ') else { return false };
    scheme.eq_ignore_ascii_case("basic") && constant_time_eq(given.trim().as_bytes(), token.as_bytes())
}

fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    a.len() == b.len() && a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

fn answer(status: StatusCode, outcome: &str, detail: &str) -> Response {
    (status, axum::Json(json!({"status": outcome, "detail": detail}))).into_response()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn headers(value: &str) -> HeaderMap {
        let mut headers = HeaderMap::new();
        headers.insert(header::AUTHORIZATION, value.parse().unwrap());
        headers
    }

    #[test]
    fn accepts_only_the_raw_token() {
        assert!(authorized(&headers("Basic tok"), "tok"));
        assert!(authorized(&headers("basic tok"), "tok"));
        assert!(!authorized(&headers("Basic dG9r"), "tok"));
        assert!(!authorized(&headers("Bearer tok"), "tok"));
        assert!(!authorized(&headers("Basic tok2"), "tok"));
        assert!(!authorized(&HeaderMap::new(), "tok"));
    }

    #[test]
    fn a_badly_typed_known_event_names_the_json_path() {
        let err = parse(br#"{"event_name":"trial_started","time":"soon"}"#).unwrap_err();
        assert!(err.contains("time"), "{err}");
        assert_eq!(parse(br#"{"event_name":"brand_new","time":"soon"}"#), Ok(None));
        assert!(parse(b"[1]").unwrap_err().contains("not a JSON object"));
        assert!(parse(b"{").unwrap_err().contains("not JSON"));
    }
}
