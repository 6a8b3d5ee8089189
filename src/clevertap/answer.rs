//! The answers the Upload API sends: the per-request summary (`success`/`partial`/`fail` with
//! `unprocessed` entries) and the request-level failures (401, 400, 413, 429, 5xx).
//!
//! ```
//! use qc_harness::clevertap::answer::{Answer, failure};
//! let body = failure("Account ID is not valid", 401);
//! assert_eq!(body, r#"{"status":"fail","error":"Account ID is not valid","code":401}"#);
//! let answer = Answer::from_outcomes(&[Ok(()), Err((515, "Profile data is incorrect. Email is not valid.".into()))],
//!                                    &[serde_json::json!({}), serde_json::json!({"type": "profile"})]);
//! assert!(answer.body().starts_with(r#"{"status":"partial","processed":1,"#));
//! assert!(answer.body().contains("Email is not valid.Skipped record number : 2"));
//! ```

use serde::Serialize;
use serde_json::Value;

/// The response content type of every answer.
pub const CONTENT_TYPE: &str = "application/json;charset=utf-8";
/// Text of a bad or unknown account id (401).
pub const BAD_ACCOUNT: &str = "Account ID is not valid";
/// Text of a bad or missing passcode (401).
pub const BAD_PASSCODE: &str = "Invalid Credentials";
/// Text of the concurrency limit (429).
pub const TOO_MANY_CONCURRENT: &str = "Too many concurrent requests";
/// Text of a 500.
pub const SERVER_ERROR: &str = "Internal Server Error";
/// Text of a 503.
pub const UNAVAILABLE: &str = "System is unavailable. Try again later.";
/// Code of a record marked unprocessed by a `Partial` fault: CleverTap's documented per-record
/// code for a server-side failure (500 is only ever an HTTP status).
pub const PARTIAL_FAULT_CODE: u16 = 555;
/// Text of a record marked unprocessed by a `Partial` fault (**Decision**: the documented
/// meaning, in the fake's pattern for undocumented texts).
pub const PARTIAL_FAULT_TEXT: &str =
    "Record could not be processed. ErrorCode: 555 - Miscellaneous server error. ";

#[derive(Serialize)]
struct Failure<'a> {
    status: &'a str,
    error: &'a str,
    code: u16,
}

/// A request-level failure body: `{"status":"fail","error":...,"code":...}`.
pub fn failure(error: &str, code: u16) -> String {
    serde_json::to_string(&Failure { status: "fail", error, code }).expect("plain struct serialises")
}

/// One entry of `unprocessed`.
#[derive(Debug, Clone, Serialize)]
pub struct Unprocessed {
    /// Always `"fail"`.
    pub status: &'static str,
    /// The CleverTap error code.
    pub code: u16,
    /// The error text ending in `Skipped record number : n`.
    pub error: String,
    /// The rejected record, echoed.
    pub record: Value,
}

/// The summary answer of a request that passed auth and envelope (always HTTP 200).
#[derive(Debug, Clone, Serialize)]
pub struct Answer {
    /// `success`, `partial` or `fail`.
    pub status: &'static str,
    /// How many records were processed.
    pub processed: usize,
    /// The skipped records.
    pub unprocessed: Vec<Unprocessed>,
}

/// `<message>Skipped record number : <n>` (n is 1-based).
pub fn skipped_text(message: &str, number: usize) -> String {
    format!("{message}Skipped record number : {number}")
}

impl Answer {
    /// Builds the answer from each record's result (`Err((code, message))` for a skipped one).
    pub fn from_outcomes(outcomes: &[Result<(), (u16, String)>], records: &[Value]) -> Answer {
        Answer::build(outcomes, |index| records.get(index).cloned().unwrap_or(Value::Null))
    }

    /// Builds the answer; `echo(i)` gives the record at 0-based `i` (called for skipped ones only).
    pub(crate) fn build(outcomes: &[Result<(), (u16, String)>], echo: impl Fn(usize) -> Value) -> Answer {
        let unprocessed: Vec<Unprocessed> = outcomes
            .iter()
            .enumerate()
            .filter_map(|(index, outcome)| {
                let (code, message) = outcome.as_ref().err()?;
                Some(Unprocessed {
                    status: "fail",
                    code: *code,
                    error: skipped_text(message, index + 1),
                    record: echo(index),
                })
            })
            .collect();
        let processed = outcomes.len() - unprocessed.len();
        let status = match (processed, unprocessed.len()) {
            (_, 0) => "success",
            (0, _) => "fail",
            _ => "partial",
        };
        Answer { status, processed, unprocessed }
    }

    /// The JSON text sent to the client.
    pub fn body(&self) -> String {
        serde_json::to_string(self).expect("answers serialise")
    }
}
