//! Clap value parsers for the numeric flags that are not durations (durations:
//! [`crate::duration::flag`]). Every range is checked at parse time, so a bad value is a usage
//! error (exit 2) naming the flag, and no later arithmetic on it can overflow.

use std::ops::RangeInclusive;

/// The largest count any flag accepts (jobs, limits, capacities, concurrency).
pub const MAX_COUNT: usize = 1_000_000;

fn whole_number(text: &str, range: RangeInclusive<usize>) -> Result<usize, String> {
    let (low, high) = (range.start(), range.end());
    let expected = || format!("`{text}` is not a whole number from {low} to {high}");
    let number: usize = text.trim().parse().map_err(|_| expected())?;
    if range.contains(&number) { Ok(number) } else { Err(expected()) }
}

/// A count of 1 or more, at most [`MAX_COUNT`].
pub fn count(text: &str) -> Result<usize, String> {
    whole_number(text, 1..=MAX_COUNT)
}

/// A count of 0 or more, at most [`MAX_COUNT`].
pub fn count_or_zero(text: &str) -> Result<usize, String> {
    whole_number(text, 0..=MAX_COUNT)
}

/// A count of 1 or more that fits a `u32` (`prop --cases`, `--max-shrink-iters` may be 0).
pub fn cases(text: &str) -> Result<u32, String> {
    whole_number(text, 1..=u32::MAX as usize).map(|n| n as u32)
}

/// A number of server threads: 1 to 64.
pub fn threads(text: &str) -> Result<usize, String> {
    whole_number(text, 1..=64)
}

/// A probability from 0 to 1.
pub fn rate(text: &str) -> Result<f64, String> {
    let rate: f64 = text.trim().parse().map_err(|_| format!("`{text}` is not a number from 0 to 1"))?;
    if (0.0..=1.0).contains(&rate) { Ok(rate) } else { Err(format!("`{text}` is not a number from 0 to 1")) }
}

/// How much faster than real time a clock runs: from 0.001 to a billion.
pub fn time_scale(text: &str) -> Result<f64, String> {
    let expected = || format!("`{text}` is not a number from 0.001 to 1e9 (e.g. 10000)");
    let scale: f64 = text.trim().parse().map_err(|_| expected())?;
    if (1e-3..=1e9).contains(&scale) { Ok(scale) } else { Err(expected()) }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ranges_are_checked() {
        assert_eq!(count("4"), Ok(4));
        assert!(count("0").is_err() && count("-1").is_err() && count("1e3").is_err());
        assert!(count("99999999999999999999999").is_err());
        assert_eq!(count_or_zero("0"), Ok(0));
        assert!(rate("NaN").is_err() && rate("1.5").is_err() && rate("-0.1").is_err());
        assert_eq!(rate("0.5"), Ok(0.5));
        assert!(time_scale("1e-300").is_err() && time_scale("inf").is_err() && time_scale("0").is_err());
        assert_eq!(time_scale("10000"), Ok(10000.0));
    }
}
