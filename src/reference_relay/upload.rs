//! [`Uploader`]: CleverTap uploads with retries, backoff and a bound on uploads in flight.

use std::time::{Duration, Instant};

use rand::Rng;
use serde_json::{Value, json};
use tokio::sync::Semaphore;

/// At most this many uploads are in flight at once (CleverTap answers 429 above 15).
pub const MAX_IN_FLIGHT: usize = 15;

/// When and how often an upload is retried.
#[derive(Debug, Clone)]
pub struct RetryPolicy {
    /// Attempts in all when CleverTap answers 429/5xx or the connection fails.
    pub max_attempts: u32,
    /// Attempts in all when CleverTap lists the record in `unprocessed`.
    pub max_record_attempts: u32,
    /// First backoff; doubled per attempt, with jitter.
    pub base_delay: Duration,
    /// Longest backoff.
    pub max_delay: Duration,
    /// No retry starts when it would begin later than this after the first attempt.
    pub budget: Duration,
    /// Time limit of one upload request.
    pub request_timeout: Duration,
}

impl Default for RetryPolicy {
    fn default() -> Self {
        RetryPolicy {
            max_attempts: 6,
            max_record_attempts: 3,
            base_delay: Duration::from_millis(100),
            max_delay: Duration::from_secs(5),
            budget: Duration::from_secs(8),
            request_timeout: Duration::from_secs(15),
        }
    }
}

impl RetryPolicy {
    /// Exponential backoff with jitter for the retry after attempt number `attempt` (1-based).
    pub fn backoff(&self, attempt: u32) -> Duration {
        let exp = self.base_delay.saturating_mul(1u32 << attempt.saturating_sub(1).min(16));
        exp.min(self.max_delay).mul_f64(rand::thread_rng().gen_range(0.5..=1.0))
    }
}

/// The final outcome of one upload.
#[derive(Debug, Clone, PartialEq)]
pub enum UploadOutcome {
    /// CleverTap accepted the record.
    Uploaded {
        /// Requests it took.
        attempts: u32,
    },
    /// CleverTap kept listing the record in `unprocessed`; it is not retried further.
    Rejected {
        /// CleverTap's per-record error code.
        code: i64,
        /// CleverTap's error text.
        error: String,
    },
    /// CleverTap refused the request itself (401, 400, 413, ...): retrying cannot help.
    Refused {
        /// HTTP status.
        status: u16,
        /// Response body.
        body: String,
    },
    /// Transient errors (429, 5xx, connection) did not stop within the retry budget.
    GaveUp {
        /// The last error.
        reason: String,
    },
}

/// One request's result.
enum Attempt {
    Accepted,
    Unprocessed { code: i64, error: String },
    Transient { reason: String, retry_after: Option<Duration> },
    Refused { status: u16, body: String },
}

/// Uploads records to `<clevertap_url>/1/upload` for one account.
#[derive(Debug)]
pub struct Uploader {
    client: reqwest::Client,
    url: String,
    account_id: String,
    passcode: String,
    permits: Semaphore,
    policy: RetryPolicy,
}

impl Uploader {
    /// An uploader for the account at `clevertap_url`.
    pub fn new(clevertap_url: &str, account_id: &str, passcode: &str, policy: RetryPolicy) -> Self {
        let mut builder = reqwest::Client::builder()
            .pool_max_idle_per_host(MAX_IN_FLIGHT)
            .connect_timeout(Duration::from_secs(5))
            .timeout(policy.request_timeout);
        let host = reqwest::Url::parse(clevertap_url).ok().and_then(|u| u.host_str().map(str::to_string));
        if matches!(host.as_deref(), Some("127.0.0.1" | "localhost" | "[::1]" | "::1")) {
            builder = builder.no_proxy();
        }
        Uploader {
            client: builder.build().unwrap_or_default(),
            url: format!("{}/1/upload", clevertap_url.trim_end_matches('/')),
            account_id: account_id.to_string(),
            passcode: passcode.to_string(),
            permits: Semaphore::new(MAX_IN_FLIGHT),
            policy,
        }
    }

    /// Uploads one record, retrying as the [`RetryPolicy`] says.
    pub async fn upload(&self, record: &Value) -> UploadOutcome {
        let body = json!({ "d": [record] }).to_string();
        let start = Instant::now();
        let mut attempt = 0;
        loop {
            attempt += 1;
            let delay = match self.attempt(&body).await {
                Attempt::Accepted => return UploadOutcome::Uploaded { attempts: attempt },
                Attempt::Refused { status, body } => return UploadOutcome::Refused { status, body },
                Attempt::Unprocessed { code, error } => {
                    if attempt >= self.policy.max_record_attempts {
                        return UploadOutcome::Rejected { code, error };
                    }
                    tracing::warn!(
                        "upload attempt {attempt}: CleverTap did not process the record ({code}: {error})"
                    );
                    self.policy.backoff(attempt)
                }
                Attempt::Transient { reason, retry_after } => {
                    if attempt >= self.policy.max_attempts {
                        return UploadOutcome::GaveUp { reason: format!("{reason} ({attempt} attempts)") };
                    }
                    // Retry-After is honoured as given; if it does not fit the budget the
                    // webhook is answered 5xx and Qonversion redelivers later.
                    let delay = retry_after.unwrap_or_else(|| self.policy.backoff(attempt));
                    if start.elapsed() + delay > self.policy.budget {
                        return UploadOutcome::GaveUp { reason: format!("{reason} ({attempt} attempts)") };
                    }
                    tracing::warn!("upload attempt {attempt} failed: {reason}; retrying in {delay:?}");
                    delay
                }
            };
            tokio::time::sleep(delay).await;
        }
    }

    /// One request, holding one of the [`MAX_IN_FLIGHT`] permits.
    async fn attempt(&self, body: &str) -> Attempt {
        let Ok(_permit) = self.permits.acquire().await else {
            return Attempt::Transient { reason: "uploader closed".into(), retry_after: None };
        };
        let sent = self
            .client
            .post(&self.url)
            .header("X-CleverTap-Account-Id", &self.account_id)
            .header("X-CleverTap-Passcode", &self.passcode)
            .header("Content-Type", "application/json")
            .body(body.to_string())
            .send()
            .await;
        let response = match sent {
            Ok(response) => response,
            Err(e) => {
                let reason = format!("POST {}: {}", self.url, error_chain(&e));
                return Attempt::Transient { reason, retry_after: None };
            }
        };
        let status = response.status();
        let retry_after = retry_after(response.headers());
        let text = response.text().await.unwrap_or_default();
        if status.is_success() {
            return unprocessed(&text);
        }
        if status.as_u16() == 429 || status.is_server_error() {
            let reason = format!("CleverTap answered {status}: {}", text.trim());
            return Attempt::Transient { reason, retry_after };
        }
        Attempt::Refused { status: status.as_u16(), body: text }
    }
}

/// A 2xx answer: accepted, unless the record is listed in `unprocessed`.
fn unprocessed(text: &str) -> Attempt {
    let Ok(answer) = serde_json::from_str::<Value>(text) else {
        tracing::warn!("CleverTap answered 2xx with a body that is not JSON: {text:?}");
        return Attempt::Accepted;
    };
    match answer.get("unprocessed").and_then(Value::as_array).and_then(|list| list.first()) {
        // A "fail" that lists no record: nothing was stored, and retrying will not help.
        None if answer.get("status").and_then(Value::as_str) == Some("fail") => {
            Attempt::Refused { status: 200, body: text.to_string() }
        }
        None => Attempt::Accepted,
        Some(entry) => Attempt::Unprocessed {
            code: entry.get("code").and_then(Value::as_i64).unwrap_or(0),
            error: entry.get("error").and_then(Value::as_str).unwrap_or("").to_string(),
        },
    }
}

/// An error with its causes: "error sending request: connection refused".
fn error_chain(error: &dyn std::error::Error) -> String {
    let mut text = error.to_string();
    let mut source = error.source();
    while let Some(cause) = source {
        text.push_str(": ");
        text.push_str(&cause.to_string());
        source = cause.source();
    }
    text
}

/// `Retry-After` in seconds (an HTTP date is not used by CleverTap and is ignored).
fn retry_after(headers: &reqwest::header::HeaderMap) -> Option<Duration> {
    let value = headers.get(reqwest::header::RETRY_AFTER)?.to_str().ok()?;
    value.trim().parse::<f64>().ok().filter(|s| (0.0..=86_400.0).contains(s)).map(Duration::from_secs_f64)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backoff_grows_and_is_capped() {
        let policy = RetryPolicy::default();
        let first = policy.backoff(1);
        assert!(first >= Duration::from_millis(50) && first <= Duration::from_millis(100));
        let third = policy.backoff(3);
        assert!(third >= Duration::from_millis(200) && third <= Duration::from_millis(400));
        assert!(policy.backoff(30) <= policy.max_delay);
    }

    #[test]
    fn reads_unprocessed_records_from_a_partial_answer() {
        let text =
            r#"{"status":"fail","processed":0,"unprocessed":[{"status":"fail","code":512,"error":"bad"}]}"#;
        assert!(matches!(unprocessed(text), Attempt::Unprocessed { code: 512, .. }));
        assert!(matches!(
            unprocessed(r#"{"status":"success","processed":1,"unprocessed":[]}"#),
            Attempt::Accepted
        ));
    }
}
