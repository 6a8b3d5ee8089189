//! [`Comparison`]: how strictly a relay's records are compared with the reference records —
//! strict (the default of `run`), tolerant of extra keys, or partial: only the fields a
//! relay declares it maps.

use serde_json::{Map, Value};

use super::compare::{CompareOptions, Difference, ObservedRecord, compare_records};

/// How strictly records are compared.
///
/// Records themselves are always compared strictly: a record the reference uploads and the
/// relay does not is `missing record`, one the relay uploads and the reference does not is
/// `extra record`. The modes differ in the fields they look at:
///
/// - [`Strict`](Comparison::Strict) (the default): every field; a missing key and an
///   unexpected key are both differences.
/// - [`AllowExtraKeys`](Comparison::AllowExtraKeys) (`--allow-extra-keys`): keys the
///   reference does not send are tolerated.
/// - [`Only`](Comparison::Only) ([`Comparison::partial`]): only the declared fields, as
///   dotted paths (`identity`, `evtData.platform`; `evtData` = the whole object). A declared
///   field the relay leaves out is a difference (`evtData.platform: missing (expected
///   "iOS")`), so is a declared field the relay sends where the reference does not;
///   undeclared fields are not looked at.
///
/// ```
/// use qc_harness::conformance::Comparison;
/// use qc_harness::conformance::compare::ObservedRecord;
/// use serde_json::json;
/// let expected = [json!({"identity": "u1", "evtName": "trial_started", "ts": 1,
///                        "evtData": {"platform": "iOS", "product_id": "pro"}})];
/// let sent = |data| vec![ObservedRecord::processed(
///     json!({"identity": "u1", "evtName": "trial_started", "evtData": data}), 1, 1)];
/// let partial = Comparison::partial(["identity", "evtName", "evtData.platform"]);
/// assert!(partial.compare(&expected, &sent(json!({"platform": "iOS"}))).is_empty());
/// let wrong = partial.compare(&expected, &sent(json!({})));
/// assert_eq!(wrong[0].to_string(), "evtData.platform: missing (expected \"iOS\")");
/// assert_eq!(Comparison::Strict.compare(&expected, &sent(json!({"platform": "iOS"}))).len(), 2);
/// ```
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub enum Comparison {
    /// Every field of every record.
    #[default]
    Strict,
    /// Every field the reference sends; extra keys tolerated.
    AllowExtraKeys,
    /// Only these fields (dotted paths), each split into its keys.
    Only(Vec<Vec<String>>),
}

impl Comparison {
    /// Only the fields `fields` names, as dotted paths (`evtData.platform`); empty segments
    /// are ignored.
    pub fn partial<I, S>(fields: I) -> Comparison
    where
        I: IntoIterator<Item = S>,
        S: AsRef<str>,
    {
        let paths = fields
            .into_iter()
            .map(|f| f.as_ref().split('.').filter(|k| !k.is_empty()).map(str::to_string).collect::<Vec<_>>())
            .filter(|p| !p.is_empty())
            .collect();
        Comparison::Only(paths)
    }

    /// The declared fields of a partial comparison, as dotted paths (empty otherwise).
    pub fn fields(&self) -> Vec<String> {
        match self {
            Comparison::Only(paths) => paths.iter().map(|p| p.join(".")).collect(),
            _ => Vec::new(),
        }
    }

    /// The differences between the reference records `expected` and the records a relay
    /// sent for the same case, as `run` reports them (records paired by closeness, so the
    /// upload order does not matter).
    pub fn compare(&self, expected: &[Value], observed: &[ObservedRecord]) -> Vec<Difference> {
        match self {
            Comparison::Strict => compare_records(expected, observed, CompareOptions::default()),
            Comparison::AllowExtraKeys => {
                compare_records(expected, observed, CompareOptions { allow_extra_keys: true })
            }
            Comparison::Only(paths) => {
                let expected: Vec<Value> = expected.iter().map(|e| project(e, paths)).collect();
                let observed: Vec<ObservedRecord> = observed
                    .iter()
                    .map(|o| ObservedRecord { record: project(&o.record, paths), ..o.clone() })
                    .collect();
                compare_records(&expected, &observed, CompareOptions::default())
            }
        }
    }
}

/// `value` with only the fields at `paths` (those it has). The objects on the way to every
/// path are there on both sides, so that a field left out reads `evtData.platform: missing`,
/// not `evtData: missing`.
fn project(value: &Value, paths: &[Vec<String>]) -> Value {
    let mut out = Value::Object(Map::new());
    for path in paths {
        let parents = &path[..path.len().saturating_sub(1)];
        let mut at = &mut out;
        for key in parents {
            let Some(object) = at.as_object_mut() else { break };
            at = object.entry(key.clone()).or_insert_with(|| Value::Object(Map::new()));
        }
        if let Some(found) = lookup(value, path) {
            insert(&mut out, path, found.clone());
        }
    }
    out
}

fn lookup<'a>(value: &'a Value, path: &[String]) -> Option<&'a Value> {
    path.iter().try_fold(value, |at, key| at.as_object()?.get(key))
}

fn insert(out: &mut Value, path: &[String], value: Value) {
    let Some((last, parents)) = path.split_last() else { return };
    let mut at = out;
    for key in parents {
        let Some(object) = at.as_object_mut() else { return };
        at = object.entry(key.clone()).or_insert_with(|| Value::Object(Map::new()));
    }
    if let Some(object) = at.as_object_mut() {
        object.insert(last.clone(), value);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn reference() -> Value {
        json!({"identity": "u1", "ts": 1_700_000_000, "type": "event", "evtName": "subscription_renewed",
               "evtData": {"revenue": 9.99, "currency": "USD", "platform": "iOS", "product_id": "pro"}})
    }

    /// A relay mapping five fields: identity, ts, type, evtName and evtData.platform.
    fn five_fields(platform: &str) -> ObservedRecord {
        let record = json!({"identity": "u1", "ts": 1_700_000_000, "type": "event",
                            "evtName": "subscription_renewed", "evtData": {"platform": platform}});
        ObservedRecord::processed(record, 1, 1)
    }

    const FIVE: [&str; 5] = ["identity", "ts", "type", "evtName", "evtData.platform"];

    #[test]
    fn five_correct_fields_pass_partial_mode_but_not_strict_mode() {
        let partial = Comparison::partial(FIVE);
        assert_eq!(partial.compare(&[reference()], &[five_fields("iOS")]), []);
        let strict = Comparison::Strict.compare(&[reference()], &[five_fields("iOS")]);
        assert_eq!(strict.len(), 3, "{strict:?}");
    }

    #[test]
    fn a_wrong_declared_field_fails_partial_mode() {
        let diffs = Comparison::partial(FIVE).compare(&[reference()], &[five_fields("Android")]);
        let text: Vec<String> = diffs.iter().map(ToString::to_string).collect();
        assert_eq!(text, ["evtData.platform: expected \"iOS\", observed \"Android\""]);
    }

    #[test]
    fn a_declared_field_left_out_is_missing_and_an_undeclared_one_is_not_looked_at() {
        let mut sent = five_fields("iOS");
        sent.record.as_object_mut().unwrap().remove("ts");
        sent.record["evtData"]["made_up"] = json!(1);
        let diffs = Comparison::partial(FIVE).compare(&[reference()], &[sent]);
        let text: Vec<String> = diffs.iter().map(ToString::to_string).collect();
        assert_eq!(text, ["ts: missing (expected 1700000000)"]);
    }

    #[test]
    fn records_stay_strict_in_partial_mode() {
        let partial = Comparison::partial(FIVE);
        assert!(matches!(partial.compare(&[reference()], &[]).as_slice(), [Difference::Missing { .. }]));
        let twice = partial.compare(&[reference()], &[five_fields("iOS"), five_fields("iOS")]);
        assert!(matches!(twice.as_slice(), [Difference::Extra { .. }]));
    }

    #[test]
    fn a_declared_field_the_reference_does_not_send_must_not_be_sent() {
        let partial = Comparison::partial(["evtData.sandbox"]);
        let mut sent = five_fields("iOS");
        sent.record["evtData"]["sandbox"] = json!(true);
        let diffs = partial.compare(&[reference()], &[sent]);
        assert_eq!(diffs[0].to_string(), "evtData.sandbox: unexpected key (observed true)");
    }

    #[test]
    fn a_whole_object_can_be_declared_and_empty_segments_are_ignored() {
        let partial = Comparison::partial(["evtData", "", "identity."]);
        assert_eq!(partial.fields(), ["evtData", "identity"]);
        let diffs = partial.compare(&[reference()], &[five_fields("iOS")]);
        assert_eq!(diffs.len(), 3, "revenue, currency and product_id are missing: {diffs:?}");
    }
}
