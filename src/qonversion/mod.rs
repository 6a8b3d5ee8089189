//! The sending side: the webhook event model, the event catalogue, the fixtures and
//! the fake Qonversion sender.

pub mod attempt;
pub mod catalogue;
pub mod event;
pub mod field;
pub mod fixtures;
pub mod overrides;
pub mod schedule;
pub mod sender;

pub use catalogue::{EVENT_KINDS, EventKind, event_kind};
pub use event::{Price, Revenue, Transaction, TransactionId, WebhookEvent};
pub use field::Field;
pub use fixtures::{Fixture, FixtureCatalogue, Journey};
pub use sender::{Attempt, Delivery, FakeQonversion};
