//! # qc-harness
//!
//! A mock-and-conformance test harness for Qonversion → CleverTap relays: a fake
//! Qonversion that sends webhooks, a fake CleverTap that checks uploads like the real
//! Upload API, a conformance runner and a property tester.
//!
//! ```
//! use qc_harness::{FixtureCatalogue, Settings, mapping::map_event};
//! let catalogue = FixtureCatalogue::built_in().unwrap();
//! let fixture = catalogue.get("subscription_renewed.ios").unwrap();
//! let record = map_event(&fixture.event, &Settings::default()).unwrap();
//! assert_eq!(record.evt_name, "subscription_renewed");
//! ```
#![warn(missing_docs)]

pub mod clevertap;
#[cfg(feature = "cli")]
pub mod cli;
pub mod conformance;
#[cfg(feature = "cli")]
pub mod dev;
pub mod duration;
pub mod error;
pub mod json_input;
pub mod mapping;
#[cfg(feature = "cli")]
pub mod parity;
#[cfg(feature = "props")]
pub mod props;
pub mod qonversion;
pub mod redact;
#[cfg(feature = "conformance")]
pub mod reference_relay;
#[cfg(feature = "conformance")]
pub mod relay;
#[cfg(feature = "conformance")]
pub mod report;
#[cfg(feature = "conformance")]
pub mod snapshot;

pub use clevertap::FakeCleverTap;
pub use error::{Error, Result};
pub use mapping::{EventRecord, Settings};
pub use qonversion::{FakeQonversion, FixtureCatalogue, WebhookEvent};

/// The README's Rust examples, compiled and run as doc tests.
#[cfg(doctest)]
#[doc = include_str!("../README.md")]
struct ReadmeExamples;

/// The Rust examples of the documents moved out of the README, compiled and run as doc tests.
#[cfg(doctest)]
#[doc = include_str!("../docs/internals.md")]
#[doc = include_str!("../docs/rust-api.md")]
#[doc = include_str!("../docs/prop.md")]
struct DocsExamples;
