//! Uploads to CleverTap with retries: 429, 5xx and connection errors are retried with
//! exponential backoff (and `Retry-After`), at most 15 uploads in flight.

use std::time::Duration;

use serde_json::{Value, json};
use tokio::sync::Semaphore;

/// Attempts per upload before the webhook is answered 503.
const ATTEMPTS: u32 = 6;
/// The first retry's delay; each next one doubles.
const FIRST_DELAY: Duration = Duration::from_millis(100);
/// CleverTap's limit of concurrent uploads per account.
const IN_FLIGHT: usize = 15;

/// The CleverTap client.
pub struct Uploader {
    client: reqwest::Client,
    url: String,
    account_id: String,
    passcode: String,
    in_flight: Semaphore,
}

impl Uploader {
    /// An uploader to `<base_url>/1/upload` for one account.
    pub fn new(base_url: &str, account_id: &str, passcode: &str) -> Uploader {
        Uploader {
            client: reqwest::Client::new(),
            url: format!("{}/1/upload", base_url.trim_end_matches('/')),
            account_id: account_id.to_string(),
            passcode: passcode.to_string(),
            in_flight: Semaphore::new(IN_FLIGHT),
        }
    }

    /// Uploads `record`, retrying; whether CleverTap took it (HTTP 200).
    pub async fn upload(&self, record: &Value) -> bool {
        let body = json!({ "d": [record] });
        let mut delay = FIRST_DELAY;
        for attempt in 1..=ATTEMPTS {
            let wait = match self.attempt(&body).await {
                Ok(200) => return true,
                Ok(status) if status != 429 && status < 500 => return false,
                Ok(_) | Err(None) => delay,
                Err(Some(retry_after)) => retry_after.max(delay),
            };
            if attempt < ATTEMPTS {
                tokio::time::sleep(wait).await;
                delay *= 2;
            }
        }
        false
    }

    /// One request: `Ok(status)`, or `Err(Some(Retry-After))` for a 429 that names a wait,
    /// `Err(None)` when no answer came.
    async fn attempt(&self, body: &Value) -> Result<u16, Option<Duration>> {
        let _slot = self.in_flight.acquire().await.map_err(|_| None)?;
        let answer = self
            .client
            .post(&self.url)
            .header("X-CleverTap-Account-Id", &self.account_id)
            .header("X-CleverTap-Passcode", &self.passcode)
            .json(body)
            .send()
            .await
            .map_err(|_| None)?;
        let retry_after = answer
            .headers()
            .get("retry-after")
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.trim().parse::<u64>().ok())
            .map(Duration::from_secs);
        match (answer.status().as_u16(), retry_after) {
            (429, Some(wait)) => Err(Some(wait)),
            (status, _) => Ok(status),
        }
    }
}
