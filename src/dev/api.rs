//! The JSON API under `/api` (documented in `docs/dev.md`) and the page's assets at `/`.
//! The page uses nothing else; scripts may use it too.

use std::sync::Arc;

use axum::extract::rejection::{JsonRejection, QueryRejection};
use axum::extract::{Path, Query, State};
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{delete, get, post};
use axum::{Json, Router};
use serde::Deserialize;
use serde::de::DeserializeOwned;
use serde_json::{Value, json};

use super::api_error::ApiError;
use super::faults::FaultRequest;
use super::records::{ListQuery, record_page, upload_page};
use super::send::{JourneyRequest, SendRequest};
use super::state::DevState;
use super::{assets, guard, sse};

type Shared = State<Arc<DevState>>;
type ApiResult = Result<Response, ApiError>;

/// The whole router: page, API and event stream.
pub fn router(state: Arc<DevState>) -> Router {
    let api = Router::new()
        .route("/state", get(get_state))
        .route("/fixtures", get(get_fixtures))
        .route("/send", post(post_send))
        .route("/journey", post(post_journey))
        .route("/webhooks", get(get_webhooks))
        .route("/uploads", get(get_uploads))
        .route("/records", get(get_records))
        .route("/relay", get(get_relay))
        .route("/relay/restart", post(post_restart))
        .route("/variant", post(post_variant))
        .route("/faults", get(get_faults).post(post_fault).delete(delete_faults))
        .route("/faults/{id}", delete(delete_fault))
        .route("/journal", get(get_journal).delete(delete_journal))
        .route("/events", get(sse::events))
        .fallback(|| async { ApiError::not_found("no such API endpoint; see docs/dev.md") });
    Router::new()
        .nest("/api", api)
        .merge(assets::routes())
        .layer(axum::middleware::from_fn(guard::same_origin_only))
        .with_state(state)
}

/// A JSON body, or a 400/415 that says what is wrong with it.
fn body<T: DeserializeOwned>(body: Result<Json<T>, JsonRejection>) -> Result<T, ApiError> {
    body.map(|Json(t)| t)
        .map_err(|e| ApiError { status: e.status(), message: format!("request body: {}", e.body_text()) })
}

/// Query parameters, or a 400 that says which one is wrong.
fn query<T: DeserializeOwned>(query: Result<Query<T>, QueryRejection>) -> Result<T, ApiError> {
    query.map(|Query(q)| q).map_err(|e| ApiError::bad_request(format!("query: {}", e.body_text())))
}

fn ok(value: impl serde::Serialize) -> ApiResult {
    Ok(Json(value).into_response())
}

async fn get_state(State(state): Shared) -> ApiResult {
    let journal = state.fake.journal();
    let requests = journal.requests();
    let records: usize = requests.iter().map(|r| r.outcomes.len()).sum();
    let variants: Vec<Value> =
        state.variants.iter().map(|v| json!({"name": v.name, "origin": v.origin})).collect();
    ok(json!({
        "version": env!("CARGO_PKG_VERSION"),
        "clevertap": {
            "url": state.fake.uri(),
            "upload_url": format!("{}{}", state.fake.uri(), crate::clevertap::UPLOAD_PATH),
            "account_id": state.fake.account_id(),
            "region": state.fake.region(),
        },
        "relay": state.relay.info(),
        "variant": state.variant().name,
        "variants": variants,
        "faults": state.faults(),
        "counts": {
            "webhooks": state.webhooks().len(),
            "uploads": requests.len(),
            "records": records,
            "processed": journal.processed_count(),
            "dropped_from_journal": journal.dropped(),
        },
    }))
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct Search {
    #[serde(default)]
    q: Option<String>,
}

async fn get_fixtures(State(state): Shared, params: Result<Query<Search>, QueryRejection>) -> ApiResult {
    let search = query(params)?;
    let words: Vec<String> =
        search.q.unwrap_or_default().to_lowercase().split_whitespace().map(str::to_string).collect();
    let matches = |text: &str| words.iter().all(|w| text.to_lowercase().contains(w.as_str()));
    let fixtures: Vec<Value> = state
        .catalogue
        .events
        .iter()
        .filter(|f| matches(&format!("{} {}", f.name, f.event.event_name)))
        .map(|f| {
            json!({"name": f.name, "event_name": f.event.event_name,
                   "platform": f.event.platform.get(), "environment": f.event.environment.get()})
        })
        .collect();
    let journeys: Vec<Value> = state
        .catalogue
        .journeys
        .iter()
        .filter(|j| matches(&j.name))
        .map(|j| {
            let names: Vec<&str> = j.events.iter().map(|e| e.event_name.as_str()).collect();
            json!({"name": j.name, "events": names})
        })
        .collect();
    ok(json!({"fixtures": fixtures, "journeys": journeys}))
}

async fn post_send(State(state): Shared, request: Result<Json<SendRequest>, JsonRejection>) -> ApiResult {
    let request = body(request)?;
    ok(state.send_fixture(&request).await?)
}

async fn post_journey(
    State(state): Shared,
    request: Result<Json<JourneyRequest>, JsonRejection>,
) -> ApiResult {
    let request = body(request)?;
    ok(state.send_journey(&request).await?)
}

async fn get_webhooks(State(state): Shared, params: Result<Query<ListQuery>, QueryRejection>) -> ApiResult {
    let list = query(params)?;
    let limit = list.limit().map_err(ApiError::bad_request)?;
    let log = state.webhooks();
    ok(
        json!({"total": log.len(), "offset": list.offset, "limit": limit, "items": log.page(list.offset, limit)}),
    )
}

async fn get_uploads(State(state): Shared, params: Result<Query<ListQuery>, QueryRejection>) -> ApiResult {
    let list = query(params)?;
    let entries = state.fake.journal().requests();
    ok(upload_page(&entries, &list, &state.redactor).map_err(ApiError::bad_request)?)
}

async fn get_records(State(state): Shared, params: Result<Query<ListQuery>, QueryRejection>) -> ApiResult {
    let list = query(params)?;
    let entries = state.fake.journal().requests();
    let expected = state.webhooks().expected();
    ok(record_page(&entries, &expected, &list, &state.redactor).map_err(ApiError::bad_request)?)
}

async fn get_relay(State(state): Shared) -> ApiResult {
    state.relay.refresh();
    ok(state.relay.info())
}

async fn post_restart(State(state): Shared) -> ApiResult {
    state.switch_variant(&state.variant().name).await?;
    ok(state.relay.info())
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct VariantRequest {
    name: String,
}

async fn post_variant(
    State(state): Shared,
    request: Result<Json<VariantRequest>, JsonRejection>,
) -> ApiResult {
    let request = body(request)?;
    state.switch_variant(request.name.trim()).await?;
    ok(json!({"variant": state.variant().name, "relay": state.relay.info()}))
}

async fn get_faults(State(state): Shared) -> ApiResult {
    ok(state.faults())
}

async fn post_fault(State(state): Shared, request: Result<Json<FaultRequest>, JsonRejection>) -> ApiResult {
    let request = body(request)?;
    let rule = state.add_fault(&request)?;
    Ok((StatusCode::CREATED, Json(rule)).into_response())
}

async fn delete_faults(State(state): Shared) -> ApiResult {
    state.clear_faults();
    ok(state.faults())
}

async fn delete_fault(
    State(state): Shared,
    id: Result<Path<u64>, axum::extract::rejection::PathRejection>,
) -> ApiResult {
    let Path(id) = id.map_err(|e| ApiError::bad_request(format!("fault id: {}", e.body_text())))?;
    state.remove_fault(id)?;
    ok(state.faults())
}

async fn get_journal(State(state): Shared) -> ApiResult {
    let entries = state.fake.journal().requests();
    let text = serde_json::to_string_pretty(&entries)
        .map_err(|e| ApiError::from(crate::Error::Failed(format!("cannot serialise the journal: {e}"))))?;
    let headers = [
        (header::CONTENT_TYPE, "application/json"),
        (header::CONTENT_DISPOSITION, "attachment; filename=\"qc-harness-journal.json\""),
    ];
    Ok((headers, state.redactor.text(&text)).into_response())
}

async fn delete_journal(State(state): Shared) -> ApiResult {
    ok(json!({"cleared": state.clear_journal()}))
}
