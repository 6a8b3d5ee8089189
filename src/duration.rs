//! The one duration syntax of every flag and fault spec, with checked conversion.
//!
//! A duration is a number with a unit (`250ms`, `2s`, `1.5s`, `1m`, `1h`, `500us`), or a bare
//! number in the flag's documented unit ([`Unit`]). Negative, NaN, infinite and malformed values
//! are refused, and so is anything longer than [`MAX`] (one day), so no later arithmetic on a
//! user's duration (`timeout * 3`, `Instant + latency`) can overflow.
//!
//! (Examples: the unit test `the_documented_examples_parse`.)

use std::time::Duration;

/// The longest duration any flag or fault accepts: one day.
pub const MAX: Duration = Duration::from_secs(24 * 3600);

/// The unit of a bare number (a number written without a unit).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Unit {
    /// A bare number is milliseconds (`--settle 150`, `--latency 200`, `delay:1500`).
    Millis,
    /// A bare number is seconds (`--timeout 10`, `--delay 1.5`).
    Secs,
}

/// The units a duration may be written with, and their length in seconds.
const UNITS: [(&str, f64); 6] =
    [("us", 1e-6), ("ms", 1e-3), ("s", 1.0), ("m", 60.0), ("min", 60.0), ("h", 3600.0)];

/// Parses a duration (see the module docs); the error says what is accepted.
pub fn parse(text: &str, bare: Unit) -> Result<Duration, String> {
    let text = text.trim();
    let split = text.find(|c: char| c.is_ascii_alphabetic() && c != 'e' && c != 'E').unwrap_or(text.len());
    let (number, unit) = text.split_at(split);
    let scale = match unit.trim() {
        "" if bare == Unit::Millis => 1e-3,
        "" => 1.0,
        unit => match UNITS.iter().find(|(name, _)| *name == unit) {
            Some((_, scale)) => *scale,
            None => return Err(expected(text, bare)),
        },
    };
    let value: f64 = number.trim().parse().map_err(|_| expected(text, bare))?;
    if !value.is_finite() || value < 0.0 {
        return Err(expected(text, bare));
    }
    let secs = value * scale;
    if !secs.is_finite() || secs > MAX.as_secs_f64() {
        return Err(format!("`{text}` is too long: at most 24h"));
    }
    Duration::try_from_secs_f64(secs).map_err(|_| expected(text, bare))
}

/// Like [`parse`], but zero is refused too.
pub fn parse_positive(text: &str, bare: Unit) -> Result<Duration, String> {
    match parse(text, bare)? {
        d if d.is_zero() => Err(format!("`{text}` must be more than 0")),
        d => Ok(d),
    }
}

fn expected(text: &str, bare: Unit) -> String {
    let bare = match bare {
        Unit::Millis => "milliseconds",
        Unit::Secs => "seconds",
    };
    format!(
        "`{text}` is not a duration: use a number of {bare}, 0 or more, or a number with a unit \
         (us, ms, s, m, h), e.g. 250ms or 2s"
    )
}

/// Clap value parsers for duration flags (`value_parser = duration::secs`).
pub mod flag {
    use super::{Duration, Unit, parse, parse_positive};

    /// A duration, a bare number in seconds; 0 allowed.
    pub fn secs(text: &str) -> Result<Duration, String> {
        parse(text, Unit::Secs)
    }

    /// A duration, a bare number in seconds; more than 0.
    pub fn positive_secs(text: &str) -> Result<Duration, String> {
        parse_positive(text, Unit::Secs)
    }

    /// A duration, a bare number in milliseconds; 0 allowed.
    pub fn millis(text: &str) -> Result<Duration, String> {
        parse(text, Unit::Millis)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_documented_examples_parse() {
        assert_eq!(parse("250ms", Unit::Secs), Ok(Duration::from_millis(250)));
        assert_eq!(parse("1.5", Unit::Secs), Ok(Duration::from_millis(1500)));
        assert_eq!(parse("150", Unit::Millis), Ok(Duration::from_millis(150)));
        assert_eq!(parse("1m", Unit::Millis), Ok(Duration::from_secs(60)));
        assert!(parse("1e19s", Unit::Secs).is_err());
        assert!(parse("-1", Unit::Secs).is_err());
        assert!(parse("NaN", Unit::Secs).is_err());
    }

    #[test]
    fn units_and_bare_numbers() {
        assert_eq!(parse("2s", Unit::Millis), Ok(Duration::from_secs(2)));
        assert_eq!(parse("2", Unit::Millis), Ok(Duration::from_millis(2)));
        assert_eq!(parse("1h", Unit::Secs), Ok(Duration::from_secs(3600)));
        assert_eq!(parse("24h", Unit::Secs), Ok(MAX));
        assert_eq!(parse("500us", Unit::Secs), Ok(Duration::from_micros(500)));
        assert_eq!(parse("1e3ms", Unit::Secs), Ok(Duration::from_secs(1)));
        assert_eq!(parse(" 3 s ", Unit::Secs), Ok(Duration::from_secs(3)));
    }

    #[test]
    fn refuses_what_is_not_a_usable_duration() {
        for bad in ["", "-1", "-0.5s", "NaN", "nan", "inf", "1e19s", "1e30", "25h", "abc", "1x", "s", "1.2.3"]
        {
            assert!(parse(bad, Unit::Secs).is_err(), "{bad:?} was accepted");
        }
        assert!(parse_positive("0", Unit::Secs).is_err());
        assert!(parse_positive("0ms", Unit::Secs).is_err());
    }
}
