//! The Upload API's rules as pure functions: the envelope (`{"d": [...]}`) and each record,
//! checked in the documented order (`clevertap-upload.md`). No I/O; property-tested.
//!
//! The fake checks uploads with a streaming pass over the body (`Upload`, `stream.rs`) that
//! proves most records valid without building anything, and falls back to these functions on
//! a parsed `View` for the rest, so every answer is the one they give.
//!
//! ```
//! use qc_harness::clevertap::validate::{Rules, check_record};
//! use serde_json::json;
//! let rules = Rules::default();
//! let ok = json!({"type": "event", "identity": "u1", "ts": 1700000000,
//!                 "evtName": "trial_started", "evtData": {"product_id": "pro"}});
//! assert!(check_record(&ok, &rules).is_ok());
//! let restricted = json!({"type": "event", "identity": "u1", "evtName": "App Launched", "evtData": {}});
//! assert_eq!(check_record(&restricted, &rules).unwrap_err().code, 513);
//! ```

use std::collections::BTreeSet;

use serde_json::Value;

use super::view::View;
use kinds::{check_profile, check_token};
pub use kinds::{valid_email, valid_phone};
use names::{has_prohibited_char, prohibited_char};
pub use names::{is_restricted, normalise_event_name};

mod count;
mod kinds;
mod names;
mod nested;
mod scan;
mod stops;
mod stream;
#[cfg(test)]
mod stream_tests;
#[cfg(test)]
mod tests;
mod upload;
pub(crate) use upload::{RecordResult, Upload};

/// Most records one request may carry.
pub const MAX_RECORDS: usize = 1000;
/// Largest accepted body (10 MiB); bigger bodies get HTTP 413.
pub const MAX_BODY_BYTES: usize = 10 * 1024 * 1024;
/// Default limit on event properties (code 522): CleverTap's current documentation says 100
/// per event by default, configurable per account (older pages said 256; see
/// `clevertap-upload.md`, "Property limit").
pub const DEFAULT_PROPERTY_LIMIT: usize = 100;
/// Longest accepted identity value (`identity`, `FBID`, `GPID`, `objectId`), in characters (code 523).
pub const MAX_IDENTITY_CHARS: usize = 120;
/// Deepest nesting level of an event property with Nested Objects on (the root key is level 0).
pub const MAX_NESTING_LEVEL: usize = 3;
/// The real 523 text (recorded from the live API), without the record number.
pub const IDENTITY_TEXT: &str =
    "'identity' or 'fbId' or 'gpId' or 'objectId' is necessary under 120 chars to identify the user. ";
/// Longest property key, in characters (code 512).
pub const MAX_KEY_CHARS: usize = 120;
/// Longest string property value, in bytes (code 512).
pub const MAX_VALUE_BYTES: usize = 512;
/// The thirteen characters an event name or property key may not contain.
pub const PROHIBITED_CHARS: [char; 13] = ['%', '>', '<', '!', '|', '&', '.', ':', ';', '$', '\'', '"', '\\'];
/// System event names a client may not raise (code 513), compared case-insensitively, spaces ignored.
pub const RESTRICTED_EVENTS: [&str; 17] = [
    "Notification Sent",
    "Notification Viewed",
    "Notification Clicked",
    "Notification Delivered",
    "Notification Replied",
    "UTM Visited",
    "App Launched",
    "App Uninstalled",
    "App Version Changed",
    "Stayed",
    "Reply Sent",
    "Experiment Rendered",
    "Reachable By",
    "Identity Reset",
    "Identity Set",
    "Identity Error",
    "Web Page Viewed",
];
/// Token types the Upload API knows (code 534).
pub const TOKEN_TYPES: [&str; 6] = ["chrome", "fcm", "gcm", "apns", "wns", "mpns"];

/// The account-level rules a record is checked against.
#[derive(Debug, Clone)]
pub struct Rules {
    /// Most properties an event may carry (code 522).
    pub property_limit: usize,
    /// Event names discarded in the account (code 528), compared exactly.
    pub discarded: BTreeSet<String>,
    /// The account's Nested Objects feature: objects and arrays accepted in `evtData`, up to
    /// [`MAX_NESTING_LEVEL`] levels deep. Off by default (then they get code 512).
    pub nested_objects: bool,
}

impl Default for Rules {
    fn default() -> Self {
        Rules { property_limit: DEFAULT_PROPERTY_LIMIT, discarded: BTreeSet::new(), nested_objects: false }
    }
}

/// Why a whole request was refused before its records were looked at.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EnvelopeError {
    /// HTTP status: 400 or 413.
    pub status: u16,
    /// The `error` text of the answer.
    pub error: String,
}

/// Why one record was skipped: its code and the error text (without the record number).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RecordError {
    /// The CleverTap error code (509..535).
    pub code: u16,
    /// The error text; the answer appends `Skipped record number : n`.
    pub message: String,
}

impl RecordError {
    fn new(code: u16, message: impl Into<String>) -> Self {
        RecordError { code, message: message.into() }
    }

    /// `<Subject> is incorrect. ErrorCode: <code> - <meaning>. ` (the form of undocumented texts).
    fn decided(code: u16, subject: &str, meaning: &str) -> Self {
        RecordError::new(code, format!("{subject} is incorrect. ErrorCode: {code} - {meaning}. "))
    }
}

/// The error text of a malformed body.
pub const MALFORMED: &str = "Malformed request";

/// Checks the envelope: size, JSON, `{"d": [..]}` with 1 to 1000 records.
///
/// ```
/// use qc_harness::clevertap::validate::check_envelope;
/// assert_eq!(check_envelope(br#"{"d":[{"type":"event"}]}"#).unwrap().len(), 1);
/// assert_eq!(check_envelope(b"{}").unwrap_err().status, 400);
/// ```
pub fn check_envelope(body: &[u8]) -> Result<Vec<Value>, EnvelopeError> {
    parse_envelope(body).map(|records| records.iter().map(View::to_value).collect())
}

/// [`check_envelope`] without copying: the records borrow from `body`.
pub(crate) fn parse_envelope(body: &[u8]) -> Result<Vec<View<'_>>, EnvelopeError> {
    if body.len() > MAX_BODY_BYTES {
        return Err(EnvelopeError {
            status: 413,
            error: format!(
                "Payload too large: the request body is over the 10 MiB limit ({} bytes)",
                body.len()
            ),
        });
    }
    let malformed = || EnvelopeError { status: 400, error: MALFORMED.to_string() };
    // One UTF-8 pass over the whole body, then a parse that need not check each string again
    // (the same bodies fail: invalid UTF-8 is malformed either way).
    let Ok(text) = std::str::from_utf8(body) else { return Err(malformed()) };
    let Ok(View::Object(envelope)) = serde_json::from_str::<View>(text) else {
        return Err(malformed());
    };
    let Some((_, View::Array(records))) = envelope.into_iter().rev().find(|(key, _)| key == "d") else {
        return Err(malformed());
    };
    if records.is_empty() {
        return Err(malformed());
    }
    if records.len() > MAX_RECORDS {
        return Err(EnvelopeError {
            status: 400,
            error: format!(
                "Too many records: {} in one request, the limit is {MAX_RECORDS} records per request",
                records.len()
            ),
        });
    }
    Ok(records)
}

/// How many records a whole-request refusal journals: the length of `d` when the envelope
/// is valid, else 0 (as [`parse_envelope`] counts them, without parsing the records).
pub(crate) fn record_count(body: &[u8]) -> usize {
    let counted = (body.len() <= MAX_BODY_BYTES)
        .then(|| std::str::from_utf8(body).ok())
        .flatten()
        .and_then(|text| count::count_records(text).ok());
    counted.unwrap_or_else(|| parse_envelope(body).map_or(0, |records| records.len()))
}

/// Benchmark hook, not API: answers an upload body as the fake does after auth, with the
/// streaming pass (`streaming`) or with the whole-body `View` parse it replaced. Returns the
/// answer text (or the envelope failure's).
#[doc(hidden)]
pub fn bench_answer(body: &[u8], rules: &Rules, streaming: bool) -> String {
    let upload = if streaming { Upload::read(body, rules) } else { Upload::parse(body) };
    match upload {
        Ok(upload) => {
            let results = upload.results(rules, &[]);
            super::answer::Answer::build(&results, |i| upload.echo(i)).body()
        }
        Err(e) => super::answer::failure(&e.error, e.status),
    }
}

/// Checks one record; the first failing rule in the documented order decides the code.
pub fn check_record(record: &Value, rules: &Rules) -> Result<(), RecordError> {
    check_view(&View::of(record), rules)
}

/// [`check_record`] on a borrowed record.
pub(crate) fn check_view(fields: &View, rules: &Rules) -> Result<(), RecordError> {
    let kind = match fields.get("type").and_then(View::as_str) {
        Some(kind @ ("event" | "profile" | "token")) => kind,
        _ => return Err(RecordError::decided(524, "Record type", "Data neither event nor profile")),
    };
    check_identity(fields)?;
    check_ts(fields.get("ts"))?;
    match kind {
        "event" => check_event(fields, rules),
        "profile" => check_profile(fields),
        _ => check_token(fields),
    }
}

fn present<'v, 'a>(fields: &'v View<'a>, key: &str) -> Option<&'v View<'a>> {
    fields.get(key).filter(|value| !value.is_null())
}

/// A non-empty string of at most [`MAX_IDENTITY_CHARS`] characters.
fn usable_id(text: &str) -> bool {
    !text.is_empty() && (text.len() <= MAX_IDENTITY_CHARS || text.chars().count() <= MAX_IDENTITY_CHARS)
}

fn is_identity(value: Option<&View>) -> bool {
    match value {
        Some(View::Str(s)) => usable_id(s),
        Some(View::Number(_)) => true,
        _ => false,
    }
}

fn check_identity(fields: &View) -> Result<(), RecordError> {
    let object_id = present(fields, "objectId");
    let object_id_ok = matches!(object_id, Some(View::Str(s)) if !s.is_empty());
    let object_id_usable = matches!(object_id, Some(View::Str(s)) if usable_id(s));
    let any = ["identity", "FBID", "GPID"].iter().any(|key| is_identity(present(fields, key)));
    if !any && !object_id_usable {
        return Err(RecordError::new(523, IDENTITY_TEXT));
    }
    if object_id.is_some() && !object_id_ok {
        return Err(RecordError::decided(526, "objectId", "objectId must be a non-empty string"));
    }
    Ok(())
}

/// `ts` rule (525): a positive integer of Unix seconds (at most 11 digits), or such a string.
pub fn valid_ts(value: &Value) -> bool {
    valid_ts_view(&View::of(value))
}

fn valid_ts_view(value: &View) -> bool {
    const LIMIT: u64 = 100_000_000_000; // 12 digits: milliseconds
    match value {
        View::Number(n) => n.as_u64().is_some_and(|secs| secs > 0 && secs < LIMIT),
        View::Str(s) => {
            !s.is_empty()
                && s.len() <= 11
                && s.bytes().all(|b| b.is_ascii_digit())
                && s.parse::<u64>().is_ok_and(|secs| secs > 0)
        }
        _ => false,
    }
}

fn check_ts(ts: Option<&View>) -> Result<(), RecordError> {
    match ts {
        Some(value) if !value.is_null() && !valid_ts_view(value) => {
            Err(RecordError::new(525, "Timestamp should be present in the Unix Epoch format. "))
        }
        _ => Ok(()),
    }
}

fn check_event(fields: &View, rules: &Rules) -> Result<(), RecordError> {
    let name = match present(fields, "evtName") {
        Some(View::Str(name)) if !name.trim().is_empty() => name.as_ref(),
        _ => {
            return Err(RecordError::new(
                509,
                "Event Name is incorrect. ErrorCode: 509 - Event name is mandatory. ",
            ));
        }
    };
    if is_restricted(name) {
        return Err(RecordError::new(
            513,
            "Event Name is incorrect. ErrorCode: 513 - Trying to raise a restricted system event. ",
        ));
    }
    if rules.discarded.contains(name) {
        return Err(RecordError::decided(528, "Event Name", "Discarded event is raised"));
    }
    let invalid = |meaning: String| RecordError::decided(512, "Event Data", &meaning);
    if let Some(c) = prohibited_char(name) {
        return Err(invalid(format!(
            "Invalid event structure: event name contains the prohibited character '{c}'"
        )));
    }
    let Some(View::Object(data)) = fields.get("evtData") else {
        return Err(invalid("Invalid event structure: evtData must be an object".into()));
    };
    for (key, value) in data {
        check_property(name, key, value, rules.nested_objects).map_err(invalid)?;
    }
    let count = data.iter().filter(|(_, value)| !value.is_null()).count();
    if count > rules.property_limit {
        return Err(RecordError::decided(
            522,
            "Event Data",
            &format!(
                "Event properties limit exceeded: {count} properties, the limit is {}",
                rules.property_limit
            ),
        ));
    }
    Ok(())
}

fn check_key(key: &str) -> Result<(), String> {
    if let Some(c) = prohibited_char(key) {
        return Err(format!(
            "Invalid event structure: property key '{key}' contains the prohibited character '{c}'"
        ));
    }
    if key.len() > MAX_KEY_CHARS && key.chars().count() > MAX_KEY_CHARS {
        return Err(format!("Invalid event structure: property key is over {MAX_KEY_CHARS} characters"));
    }
    Ok(())
}

fn check_scalar(key: &str, value: &View) -> Result<(), String> {
    match value {
        View::Str(s) if s.len() > MAX_VALUE_BYTES => {
            Err(format!("Invalid event structure: value of '{key}' is over {MAX_VALUE_BYTES} bytes"))
        }
        _ => Ok(()),
    }
}

fn check_property(event: &str, key: &str, value: &View, nested_objects: bool) -> Result<(), String> {
    check_key(key)?;
    match value {
        View::Array(_) | View::Object(_) if nested_objects => nested::check_value(key, value, 0),
        View::Array(items) if event == "Charged" && key == "Items" => {
            if items.iter().all(View::is_object) {
                Ok(())
            } else {
                Err("Invalid event structure: Items must be an array of objects".into())
            }
        }
        View::Array(_) | View::Object(_) => {
            Err(format!("Invalid event structure: value of '{key}' is a nested object or array"))
        }
        _ => check_scalar(key, value),
    }
}
