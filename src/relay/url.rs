//! `--relay-url`: attaching to a relay the user started.

use std::net::{SocketAddr, ToSocketAddrs};
use std::time::Instant;

use super::ready::Probe;
use crate::error::{Error, Result};
use crate::relay::RelaySpec;

/// Checks that the relay at `url` is reachable (its ready-path answers 2xx, or its port
/// accepts a connection) within the spec's start-up timeout; returns the base URL.
pub(crate) async fn attach(url: &str, spec: &RelaySpec) -> Result<String> {
    let base = url.trim_end_matches('/').to_string();
    let addr = socket_addr(&base)?;
    let probe = Probe::new(&base, spec.ready_path.as_deref(), addr);
    let start = Instant::now();
    loop {
        let outcome = probe.check().await;
        match outcome {
            Ok(()) => return Ok(base),
            Err(why) if start.elapsed() >= spec.startup_timeout => {
                return Err(Error::Relay {
                    message: format!(
                        "the relay at {base} is not reachable after {:.1} s: {why}",
                        spec.startup_timeout.as_secs_f64()
                    ),
                    tail: String::new(),
                });
            }
            Err(_) => tokio::time::sleep(std::time::Duration::from_millis(50)).await,
        }
    }
}

fn socket_addr(base: &str) -> Result<SocketAddr> {
    let bad = |why: String| Error::Usage(format!("--relay-url {base:?}: {why}"));
    let parsed = reqwest::Url::parse(base).map_err(|e| bad(e.to_string()))?;
    if parsed.scheme() != "http" && parsed.scheme() != "https" {
        return Err(bad("must be an http:// or https:// URL".into()));
    }
    let host = parsed.host_str().ok_or_else(|| bad("has no host".into()))?;
    let port = parsed.port_or_known_default().ok_or_else(|| bad("has no port".into()))?;
    (host.trim_matches(['[', ']']), port)
        .to_socket_addrs()
        .map_err(|e| bad(format!("cannot resolve {host}: {e}")))?
        .next()
        .ok_or_else(|| bad(format!("{host} resolves to no address")))
}
