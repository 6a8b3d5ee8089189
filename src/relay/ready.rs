//! Readiness probes: `GET <ready-path>` answering 2xx, or the TCP port accepting a connection.

use std::net::SocketAddr;
use std::time::Duration;

/// One probe attempt must answer within this time.
const PROBE_TIMEOUT: Duration = Duration::from_millis(1000);

/// How a relay is checked for readiness.
#[derive(Debug, Clone)]
pub(crate) enum Probe {
    /// `GET <url>` answers 2xx.
    Http { url: String, client: reqwest::Client },
    /// The address accepts a TCP connection.
    Tcp(SocketAddr),
}

impl Probe {
    /// A probe of `base_url` + `ready_path`, or of the TCP `addr` when there is no path.
    pub(crate) fn new(base_url: &str, ready_path: Option<&str>, addr: SocketAddr) -> Self {
        match ready_path {
            Some(path) => Probe::Http { url: format!("{base_url}{path}"), client: probe_client() },
            None => Probe::Tcp(addr),
        }
    }

    /// What is probed, for error messages.
    pub(crate) fn describe(&self) -> String {
        match self {
            Probe::Http { url, .. } => format!("GET {url} did not answer 2xx"),
            Probe::Tcp(addr) => format!("nothing accepted a TCP connection on {addr}"),
        }
    }

    /// One attempt: `Ok(())` when ready, else why not.
    pub(crate) async fn check(&self) -> Result<(), String> {
        match self {
            Probe::Http { url, client } => match client.get(url).send().await {
                Ok(resp) if resp.status().is_success() => Ok(()),
                Ok(resp) => Err(format!("GET {url} answered {}", resp.status())),
                Err(e) => Err(format!("GET {url}: {e}")),
            },
            Probe::Tcp(addr) => {
                match tokio::time::timeout(PROBE_TIMEOUT, tokio::net::TcpStream::connect(addr)).await {
                    Ok(Ok(_)) => Ok(()),
                    Ok(Err(e)) => Err(format!("connect {addr}: {e}")),
                    Err(_) => Err(format!("connect {addr}: timed out")),
                }
            }
        }
    }
}

fn probe_client() -> reqwest::Client {
    reqwest::Client::builder()
        .no_proxy()
        .timeout(PROBE_TIMEOUT)
        .build()
        .unwrap_or_else(|_| reqwest::Client::new())
}
