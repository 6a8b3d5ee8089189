//! The standalone mode's journal endpoint: `GET /__harness/requests` serves the journal as
//! JSON, `DELETE /__harness/requests` clears it (and the request counter; faults stay).
//!
//! Paging: `?since=SEQ` (requests numbered after SEQ), `?limit=N` (at most N, oldest first),
//! `?records=true|false`. Without `since` and `limit` the answer is the whole journal with its
//! records, pretty-printed, as it always was. With either, the page is compact JSON, records
//! come only when `records=true` is asked for, `limit` defaults to [`DEFAULT_PAGE`], and a page
//! ends early past [`PAGE_BYTES`] (1 MiB). The answer carries `x-qc-next-since`: the `since` of the
//! next page (the last seq served, or `since` itself when nothing was new).
//!
//! [`prepare`] copies the shared handles a read needs under the journal's lock (the caller's
//! thread); the entries are then serialised one at a time, and the front does that on a
//! low-priority thread of its own and streams the whole journal (`front/read.rs`). Pages
//! still bound the memory of one answer.

use std::sync::Arc;

use wiremock::http::{Method, Url};

use super::engine::Engine;
use super::journal::Stored;

/// Requests per page when `limit` is not given on a paged read.
pub const DEFAULT_PAGE: usize = 100;
/// A page stops after the entry that takes it past this much JSON (bounds one answer's size).
pub const PAGE_BYTES: usize = 1024 * 1024;

/// What a `GET` asked for.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Query {
    paged: bool,
    since: u64,
    limit: usize,
    records: bool,
}

/// Parses the query; `Err` names the bad parameter.
fn parse_query(url: &Url) -> Result<Query, String> {
    let (mut since, mut limit, mut records) = (None, None, None);
    for (key, value) in url.query_pairs() {
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
        paged,
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

/// Writes the whole-journal answer (pretty JSON) for `entries` to `out`, one entry at a time
/// (only one parsed entry alive at once).
pub(crate) fn write_whole(entries: &[Arc<Stored>], out: impl std::io::Write) -> serde_json::Result<()> {
    let mut serializer = serde_json::Serializer::pretty(out);
    serde::Serializer::collect_seq(&mut serializer, entries.iter().map(|e| e.entry(true)))
}

/// A page as compact JSON: entries until [`PAGE_BYTES`] is reached (at least one); returns
/// the text and the seq of the last entry in it.
fn serialise_page(entries: &[Arc<Stored>], records: bool) -> (String, Option<u64>) {
    let mut out = b"[".to_vec();
    let mut last = None;
    for stored in entries {
        if last.is_some() && out.len() >= PAGE_BYTES {
            break;
        }
        if last.is_some() {
            out.push(b',');
        }
        if let Err(e) = serde_json::to_writer(&mut out, &stored.entry(records)) {
            return (format!(r#"{{"error":"cannot serialise the journal: {e}"}}"#), None);
        }
        last = Some(stored.seq());
    }
    out.push(b']');
    (String::from_utf8(out).unwrap_or_default(), last)
}

/// A control endpoint's answer (JSON body).
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct ControlAnswer {
    /// HTTP status.
    pub(crate) status: u16,
    /// `x-qc-next-since` (reads only).
    pub(crate) next_since: Option<u64>,
    /// `allow` (405 only).
    pub(crate) allow: Option<&'static str>,
    /// The JSON text.
    pub(crate) body: String,
}

impl ControlAnswer {
    fn json(status: u16, body: String) -> ControlAnswer {
        ControlAnswer { status, next_since: None, allow: None, body }
    }
}

/// A request to the control path, with the journal's entries it needs already taken.
pub(crate) enum Read {
    /// Answered already (`DELETE`, a bad query, another method).
    Done(ControlAnswer),
    /// A page: these entries, compact JSON.
    Page {
        /// The entries after `since`, at most `limit`.
        entries: Vec<Arc<Stored>>,
        /// The `since` asked for.
        since: u64,
        /// Whether records were asked for.
        records: bool,
    },
    /// The whole journal (pretty JSON, records included).
    Whole(Vec<Arc<Stored>>),
}

/// Takes what a request to the control path needs from the journal (shared handles copied
/// under its lock), or answers it outright. Cheap: the serialising is left to the caller.
pub(crate) fn prepare(engine: &Engine, method: &Method, url: &Url) -> Read {
    match method.as_str() {
        "GET" | "HEAD" => match parse_query(url) {
            Ok(query) => {
                let entries = engine.journal.page(query.since, query.limit);
                if query.paged {
                    Read::Page { entries, since: query.since, records: query.records }
                } else {
                    Read::Whole(entries)
                }
            }
            Err(error) => {
                Read::Done(ControlAnswer::json(400, serde_json::json!({ "error": error }).to_string()))
            }
        },
        "DELETE" => {
            let cleared = engine.journal.len();
            engine.reset(false);
            Read::Done(ControlAnswer::json(200, format!(r#"{{"cleared":{cleared}}}"#)))
        }
        _ => Read::Done(ControlAnswer {
            allow: Some("GET, DELETE"),
            ..ControlAnswer::json(405, r#"{"error":"use GET or DELETE"}"#.to_string())
        }),
    }
}

/// A page's answer: `entries` as compact JSON, with the next `since`.
pub(crate) fn page_answer(entries: &[Arc<Stored>], since: u64, records: bool) -> ControlAnswer {
    let (body, last) = serialise_page(entries, records);
    ControlAnswer { next_since: Some(last.unwrap_or(since)), ..ControlAnswer::json(200, body) }
}
