//! What CleverTap made of one user's records, so that a check says "1 record uploaded,
//! rejected with 525" instead of guessing, and calls itself inconclusive when a mapping
//! error (a record CleverTap refuses on its own, without an injected fault) hides the
//! behaviour it watches.

use std::collections::BTreeMap;
use std::fmt;

use super::Verdict;
use crate::clevertap::{Fault, RecordOutcome};
use crate::conformance::attribution::record_identity;
use crate::conformance::bench::Bench;

/// The records of one user that reached CleverTap in 2xx-answered upload requests.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Tally {
    /// Records CleverTap processed.
    pub processed: usize,
    /// Records CleverTap refused on their own merits (no injected fault): CleverTap code → count.
    pub invalid: BTreeMap<u16, usize>,
    /// Records the harness itself marked unprocessed (an injected `partial` fault).
    pub injected: usize,
    /// The error text of the first invalid record.
    pub first_error: Option<String>,
}

impl Tally {
    /// The records of `user` (by `identity`) in the bench's journal, dry runs excluded.
    pub fn of(bench: &Bench, user: &str) -> Tally {
        Tally::matching(bench, |id| id == user)
    }

    /// The records whose identity satisfies `wanted`.
    pub fn matching(bench: &Bench, wanted: impl Fn(&str) -> bool) -> Tally {
        let mut tally = Tally::default();
        for request in bench.fake().journal().requests().into_iter().filter(|r| !r.dry_run) {
            let injected = matches!(request.fault, Some(Fault::Partial { .. }));
            for (record, outcome) in request.records.iter().zip(&request.outcomes) {
                if !record_identity(record).is_some_and(|id| wanted(&id)) {
                    continue;
                }
                match outcome {
                    RecordOutcome::Processed => tally.processed += 1,
                    RecordOutcome::Unprocessed { .. } if injected => tally.injected += 1,
                    RecordOutcome::Unprocessed { code, error } => {
                        *tally.invalid.entry(*code).or_default() += 1;
                        tally.first_error.get_or_insert_with(|| error.clone());
                    }
                    RecordOutcome::Rejected { .. } => {}
                }
            }
        }
        tally
    }

    /// Records that reached CleverTap in a 2xx answer, whatever CleverTap made of them.
    pub fn uploaded(&self) -> usize {
        self.processed + self.invalid_count() + self.injected
    }

    /// Records CleverTap refused on their own merits.
    pub fn invalid_count(&self) -> usize {
        self.invalid.values().sum()
    }

    /// Whether a mapping error stands in the way: some records were refused by CleverTap's
    /// own validation (not by an injected fault).
    pub fn has_mapping_error(&self) -> bool {
        self.invalid_count() > 0
    }

    /// "The check cannot judge": names what CleverTap did and points to the mapping cases.
    pub fn inconclusive(&self, what_held: &str) -> Verdict {
        let mut observed = format!("inconclusive: {what_held}, but {self}");
        if let Some(error) = &self.first_error {
            observed.push_str(&format!(" ({error})"));
        }
        observed.push_str(
            "; a mapping error (see the failing mapping cases) keeps this check from judging the behaviour",
        );
        Verdict::new(false, observed, Vec::new())
    }
}

impl fmt::Display for Tally {
    /// `1 record uploaded, rejected with 525`, `2 records uploaded, 1 processed, 1 rejected with 525`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let uploaded = self.uploaded();
        let plural = if uploaded == 1 { "" } else { "s" };
        write!(f, "{uploaded} record{plural} uploaded")?;
        if uploaded == 0 {
            return Ok(());
        }
        let mut parts = Vec::new();
        let all = |n: usize| if n == uploaded && uploaded == 1 { String::new() } else { format!("{n} ") };
        if self.processed > 0 && self.processed != uploaded {
            parts.push(format!("{}processed", all(self.processed)));
        }
        for (code, count) in &self.invalid {
            parts.push(format!("{}rejected with {code}", all(*count)));
        }
        if self.injected > 0 {
            parts.push(format!("{}marked unprocessed by an injected fault", all(self.injected)));
        }
        if self.processed == uploaded {
            parts.push(if uploaded == 1 { "processed".into() } else { "all processed".into() });
        }
        write!(f, ", {}", parts.join(", "))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn says_what_clevertap_made_of_the_records() {
        let rejected = Tally { invalid: BTreeMap::from([(525, 1)]), ..Tally::default() };
        assert_eq!(rejected.to_string(), "1 record uploaded, rejected with 525");
        assert!(rejected.has_mapping_error());
        let mixed = Tally { processed: 1, invalid: BTreeMap::from([(525, 1)]), ..Tally::default() };
        assert_eq!(mixed.to_string(), "2 records uploaded, 1 processed, 1 rejected with 525");
        assert_eq!(Tally { processed: 1, ..Tally::default() }.to_string(), "1 record uploaded, processed");
        assert_eq!(Tally::default().to_string(), "0 records uploaded");
    }

    #[test]
    fn an_inconclusive_verdict_points_to_the_mapping() {
        let rejected = Tally {
            invalid: BTreeMap::from([(525, 1)]),
            first_error: Some("ts is in milliseconds".into()),
            ..Tally::default()
        };
        let verdict = rejected.inconclusive("the relay answered 2xx");
        assert!(!verdict.passed);
        assert!(
            verdict.observed.starts_with(
                "inconclusive: the relay answered 2xx, but 1 record uploaded, rejected with 525"
            )
        );
        assert!(verdict.observed.contains("mapping"), "{}", verdict.observed);
    }
}
