//! Attribution: which case (fixture or journey) each received record belongs to (pure).
//!
//! Every fixture has its own user, so a record's `identity` names its case. Records may
//! arrive batched, reordered, or not at all; when several cases share an identity, a record
//! goes to the case whose expected records it matches best.

use std::collections::BTreeMap;

use serde_json::Value;

use super::compare::{CompareOptions, ObservedRecord, distance};

/// What one case expects, and how to recognise its records.
#[derive(Debug, Clone, PartialEq)]
pub struct Expectation {
    /// Case name (fixture or journey).
    pub case: String,
    /// Identities its records may carry (the webhook's `custom_user_id`, the fallback
    /// `properties._q_custom_user_id`, ...). Empty when the case has none.
    pub identities: Vec<String>,
    /// The reference records (may be empty: "expected nothing").
    pub expected: Vec<Value>,
}

/// Received records split by case.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Attribution {
    /// Per case, in the order of the expectations given.
    pub by_case: Vec<Vec<ObservedRecord>>,
    /// Records whose identity matches no case.
    pub unattributed: Vec<ObservedRecord>,
}

/// The identity of a received record: `identity` as a string (numbers are turned into strings).
pub fn record_identity(record: &Value) -> Option<String> {
    match record.get("identity")? {
        Value::String(s) if !s.is_empty() => Some(s.clone()),
        Value::Number(n) => Some(n.to_string()),
        _ => None,
    }
}

/// Splits `records` among `cases`.
///
/// ```
/// use qc_harness::conformance::attribution::{attribute, Expectation};
/// use qc_harness::ObservedRecord;
/// use serde_json::json;
/// let cases = vec![
///     Expectation { case: "a".into(), identities: vec!["u-a".into()], expected: vec![] },
///     Expectation { case: "b".into(), identities: vec!["u-b".into()], expected: vec![] },
/// ];
/// let got = vec![ObservedRecord::processed(json!({"identity": "u-b"}), 1, 1)];
/// let split = attribute(&cases, got);
/// assert_eq!((split.by_case[0].len(), split.by_case[1].len()), (0, 1));
/// ```
pub fn attribute(cases: &[Expectation], records: Vec<ObservedRecord>) -> Attribution {
    let mut index: BTreeMap<&str, Vec<usize>> = BTreeMap::new();
    for (i, case) in cases.iter().enumerate() {
        for identity in &case.identities {
            let owners = index.entry(identity.as_str()).or_default();
            if !owners.contains(&i) {
                owners.push(i);
            }
        }
    }
    let mut split = Attribution { by_case: vec![Vec::new(); cases.len()], unattributed: Vec::new() };
    for record in records {
        let owners = record_identity(&record.record).and_then(|id| index.get(id.as_str()).cloned());
        match owners.as_deref() {
            None | Some([]) => split.unattributed.push(record),
            Some([only]) => split.by_case[*only].push(record),
            Some(several) => {
                let best = best_owner(cases, &split.by_case, several, &record.record);
                split.by_case[best].push(record);
            }
        }
    }
    split
}

/// Among cases sharing an identity: the one with an unfilled expected record closest to `record`.
fn best_owner(
    cases: &[Expectation],
    taken: &[Vec<ObservedRecord>],
    owners: &[usize],
    record: &Value,
) -> usize {
    let score = |&i: &usize| {
        let case = &cases[i];
        let unfilled = case.expected.len() > taken[i].len();
        let closest = case
            .expected
            .iter()
            .map(|e| distance(e, record, CompareOptions::default()))
            .min()
            .unwrap_or(usize::MAX / 2);
        (closest, !unfilled)
    };
    owners.iter().copied().min_by_key(score).unwrap_or(owners[0])
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn case(name: &str, id: &str, expected: Vec<Value>) -> Expectation {
        Expectation { case: name.into(), identities: vec![id.into()], expected }
    }

    fn got(v: Value, seq: u64, index: usize) -> ObservedRecord {
        ObservedRecord::processed(v, seq, index)
    }

    #[test]
    fn batched_and_reordered_records_go_to_their_own_cases() {
        let cases = vec![
            case("a", "u-a", vec![json!({"identity": "u-a", "evtName": "x"})]),
            case("b", "u-b", vec![json!({"identity": "u-b", "evtName": "y"})]),
            case("c", "u-c", vec![]),
        ];
        let records = vec![
            got(json!({"identity": "u-b", "evtName": "y"}), 1, 1),
            got(json!({"identity": "u-a", "evtName": "x"}), 1, 2),
        ];
        let split = attribute(&cases, records);
        assert_eq!(split.by_case[0][0].index, 2);
        assert_eq!(split.by_case[1][0].index, 1);
        assert!(split.by_case[2].is_empty() && split.unattributed.is_empty());
    }

    #[test]
    fn unknown_or_missing_identities_are_unattributed() {
        let cases = vec![case("a", "u-a", vec![])];
        let split = attribute(&cases, vec![got(json!({"identity": "zz"}), 1, 1), got(json!({}), 2, 1)]);
        assert_eq!(split.unattributed.len(), 2);
    }

    #[test]
    fn numeric_identities_match_their_string_form() {
        let cases = vec![case("a", "42", vec![])];
        let split = attribute(&cases, vec![got(json!({"identity": 42}), 1, 1)]);
        assert_eq!(split.by_case[0].len(), 1);
    }

    #[test]
    fn a_shared_identity_goes_to_the_case_whose_record_matches() {
        let cases = vec![
            case("renewed", "u", vec![json!({"identity": "u", "evtName": "subscription_renewed"})]),
            case("started", "u", vec![json!({"identity": "u", "evtName": "trial_started"})]),
        ];
        let split = attribute(&cases, vec![got(json!({"identity": "u", "evtName": "trial_started"}), 1, 1)]);
        assert_eq!((split.by_case[0].len(), split.by_case[1].len()), (0, 1));
    }
}
