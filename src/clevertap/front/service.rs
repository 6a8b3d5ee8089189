//! One connection of the front: HTTP/1.1 with a header read timeout, and the routing of each
//! request (upload here, control here, everything else to wiremock).

use std::sync::Arc;

use bytes::Bytes;
use http::{HeaderValue, Method, Request, Response, StatusCode, header};
use http_body_util::{BodyExt, Full};
use hyper::body::Incoming;
use hyper::server::conn::http1;
use hyper::service::service_fn;
use hyper_util::rt::{TokioIo, TokioTimer};
use tokio::net::TcpStream;
use wiremock::http::Url;

use super::body::{BodyError, discard, read_limited, too_large_text};
use super::forward::forward;
use super::read::control_answer;
use super::{MAX_BODY_BYTES, Shared};
use crate::clevertap::answer::{self, CONTENT_TYPE};
use crate::clevertap::engine::{CONTROL_PATH, Reply, UPLOAD_PATH};

/// An answer's body: whole, or streamed (the journal).
pub(super) type Body = http_body_util::combinators::UnsyncBoxBody<Bytes, std::convert::Infallible>;
pub(super) type Answer = Response<Body>;

/// Why a connection is closed without an answer (an injected `drop`, a broken body).
#[derive(Debug)]
pub(super) struct Closed(pub(super) String);

impl std::fmt::Display for Closed {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "fake CleverTap: connection closed: {}", self.0)
    }
}

impl std::error::Error for Closed {}

/// Serves one connection until the client closes it, a timeout fires, or an answer closes it.
pub(super) async fn serve_connection(stream: TcpStream, shared: Arc<Shared>) {
    let mut builder = http1::Builder::new();
    builder.timer(TokioTimer::new()).header_read_timeout(shared.header_timeout);
    let service = service_fn(move |request| handle(shared.clone(), request));
    if let Err(e) = builder.serve_connection(TokioIo::new(stream), service).await {
        tracing::debug!("fake CleverTap: connection ended: {e}");
    }
}

async fn handle(shared: Arc<Shared>, request: Request<Incoming>) -> Result<Answer, Closed> {
    let (parts, body) = request.into_parts();
    let is_upload = parts.uri.path() == UPLOAD_PATH && parts.method == Method::POST;
    let body = match read_limited(&parts.headers, body, MAX_BODY_BYTES).await {
        Ok(body) => body,
        Err(BodyError::Broken(e)) => return Err(Closed(format!("unreadable body: {e}"))),
        Err(BodyError::TooLarge { declared, rest }) => {
            tokio::spawn(discard(rest));
            let text = too_large_text(declared, MAX_BODY_BYTES);
            return too_large(&shared, parts, is_upload, &text).await;
        }
    };
    if shared.engine.control && parts.uri.path() == CONTROL_PATH {
        return control_answer(&shared, &parts).await;
    }
    if is_upload {
        return upload(&shared, parts, body).await;
    }
    let to = shared.wiremock;
    match forward(&shared.client, to, parts, body).await {
        Ok(answer) => Ok(answer.map(BodyExt::boxed_unsync)),
        Err(e) => Err(Closed(format!("wiremock gave no answer: {}", e.0))),
    }
}

/// The request as wiremock would have built it (the engine's input), without its body: the
/// engine reads the body from the shared `Bytes` the front collected.
pub(super) fn engine_request(parts: &http::request::Parts) -> Result<wiremock::Request, Closed> {
    let text = match parts.uri.authority() {
        Some(_) => parts.uri.to_string(),
        None => format!("http://localhost{}", parts.uri),
    };
    let url: Url = text.parse().map_err(|e| Closed(format!("bad request URL {text:?}: {e}")))?;
    Ok(wiremock::Request {
        url,
        method: parts.method.clone(),
        headers: parts.headers.clone(),
        body: Vec::new(),
    })
}

async fn upload(shared: &Shared, parts: http::request::Parts, body: Bytes) -> Result<Answer, Closed> {
    let request = engine_request(&parts)?;
    let ticket = shared.engine.ticket();
    if ticket.drops_connection() {
        shared.engine.record_drop_for(ticket, &request, body);
        return Err(Closed("dropped by an injected fault".into()));
    }
    let reply = shared.engine.answer_for(ticket, &request, body);
    Ok(send_after_delay(reply, false).await)
}

/// HTTP 413 without reading the body; an upload is numbered and journaled (with no body).
async fn too_large(
    shared: &Shared,
    parts: http::request::Parts,
    is_upload: bool,
    text: &str,
) -> Result<Answer, Closed> {
    let reply = if is_upload {
        let request = engine_request(&parts)?;
        let ticket = shared.engine.ticket();
        if ticket.drops_connection() {
            shared.engine.record_drop_for(ticket, &request, Bytes::new());
            return Err(Closed("dropped by an injected fault".into()));
        }
        shared.engine.refuse_for(ticket, &request, 413, text)
    } else {
        Reply { status: 413, body: answer::failure(text, 413), retry_after: None, delay: Default::default() }
    };
    Ok(send_after_delay(reply, true).await)
}

/// Waits out the reply's simulated latency, then answers (`close`: and closes the connection).
async fn send_after_delay(reply: Reply, close: bool) -> Answer {
    if !reply.delay.is_zero() {
        tokio::time::sleep(reply.delay.min(crate::duration::MAX.saturating_mul(2))).await;
    }
    let mut answer = json_answer(reply.status, reply.body);
    if let Some(secs) = reply.retry_after {
        answer.headers_mut().insert(header::RETRY_AFTER, HeaderValue::from(secs));
    }
    if close {
        answer.headers_mut().insert(header::CONNECTION, HeaderValue::from_static("close"));
    }
    answer
}

pub(super) fn json_answer(status: u16, body: String) -> Answer {
    let mut answer = Response::new(Full::new(Bytes::from(body)).boxed_unsync());
    *answer.status_mut() = StatusCode::from_u16(status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
    answer.headers_mut().insert(header::CONTENT_TYPE, HeaderValue::from_static(CONTENT_TYPE));
    answer
}
