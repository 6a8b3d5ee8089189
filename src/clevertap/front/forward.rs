//! Forwarding what the front does not answer itself to the wiremock server behind it.
//!
//! wiremock's admission mock still numbers and journals these requests (wrong paths get the
//! engine's 404, `GET /1/upload` its 405), and an injected `drop` fault there makes wiremock
//! close its connection: the front then closes the client's connection too, without an answer.

use std::net::SocketAddr;

use bytes::Bytes;
use http::{HeaderMap, Request, Response, Uri, header};
use http_body_util::{BodyExt, Full};
use hyper_util::client::legacy::Client;
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::rt::TokioExecutor;

/// The pooled client a front forwards with (one per front: its connections belong to the
/// front's runtime).
pub(crate) type WiremockClient = Client<HttpConnector, Full<Bytes>>;

/// Why forwarding gave no answer.
#[derive(Debug)]
pub(super) struct ForwardFailed(pub(super) String);

/// A new client; connections to wiremock are kept alive.
pub(super) fn client() -> WiremockClient {
    let mut connector = HttpConnector::new();
    connector.set_nodelay(true);
    Client::builder(TokioExecutor::new()).pool_max_idle_per_host(64).build(connector)
}

/// Sends the request to wiremock at `to` and returns its answer (body read whole).
pub(super) async fn forward(
    client: &WiremockClient,
    to: SocketAddr,
    parts: http::request::Parts,
    body: Bytes,
) -> Result<Response<Full<Bytes>>, ForwardFailed> {
    let path = parts.uri.path_and_query().map_or("/", |p| p.as_str());
    let uri: Uri =
        format!("http://{to}{path}").parse().map_err(|e| ForwardFailed(format!("bad URI: {e}")))?;
    let mut request = Request::builder().method(parts.method).uri(uri).body(Full::new(body)).map_err(fail)?;
    *request.headers_mut() = end_to_end(parts.headers);
    let answer = client.request(request).await.map_err(fail)?;
    let (parts, body) = answer.into_parts();
    let body = body.collect().await.map_err(fail)?.to_bytes();
    let mut response = Response::from_parts(parts, Full::new(body));
    let headers = response.headers_mut();
    headers.remove(header::TRANSFER_ENCODING);
    headers.remove(header::CONNECTION);
    Ok(response)
}

fn fail(e: impl std::fmt::Display) -> ForwardFailed {
    ForwardFailed(e.to_string())
}

/// The headers without hop-by-hop ones (the body is re-sent whole, with its own length).
fn end_to_end(mut headers: HeaderMap) -> HeaderMap {
    for name in [header::CONNECTION, header::TRANSFER_ENCODING, header::TE, header::TRAILER, header::UPGRADE]
    {
        headers.remove(name);
    }
    headers.remove("keep-alive");
    headers.remove("proxy-connection");
    headers
}
