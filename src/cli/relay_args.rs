//! Relay selection flags shared by `run` and `prop`.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::Duration;

use clap::Args;

use crate::error::{Error, Result};
use crate::relay::{RelaySpec, RelayTarget};

/// How to reach the relay under test (`relay-contract.md`).
#[derive(Debug, Clone, Args)]
#[command(next_help_heading = "Relay")]
pub struct RelayArgs {
    /// Run this command as the relay (through `sh -c`, once per settings variant).
    /// Placeholders: {port} {clevertap_url} {account_id} {passcode} {region} {token} {settings}.
    #[arg(long, value_name = "CMD", conflicts_with = "relay_url")]
    pub relay_cmd: Option<String>,
    /// Drive a relay that is already running at this base URL (only the `--settings` variant runs).
    #[arg(long, value_name = "URL", requires = "clevertap_listen")]
    pub relay_url: Option<String>,
    /// Path webhooks are POSTed to.
    #[arg(long, value_name = "PATH", default_value = "/webhook")]
    pub webhook_path: String,
    /// Readiness probe path (GET must answer 2xx); default: the TCP port accepts a connection.
    #[arg(long, value_name = "PATH")]
    pub ready_path: Option<String>,
    /// How long the relay may take to become ready: seconds, or with a unit (500ms, 1m).
    #[arg(long, value_name = "SECS", default_value = "10", value_parser = crate::duration::flag::positive_secs)]
    pub startup_timeout: Duration,
    /// Settings file (relay-contract.md §3): the relay's settings with --relay-url, else an extra variant.
    #[arg(long, value_name = "FILE")]
    pub settings: Option<PathBuf>,
    /// Address of the fake CleverTap that a --relay-url relay uploads to, e.g. 127.0.0.1:8080.
    #[arg(long, value_name = "ADDR", value_parser = super::addr::parse_addr)]
    pub clevertap_listen: Option<SocketAddr>,
}

impl RelayArgs {
    /// Warns when `--clevertap-listen` is not a loopback address, as `clevertap --listen` does.
    pub fn warn_if_exposed(&self, out: &super::Output) {
        if let Some(listen) = self.clevertap_listen {
            super::clevertap::warn_if_exposed(listen, out);
        }
    }

    /// Turns the flags into a [`RelaySpec`]; no relay flag means the built-in reference relay.
    pub fn to_spec(&self) -> Result<RelaySpec> {
        let target = match (&self.relay_cmd, &self.relay_url) {
            (Some(cmd), _) => RelayTarget::Command(cmd.clone()),
            (_, Some(url)) => RelayTarget::Url(super::addr::with_scheme(url.trim_end_matches('/'))),
            _ => RelayTarget::BuiltIn { exe: current_exe()? },
        };
        if !self.webhook_path.starts_with('/') {
            return Err(Error::Usage(format!(
                "--webhook-path must start with '/', got \"{}\"",
                self.webhook_path
            )));
        }
        let mut spec = RelaySpec::new(target);
        spec.webhook_path = self.webhook_path.clone();
        spec.ready_path = self.ready_path.clone();
        spec.startup_timeout = self.startup_timeout;
        spec.settings = self.settings.clone();
        spec.clevertap_listen = self.clevertap_listen;
        Ok(spec)
    }
}

fn current_exe() -> Result<PathBuf> {
    std::env::current_exe()
        .map_err(|e| Error::Usage(format!("cannot find the qc-harness binary for the reference relay: {e}")))
}
