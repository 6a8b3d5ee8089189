//! The sending side: the webhook event model, the event catalogue, the fixtures and
//! the fake Qonversion sender.

pub(crate) mod attempt;
pub mod catalogue;
pub mod event;
pub mod field;
pub mod fixtures;
pub mod overrides;
pub mod schedule;
// One import path for the sender: `qc_harness::FakeQonversion` (and `Delivery`, `Attempt`).
pub(crate) mod sender;

/// The webhook token the harness gives a relay it starts (`QONVERSION_WEBHOOK_TOKEN`) and
/// sends as `Authorization: Basic <token>`, raw, when none is chosen.
///
/// ```
/// let q = qc_harness::FakeQonversion::new("http://127.0.0.1:3000/webhook", qc_harness::DEFAULT_TOKEN);
/// # let _ = q;
/// assert_eq!(qc_harness::DEFAULT_TOKEN, "qc-harness-test-token");
/// ```
pub const DEFAULT_TOKEN: &str = "qc-harness-test-token";

pub use catalogue::{EVENT_KINDS, EventKind, event_kind};
pub use event::{Price, Revenue, Transaction, TransactionId, WebhookEvent};
pub use field::Field;
pub use fixtures::{Fixture, FixtureCatalogue, Journey};
