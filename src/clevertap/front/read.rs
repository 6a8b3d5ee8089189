//! `GET`/`DELETE /__harness/requests` on the front: the journal is serialised on a thread of
//! its own at a lower CPU priority, never on a thread that answers uploads.
//!
//! The whole journal (no `since`/`limit`) is **streamed**: the thread serialises it entry by
//! entry into chunks of [`CHUNK_BYTES`] and hands each to the connection through a channel of
//! [`CHUNKS_AHEAD`] chunks, waiting while it is full. So a read of hundreds of MB never builds
//! its answer in memory, and the connection's thread only ever writes one chunk at a time
//! between the requests it serves. The entries are shared handles copied under the journal's
//! lock on the connection's thread, before the low-priority thread starts: that thread never
//! holds a lock an upload needs.

use std::convert::Infallible;
use std::io;
use std::sync::Arc;

use bytes::Bytes;
use http::{HeaderValue, Response, header};
use http_body_util::{BodyExt, StreamBody};
use hyper::body::Frame;
use tokio::sync::{mpsc, oneshot};

use super::Shared;
use super::service::{Answer, Closed, engine_request, json_answer};
use crate::clevertap::answer::CONTENT_TYPE;
use crate::clevertap::control::{self, ControlAnswer, Read};
use crate::clevertap::journal::Stored;

/// Bytes of JSON per streamed chunk.
pub(super) const CHUNK_BYTES: usize = 256 * 1024;
/// Chunks serialised ahead of the socket before the serialiser waits.
pub(super) const CHUNKS_AHEAD: usize = 2;

/// What the journal thread produces first: a whole answer, or the start of a streamed one.
enum First {
    Whole(ControlAnswer),
    Streamed { next_since: u64, chunks: mpsc::Receiver<Bytes> },
}

/// The journal endpoint's answer (see the module docs).
pub(super) async fn control_answer(shared: &Shared, parts: &http::request::Parts) -> Result<Answer, Closed> {
    let request = engine_request(parts)?;
    // The journal's lock is taken here, at normal priority, and never on the low-priority
    // thread: held there, a busy machine could keep it off the CPU while uploads wait for it.
    let read = match control::prepare(&shared.engine, &request.method, &request.url) {
        Read::Done(reply) => return Ok(whole_answer(reply)),
        read => read,
    };
    let (done, first) = oneshot::channel();
    let work = move || {
        lower_this_threads_priority();
        match read {
            Read::Whole(entries) => stream_whole(&entries, done),
            Read::Page { entries, since, records } => {
                drop(done.send(First::Whole(control::page_answer(&entries, since, records))))
            }
            Read::Done(reply) => drop(done.send(First::Whole(reply))),
        }
    };
    let thread = std::thread::Builder::new().name("fake-ct-journal".into()).spawn(work);
    thread.map_err(|e| Closed(format!("no thread to read the journal: {e}")))?;
    match first.await.map_err(|e| Closed(format!("journal read failed: {e}")))? {
        First::Whole(reply) => Ok(whole_answer(reply)),
        First::Streamed { next_since, chunks } => Ok(streamed_answer(next_since, chunks)),
    }
}

fn whole_answer(reply: ControlAnswer) -> Answer {
    let mut answer = json_answer(reply.status, reply.body);
    if let Some(next) = reply.next_since {
        answer.headers_mut().insert("x-qc-next-since", HeaderValue::from(next));
    }
    if let Some(allow) = reply.allow {
        answer.headers_mut().insert(header::ALLOW, HeaderValue::from_static(allow));
    }
    answer
}

fn streamed_answer(next_since: u64, chunks: mpsc::Receiver<Bytes>) -> Answer {
    let frames = futures::stream::unfold(chunks, |mut chunks| async move {
        let chunk = chunks.recv().await?;
        Some((Ok::<_, Infallible>(Frame::data(chunk)), chunks))
    });
    let mut answer = Response::new(StreamBody::new(frames).boxed_unsync());
    answer.headers_mut().insert(header::CONTENT_TYPE, HeaderValue::from_static(CONTENT_TYPE));
    answer.headers_mut().insert("x-qc-next-since", HeaderValue::from(next_since));
    answer
}

/// On the journal thread: announces the stream, then serialises `entries` into it chunk by
/// chunk (stops early when the client goes away).
fn stream_whole(entries: &[Arc<Stored>], done: oneshot::Sender<First>) {
    let (sender, chunks) = mpsc::channel(CHUNKS_AHEAD);
    let next_since = entries.last().map_or(0, |e| e.seq());
    if done.send(First::Streamed { next_since, chunks }).is_err() {
        return;
    }
    let mut out = Chunks { buffer: Vec::with_capacity(CHUNK_BYTES + 4096), sender };
    let written = control::write_whole(entries, &mut out).map_err(io::Error::from);
    if let Err(e) = written.and_then(|()| out.flush_chunk()) {
        tracing::debug!("fake CleverTap: journal read ended early: {e}");
    }
}

/// A writer that sends what it is given in chunks of about [`CHUNK_BYTES`], waiting while the
/// channel is full; fails once the reader is gone.
struct Chunks {
    buffer: Vec<u8>,
    sender: mpsc::Sender<Bytes>,
}

impl Chunks {
    fn flush_chunk(&mut self) -> io::Result<()> {
        if self.buffer.is_empty() {
            return Ok(());
        }
        let chunk = std::mem::replace(&mut self.buffer, Vec::with_capacity(CHUNK_BYTES + 4096));
        self.sender
            .blocking_send(Bytes::from(chunk))
            .map_err(|_| io::Error::new(io::ErrorKind::BrokenPipe, "the reader went away"))
    }
}

impl io::Write for Chunks {
    fn write(&mut self, bytes: &[u8]) -> io::Result<usize> {
        self.buffer.extend_from_slice(bytes);
        if self.buffer.len() >= CHUNK_BYTES {
            self.flush_chunk()?;
        }
        Ok(bytes.len())
    }

    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

/// Nice +10 for the calling thread (Linux: per thread); elsewhere a no-op.
fn lower_this_threads_priority() {
    #[cfg(target_os = "linux")]
    // SAFETY: plain system calls on the calling thread's own id.
    unsafe {
        let tid = libc::syscall(libc::SYS_gettid) as libc::id_t;
        libc::setpriority(libc::PRIO_PROCESS, tid, 10);
    }
}
