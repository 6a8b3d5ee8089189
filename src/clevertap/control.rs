//! The standalone mode's journal endpoint: `GET /__harness/requests` serves the journal as
//! JSON, `DELETE /__harness/requests` clears it (and the request counter; faults stay).

use wiremock::{Request, ResponseTemplate};

use super::answer::CONTENT_TYPE;
use super::engine::Engine;

/// Answers a request to the control path.
pub(crate) fn respond(engine: &Engine, request: &Request) -> ResponseTemplate {
    match request.method.as_str() {
        "GET" | "HEAD" => {
            let body = serde_json::to_string_pretty(&engine.journal.requests())
                .unwrap_or_else(|e| format!(r#"{{"error":"cannot serialise the journal: {e}"}}"#));
            ResponseTemplate::new(200).set_body_raw(body, CONTENT_TYPE)
        }
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
