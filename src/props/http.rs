//! Property cases over HTTP: webhooks to a running relay, uploads read from the fake CleverTap.

use crate::error::Result;
use crate::mapping::Settings;
use crate::relay::RelaySpec;

use super::relay_check::usage;
use super::runner::{PropConfig, PropOutcome};

/// Runs the properties against a relay reached over HTTP.
pub fn check_http_relay(_spec: &RelaySpec, _settings: Option<Settings>, _config: &PropConfig) -> Result<PropOutcome> {
    Err(usage("prop over HTTP (--relay-cmd / --relay-url) is not available yet; use --relay-lines"))
}
