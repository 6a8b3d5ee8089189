//! Webhooks the page sent: what went out, the relay's answer, and what the reference
//! mapping expects CleverTap to receive for it.

use std::collections::VecDeque;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use serde::Serialize;
use serde_json::Value;

use super::redact::Redactor;
use super::words;
use crate::mapping::{Settings, map_event};
use crate::qonversion::WebhookEvent;
use crate::qonversion::sender::{Attempt, Delivery, FakeQonversion};

/// Webhooks kept for the page (older ones are forgotten).
pub const KEPT_WEBHOOKS: usize = 1_000;
/// Longest answer body shown per attempt.
const SHOWN_ANSWER: usize = 2_000;
/// Time limit of one attempt.
const ATTEMPT_TIMEOUT: Duration = Duration::from_secs(10);

/// One attempt to deliver a webhook, as the page shows it.
#[derive(Debug, Clone, Serialize)]
pub struct AttemptView {
    /// 1-based.
    pub number: usize,
    /// HTTP status, `None` without an answer.
    pub status: Option<u16>,
    /// The relay's answer (cut at 2000 characters).
    pub answer: String,
    /// Why there was no complete answer.
    pub error: Option<String>,
    /// How long it took, in milliseconds.
    pub elapsed_ms: f64,
}

/// One webhook sent from the page.
#[derive(Debug, Clone, Serialize)]
pub struct WebhookView {
    /// 1-based, in sending order.
    pub id: u64,
    /// The fixture (or `journey NAME, event N`) it came from.
    pub source: String,
    /// `event_name`.
    pub event_name: String,
    /// `--set` overrides applied.
    pub overrides: Vec<String>,
    /// The settings variant the relay ran under.
    pub variant: String,
    /// Unix milliseconds.
    pub sent_at: u128,
    /// The body sent.
    pub body: Value,
    /// Every attempt.
    pub attempts: Vec<AttemptView>,
    /// The last attempt got a 2xx answer.
    pub delivered: bool,
    /// The records the reference mapping uploads for it (zero or one).
    pub expected: Vec<Value>,
    /// Why the reference does not forward it, when it does not.
    pub not_forwarded: Option<String>,
}

/// Where and how to send.
#[derive(Debug, Clone)]
pub struct Target {
    /// The relay's webhook URL.
    pub url: String,
    /// The webhook token.
    pub token: String,
    /// Follow Qonversion's retry schedule (compressed 10 000 times).
    pub retry: bool,
}

/// Delivers one event.
pub async fn deliver(target: &Target, event: &WebhookEvent) -> Delivery {
    let sender = FakeQonversion::new(&target.url, &target.token).timeout(ATTEMPT_TIMEOUT);
    if target.retry { sender.send_with_retries(event).await } else { sender.send(event).await }
}

/// What the page is told about a sent webhook.
pub struct Sent<'a> {
    /// Fixture or journey step.
    pub source: String,
    /// Overrides applied.
    pub overrides: Vec<String>,
    /// Variant name.
    pub variant: String,
    /// Its settings.
    pub settings: &'a Settings,
    /// The event.
    pub event: &'a WebhookEvent,
}

impl Sent<'_> {
    /// The view of this webhook after `delivery`.
    pub fn view(self, id: u64, delivery: &Delivery, redactor: &Redactor) -> WebhookView {
        let (expected, not_forwarded) = match map_event(self.event, self.settings) {
            Ok(record) => (vec![record.to_value()], None),
            Err(skip) => (Vec::new(), Some(words::skip(skip).to_string())),
        };
        WebhookView {
            id,
            source: self.source,
            event_name: self.event.event_name.clone(),
            overrides: self.overrides,
            variant: self.variant,
            sent_at: SystemTime::now().duration_since(UNIX_EPOCH).unwrap_or_default().as_millis(),
            body: redactor.value(&self.event.to_value()),
            attempts: delivery.attempts.iter().map(|a| attempt_view(a, redactor)).collect(),
            delivered: delivery.succeeded(),
            expected,
            not_forwarded,
        }
    }
}

fn attempt_view(attempt: &Attempt, redactor: &Redactor) -> AttemptView {
    let mut answer = redactor.text(&attempt.body);
    if answer.len() > SHOWN_ANSWER {
        answer.truncate(answer.floor_char_boundary(SHOWN_ANSWER));
        answer.push('…');
    }
    AttemptView {
        number: attempt.number,
        status: attempt.status,
        answer,
        error: attempt.error.as_ref().map(|e| redactor.text(e)),
        elapsed_ms: attempt.elapsed.as_secs_f64() * 1000.0,
    }
}

/// The webhooks sent, newest last, at most [`KEPT_WEBHOOKS`].
#[derive(Debug, Default)]
pub struct WebhookLog {
    sent: VecDeque<WebhookView>,
    last_id: u64,
}

impl WebhookLog {
    /// The id the next webhook gets.
    pub fn next_id(&mut self) -> u64 {
        self.last_id += 1;
        self.last_id
    }

    /// Keeps `view`, forgetting the oldest past the limit.
    pub fn push(&mut self, view: WebhookView) {
        self.sent.push_back(view);
        while self.sent.len() > KEPT_WEBHOOKS {
            self.sent.pop_front();
        }
    }

    /// Newest first: `limit` views after skipping `offset`.
    pub fn page(&self, offset: usize, limit: usize) -> Vec<WebhookView> {
        self.sent.iter().rev().skip(offset).take(limit).cloned().collect()
    }

    /// How many are kept.
    pub fn len(&self) -> usize {
        self.sent.len()
    }

    /// True when none is kept.
    pub fn is_empty(&self) -> bool {
        self.sent.is_empty()
    }

    /// Every expected record with the id of its webhook, newest webhook first.
    pub fn expected(&self) -> Vec<(u64, Value)> {
        let each = |w: &WebhookView| w.expected.iter().map(|r| (w.id, r.clone())).collect::<Vec<_>>();
        self.sent.iter().rev().flat_map(each).collect()
    }

    /// Forgets every webhook (ids go on counting).
    pub fn clear(&mut self) {
        self.sent.clear();
    }
}
