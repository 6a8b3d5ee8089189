//! [`Attempt`] and [`Delivery`]: what the fake Qonversion did when it delivered an event.

use std::fmt;
use std::time::{Duration, SystemTime};

use super::schedule::human;

/// Longest response body [`Attempt`]'s `Display` prints before cutting it short.
const SHOWN_BODY_CHARS: usize = 2_000;

/// One HTTP attempt to deliver a webhook.
///
/// Times are offsets from the start of the first attempt of the delivery (after any
/// delivery delay), on the real clock: with a time scale of 10 000 the second attempt is
/// `scheduled` at 30 ms, standing for Qonversion's +5 min (`nominal`).
///
/// ```
/// # tokio::runtime::Runtime::new().unwrap().block_on(async {
/// use qc_harness::{FakeQonversion, Fixture};
/// // Nothing listens on port 9: the attempt records the error instead of a status.
/// let q = FakeQonversion::new("http://127.0.0.1:9/webhook", "secret");
/// let delivery = q.send(&Fixture::built_in("trial_started.ios").unwrap().event).await;
/// let attempt = &delivery.attempts[0];
/// assert_eq!(attempt.number, 1);
/// assert_eq!(attempt.status, None);
/// assert!(attempt.error.is_some() && !attempt.succeeded());
/// # });
/// ```
#[derive(Debug, Clone, PartialEq)]
pub struct Attempt {
    /// 1-based number of the attempt in its delivery.
    pub number: usize,
    /// When the attempt was due (compressed clock), from the first attempt.
    pub scheduled: Duration,
    /// When it actually started, from the first attempt.
    pub started: Duration,
    /// How long it took, until the whole answer was read or it failed.
    pub elapsed: Duration,
    /// The HTTP status, if an answer came.
    pub status: Option<u16>,
    /// The answer's body (lossy UTF-8); empty without an answer.
    pub body: String,
    /// Why the attempt failed without a complete answer (timeout, connection error, ...).
    pub error: Option<String>,
    /// The offset Qonversion would use in real time (`0s`, `5m`, `4h`, `8h`, `24h`).
    pub nominal: Duration,
    /// The URL the attempt was sent to.
    pub url: String,
    /// Wall-clock time the attempt started (to line it up with other journals).
    pub sent_at: SystemTime,
}

impl Attempt {
    /// True when the answer was complete and 2xx: Qonversion counts the delivery done.
    ///
    /// ```
    /// # use qc_harness::Attempt;
    /// # use std::time::Duration;
    /// let mut attempt = Attempt { number: 1, scheduled: Duration::ZERO, started: Duration::ZERO,
    ///     elapsed: Duration::ZERO, status: Some(204), body: String::new(), error: None,
    ///     nominal: Duration::ZERO, url: "http://127.0.0.1:1/webhook".into(),
    ///     sent_at: std::time::SystemTime::now() };
    /// assert!(attempt.succeeded());
    /// attempt.status = Some(503);
    /// assert!(!attempt.succeeded());
    /// ```
    pub fn succeeded(&self) -> bool {
        self.error.is_none() && self.status.is_some_and(|s| (200..300).contains(&s))
    }

    /// How late the attempt started after it was due.
    pub fn lateness(&self) -> Duration {
        self.started.saturating_sub(self.scheduled)
    }
}

impl fmt::Display for Attempt {
    /// `attempt 2 at +5m (due 30ms, started 31.2ms, took 2.1ms): 200 {"ok":true}`
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "attempt {} at +{} (due {}, started {}, took {}): ",
            self.number,
            human(self.nominal),
            human(self.scheduled),
            human(self.started),
            human(self.elapsed)
        )?;
        match self.status {
            Some(status) => write!(f, "{status}")?,
            None => write!(f, "no answer")?,
        }
        let body = self.body.trim();
        if !body.is_empty() {
            write!(f, " {}", shorten(body))?;
        }
        if let Some(error) = &self.error {
            write!(f, " (error: {error})")?;
        }
        Ok(())
    }
}

fn shorten(body: &str) -> String {
    match body.char_indices().nth(SHOWN_BODY_CHARS) {
        Some((cut, _)) => format!("{}… ({} bytes in all)", &body[..cut], body.len()),
        None => body.to_string(),
    }
}

/// Every attempt made to deliver one webhook body, and the body itself.
///
/// ```
/// # tokio::runtime::Runtime::new().unwrap().block_on(async {
/// use qc_harness::{FakeQonversion, Fixture};
/// // +5 min to +24 h squeezed into at most 86 ms.
/// let q = FakeQonversion::new("http://127.0.0.1:9/webhook", "secret").time_scale(1_000_000.0);
/// let event = &Fixture::built_in("trial_started.ios").unwrap().event;
/// let delivery = q.send_with_retries(event).await; // five attempts on a compressed clock
/// assert!(!delivery.succeeded());
/// assert_eq!(delivery.attempts.len(), 5);
/// assert_eq!(delivery.sent_body, FakeQonversion::body_of(event));
/// # });
/// ```
#[derive(Debug, Clone, PartialEq)]
pub struct Delivery {
    /// The attempts, in order; never empty.
    pub attempts: Vec<Attempt>,
    /// The URL the body was posted to (the sandbox URL for a sandbox event, when set).
    pub url: String,
    /// The exact bytes of the request body, identical for every attempt and redelivery.
    pub sent_body: Vec<u8>,
    /// The delivery delay waited before the first attempt.
    pub delay: Duration,
}

impl Delivery {
    /// True when the last attempt got a complete 2xx answer.
    pub fn succeeded(&self) -> bool {
        self.attempts.last().is_some_and(Attempt::succeeded)
    }

    /// The HTTP status of the last attempt, if it got an answer.
    pub fn final_status(&self) -> Option<u16> {
        self.attempts.last().and_then(|a| a.status)
    }

    /// The last attempt.
    pub fn last_attempt(&self) -> Option<&Attempt> {
        self.attempts.last()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn attempt(status: Option<u16>, error: Option<&str>) -> Attempt {
        Attempt {
            number: 2,
            scheduled: Duration::from_millis(30),
            started: Duration::from_millis(31),
            elapsed: Duration::from_millis(2),
            status,
            body: "{\"ok\":true}\n".into(),
            error: error.map(str::to_string),
            nominal: Duration::from_secs(300),
            url: "http://127.0.0.1:9/webhook".into(),
            sent_at: SystemTime::UNIX_EPOCH,
        }
    }

    #[test]
    fn prints_an_attempt_on_one_line() {
        let text = attempt(Some(200), None).to_string();
        assert_eq!(text, "attempt 2 at +5m (due 30ms, started 31ms, took 2ms): 200 {\"ok\":true}");
    }

    #[test]
    fn prints_the_error_of_an_attempt_without_answer() {
        let mut failed = attempt(None, Some("timed out after 10s"));
        failed.body.clear();
        assert!(failed.to_string().ends_with("no answer (error: timed out after 10s)"));
        assert!(!failed.succeeded());
    }

    #[test]
    fn a_2xx_with_a_broken_body_is_not_a_success() {
        assert!(attempt(Some(200), None).succeeded());
        assert!(!attempt(Some(200), Some("body cut short")).succeeded());
        assert!(!attempt(Some(302), None).succeeded());
    }

    #[test]
    fn cuts_long_bodies_short() {
        let mut long = attempt(Some(500), None);
        long.body = "x".repeat(SHOWN_BODY_CHARS + 10);
        assert!(long.to_string().ends_with(&format!("… ({} bytes in all)", SHOWN_BODY_CHARS + 10)));
    }
}
