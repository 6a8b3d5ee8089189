//! The receiving side: a fake of CleverTap's Upload API (`POST /1/upload`) that checks
//! uploads like the real service (`clevertap-upload.md`), answers with its exact bodies,
//! injects faults, and journals everything for the conformance checks.
//!
//! - [`validate`]: the envelope and per-record rules, pure;
//! - [`answer`]: the response bodies;
//! - [`fault`]: [`Fault`], [`FaultScript`] and seeded chaos;
//! - [`journal`]: [`Journal`], [`JournalEntry`], [`RecordEntry`];
//! - [`FakeCleverTap`] and its [`FakeCleverTapBuilder`]: the server on `wiremock`;
//! - `standalone`: `qc-harness clevertap` (feature `cli`).

pub mod answer;
mod config;
mod control;
mod engine;
pub mod fault;
mod front;
pub mod journal;
mod limits;
mod order;
mod recycle;
mod server;
#[cfg(feature = "cli")]
pub mod standalone;
pub mod validate;
mod view;

pub use config::{
    Account, DEFAULT_ACCOUNT_ID, DEFAULT_MAX_CONCURRENCY, DEFAULT_PASSCODE, DEFAULT_REGION,
    FakeCleverTapBuilder, FakeConfig,
};
pub use engine::{CONTROL_PATH, UPLOAD_PATH};
pub use fault::{Fault, FaultScript};
pub use front::{
    DEFAULT_ACCEPT_RETRY_FOR, DEFAULT_HEADER_TIMEOUT, DEFAULT_MAX_CONNECTIONS, FrontLimits, Health,
    MAX_BODY_BYTES,
};
pub use journal::{Journal, JournalEntry, NotQuiet, ReceivedRecord, RecordEntry, RecordOutcome, WaitTimeout};
pub use limits::{quiet_request_panics, raise_open_file_limit};
pub use server::FakeCleverTap;
