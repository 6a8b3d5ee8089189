//! `qc-harness dev`: the live web view of both fakes around a running relay.

use super::output::outln;
use std::net::SocketAddr;
use std::time::Instant;

use clap::Args;

use super::Output;
use super::relay_args::RelayArgs;
use crate::dev::{DEFAULT_LISTEN, DevConfig, DevServer};
use crate::error::{Result, exit_code};
use crate::qonversion::DEFAULT_TOKEN;

/// Local development: a live page of the webhooks sent, the uploads the fake CleverTap
/// received (each record checked against the reference mapping) and the relay's output.
///
/// Starts the fake CleverTap and the relay (as `run` does), then serves the page on
/// loopback and prints its address. From the page: send catalogue fixtures (with --set
/// overrides) and journeys, switch the settings variant (restarts the relay), inject
/// faults (429, 5xx, delay, drop, partial, chaos), download or clear the journal. The page
/// uses the JSON API under /api (see docs/dev.md); scripts may use it too.
/// Ctrl-C stops everything, the relay's whole process group included.
///
/// Examples:
///   qc-harness dev                                              # built-in reference relay
///   qc-harness dev --relay-cmd "python3 examples/relays/python/relay.py"
///   qc-harness dev --relay-cmd "node relay.js" --settings mine.json --listen 127.0.0.1:0
///   qc-harness dev --relay-url http://127.0.0.1:3000 --clevertap-listen 127.0.0.1:8080 \
///                  --settings mine.json --token "$QONVERSION_TOKEN"
#[derive(Debug, Args)]
#[command(verbatim_doc_comment)]
pub struct DevArgs {
    #[command(flatten)]
    relay: Box<RelayArgs>,
    /// The page's address (port 0: any free port). A non-loopback address exposes the page,
    /// which can drive the relay, to the network (a warning is printed).
    #[arg(long, value_name = "ADDR", default_value = DEFAULT_LISTEN)]
    listen: SocketAddr,
    /// Webhook token given to the relay (QONVERSION_WEBHOOK_TOKEN); set it to your relay's
    /// token with --relay-url. Never shown on the page.
    #[arg(long, value_name = "TOKEN", env = "QC_HARNESS_TOKEN", hide_env_values = true, default_value = DEFAULT_TOKEN)]
    token: String,
}

pub fn execute(args: DevArgs, out: &Output) -> Result<i32> {
    let mut config = DevConfig::new(args.relay.to_spec()?);
    args.relay.warn_if_exposed(out);
    config.listen = args.listen;
    config.token = args.token;
    crate::redact::hide_in_logs([config.token.clone(), crate::clevertap::DEFAULT_PASSCODE.to_string()]);
    if !args.listen.ip().is_loopback() {
        out.warn(&format!(
            "listening on {}: the page and its API, which drive the relay, are reachable from other machines",
            args.listen
        ));
    }
    let started = Instant::now();
    super::runtime()?.block_on(async {
        let server = DevServer::start(config).await?;
        let state = server.state();
        out.line(&format!(
            "fake CleverTap: {}/1/upload (account {})",
            state.fake.uri(),
            state.fake.account_id()
        ));
        if let Some(url) = state.relay.webhook_url() {
            out.line(&format!("relay: {url} ({})", state.relay.info().target));
        }
        outln!(
            "qc-harness dev: page ready at {} ({} ms); Ctrl-C stops everything",
            server.url(),
            started.elapsed().as_millis()
        );
        // Ctrl-C (and SIGTERM) is handled by the relay registry: it stops every relay
        // process group and exits. Until then, the page serves.
        std::future::pending::<()>().await;
        server.stop().await
    })?;
    Ok(exit_code::SUCCESS)
}
