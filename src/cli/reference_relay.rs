//! `qc-harness reference-relay`.

use clap::Args;

use super::Output;
use crate::error::Result;
use crate::reference_relay::{RelayConfig, run};

/// The built-in reference relay: receives Qonversion webhooks and uploads them to CleverTap.
///
/// Configured only through the relay contract's environment (relay-contract.md §1), so the
/// harness drives it exactly like any other relay:
///
///   PORT                      port on 127.0.0.1 to listen on (required)
///   CLEVERTAP_API_URL         CleverTap base URL; uploads go to $CLEVERTAP_API_URL/1/upload
///                             (default https://<region>.api.clevertap.com; eu1: https://api.clevertap.com)
///   CLEVERTAP_ACCOUNT_ID      sent as X-CleverTap-Account-Id (required)
///   CLEVERTAP_PASSCODE        sent as X-CleverTap-Passcode (required)
///   CLEVERTAP_REGION          eu1, in1, sg1, us1, aps3, mec1 or sk1 (default eu1)
///   QONVERSION_WEBHOOK_TOKEN  expected in `Authorization: Basic <token>`, raw (required)
///   RELAY_SETTINGS            integration settings file (JSON; default settings when unset)
///   WEBHOOK_PATH              path webhooks are POSTed to (default /webhook)
///
/// Serves POST $WEBHOOK_PATH and GET /health. SIGTERM or Ctrl-C stops it after the uploads in
/// flight have finished. Logs go to stderr (RUST_LOG, -v). A bad or missing variable, or an
/// invalid settings file, is reported with its name and exits with code 2.
///
/// Example:
///   PORT=8000 CLEVERTAP_ACCOUNT_ID=TEST-ACC-000 CLEVERTAP_PASSCODE=TEST-PASSCODE \
///   QONVERSION_WEBHOOK_TOKEN=secret CLEVERTAP_API_URL=http://127.0.0.1:8080 \
///   RELAY_SETTINGS=settings.json qc-harness reference-relay
#[derive(Debug, Args)]
#[command(verbatim_doc_comment)]
pub struct ReferenceRelayArgs {}

/// Reads the environment and runs the relay until SIGTERM / SIGINT.
pub fn execute(_args: ReferenceRelayArgs, _out: &Output) -> Result<i32> {
    let config = RelayConfig::from_process_env()?;
    super::runtime()?.block_on(run(config))?;
    Ok(crate::error::exit_code::SUCCESS)
}
