//! Reading a request body up to [`MAX_BODY_BYTES`](super::MAX_BODY_BYTES).
//!
//! The body is copied once, out of hyper's read buffer into a buffer of its own size (a frame
//! of hyper's is a slice of a buffer that can be much larger). The engine validates that copy
//! and the journal keeps it, shared: the journal's byte budget counts what it really holds.
//!
//! A declared `Content-Length` over the limit is refused before a byte of the body is read;
//! a chunked body is read until it passes the limit, then keeping stops. Either way the
//! caller answers 413 and closes the connection, and the rest of the body is [`discard`]ed
//! (read and thrown away, at most [`DISCARD_BYTES`] for at most [`DISCARD_TIME`]) while the
//! answer goes out: a client still sending its body would otherwise get a reset instead of
//! the 413. Nothing past the limit is ever kept in memory.

use std::time::Duration;

use bytes::{Bytes, BytesMut};
use http::HeaderMap;
use http_body_util::BodyExt;
use hyper::body::Incoming;

/// Why a body was not read.
#[derive(Debug)]
pub(super) enum BodyError {
    /// Over the limit; the size when it was declared, and the unread rest.
    TooLarge { declared: Option<u64>, rest: Incoming },
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
        return Err(BodyError::TooLarge { declared, rest: body });
    }
    let capacity = declared.map_or(0, |length| length as usize);
    let mut buffer = BytesMut::with_capacity(capacity);
    while let Some(frame) = body.frame().await {
        let frame = frame.map_err(BodyError::Broken)?;
        if let Ok(data) = frame.into_data() {
            if buffer.len() + data.len() > limit {
                return Err(BodyError::TooLarge { declared: None, rest: body });
            }
            buffer.extend_from_slice(&data);
        }
    }
    if buffer.capacity() > buffer.len() + buffer.len() / 8 + 64 {
        // An undeclared length grew the buffer: keep an exact copy instead.
        return Ok(Bytes::copy_from_slice(&buffer));
    }
    Ok(buffer.freeze())
}

/// The 413 text: the declared size when known (as the envelope check words it).
pub(super) fn too_large_text(declared: Option<u64>, limit: usize) -> String {
    match declared {
        Some(length) => {
            format!("Payload too large: the request body is over the 10 MiB limit ({length} bytes)")
        }
        None => {
            format!("Payload too large: the request body is over the 10 MiB limit (more than {limit} bytes)")
        }
    }
}

/// Most bytes of a refused body read and thrown away before the connection is closed.
pub(super) const DISCARD_BYTES: u64 = 1 << 30;
/// Longest time spent throwing a refused body away.
pub(super) const DISCARD_TIME: Duration = Duration::from_secs(10);

/// Reads and drops what is left of a refused body, within [`DISCARD_BYTES`] and [`DISCARD_TIME`].
pub(super) async fn discard(mut rest: Incoming) {
    let drain = async {
        let mut seen = 0u64;
        while let Some(Ok(frame)) = rest.frame().await {
            seen += frame.data_ref().map_or(0, |d| d.len() as u64);
            if seen > DISCARD_BYTES {
                break;
            }
        }
    };
    let _ = tokio::time::timeout(DISCARD_TIME, drain).await;
}
