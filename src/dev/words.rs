//! What the fake CleverTap's codes and the reference mapping's skips mean, in words.

use crate::clevertap::{Fault, RecordOutcome};
use crate::mapping::Skip;

/// A per-record CleverTap error code (`clevertap-upload.md`), explained.
pub fn record_code(code: u16) -> &'static str {
    match code {
        500 => "CleverTap could not process this record (internal error); send it again",
        509 => "the event has no evtName",
        512 => {
            "evtData is missing or not an object, or a name or key has a prohibited character, \
             a key is over 120 characters, a value over 512 bytes, or a value is nested"
        }
        513 => "the event name is a restricted CleverTap system event",
        514 => "profile: Gender is not M or F",
        515 => "profile: Email is not valid",
        516 => "profile: Phone is not +<digits> (E.164)",
        517 => "profile: Employed is not Y or N",
        518 => "profile: Education is not School, College or Graduate",
        519 => "profile: Married is not Y or N",
        520 => "profile: Age is not a number",
        522 => "the event has more properties than the account allows",
        523 => "the record has no identity (identity, FBID, GPID or objectId)",
        524 => "type is not event, profile or token",
        525 => "ts is not a Unix timestamp in seconds (milliseconds, 0, negative or text fail)",
        526 => "objectId is present but not a non-empty string",
        528 => "the event name is discarded in this account",
        530..=535 => "token: tokenData is not valid",
        _ => "an error code the fake does not document",
    }
}

/// A request-level HTTP status of the Upload API, explained (0: no answer at all).
pub fn request_status(status: u16) -> &'static str {
    match status {
        0 => "the connection was closed without an answer; the relay should retry",
        200 => "accepted; see each record's outcome",
        400 => "the body is not a valid upload envelope ({\"d\": [...]}, at most 1000 records)",
        401 => "wrong account id or passcode",
        413 => "the upload is too large",
        429 => "too many requests: the relay should retry later, honouring Retry-After",
        500 => "CleverTap server error: the relay should retry",
        503 => "CleverTap is unavailable: the relay should retry",
        _ => "an HTTP status the Upload API does not document",
    }
}

/// A record's outcome in one line, e.g. `unprocessed, code 525: ts is not a Unix timestamp...`.
pub fn outcome(outcome: &RecordOutcome) -> String {
    match outcome {
        RecordOutcome::Processed => "processed".to_string(),
        RecordOutcome::Unprocessed { code, .. } => {
            format!("unprocessed, code {code}: {}", record_code(*code))
        }
        RecordOutcome::Rejected { status: 0 } => format!("not answered: {}", request_status(0)),
        RecordOutcome::Rejected { status } => format!("HTTP {status}: {}", request_status(*status)),
    }
}

/// An injected fault, explained.
pub fn fault(fault: &Fault) -> String {
    match fault {
        Fault::TooManyRequests { retry_after: None } => "HTTP 429 without Retry-After".into(),
        Fault::TooManyRequests { retry_after: Some(secs) } => format!("HTTP 429 with Retry-After: {secs}"),
        Fault::ServerError => "HTTP 500".into(),
        Fault::Unavailable => "HTTP 503".into(),
        Fault::Delay(delay) => format!("answer {} ms late", delay.as_millis()),
        Fault::DropConnection => "connection closed without an answer".into(),
        Fault::Partial { records } => {
            let list: Vec<String> = records.iter().map(|n| format!("#{n}")).collect();
            format!("records {} unprocessed (code 500)", list.join(", "))
        }
    }
}

/// Why the reference mapping does not forward an event.
pub fn skip(skip: Skip) -> &'static str {
    match skip {
        Skip::UnknownEvent => "unknown event: not forwarded",
        Skip::NotForwardable => "never forwarded to integrations",
        Skip::Disabled => "disabled in the settings",
        Skip::Sandbox => "environment is not \"production\" and send_sandbox is false",
        Skip::NoIdentity => "no custom_user_id: no CleverTap identity",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn unprocessed_records_name_their_code_and_meaning() {
        let text = outcome(&RecordOutcome::Unprocessed { code: 525, error: "Timestamp...".into() });
        assert_eq!(
            text,
            "unprocessed, code 525: ts is not a Unix timestamp in seconds (milliseconds, 0, negative or text fail)"
        );
    }

    #[test]
    fn a_dropped_connection_reads_as_not_answered() {
        assert!(outcome(&RecordOutcome::Rejected { status: 0 }).starts_with("not answered"));
        assert!(outcome(&RecordOutcome::Rejected { status: 429 }).contains("Retry-After"));
    }
}
