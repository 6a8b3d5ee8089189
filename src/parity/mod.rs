//! `qc-harness parity`: keeps the fake honest against the real CleverTap Upload API.
//!
//! A corpus of upload requests ([`corpus`], one or more per rule and code of
//! `clevertap-upload.md`) is sent with `?dryRun=1` to an upstream and to an in-process
//! [`FakeCleverTap`](crate::clevertap::FakeCleverTap) set up like the account; every
//! difference in HTTP status, body shape, `status`, `processed` and per-record code, number
//! and text is reported ([`compare`]). Answers can be recorded as [`cassette`]s, which
//! [`replay`] sends to the fake again (`cargo test` replays `tests/cassettes/`).
//!
//! - [`corpus`]: the requests;
//! - [`client`]: sending them (credentials, dry run, at most 15 in flight, `Retry-After`);
//! - [`compare`]: [`Difference`]s between two answers;
//! - [`cassette`] and [`replay`]: recorded answers;
//! - [`run`]: a whole parity run.

use std::fmt;

use crate::clevertap::{FakeCleverTap, FakeCleverTapBuilder};

pub mod cassette;
pub mod client;
pub mod compare;
pub mod corpus;
pub mod replay;
pub mod run;

pub use compare::Difference;
pub use run::{ParityConfig, ParityError, ParityReport, run};

/// A CleverTap account id and passcode. The passcode never appears in `Debug` output.
#[derive(Clone, PartialEq, Eq)]
pub struct Account {
    /// `X-CleverTap-Account-Id`.
    pub id: String,
    /// `X-CleverTap-Passcode`.
    pub passcode: String,
}

impl Account {
    /// An account from its id and passcode.
    pub fn new(id: impl Into<String>, passcode: impl Into<String>) -> Account {
        Account { id: id.into(), passcode: passcode.into() }
    }
}

impl fmt::Debug for Account {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Account {{ id: {:?}, passcode: [redacted] }}", self.id)
    }
}

/// A fake set up like the account: its id and passcode, property limit, Nested Objects
/// switch and discarded event.
pub fn fake_for(account: &Account, settings: &cassette::AccountSettings) -> FakeCleverTapBuilder {
    let mut builder = FakeCleverTap::builder()
        .account(account.id.clone(), [account.passcode.clone()])
        .property_limit(settings.property_limit)
        .nested_objects(settings.nested_objects);
    if let Some(name) = &settings.discarded_event {
        builder = builder.discard_event(name.clone());
    }
    builder
}
