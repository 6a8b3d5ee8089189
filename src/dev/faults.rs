//! [`FaultBoard`]: the faults the page turned on, each removable, turned into the fake's
//! [`FaultScript`]. A fault covers the next N requests, or every request from now on.

use serde::{Deserialize, Serialize};

use super::words;
use crate::clevertap::fault::Chaos;
use crate::clevertap::{Fault, FaultScript};
use crate::error::{Error, Result};

/// Requests covered by a chaos fault turned on "from now on" (chaos is drawn per request).
pub const CHAOS_WINDOW: u64 = 10_000;
/// The most requests one fault may cover when a count is given.
pub const MAX_COUNT: u64 = 1_000_000;

/// What the page (or a script) asks for: `POST /api/faults`.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FaultRequest {
    /// `429`, `429:SECS`, `500`, `503`, `delay:MS`, `drop`, `partial:1+3`, or `chaos`.
    pub fault: String,
    /// How many of the next requests get it; absent or 0: every request from now on.
    #[serde(default)]
    pub count: Option<u64>,
    /// Chaos only: the seed.
    #[serde(default)]
    pub seed: Option<u64>,
    /// Chaos only: probability (0 to 1) that a request gets a random fault.
    #[serde(default)]
    pub rate: Option<f64>,
}

/// What one rule does.
#[derive(Debug, Clone, PartialEq)]
enum Kind {
    Fixed(Fault),
    Chaos(Chaos),
}

/// One fault the page turned on.
#[derive(Debug, Clone, Serialize)]
pub struct FaultRule {
    /// Id used to remove it (`DELETE /api/faults/{id}`).
    pub id: u64,
    /// The fault as `--fault` writes it (`429:5`, `drop`), or `chaos`.
    pub spec: String,
    /// In words.
    pub description: String,
    /// First request (1-based, counted since the journal was last cleared).
    pub from: u64,
    /// Last request, `None`: every request from `from` on.
    pub to: Option<u64>,
    /// Every request it covers has arrived.
    pub used_up: bool,
    #[serde(skip)]
    kind: Kind,
}

/// The faults turned on, in the order they were added (a later one wins on overlap).
#[derive(Debug, Default)]
pub struct FaultBoard {
    rules: Vec<FaultRule>,
    next_id: u64,
}

impl FaultBoard {
    /// Adds a fault starting at request `next_request`; returns the new rule.
    pub fn add(&mut self, request: &FaultRequest, next_request: u64) -> Result<FaultRule> {
        let kind = parse_kind(request)?;
        let count = match request.count {
            Some(n) if n > MAX_COUNT => {
                return Err(Error::Usage(format!("count {n}: at most {MAX_COUNT} requests")));
            }
            Some(0) | None => None,
            Some(n) => Some(n),
        };
        let to = count.map(|n| next_request + n - 1);
        let (spec, description) = match &kind {
            Kind::Fixed(fault) => (fault.to_string(), words::fault(fault)),
            Kind::Chaos(chaos) => (
                "chaos".to_string(),
                format!("random faults on {:.0}% of requests (seed {})", chaos.rate * 100.0, chaos.seed),
            ),
        };
        self.next_id += 1;
        let rule =
            FaultRule { id: self.next_id, spec, description, from: next_request, to, used_up: false, kind };
        self.rules.push(rule.clone());
        Ok(rule)
    }

    /// Removes rule `id`; false when there is no such rule.
    pub fn remove(&mut self, id: u64) -> bool {
        let before = self.rules.len();
        self.rules.retain(|r| r.id != id);
        self.rules.len() != before
    }

    /// Removes every rule.
    pub fn clear(&mut self) {
        self.rules.clear();
    }

    /// The rules, oldest first.
    pub fn rules(&self) -> &[FaultRule] {
        &self.rules
    }

    /// The rules, oldest first, marked used up when the next request is past them.
    pub fn rules_at(&self, next_request: u64) -> Vec<FaultRule> {
        let mark = |rule: &FaultRule| FaultRule {
            used_up: rule.to.is_some_and(|to| to < next_request),
            ..rule.clone()
        };
        self.rules.iter().map(mark).collect()
    }

    /// The request counter restarts at 1 after `served` requests: shifts the rules so they
    /// still cover the same upcoming requests, and forgets the used-up ones.
    pub fn rebase(&mut self, served: u64) {
        self.rules.retain(|r| r.to.is_none_or(|to| to > served));
        for rule in &mut self.rules {
            rule.from = rule.from.saturating_sub(served).max(1);
            rule.to = rule.to.map(|to| to - served);
        }
    }

    /// The fake's script for these rules.
    pub fn script(&self) -> FaultScript {
        let mut script = FaultScript::new();
        for rule in &self.rules {
            let last = rule.to.unwrap_or(u64::MAX);
            script = match &rule.kind {
                Kind::Fixed(fault) => script.on_range(rule.from..=last, fault.clone()),
                Kind::Chaos(chaos) => {
                    let last = last.min(rule.from.saturating_add(CHAOS_WINDOW - 1));
                    (rule.from..=last).fold(script, |s, seq| match chaos.fault_for(seq) {
                        Some(fault) => s.on(seq, fault),
                        None => s,
                    })
                }
            };
        }
        script
    }
}

fn parse_kind(request: &FaultRequest) -> Result<Kind> {
    let text = request.fault.trim();
    if text.eq_ignore_ascii_case("chaos") {
        let seed = request.seed.ok_or_else(|| Error::Usage("chaos needs a seed (a whole number)".into()))?;
        let rate = request.rate.ok_or_else(|| Error::Usage("chaos needs a rate between 0 and 1".into()))?;
        if !(0.0..=1.0).contains(&rate) {
            return Err(Error::Usage(format!("rate {rate}: must be between 0 and 1")));
        }
        return Ok(Kind::Chaos(Chaos { seed, rate }));
    }
    if request.seed.is_some() || request.rate.is_some() {
        return Err(Error::Usage(format!("seed and rate are for chaos only, not for `{text}`")));
    }
    Fault::parse(text).map(Kind::Fixed)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ask(fault: &str, count: Option<u64>) -> FaultRequest {
        FaultRequest { fault: fault.into(), count, seed: None, rate: None }
    }

    #[test]
    fn a_counted_fault_covers_exactly_the_next_requests() {
        let mut board = FaultBoard::default();
        board.add(&ask("429:2", Some(2)), 4).unwrap();
        let script = board.script();
        assert_eq!(script.fault_for(3), None);
        assert_eq!(script.fault_for(4), Some(Fault::TooManyRequests { retry_after: Some(2) }));
        assert_eq!(script.fault_for(5), Some(Fault::TooManyRequests { retry_after: Some(2) }));
        assert_eq!(script.fault_for(6), None);
    }

    #[test]
    fn a_fault_is_used_up_once_the_requests_it_covers_arrived() {
        let mut board = FaultBoard::default();
        board.add(&ask("500", Some(2)), 1).unwrap();
        assert!(!board.rules_at(2)[0].used_up);
        assert!(board.rules_at(3)[0].used_up);
    }

    #[test]
    fn removing_a_fault_removes_it_from_the_script() {
        let mut board = FaultBoard::default();
        let rule = board.add(&ask("drop", None), 1).unwrap();
        assert_eq!(board.script().fault_for(99), Some(Fault::DropConnection));
        assert!(board.remove(rule.id));
        assert!(!board.remove(rule.id));
        assert!(board.script().is_empty());
    }

    #[test]
    fn rebasing_keeps_the_upcoming_requests_covered() {
        let mut board = FaultBoard::default();
        board.add(&ask("500", Some(3)), 5).unwrap(); // 5..=7
        board.add(&ask("503", Some(1)), 2).unwrap(); // used up
        board.rebase(5);
        assert_eq!(board.rules().len(), 1);
        assert_eq!((board.rules()[0].from, board.rules()[0].to), (1, Some(2)));
    }

    #[test]
    fn bad_faults_are_refused_with_the_reason() {
        let mut board = FaultBoard::default();
        let err = board.add(&ask("418", None), 1).unwrap_err().to_string();
        assert!(err.contains("invalid fault `418`"), "{err}");
        let err = board.add(&ask("chaos", None), 1).unwrap_err().to_string();
        assert!(err.contains("seed"), "{err}");
        let mut chaos = ask("chaos", None);
        (chaos.seed, chaos.rate) = (Some(1), Some(1.5));
        assert!(board.add(&chaos, 1).unwrap_err().to_string().contains("between 0 and 1"));
        assert!(board.rules().is_empty());
    }

    #[test]
    fn chaos_at_full_rate_faults_every_request_of_its_window() {
        let mut board = FaultBoard::default();
        let chaos = FaultRequest { fault: "chaos".into(), count: Some(20), seed: Some(3), rate: Some(1.0) };
        board.add(&chaos, 1).unwrap();
        let script = board.script();
        assert!((1..=20).all(|n| script.fault_for(n).is_some()));
        assert_eq!(script.fault_for(21), None);
    }
}
