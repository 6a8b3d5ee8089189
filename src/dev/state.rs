//! [`DevState`]: everything the page acts on, shared by the API handlers, and the
//! [`DevEvent`]s pushed to the page when it changes.

use std::sync::{Mutex, MutexGuard};

use serde::Serialize;
use tokio::sync::{broadcast, watch};

use super::api_error::ApiError;
use super::faults::{FaultBoard, FaultRequest, FaultRule};
use super::records::UploadView;
use super::redact::Redactor;
use super::relay_slot::{RelayInfo, RelaySlot};
use super::webhooks::{WebhookLog, WebhookView};
use crate::clevertap::FakeCleverTap;
use crate::conformance::Variant;
use crate::qonversion::FixtureCatalogue;

/// Events kept for a slow page before it is told to reload.
const EVENT_BUFFER: usize = 1024;

/// Something the page should show now (sent as a Server-Sent Event named after its `type`).
#[derive(Debug, Clone, Serialize)]
#[serde(tag = "type", content = "data", rename_all = "snake_case")]
pub enum DevEvent {
    /// A webhook was sent.
    Webhook(WebhookView),
    /// The fake received an upload.
    Upload(UploadView),
    /// The relay's state or output changed.
    Relay(RelayInfo),
    /// The faults changed.
    Faults(Vec<FaultRule>),
    /// The settings variant changed.
    Variant(String),
    /// The journal (and the webhook list) was cleared.
    Cleared,
}

impl DevEvent {
    /// The SSE event name: `webhook`, `upload`, `relay`, `faults`, `variant`, `cleared`.
    pub fn name(&self) -> &'static str {
        match self {
            DevEvent::Webhook(_) => "webhook",
            DevEvent::Upload(_) => "upload",
            DevEvent::Relay(_) => "relay",
            DevEvent::Faults(_) => "faults",
            DevEvent::Variant(_) => "variant",
            DevEvent::Cleared => "cleared",
        }
    }
}

/// The shared state of a `dev` session: its [`Parts`] (reached through `Deref`, e.g.
/// `state.fake`) and what changes while it runs.
#[derive(Debug)]
pub struct DevState {
    parts: Parts,
    current: Mutex<Variant>,
    webhooks: Mutex<WebhookLog>,
    faults: Mutex<FaultBoard>,
    events: broadcast::Sender<DevEvent>,
    switching: tokio::sync::Mutex<()>,
    closing: watch::Sender<bool>,
}

impl std::ops::Deref for DevState {
    type Target = Parts;

    fn deref(&self) -> &Parts {
        &self.parts
    }
}

fn lock<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    mutex.lock().unwrap_or_else(|e| e.into_inner())
}

/// The parts a [`DevState`] is made of.
#[derive(Debug)]
pub struct Parts {
    /// The fake CleverTap, started.
    pub fake: FakeCleverTap,
    /// The relay slot (started or not).
    pub relay: RelaySlot,
    /// The catalogue.
    pub catalogue: FixtureCatalogue,
    /// The variants, the first one current.
    pub variants: Vec<Variant>,
    /// Secrets hidden from the page.
    pub redactor: Redactor,
    /// The webhook token.
    pub token: String,
}

impl DevState {
    /// A state from its parts; the first variant is current.
    pub fn new(parts: Parts) -> DevState {
        let current = parts.variants.first().cloned().expect("dev has at least one variant");
        DevState {
            parts,
            current: Mutex::new(current),
            webhooks: Mutex::new(WebhookLog::default()),
            faults: Mutex::new(FaultBoard::default()),
            events: broadcast::channel(EVENT_BUFFER).0,
            switching: tokio::sync::Mutex::new(()),
            closing: watch::channel(false).0,
        }
    }

    /// Tells every open page.
    pub fn publish(&self, event: DevEvent) {
        let _ = self.events.send(event);
    }

    /// A receiver of every event from now on.
    pub fn subscribe(&self) -> broadcast::Receiver<DevEvent> {
        self.events.subscribe()
    }

    /// A receiver that turns true when the server is closing.
    pub fn closing(&self) -> watch::Receiver<bool> {
        self.closing.subscribe()
    }

    /// Ends the event streams and the watchers.
    pub fn close(&self) {
        self.closing.send_replace(true);
    }

    /// The current settings variant.
    pub fn variant(&self) -> Variant {
        lock(&self.current).clone()
    }

    /// The webhook log.
    pub fn webhooks(&self) -> MutexGuard<'_, WebhookLog> {
        lock(&self.webhooks)
    }

    /// The faults turned on.
    pub fn faults(&self) -> Vec<FaultRule> {
        lock(&self.faults).rules_at(self.fake.journal().last_seq() + 1)
    }

    /// Restarts the relay with the variant called `name` (the current one: a plain restart).
    pub async fn switch_variant(&self, name: &str) -> Result<(), ApiError> {
        if !self.relay.info().can_switch && name != self.variant().name {
            return Err(ApiError::conflict(
                "the relay at --relay-url runs with its own settings; restart it yourself with other \
                 settings, or use --relay-cmd to switch variants from the page",
            ));
        }
        let Some(variant) = self.variants.iter().find(|v| v.name == name).cloned() else {
            let names: Vec<&str> = self.variants.iter().map(|v| v.name.as_str()).collect();
            return Err(ApiError::bad_request(format!(
                "unknown settings variant {name:?}; variants: {}",
                names.join(", ")
            )));
        };
        let _one_at_a_time = self.switching.lock().await;
        let started = self.relay.start(&variant.settings).await;
        self.publish(DevEvent::Relay(self.relay.info()));
        started?;
        *lock(&self.current) = variant.clone();
        self.publish(DevEvent::Variant(variant.name));
        Ok(())
    }

    /// Turns a fault on, from the next request.
    pub fn add_fault(&self, request: &FaultRequest) -> Result<FaultRule, ApiError> {
        let next = self.fake.journal().last_seq() + 1;
        let rule = lock(&self.faults).add(request, next)?;
        self.apply_faults();
        Ok(rule)
    }

    /// Turns fault `id` off.
    pub fn remove_fault(&self, id: u64) -> Result<(), ApiError> {
        if !lock(&self.faults).remove(id) {
            return Err(ApiError::not_found(format!("no fault with id {id} (it may be removed already)")));
        }
        self.apply_faults();
        Ok(())
    }

    /// Turns every fault off.
    pub fn clear_faults(&self) {
        lock(&self.faults).clear();
        self.apply_faults();
    }

    fn apply_faults(&self) {
        self.fake.set_faults(lock(&self.faults).script());
        self.publish(DevEvent::Faults(self.faults()));
    }

    /// Clears the fake's journal (request numbers restart at 1; faults keep covering the
    /// same upcoming requests) and the webhook list. Returns how many requests were cleared.
    pub fn clear_journal(&self) -> usize {
        let journal = self.fake.journal();
        let (cleared, served) = (journal.len(), journal.last_seq());
        {
            let mut board = lock(&self.faults);
            self.fake.reset_journal();
            board.rebase(served);
            self.fake.set_faults(board.script());
        }
        self.webhooks().clear();
        self.publish(DevEvent::Cleared);
        self.publish(DevEvent::Faults(self.faults()));
        cleared
    }
}
