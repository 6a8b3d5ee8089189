//! Sending a corpus case to one target (the upstream or the fake): the credentials the case
//! asks for, `?dryRun=1` always, at most [`MAX_IN_FLIGHT`] requests at once, and `Retry-After`
//! honoured on 429.

use std::sync::Arc;
use std::time::Duration;

use reqwest::Url;
use tokio::sync::Semaphore;

use super::Account;
use super::corpus::{Auth, Case, UNKNOWN_ACCOUNT, WRONG_PASSCODE};

/// The Upload API's concurrency limit per account: `parity` never has more requests in flight.
pub const MAX_IN_FLIGHT: usize = 15;
/// How often a 429 is retried before its answer counts.
pub const MAX_RETRIES: u32 = 3;
/// Longest `Retry-After` honoured; a longer one is waited this long.
pub const MAX_RETRY_AFTER: Duration = Duration::from_secs(60);
/// Wait before retrying a 429 without `Retry-After`.
pub const DEFAULT_BACKOFF: Duration = Duration::from_secs(1);

/// What a target answered.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Observed {
    /// HTTP status.
    pub status: u16,
    /// The `Retry-After` header, if any.
    pub retry_after: Option<String>,
    /// The `Content-Type` header, if any.
    pub content_type: Option<String>,
    /// The body, as text (lossy UTF-8).
    pub body: String,
}

/// Why a request got no HTTP answer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Unreachable(pub String);

/// One target of a parity run.
#[derive(Clone)]
pub struct Target {
    upload_url: Url,
    account: Account,
    http: reqwest::Client,
    slots: Arc<Semaphore>,
}

impl std::fmt::Debug for Target {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Target {{ url: {}, account: {:?} }}", self.upload_url, self.account)
    }
}

/// `BASE/1/upload?dryRun=1` from a base URL (a trailing `/1/upload` is tolerated).
pub fn upload_url(base: &str) -> Result<Url, String> {
    let not_url =
        || format!("`{base}` is not an http(s) URL with a host, e.g. https://eu1.api.clevertap.com");
    // Trimming `https://` leaves `https:`, which the URL parser would read with a host of
    // whatever follows: check the base itself first.
    let base_url = Url::parse(base.trim()).map_err(|e| format!("{} ({e})", not_url()))?;
    if !matches!(base_url.scheme(), "http" | "https") || base_url.host_str().is_none_or(str::is_empty) {
        return Err(not_url());
    }
    let trimmed = base.trim().trim_end_matches('/');
    let trimmed = trimmed.strip_suffix("/1/upload").unwrap_or(trimmed);
    let mut url = Url::parse(&format!("{trimmed}/1/upload")).map_err(|e| format!("{} ({e})", not_url()))?;
    url.set_query(Some("dryRun=1"));
    Ok(url)
}

impl Target {
    /// A target at `base` (e.g. `https://eu1.api.clevertap.com`) using `account`, sharing
    /// `slots` with every other target of the run.
    pub fn new(
        base: &str,
        account: Account,
        slots: Arc<Semaphore>,
        timeout: Duration,
    ) -> Result<Target, String> {
        let http = reqwest::Client::builder()
            .timeout(timeout)
            .build()
            .map_err(|e| format!("cannot build the HTTP client: {e}"))?;
        Ok(Target { upload_url: upload_url(base)?, account, http, slots })
    }

    /// The URL every case is posted to.
    pub fn url(&self) -> &Url {
        &self.upload_url
    }

    /// Sends `case`, retrying a 429 up to [`MAX_RETRIES`] times after its `Retry-After`.
    pub async fn send(&self, case: &Case) -> Result<Observed, Unreachable> {
        let mut attempt = 0;
        loop {
            let observed = self.send_once(case).await?;
            if observed.status != 429 || attempt >= MAX_RETRIES {
                return Ok(observed);
            }
            attempt += 1;
            tokio::time::sleep(retry_wait(observed.retry_after.as_deref())).await;
        }
    }

    async fn send_once(&self, case: &Case) -> Result<Observed, Unreachable> {
        let _slot = self.slots.acquire().await.map_err(|_| Unreachable("the run was stopped".into()))?;
        let (account, passcode) = match case.auth {
            Auth::Valid => (self.account.id.as_str(), Some(self.account.passcode.as_str())),
            Auth::BadAccount => (UNKNOWN_ACCOUNT, Some(self.account.passcode.as_str())),
            Auth::BadPasscode => (self.account.id.as_str(), Some(WRONG_PASSCODE)),
            Auth::MissingPasscode => (self.account.id.as_str(), None),
        };
        let mut request = self
            .http
            .post(self.upload_url.clone())
            .header("X-CleverTap-Account-Id", account)
            .header("Content-Type", "application/json")
            .body(case.body.clone());
        if let Some(passcode) = passcode {
            request = request.header("X-CleverTap-Passcode", passcode);
        }
        let response = request.send().await.map_err(|e| Unreachable(describe(&e, &self.upload_url)))?;
        let header =
            |name: &str| response.headers().get(name).and_then(|v| v.to_str().ok()).map(str::to_string);
        let (status, retry_after, content_type) =
            (response.status().as_u16(), header("retry-after"), header("content-type"));
        let bytes = response.bytes().await.map_err(|e| Unreachable(describe(&e, &self.upload_url)))?;
        Ok(Observed { status, retry_after, content_type, body: String::from_utf8_lossy(&bytes).into_owned() })
    }
}

/// How long to wait before retrying a 429 with this `Retry-After` (seconds or an HTTP date).
pub fn retry_wait(retry_after: Option<&str>) -> Duration {
    match retry_after.map(str::trim) {
        Some(secs) if secs.parse::<u64>().is_ok() => {
            Duration::from_secs(secs.parse().unwrap_or(1)).min(MAX_RETRY_AFTER)
        }
        _ => DEFAULT_BACKOFF,
    }
}

/// The error without the request's headers (they hold the passcode).
fn describe(error: &reqwest::Error, url: &Url) -> String {
    let what = if error.is_timeout() {
        "timed out"
    } else if error.is_connect() {
        "connection failed"
    } else {
        "request failed"
    };
    let mut source = std::error::Error::source(error);
    let mut detail = String::new();
    while let Some(cause) = source {
        detail = cause.to_string();
        source = cause.source();
    }
    let host = url.host_str().unwrap_or("?");
    if detail.is_empty() { format!("{host}: {what}") } else { format!("{host}: {what} ({detail})") }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_upload_url_always_carries_dry_run() {
        let url = |base: &str| upload_url(base).map(|url| url.to_string());
        assert_eq!(
            url("https://eu1.api.clevertap.com").unwrap(),
            "https://eu1.api.clevertap.com/1/upload?dryRun=1"
        );
        assert_eq!(
            url("https://in1.api.clevertap.com/").unwrap(),
            "https://in1.api.clevertap.com/1/upload?dryRun=1"
        );
        assert_eq!(url("http://127.0.0.1:9/1/upload").unwrap(), "http://127.0.0.1:9/1/upload?dryRun=1");
        for bad in ["", "eu1.api.clevertap.com", "ftp://x", "https://", "not a url"] {
            assert!(url(bad).is_err(), "{bad:?}");
        }
    }

    #[test]
    fn retry_after_is_seconds_capped_with_a_default() {
        assert_eq!(retry_wait(Some("2")), Duration::from_secs(2));
        assert_eq!(retry_wait(Some(" 7 ")), Duration::from_secs(7));
        assert_eq!(retry_wait(Some("100000")), MAX_RETRY_AFTER);
        assert_eq!(retry_wait(None), DEFAULT_BACKOFF);
        assert_eq!(retry_wait(Some("Wed, 21 Oct 2015 07:28:00 GMT")), DEFAULT_BACKOFF);
    }
}
