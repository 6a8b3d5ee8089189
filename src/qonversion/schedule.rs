//! Qonversion's retry schedule and the compressed clock the fake sender replays it on.
//!
//! A failed delivery (non-2xx answer, timeout, connection error) is retried for 24 h:
//! immediately, then at +5 min, +4 h, +8 h and +24 h, every offset counted from the
//! **first** attempt (`qonversion-webhook.md`, "Delivery semantics"). The fake sender
//! divides each offset by a time scale so that tests stay fast: at the default scale of
//! 10 000, +5 min becomes 30 ms and +24 h becomes 8.64 s.

use std::time::Duration;

/// The default compression of the retry schedule: +5 min becomes 30 ms.
pub const DEFAULT_TIME_SCALE: f64 = 10_000.0;

/// Offsets of Qonversion's delivery attempts from the first attempt, in real time.
///
/// ```
/// use qc_harness::qonversion::schedule::RETRY_SCHEDULE;
/// use std::time::Duration;
/// assert_eq!(RETRY_SCHEDULE.len(), 5);
/// assert_eq!(RETRY_SCHEDULE[1], Duration::from_secs(5 * 60));
/// assert_eq!(RETRY_SCHEDULE[4], Duration::from_secs(24 * 3600));
/// ```
pub const RETRY_SCHEDULE: [Duration; 5] = [
    Duration::ZERO,
    Duration::from_secs(5 * 60),
    Duration::from_secs(4 * 3600),
    Duration::from_secs(8 * 3600),
    Duration::from_secs(24 * 3600),
];

/// `offset` on a clock running `time_scale` times faster than real time.
///
/// A scale that is not a positive finite number counts as 1 (real time); the result is at most
/// [`crate::duration::MAX`] times 365, so adding it to an `Instant` cannot overflow.
///
/// ```
/// use qc_harness::qonversion::schedule::compress;
/// use std::time::Duration;
/// assert_eq!(compress(Duration::from_secs(300), 10_000.0), Duration::from_millis(30));
/// assert_eq!(compress(Duration::from_secs(4 * 3600), 10_000.0), Duration::from_millis(1440));
/// assert!(compress(Duration::from_secs(3600), 1e-300) <= Duration::from_secs(365 * 24 * 3600));
/// ```
pub fn compress(offset: Duration, time_scale: f64) -> Duration {
    let scale = if time_scale.is_finite() && time_scale > 0.0 { time_scale } else { 1.0 };
    let longest = crate::duration::MAX.saturating_mul(365);
    Duration::try_from_secs_f64(offset.as_secs_f64() / scale).map_or(longest, |d| d.min(longest))
}

/// A duration for people: `0s`, `5m`, `4h`, `1h30m`, `1.5s`, `30ms`.
///
/// ```
/// use qc_harness::qonversion::schedule::human;
/// use std::time::Duration;
/// assert_eq!(human(Duration::from_secs(300)), "5m");
/// assert_eq!(human(Duration::from_millis(1440)), "1.44s");
/// assert_eq!(human(Duration::from_micros(30_400)), "30.4ms");
/// ```
pub fn human(d: Duration) -> String {
    let secs = d.as_secs();
    if d.subsec_nanos() == 0 && secs >= 60 {
        let (h, m, s) = (secs / 3600, secs / 60 % 60, secs % 60);
        let mut text = String::new();
        for (n, unit) in [(h, "h"), (m, "m"), (s, "s")] {
            if n > 0 {
                text.push_str(&format!("{n}{unit}"));
            }
        }
        return text;
    }
    if d.is_zero() {
        return "0s".into();
    }
    if secs >= 1 {
        return format!("{}s", trim(format!("{:.2}", d.as_secs_f64())));
    }
    format!("{}ms", trim(format!("{:.1}", d.as_secs_f64() * 1000.0)))
}

fn trim(number: String) -> String {
    let trimmed = number.trim_end_matches('0').trim_end_matches('.');
    if trimmed.is_empty() { "0".into() } else { trimmed.to_string() }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn compresses_the_whole_schedule_at_the_default_scale() {
        let compressed: Vec<_> = RETRY_SCHEDULE.iter().map(|o| compress(*o, DEFAULT_TIME_SCALE)).collect();
        let millis: Vec<u128> = compressed.iter().map(Duration::as_millis).collect();
        assert_eq!(millis, [0, 30, 1440, 2880, 8640]);
    }

    #[test]
    fn treats_a_bad_scale_as_real_time() {
        for scale in [0.0, -3.0, f64::NAN, f64::INFINITY] {
            assert_eq!(compress(Duration::from_secs(7), scale), Duration::from_secs(7));
        }
    }

    #[test]
    fn formats_durations_for_people() {
        assert_eq!(human(Duration::ZERO), "0s");
        assert_eq!(human(Duration::from_secs(24 * 3600)), "24h");
        assert_eq!(human(Duration::from_secs(5400)), "1h30m");
        assert_eq!(human(Duration::from_millis(30)), "30ms");
        assert_eq!(human(Duration::from_secs(10)), "10s");
        assert_eq!(human(Duration::from_millis(8640)), "8.64s");
        assert_eq!(human(Duration::from_micros(20)), "0ms");
    }
}
