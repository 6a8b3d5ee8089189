//! # qc-harness
//!
//! A mock-and-conformance test harness for Qonversion → CleverTap relays: a fake
//! Qonversion that sends webhooks, a fake CleverTap that checks uploads like the real
//! Upload API, a conformance runner and a property tester.
//!
//! Everything a Rust test touches is exported here, at the crate root, the way wiremock
//! exports its `MockServer`:
//!
//! | what | items |
//! |---|---|
//! | the fake CleverTap | [`FakeCleverTap`], [`FakeCleverTapBuilder`], [`Fault`], [`FaultScript`] |
//! | its journal | [`Journal`], [`JournalEntry`], [`RecordEntry`], [`RecordOutcome`], [`WaitTimeout`] |
//! | the fake Qonversion | [`FakeQonversion`], [`Delivery`], [`Attempt`] |
//! | fixtures | [`FixtureCatalogue`], [`Fixture`], [`Journey`], [`WebhookEvent`], [`Field`] |
//! | settings and the reference mapping | [`Settings`], [`EventSettings`], [`EventRecord`], [`map_event`], [`expected_records`], [`upload_body`], [`Skip`] |
//! | comparison | [`compare_records`], [`Difference`], [`ObservedRecord`], [`CompareOptions`] |
//! | errors and defaults | [`Error`], [`Result`], [`exit_code`], [`DEFAULT_ACCOUNT_ID`], [`DEFAULT_PASSCODE`], [`DEFAULT_REGION`], [`DEFAULT_TOKEN`] |
//! | the conformance run (feature `conformance`) | `run`, `RunConfig`, `RunOutcome`, `CaseResult`, `CheckResult`, `Status`, `Level`, `Totals`, `Variant`, `RelaySpec`, `RelayTarget`, `render_human` |
//! | the property tester (feature `props`) | `run_properties`, `PropConfig`, `PropOutcome`, `RelayMapping`, `ReferenceMapping`, `check_relay`, `PropTarget`, `strategies` |
//!
//! With `default-features = false` the crate is the lean library (the fakes, the fixtures,
//! the mapping and the comparison) without the command line's dependencies; see
//! `docs/rust-api.md`, "Cargo features".
//!
//! ```
//! use qc_harness::{Fixture, Settings, map_event};
//! let fixture = Fixture::built_in("subscription_renewed.ios").unwrap();
//! let record = map_event(&fixture.event, &Settings::default()).unwrap();
//! assert_eq!(record.evt_name, "subscription_renewed");
//! ```
//!
//! The modules themselves are internal: the binary and the crate's own tests reach into
//! them, and the hidden ones may change in any release.
#![warn(missing_docs)]

// Internal modules, not API: hidden from the documentation, reachable for the binary, the
// crate's integration tests and benches. What users need is re-exported below.
#[doc(hidden)]
pub mod clevertap;
#[cfg(feature = "cli")]
#[doc(hidden)]
pub mod cli;
#[doc(hidden)]
pub mod conformance;
#[cfg(feature = "cli")]
#[doc(hidden)]
pub mod dev;
// Flag helpers the command line uses and the lean library does not.
#[cfg_attr(not(feature = "cli"), allow(dead_code))]
mod duration;
mod error;
mod json_input;
#[doc(hidden)]
pub mod mapping;
#[cfg(feature = "cli")]
#[doc(hidden)]
pub mod parity;
#[cfg(feature = "props")]
#[doc(hidden)]
pub mod props;
#[doc(hidden)]
pub mod qonversion;
// Log redaction is the command line's; the lean library only hides secrets in its journal.
#[cfg_attr(not(feature = "cli"), allow(dead_code))]
mod redact;
#[cfg(feature = "conformance")]
#[doc(hidden)]
pub mod reference_relay;
#[cfg(feature = "conformance")]
#[doc(hidden)]
pub mod relay;
#[cfg(feature = "conformance")]
#[doc(hidden)]
pub mod report;
#[cfg(feature = "conformance")]
#[doc(hidden)]
pub mod snapshot;

// ---- The lean library (no feature needed) ----

// The fake CleverTap, its faults and its journal.
pub use clevertap::{
    DEFAULT_ACCOUNT_ID, DEFAULT_PASSCODE, DEFAULT_REGION, FakeCleverTap, FakeCleverTapBuilder, Fault,
    FaultScript, Journal, JournalEntry, RecordEntry, RecordOutcome, WaitTimeout,
};
// The fake Qonversion (its only import path) and the fixtures.
pub use qonversion::sender::{Attempt, Delivery, FakeQonversion};
pub use qonversion::{DEFAULT_TOKEN, Field, Fixture, FixtureCatalogue, Journey, WebhookEvent};
// Settings and the reference mapping.
pub use mapping::{EventRecord, EventSettings, Settings, Skip, expected_records, map_event, upload_body};
// The field-level comparison of expected and received records.
pub use conformance::compare::{CompareOptions, Difference, ObservedRecord, compare_records};
// Errors.
pub use error::{Error, Result, exit_code};

// ---- The conformance run (feature `conformance`) ----
#[cfg(feature = "conformance")]
pub use conformance::{
    CaseResult, CheckResult, Level, RunConfig, RunOutcome, Status, Totals, Variant, config::Progress, run,
};
#[cfg(feature = "conformance")]
pub use relay::{RelaySpec, RelayTarget};
#[cfg(feature = "conformance")]
pub use report::render_human;

// ---- The property tester (feature `props`) ----
#[cfg(feature = "props")]
pub use props::{
    PropConfig, PropOutcome, PropTarget, ReferenceMapping, RelayMapping, check_relay, run_properties,
    strategies,
};

// Typed journal records and waits, and partial comparison (lean).
pub use clevertap::{NotQuiet, ReceivedRecord};
pub use conformance::Comparison;

// ---- The in-process suite and the one-call fixture comparison (feature `conformance`) ----
#[cfg(feature = "conformance")]
pub use conformance::{Differences, Received, Suite, compare_fixture};
#[cfg(feature = "conformance")]
pub use relay::{InProcessRelay, RelayAdapter, RelayHandle, RelaySetup};

/// The README's Rust examples, compiled and run as doc tests.
#[cfg(all(doctest, feature = "cli"))]
#[doc = include_str!("../README.md")]
struct ReadmeExamples;

/// The Rust examples of the documents moved out of the README, compiled and run as doc tests.
#[cfg(all(doctest, feature = "cli"))]
#[doc = include_str!("../docs/internals.md")]
#[doc = include_str!("../docs/rust-api.md")]
#[doc = include_str!("../docs/prop.md")]
struct DocsExamples;
