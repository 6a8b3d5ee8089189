//! Tests of `qc-harness dev`: the JSON API over plain HTTP (`api`), the page in a real
//! headless Chromium (`browser`), and the command itself (`cli`).

mod api;
mod browser;
mod cli;

use std::path::Path;
use std::time::{Duration, Instant};

use qc_harness::dev::{DevConfig, DevServer};
use qc_harness::{RelaySpec, RelayTarget};
use serde_json::Value;

/// Every wait of these tests ends by this.
pub const DEADLINE: Duration = Duration::from_secs(20);

/// The test relay of `tests/relays/relay.py`, broken on purpose with `breaks` (may be empty).
pub fn test_relay(breaks: &str) -> RelaySpec {
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/relays/relay.py");
    RelaySpec::new(RelayTarget::Command(format!("BREAK={breaks} exec python3 '{}'", script.display())))
}

/// The example Python relay of `examples/relays/python/relay.py`.
pub fn example_relay() -> RelaySpec {
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("examples/relays/python/relay.py");
    RelaySpec::new(RelayTarget::Command(format!("exec python3 '{}'", script.display())))
}

/// A `dev` session on a free loopback port, and an HTTP client for its API.
pub struct Dev {
    pub server: DevServer,
    pub base: String,
    pub http: reqwest::Client,
}

impl Dev {
    pub async fn start(relay: RelaySpec) -> Dev {
        Dev::start_with(DevConfig::new(relay)).await
    }

    pub async fn start_with(config: DevConfig) -> Dev {
        let server = DevServer::start(config).await.expect("dev starts");
        let base = server.url().trim_end_matches('/').to_string();
        Dev { server, base, http: reqwest::Client::builder().no_proxy().build().unwrap() }
    }

    /// GET, expecting `status`; the JSON answer.
    pub async fn get(&self, path: &str, status: u16) -> Value {
        let response = self.http.get(format!("{}{path}", self.base)).send().await.unwrap();
        Self::json(response, status, path).await
    }

    /// `method` with a JSON body, expecting `status`; the JSON answer.
    pub async fn call(&self, method: &str, path: &str, body: Option<Value>, status: u16) -> Value {
        let method = reqwest::Method::from_bytes(method.as_bytes()).unwrap();
        let mut request = self.http.request(method, format!("{}{path}", self.base));
        if let Some(body) = body {
            request = request.json(&body);
        }
        Self::json(request.send().await.unwrap(), status, path).await
    }

    async fn json(response: reqwest::Response, status: u16, path: &str) -> Value {
        let got = response.status().as_u16();
        let text = response.text().await.unwrap();
        assert_eq!(got, status, "{path}: expected HTTP {status}, got {got}: {text}");
        serde_json::from_str(&text).unwrap_or_else(|e| panic!("{path}: not JSON ({e}): {text}"))
    }

    /// Polls `path` until `ready` holds (or the deadline); the last answer.
    pub async fn wait_for(&self, path: &str, ready: impl Fn(&Value) -> bool) -> Value {
        let start = Instant::now();
        loop {
            let answer = self.get(path, 200).await;
            if ready(&answer) {
                return answer;
            }
            assert!(
                start.elapsed() < DEADLINE,
                "{path}: condition not met within {DEADLINE:?}; last: {answer:#}"
            );
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }

    pub async fn stop(self) {
        self.server.stop().await.expect("dev stops");
    }
}
