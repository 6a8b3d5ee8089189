//! [`check_relay`]: the library side of `qc-harness prop`: attach a relay, run the properties.

use std::time::Duration;

use super::runner::{PropConfig, PropOutcome, run_properties};
use super::strategies;
use crate::error::Result;
use crate::mapping::Settings;
use crate::relay::{LinesRelay, RelaySpec};

/// Which relay the properties run against.
///
/// ```
/// use std::time::Duration;
/// let target = qc_harness::PropTarget::Lines { command: "python3 map.py".into(), line_timeout: Duration::from_secs(5) };
/// # let _ = target;
/// ```
#[derive(Debug, Clone)]
pub enum PropTarget {
    /// `--relay-lines CMD`: the JSON-lines adapter; every case carries its own settings.
    Lines {
        /// The command (run through `sh -c`).
        command: String,
        /// Deadline per answer line.
        line_timeout: Duration,
    },
    /// `--relay-cmd` / `--relay-url` / the built-in relay: webhooks over HTTP, uploads
    /// read from the fake CleverTap's journal.
    Http(RelaySpec),
}

/// Runs the properties against `target`.
///
/// Settings: with `fixed_settings` every case uses them; otherwise the JSON-lines adapter
/// gets generated settings per case, and an HTTP relay a small pool of generated settings
/// (one relay process per settings).
///
/// ```
/// use std::time::Duration;
/// use qc_harness::{PropConfig, PropTarget, check_relay};
/// // A JSON-lines adapter that answers every event with no record: the properties find it.
/// let silent = r#"python3 -c 'import sys
/// for line in sys.stdin: print("{\"records\": []}", flush=True)'"#;
/// let target = PropTarget::Lines { command: silent.into(), line_timeout: Duration::from_secs(5) };
/// let outcome = check_relay(&target, None, &PropConfig { cases: 64, ..Default::default() }).unwrap();
/// assert!(outcome.failure.is_some());
/// ```
pub fn check_relay(
    target: &PropTarget,
    fixed_settings: Option<Settings>,
    config: &PropConfig,
) -> Result<PropOutcome> {
    match target {
        PropTarget::Lines { command, line_timeout } => {
            let mut relay = LinesRelay::spawn_with_timeout(command, *line_timeout)?;
            match fixed_settings {
                Some(settings) => {
                    run_properties(&mut relay, &strategies::case_with_settings(vec![settings]), config)
                }
                None => run_properties(&mut relay, &strategies::case(), config),
            }
        }
        PropTarget::Http(spec) => super::http::check_http_relay(spec, fixed_settings, config),
    }
}
