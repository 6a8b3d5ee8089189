//! Field-by-field comparison of the records a relay sent with the reference records (pure).

use std::fmt;

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

use crate::mapping::revenue::within_tolerance;

/// One record the fake CleverTap received, with what it answered for it.
///
/// ```
/// use qc_harness::{ObservedRecord, compare_records};
/// let received = ObservedRecord::processed(serde_json::json!({"evtName": "a"}), 1, 1);
/// assert!(compare_records(&[serde_json::json!({"evtName": "a"})], &[received], Default::default()).is_empty());
/// ```
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ObservedRecord {
    /// The record exactly as the relay sent it.
    pub record: Value,
    /// Request number (1-based since the fake started or was reset).
    pub request_seq: u64,
    /// Position in its request (1-based).
    pub index: usize,
    /// `None` when CleverTap processed it; else why not (e.g. `unprocessed 525: ...`).
    pub problem: Option<String>,
}

impl ObservedRecord {
    /// A processed record (for tests and simple callers).
    pub fn processed(record: Value, request_seq: u64, index: usize) -> Self {
        ObservedRecord { record, request_seq, index, problem: None }
    }
}

/// How strictly to compare.
///
/// ```
/// use qc_harness::{CompareOptions, ObservedRecord, compare_records};
/// let expected = [serde_json::json!({"evtName": "a"})];
/// let observed = [ObservedRecord::processed(serde_json::json!({"evtName": "a", "extra": 1}), 1, 1)];
/// assert_eq!(compare_records(&expected, &observed, CompareOptions::default()).len(), 1);
/// let relaxed = CompareOptions { allow_extra_keys: true, ..CompareOptions::default() };
/// assert!(compare_records(&expected, &observed, relaxed).is_empty());
/// ```
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct CompareOptions {
    /// Keys the reference does not send are tolerated (`--allow-extra-keys`).
    pub allow_extra_keys: bool,
}

/// One way the observed records differ from the expected ones.
///
/// ```
/// use qc_harness::{Difference, ObservedRecord, compare_records};
/// let expected = [serde_json::json!({"evtName": "a", "evtData": {"revenue": 6.99}})];
/// let observed = [ObservedRecord::processed(serde_json::json!({"evtName": "a", "evtData": {"revenue": 9.99}}), 1, 1)];
/// let differences = compare_records(&expected, &observed, Default::default());
/// assert_eq!(differences, [Difference::Field {
///     path: "evtData.revenue".into(),
///     expected: Some(serde_json::json!(6.99)),
///     observed: Some(serde_json::json!(9.99)),
/// }]);
/// assert_eq!(differences[0].to_string(), "evtData.revenue: expected 6.99, observed 9.99");
/// ```
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Difference {
    /// The reference uploads this record; the relay did not.
    Missing {
        /// The expected record.
        expected: Value,
    },
    /// The relay uploaded a record the reference does not (also a duplicate, or "expected nothing").
    Extra {
        /// The record the relay sent.
        observed: Value,
        /// `request #N record #M`.
        at: String,
    },
    /// A field of a paired record differs; `expected`/`observed` absent = key missing/extra.
    Field {
        /// JSON path, e.g. `evtData.revenue`.
        path: String,
        /// Expected value, `None` when the reference has no such key.
        expected: Option<Value>,
        /// Observed value, `None` when the relay left the key out.
        observed: Option<Value>,
    },
    /// CleverTap did not process a record the relay sent.
    Rejected {
        /// `request #N record #M`.
        at: String,
        /// The fake's verdict.
        problem: String,
    },
}

impl fmt::Display for Difference {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Difference::Missing { expected } => write!(f, "missing record: expected {}", short(expected)),
            Difference::Extra { observed, at } => write!(f, "extra record ({at}): {}", short(observed)),
            Difference::Field { path, expected: Some(e), observed: Some(o) } => {
                write!(f, "{path}: expected {e}, observed {o}")
            }
            Difference::Field { path, expected: Some(e), observed: None } => {
                write!(f, "{path}: missing (expected {e})")
            }
            Difference::Field { path, expected: None, observed: Some(o) } => {
                write!(f, "{path}: unexpected key (observed {o})")
            }
            Difference::Field { path, .. } => write!(f, "{path}: differs"),
            Difference::Rejected { at, problem } => write!(f, "CleverTap did not process {at}: {problem}"),
        }
    }
}

fn short(value: &Value) -> String {
    let text = value.to_string();
    if text.len() > 300 { format!("{}…", &text[..text.floor_char_boundary(300)]) } else { text }
}

/// Compares the records attributed to one case with the reference records for it.
///
/// Records are paired greedily (each expected record with the closest observed one), so
/// the order in which a relay uploads does not matter.
///
/// ```
/// use qc_harness::conformance::compare::{compare_records, CompareOptions, ObservedRecord};
/// let expected = vec![serde_json::json!({"evtName": "a", "evtData": {"revenue": 1.5}})];
/// let observed = vec![ObservedRecord::processed(
///     serde_json::json!({"evtName": "a", "evtData": {"revenue": 1.5000000001}}), 1, 1)];
/// assert!(compare_records(&expected, &observed, CompareOptions::default()).is_empty());
/// ```
pub fn compare_records(
    expected: &[Value],
    observed: &[ObservedRecord],
    options: CompareOptions,
) -> Vec<Difference> {
    let mut used = vec![false; observed.len()];
    let mut differences = Vec::new();
    for want in expected {
        let best = (0..observed.len())
            .filter(|&i| !used[i])
            .min_by_key(|&i| distance(want, &observed[i].record, options));
        match best {
            Some(i) => {
                used[i] = true;
                differences.extend(diff_values("", want, &observed[i].record, options));
                if let Some(problem) = &observed[i].problem {
                    differences.push(Difference::Rejected { at: at(&observed[i]), problem: problem.clone() });
                }
            }
            None => differences.push(Difference::Missing { expected: want.clone() }),
        }
    }
    for (_, got) in observed.iter().enumerate().filter(|(i, _)| !used[*i]) {
        differences.push(Difference::Extra { observed: got.record.clone(), at: at(got) });
    }
    differences
}

/// `request #N record #M`.
pub fn at(record: &ObservedRecord) -> String {
    format!("request #{} record #{}", record.request_seq, record.index)
}

/// How far apart two records are: differing fields, an event name mismatch weighing most.
pub fn distance(expected: &Value, observed: &Value, options: CompareOptions) -> usize {
    let name_differs = expected.get("evtName") != observed.get("evtName");
    diff_values("", expected, observed, options).len() + if name_differs { 100 } else { 0 }
}

/// The field differences between an expected and an observed value (objects recursively).
pub fn diff_values(
    path: &str,
    expected: &Value,
    observed: &Value,
    options: CompareOptions,
) -> Vec<Difference> {
    match (expected, observed) {
        (Value::Object(e), Value::Object(o)) => diff_objects(path, e, o, options),
        _ if equal_scalars(path, expected, observed) => Vec::new(),
        _ => vec![Difference::Field {
            path: display_path(path),
            expected: Some(expected.clone()),
            observed: Some(observed.clone()),
        }],
    }
}

fn diff_objects(
    path: &str,
    expected: &Map<String, Value>,
    observed: &Map<String, Value>,
    options: CompareOptions,
) -> Vec<Difference> {
    let mut out = Vec::new();
    for (key, want) in expected {
        let sub = join(path, key);
        match observed.get(key) {
            Some(got) => out.extend(diff_values(&sub, want, got, options)),
            None => out.push(Difference::Field { path: sub, expected: Some(want.clone()), observed: None }),
        }
    }
    if !options.allow_extra_keys {
        for (key, got) in observed.iter().filter(|(k, _)| !expected.contains_key(*k)) {
            out.push(Difference::Field {
                path: join(path, key),
                expected: None,
                observed: Some(got.clone()),
            });
        }
    }
    out
}

fn equal_scalars(path: &str, expected: &Value, observed: &Value) -> bool {
    match (expected, observed) {
        (Value::Number(e), Value::Number(o)) => {
            let (e, o) = (e.as_f64().unwrap_or(f64::NAN), o.as_f64().unwrap_or(f64::NAN));
            if path.ends_with("revenue") { within_tolerance(e, o) } else { e == o }
        }
        _ => expected == observed,
    }
}

fn join(path: &str, key: &str) -> String {
    if path.is_empty() { key.to_string() } else { format!("{path}.{key}") }
}

fn display_path(path: &str) -> String {
    if path.is_empty() { "(record)".to_string() } else { path.to_string() }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn obs(v: Value) -> ObservedRecord {
        ObservedRecord::processed(v, 1, 1)
    }

    fn record(revenue: f64) -> Value {
        json!({"identity": "u1", "ts": 1700000000, "type": "event", "evtName": "subscription_renewed",
               "evtData": {"revenue": revenue, "currency": "TRY", "platform": "iOS"}})
    }

    #[test]
    fn equal_records_have_no_differences() {
        assert!(
            compare_records(&[record(1049.993)], &[obs(record(1049.993))], CompareOptions::default())
                .is_empty()
        );
    }

    #[test]
    fn revenue_within_tolerance_is_equal_but_outside_is_a_difference() {
        let opts = CompareOptions::default();
        assert!(compare_records(&[record(1049.993)], &[obs(record(1_049.993_000_5))], opts).is_empty());
        let diffs = compare_records(&[record(1049.993)], &[obs(record(1499.99))], opts);
        assert_eq!(diffs.len(), 1);
        assert_eq!(diffs[0].to_string(), "evtData.revenue: expected 1049.993, observed 1499.99");
    }

    #[test]
    fn missing_and_extra_keys_are_reported_unless_extra_keys_are_allowed() {
        let mut got = record(1.0);
        got["evtData"].as_object_mut().unwrap().remove("currency");
        got["evtData"]["sandbox"] = json!(true);
        let diffs = compare_records(&[record(1.0)], &[obs(got.clone())], CompareOptions::default());
        let text: Vec<String> = diffs.iter().map(ToString::to_string).collect();
        assert_eq!(
            text,
            [
                "evtData.currency: missing (expected \"TRY\")",
                "evtData.sandbox: unexpected key (observed true)"
            ]
        );
        let allowed = compare_records(&[record(1.0)], &[obs(got)], CompareOptions { allow_extra_keys: true });
        assert_eq!(allowed.len(), 1);
    }

    #[test]
    fn expected_nothing_makes_every_record_extra() {
        let diffs = compare_records(&[], &[obs(record(1.0))], CompareOptions::default());
        assert!(matches!(diffs.as_slice(), [Difference::Extra { .. }]));
        assert!(diffs[0].to_string().starts_with("extra record (request #1 record #1)"));
    }

    #[test]
    fn nothing_received_makes_the_record_missing() {
        let diffs = compare_records(&[record(1.0)], &[], CompareOptions::default());
        assert!(matches!(diffs.as_slice(), [Difference::Missing { .. }]));
    }

    #[test]
    fn duplicates_are_extra_records() {
        let diffs =
            compare_records(&[record(1.0)], &[obs(record(1.0)), obs(record(1.0))], CompareOptions::default());
        assert!(matches!(diffs.as_slice(), [Difference::Extra { .. }]));
    }

    #[test]
    fn reordered_records_pair_with_their_closest_match() {
        let a = json!({"evtName": "trial_started", "ts": 1});
        let b = json!({"evtName": "trial_converted", "ts": 2});
        let diffs = compare_records(&[a.clone(), b.clone()], &[obs(b), obs(a)], CompareOptions::default());
        assert!(diffs.is_empty(), "{diffs:?}");
    }

    #[test]
    fn a_string_timestamp_differs_from_a_number() {
        let diffs = diff_values("", &json!({"ts": 17}), &json!({"ts": "17"}), CompareOptions::default());
        assert_eq!(diffs.len(), 1);
    }

    #[test]
    fn a_record_clevertap_rejected_is_a_difference() {
        let mut got = obs(record(1.0));
        got.problem = Some("unprocessed 525: Timestamp".into());
        let diffs = compare_records(&[record(1.0)], &[got], CompareOptions::default());
        assert!(matches!(diffs.as_slice(), [Difference::Rejected { .. }]));
    }
}
