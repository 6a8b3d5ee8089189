//! `GET /api/events`: Server-Sent Events, one per [`DevEvent`], named after its type; a page
//! that fell behind gets `resync` (reload everything). Also the watchers that turn the
//! fake's journal and the relay's output into events.

use std::convert::Infallible;
use std::sync::Arc;
use std::time::Duration;

use axum::extract::State;
use axum::response::sse::{Event, KeepAlive, Sse};
use futures::Stream;
use tokio::sync::broadcast::error::RecvError;
use tokio::sync::watch;

use super::records::upload_view;
use super::state::{DevEvent, DevState};

/// How often the relay's output is looked at.
const RELAY_POLL: Duration = Duration::from_millis(250);
/// Uploads kept by the journal watcher to spot retries.
const RECENT_UPLOADS: usize = 50;

/// The event stream of one page; it ends when the server closes.
pub async fn events(
    State(state): State<Arc<DevState>>,
) -> Sse<impl Stream<Item = Result<Event, Infallible>>> {
    let (receiver, closing) = (state.subscribe(), state.closing());
    drop(state);
    let stream = futures::stream::unfold((receiver, closing), |(mut receiver, mut closing)| async move {
        let event = tokio::select! {
            received = receiver.recv() => match received {
                Ok(event) => sse_event(&event),
                Err(RecvError::Lagged(_)) => Event::default().event("resync").data("{}"),
                Err(RecvError::Closed) => return None,
            },
            _ = closing.wait_for(|closed| *closed) => return None,
        };
        Some((Ok(event), (receiver, closing)))
    });
    Sse::new(stream).keep_alive(KeepAlive::default())
}

fn sse_event(event: &DevEvent) -> Event {
    let data = serde_json::to_value(event).map(|v| v["data"].clone()).unwrap_or_default();
    Event::default().event(event.name()).data(data.to_string())
}

/// Publishes an [`DevEvent::Upload`] for every request the fake journals, until closing.
pub async fn watch_journal(state: Arc<DevState>, mut closing: watch::Receiver<bool>) {
    let journal = state.fake.journal();
    let mut changes = journal.subscribe();
    let (mut last_seq, mut clears) = (0, journal.clears());
    let mut recent = Vec::new();
    loop {
        changes.borrow_and_update();
        if journal.clears() != clears {
            (clears, last_seq) = (journal.clears(), 0);
            recent.clear();
        }
        let fresh = journal.requests_after(last_seq);
        let first_new = recent.len();
        recent.extend(fresh);
        for i in first_new..recent.len() {
            state.publish(DevEvent::Upload(upload_view(&recent, i, &state.redactor)));
            last_seq = recent[i].seq;
        }
        let excess = recent.len().saturating_sub(RECENT_UPLOADS);
        recent.drain(..excess);
        tokio::select! {
            changed = changes.changed() => if changed.is_err() { return },
            _ = closing.wait_for(|closed| *closed) => return,
        }
    }
}

/// Publishes [`DevEvent::Relay`] whenever the relay's output or state changes, until closing.
pub async fn watch_relay(state: Arc<DevState>, mut closing: watch::Receiver<bool>) {
    loop {
        if state.relay.refresh() {
            state.publish(DevEvent::Relay(state.relay.info()));
        }
        tokio::select! {
            () = tokio::time::sleep(RELAY_POLL) => {},
            _ = closing.wait_for(|closed| *closed) => return,
        }
    }
}
