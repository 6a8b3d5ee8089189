//! Reading a request body up to [`MAX_BODY_BYTES`](super::MAX_BODY_BYTES).
//!
//! A declared `Content-Length` over the limit is refused before a byte of the body is read;
//! a chunked body is read until it passes the limit, then reading stops. Either way the
//! caller answers 413 and closes the connection.

use bytes::{Bytes, BytesMut};
use http::HeaderMap;
use http_body_util::BodyExt;
use hyper::body::Incoming;

/// Why a body was not read.
#[derive(Debug)]
pub(super) enum BodyError {
    /// Over the limit; the size when it was declared.
    TooLarge { declared: Option<u64> },
    /// The client went away or sent a broken body (cut off, bad chunked encoding).
    Broken(hyper::Error),
}

/// The declared length, when there is one and it parses.
pub(super) fn declared_length(headers: &HeaderMap) -> Option<u64> {
    headers.get(http::header::CONTENT_LENGTH)?.to_str().ok()?.trim().parse().ok()
}

/// Reads the whole body, refusing it past `limit` bytes.
pub(super) async fn read_limited(
    headers: &HeaderMap,
    mut body: Incoming,
    limit: usize,
) -> Result<Bytes, BodyError> {
    let declared = declared_length(headers);
    if declared.is_some_and(|length| length > limit as u64) {
        return Err(BodyError::TooLarge { declared });
    }
    let capacity = declared.map_or(0, |length| length as usize);
    let mut buffer = BytesMut::with_capacity(capacity);
    while let Some(frame) = body.frame().await {
        let frame = frame.map_err(BodyError::Broken)?;
        if let Ok(data) = frame.into_data() {
            if buffer.len() + data.len() > limit {
                return Err(BodyError::TooLarge { declared: None });
            }
            if buffer.is_empty() && capacity == 0 && body_is_done(&body) {
                return Ok(data); // one frame: no copy
            }
            buffer.extend_from_slice(&data);
        }
    }
    Ok(buffer.freeze())
}

fn body_is_done(body: &Incoming) -> bool {
    hyper::body::Body::is_end_stream(body)
}

/// The 413 text: the declared size when known (as the envelope check words it).
pub(super) fn too_large_text(declared: Option<u64>, limit: usize) -> String {
    match declared {
        Some(length) => {
            format!("Payload too large: the request body is over the 10 MiB limit ({length} bytes)")
        }
        None => format!("Payload too large: the request body is over the 10 MiB limit (more than {limit} bytes)"),
    }
}
