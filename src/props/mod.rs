//! Property tests of relay mappings: proptest strategies, properties and a runner.
//!
//! - [`strategies`]: generated [`WebhookEvent`](crate::WebhookEvent)s and [`Settings`].
//! - [`properties`]: the mapping rules as pure functions over (event, settings, records).
//! - [`runner`]: runs the properties against any [`RelayMapping`] with a seed, shrinks a
//!   failure to a small event, and reports it as a ready-to-save fixture ([`fixture`]).
//! - [`http`] and [`matching`]: cases sent to a relay over HTTP, its uploads matched to
//!   the cases by content (identity, delivery and marker), whatever their arrival order.
//!
//! ```
//! use qc_harness::props::{ReferenceMapping, runner::{PropConfig, run_properties}, strategies};
//! let config = PropConfig { cases: 200, seed: 7, ..PropConfig::default() };
//! let outcome = run_properties(&mut ReferenceMapping, &strategies::case(), &config).unwrap();
//! assert!(outcome.failure.is_none());
//! assert_eq!(outcome.cases, 200);
//! ```

use serde_json::Value;

use crate::error::{Error, Result};
use crate::mapping::{Settings, expected_records};
use crate::qonversion::event::WebhookEvent;
use crate::relay::LinesRelay;

pub mod fixture;
pub mod http;
pub mod matching;
pub mod properties;
pub mod relay_check;
pub mod runner;
pub mod simplest_first;
pub mod strategies;

pub use properties::{CheckOptions, PropertyFailure, check};
pub use relay_check::{PropTarget, check_relay};
pub use runner::{Counterexample, PropConfig, PropOutcome, run_properties};

/// Something that maps a webhook event under settings to the CleverTap records it uploads.
///
/// ```
/// use qc_harness::{RelayMapping, Settings, WebhookEvent, map_event};
/// use serde_json::Value;
/// /// Your relay's own mapping function, called in-process.
/// struct MyMapping;
/// impl RelayMapping for MyMapping {
///     fn map(&mut self, event: &Value, settings: &Settings) -> qc_harness::Result<Vec<Value>> {
///         let event: WebhookEvent = serde_json::from_value(event.clone()).unwrap();
///         Ok(map_event(&event, settings).into_iter().map(|r| r.to_value()).collect())
///     }
/// }
/// let event = qc_harness::Fixture::built_in("trial_started.ios").unwrap().event.to_value();
/// assert_eq!(MyMapping.map(&event, &Settings::default()).unwrap().len(), 1);
/// ```
pub trait RelayMapping {
    /// The records uploaded for `event` (a webhook body) under `settings`: zero or more.
    /// An error means the relay did not answer (it died, timed out, or answered garbage).
    fn map(&mut self, event: &Value, settings: &Settings) -> Result<Vec<Value>>;

    /// [`RelayMapping::map`] for a typed event; in-process mappings skip the JSON round trip.
    fn map_event(&mut self, event: &WebhookEvent, settings: &Settings) -> Result<Vec<Value>> {
        self.map(&event.to_value(), settings)
    }

    /// Called after [`RelayMapping::map`] failed: `Ok` when the next case can run (the
    /// relay was restarted), `Err` when the run must stop (exit code 3).
    fn recover(&mut self) -> Result<()> {
        Ok(())
    }
}

/// The reference mapping (`mapping.md`), in process.
///
/// ```
/// use qc_harness::{Settings, props::{ReferenceMapping, RelayMapping}};
/// let event = serde_json::json!({"event_name": "trial_started", "custom_user_id": "u1",
///                                "environment": "production"});
/// let records = ReferenceMapping.map(&event, &Settings::default()).unwrap();
/// assert_eq!(records[0]["identity"], "u1");
/// ```
///
/// ```
/// use qc_harness::{ReferenceMapping, RelayMapping, Settings};
/// let event = qc_harness::Fixture::built_in("subscription_renewed.ios").unwrap().event.to_value();
/// let records = ReferenceMapping.map(&event, &Settings::default()).unwrap();
/// assert_eq!(records[0]["evtName"], "subscription_renewed");
/// ```
#[derive(Debug, Clone, Copy, Default)]
pub struct ReferenceMapping;

impl RelayMapping for ReferenceMapping {
    fn map(&mut self, event: &Value, settings: &Settings) -> Result<Vec<Value>> {
        let event: WebhookEvent = serde_json::from_value(event.clone())
            .map_err(|e| Error::invalid("<event>", ".", e.to_string()))?;
        self.map_event(&event, settings)
    }

    fn map_event(&mut self, event: &WebhookEvent, settings: &Settings) -> Result<Vec<Value>> {
        Ok(expected_records(event, settings).iter().map(|r| r.to_value()).collect())
    }
}

impl RelayMapping for LinesRelay {
    fn map(&mut self, event: &Value, settings: &Settings) -> Result<Vec<Value>> {
        self.request(event, settings)
    }

    fn map_event(&mut self, event: &WebhookEvent, settings: &Settings) -> Result<Vec<Value>> {
        self.request(event, settings)
    }

    fn recover(&mut self) -> Result<()> {
        self.restart()
    }
}
