//! Injected faults: [`Fault`], the [`FaultScript`] that gives the N-th request a fault, the
//! `--fault SPEC` syntax, and the seeded [`Chaos`] mode.
//!
//! ```
//! use qc_harness::clevertap::{Fault, FaultScript};
//! let script = FaultScript::parse("1-2=429,3=drop").unwrap();
//! assert_eq!(script.fault_for(2), Some(Fault::TooManyRequests { retry_after: None }));
//! assert_eq!(script.fault_for(3), Some(Fault::DropConnection));
//! assert_eq!(script.fault_for(4), None);
//! ```

use std::fmt;
use std::ops::RangeInclusive;
use std::time::Duration;

use rand::{Rng, SeedableRng, rngs::StdRng};
use serde::Serialize;

use crate::error::{Error, Result};

/// What an injected fault does to one request.
///
/// Serialises as an object tagged by `kind`: `{"kind":"delay","millis":1500}`,
/// `{"kind":"too_many_requests","retry_after":5}`, `{"kind":"partial","records":[1]}`.
///
/// ```
/// use std::time::Duration;
/// use qc_harness::Fault;
/// let delay = serde_json::to_value(Fault::Delay(Duration::from_millis(1500))).unwrap();
/// assert_eq!(delay, serde_json::json!({"kind": "delay", "millis": 1500}));
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Fault {
    /// HTTP 429, with a `Retry-After` header (seconds) when given.
    TooManyRequests {
        /// `Retry-After` seconds, or none.
        retry_after: Option<u64>,
    },
    /// HTTP 500.
    ServerError,
    /// HTTP 503.
    Unavailable,
    /// The normal answer, sent this much later (on top of the latency).
    Delay(Duration),
    /// The connection is closed without any response.
    DropConnection,
    /// The normal answer, with these records (1-based) marked unprocessed (code 555).
    Partial {
        /// 1-based record numbers.
        records: Vec<usize>,
    },
}

/// The serialised shape of a [`Fault`] (every variant a struct, every number a `u64`, so any
/// serde format can write it; an internally tagged newtype variant holding a number cannot).
#[derive(Serialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
enum FaultShape<'a> {
    TooManyRequests { retry_after: Option<u64> },
    ServerError,
    Unavailable,
    Delay { millis: u64 },
    DropConnection,
    Partial { records: &'a [usize] },
}

impl Serialize for Fault {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let shape = match self {
            Fault::TooManyRequests { retry_after } => {
                FaultShape::TooManyRequests { retry_after: *retry_after }
            }
            Fault::ServerError => FaultShape::ServerError,
            Fault::Unavailable => FaultShape::Unavailable,
            Fault::Delay(delay) => {
                FaultShape::Delay { millis: u64::try_from(delay.as_millis()).unwrap_or(u64::MAX) }
            }
            Fault::DropConnection => FaultShape::DropConnection,
            Fault::Partial { records } => FaultShape::Partial { records },
        };
        shape.serialize(serializer)
    }
}

impl fmt::Display for Fault {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Fault::TooManyRequests { retry_after: None } => write!(f, "429"),
            Fault::TooManyRequests { retry_after: Some(secs) } => write!(f, "429:{secs}"),
            Fault::ServerError => write!(f, "500"),
            Fault::Unavailable => write!(f, "503"),
            Fault::Delay(delay) => write!(f, "delay:{}ms", delay.as_millis()),
            Fault::DropConnection => write!(f, "drop"),
            Fault::Partial { records } => {
                let list: Vec<String> = records.iter().map(usize::to_string).collect();
                write!(f, "partial:{}", list.join("+"))
            }
        }
    }
}

impl Fault {
    /// Parses one fault kind: `429`, `429:SECS`, `500`, `503`, `delay:MS` (or `delay:2s`, at most 24h),
    /// `drop`, `partial:1+3` (record numbers; `partial` alone means record 1).
    pub fn parse(text: &str) -> Result<Fault> {
        let (kind, arg) = match text.trim().split_once(':') {
            Some((kind, arg)) => (kind, Some(arg)),
            None => (text.trim(), None),
        };
        let bad = |why: &str| Error::Usage(format!("invalid fault `{text}`: {why}"));
        match (kind, arg) {
            ("429", None) => Ok(Fault::TooManyRequests { retry_after: None }),
            ("429", Some(secs)) => {
                let secs = secs.parse().map_err(|_| bad("Retry-After must be whole seconds, e.g. 429:30"))?;
                Ok(Fault::TooManyRequests { retry_after: Some(secs) })
            }
            ("500", None) => Ok(Fault::ServerError),
            ("503", None) => Ok(Fault::Unavailable),
            ("drop", None) => Ok(Fault::DropConnection),
            ("delay", Some(amount)) => crate::duration::parse(amount, crate::duration::Unit::Millis)
                .map(Fault::Delay)
                .map_err(|e| bad(&e)),
            ("partial", None) => Ok(Fault::Partial { records: vec![1] }),
            ("partial", Some(list)) => {
                let records: Option<Vec<usize>> =
                    list.split('+').map(|n| n.trim().parse().ok().filter(|n| *n > 0)).collect();
                records.map(|records| Fault::Partial { records }).ok_or_else(|| {
                    bad("partial takes 1-based record numbers joined by '+', e.g. partial:1+3")
                })
            }
            _ => Err(bad("expected 429, 429:SECS, 500, 503, delay:MS, drop or partial:N+M")),
        }
    }
}

/// Which requests (1-based, counted since the last reset) get which fault.
/// When rules overlap, the one added last wins.
///
/// ```
/// use qc_harness::{Fault, FaultScript};
/// let script = FaultScript::new().on(1, Fault::Unavailable).on_range(3..=4, Fault::DropConnection);
/// assert_eq!(script.fault_for(1), Some(Fault::Unavailable));
/// assert_eq!(script.fault_for(2), None);
/// assert_eq!(script, FaultScript::parse("1=503,3-4=drop").unwrap());
/// ```
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct FaultScript {
    rules: Vec<(RangeInclusive<u64>, Fault)>,
}

impl FaultScript {
    /// An empty script: no faults.
    pub fn new() -> Self {
        FaultScript::default()
    }

    /// The `n`-th request (1-based) gets `fault`.
    pub fn on(self, n: u64, fault: Fault) -> Self {
        self.on_range(n..=n, fault)
    }

    /// Requests `a..=b` get `fault`.
    pub fn on_range(mut self, range: RangeInclusive<u64>, fault: Fault) -> Self {
        self.rules.push((range, fault));
        self
    }

    /// True when no rule is set.
    pub fn is_empty(&self) -> bool {
        self.rules.is_empty()
    }

    /// The fault of request `seq`, if any.
    pub fn fault_for(&self, seq: u64) -> Option<Fault> {
        self.rules.iter().rev().find(|(range, _)| range.contains(&seq)).map(|(_, fault)| fault.clone())
    }

    /// Adds the rules of another script after this one's.
    pub fn merge(mut self, other: FaultScript) -> Self {
        self.rules.extend(other.rules);
        self
    }

    /// Parses `N=KIND`, `N-M=KIND` or `N-=KIND` (from N on), joined by commas:
    /// `"1-2=429,3=drop,5=delay:1500,6=partial:1+3,7-=503"`. See [`Fault::parse`] for kinds.
    pub fn parse(spec: &str) -> Result<FaultScript> {
        let mut script = FaultScript::new();
        for part in spec.split(',').map(str::trim).filter(|p| !p.is_empty()) {
            let Some((requests, kind)) = part.split_once('=') else {
                return Err(Error::Usage(format!(
                    "invalid fault `{part}`: expected REQUESTS=KIND, e.g. 3=drop or 1-2=429"
                )));
            };
            script = script.on_range(parse_requests(requests)?, Fault::parse(kind)?);
        }
        if script.is_empty() {
            return Err(Error::Usage(format!("invalid fault spec `{spec}`: no REQUESTS=KIND rule")));
        }
        Ok(script)
    }
}

fn parse_requests(text: &str) -> Result<RangeInclusive<u64>> {
    let bad =
        || Error::Usage(format!("invalid request numbers `{text}`: expected N, N-M or N- (1-based, N <= M)"));
    let number = |s: &str| s.trim().parse::<u64>().ok().filter(|n| *n > 0).ok_or_else(bad);
    match text.split_once('-') {
        None => number(text).map(|n| n..=n),
        Some((from, "")) => number(from).map(|n| n..=u64::MAX),
        Some((from, to)) => {
            let (from, to) = (number(from)?, number(to)?);
            if from > to { Err(bad()) } else { Ok(from..=to) }
        }
    }
}

/// Random faults, deterministic per seed and request number.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Chaos {
    /// The seed; the same seed gives every request number the same fault.
    pub seed: u64,
    /// Probability (0..=1) that a request gets a fault.
    pub rate: f64,
}

impl Chaos {
    /// The fault of request `seq`, if the dice say so.
    ///
    /// ```
    /// use qc_harness::clevertap::fault::Chaos;
    /// let chaos = Chaos { seed: 7, rate: 0.5 };
    /// assert_eq!(chaos.fault_for(3), chaos.fault_for(3));
    /// assert!(Chaos { seed: 7, rate: 0.0 }.fault_for(3).is_none());
    /// ```
    pub fn fault_for(&self, seq: u64) -> Option<Fault> {
        let mut rng = StdRng::seed_from_u64(self.seed ^ seq.wrapping_mul(0x9E37_79B9_7F4A_7C15));
        if !rng.gen_bool(self.rate.clamp(0.0, 1.0)) {
            return None;
        }
        Some(match rng.gen_range(0..7) {
            0 => Fault::TooManyRequests { retry_after: None },
            1 => Fault::TooManyRequests { retry_after: Some(rng.gen_range(1..=5)) },
            2 => Fault::ServerError,
            3 => Fault::Unavailable,
            4 => Fault::Delay(Duration::from_millis(rng.gen_range(10..=500))),
            5 => Fault::DropConnection,
            _ => Fault::Partial { records: vec![1] },
        })
    }
}
