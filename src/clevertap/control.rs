//! The standalone mode's journal endpoint: `GET /__harness/requests` serves the journal as
//! JSON, `DELETE /__harness/requests` clears it (and the request counter; faults stay).
//!
//! Paging: `?since=SEQ` (requests numbered after SEQ), `?limit=N` (at most N, oldest first),
//! `?records=true|false`. Without `since` and `limit` the answer is the whole journal with its
//! records, as it always was; with either, records come only when `records=true` is asked
//! for, and `limit` defaults to [`DEFAULT_PAGE`]. The answer carries `x-qc-next-since`: the
//! `since` of the next page (the last seq served, or `since` itself when nothing was new).
//!
//! The journal is serialised one entry at a time from shared handles copied under its lock,
//! so a read never blocks an upload's append; it still runs on wiremock's one server thread,
//! which is why large journals should be read in pages.

use std::sync::Arc;

use wiremock::{Request, ResponseTemplate};

use super::answer::CONTENT_TYPE;
use super::engine::Engine;
use super::journal::Stored;

/// Requests per page when `limit` is not given on a paged read.
pub const DEFAULT_PAGE: usize = 100;

/// What a `GET` asked for.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Query {
    since: u64,
    limit: usize,
    records: bool,
}

/// Parses the query; `Err` names the bad parameter.
fn parse_query(request: &Request) -> Result<Query, String> {
    let (mut since, mut limit, mut records) = (None, None, None);
    for (key, value) in request.url.query_pairs() {
        let number = || value.parse::<u64>().map_err(|_| format!("{key}={value} is not a whole number"));
        match key.as_ref() {
            "since" => since = Some(number()?),
            "limit" => limit = Some(usize::try_from(number()?).unwrap_or(usize::MAX)),
            "records" => {
                records = Some(parse_bool(&value).ok_or(format!("records={value}: use true or false"))?)
            }
            _ => {}
        }
    }
    let paged = since.is_some() || limit.is_some();
    Ok(Query {
        since: since.unwrap_or(0),
        limit: limit.unwrap_or(if paged { DEFAULT_PAGE } else { usize::MAX }),
        records: records.unwrap_or(!paged),
    })
}

fn parse_bool(text: &str) -> Option<bool> {
    match text {
        "1" | "true" | "yes" => Some(true),
        "0" | "false" | "no" => Some(false),
        _ => None,
    }
}

/// The entries as pretty JSON, built one at a time (only one parsed entry alive at once).
fn serialise(entries: &[Arc<Stored>], records: bool) -> String {
    let mut out = Vec::with_capacity(entries.len() * 1024);
    let mut serializer = serde_json::Serializer::pretty(&mut out);
    let each = entries.iter().map(|e| e.entry(records));
    match serde::Serializer::collect_seq(&mut serializer, each) {
        Ok(()) => String::from_utf8(out).unwrap_or_default(),
        Err(e) => format!(r#"{{"error":"cannot serialise the journal: {e}"}}"#),
    }
}

fn get(engine: &Engine, request: &Request) -> ResponseTemplate {
    let query = match parse_query(request) {
        Ok(query) => query,
        Err(error) => {
            let body = serde_json::json!({ "error": error }).to_string();
            return ResponseTemplate::new(400).set_body_raw(body, CONTENT_TYPE);
        }
    };
    let page = engine.journal.page(query.since, query.limit);
    let next = page.last().map_or(query.since, |e| e.seq());
    ResponseTemplate::new(200)
        .insert_header("x-qc-next-since", next.to_string().as_str())
        .set_body_raw(serialise(&page, query.records), CONTENT_TYPE)
}

/// Answers a request to the control path.
pub(crate) fn respond(engine: &Engine, request: &Request) -> ResponseTemplate {
    match request.method.as_str() {
        "GET" | "HEAD" => get(engine, request),
        "DELETE" => {
            let cleared = engine.journal.len();
            engine.reset(false);
            ResponseTemplate::new(200).set_body_raw(format!(r#"{{"cleared":{cleared}}}"#), CONTENT_TYPE)
        }
        _ => ResponseTemplate::new(405)
            .insert_header("allow", "GET, DELETE")
            .set_body_raw(r#"{"error":"use GET or DELETE"}"#, CONTENT_TYPE),
    }
}
