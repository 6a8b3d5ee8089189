//! `--set PATH=VALUE` overrides of webhook fields.
//!
//! PATH is a dotted path with optional indexes: `environment`, `revenue.value`,
//! `transaction.transaction_id`, `entitlements[0].active`, `entitlements[0].product.product_id`.
//! Objects missing (or `null`) on the way are created; arrays are not: an index must
//! point at an existing element (set a whole array with `entitlements=[...]`). Keys are
//! taken literally, so a key with `.` or `[` in it cannot be addressed.
//!
//! VALUE is typed like JSON where it can be:
//!
//! | VALUE | becomes |
//! |---|---|
//! | `4.99`, `-1`, `1e3` (a JSON number) | a number |
//! | `true`, `false`, `null` | a boolean, `null` |
//! | `{...}`, `[...]` | that JSON object or array (must be valid JSON) |
//! | `"..."` | that JSON string (e.g. `"1000000123"` to keep digits a string) |
//! | anything else, also empty | the text as a string |

use serde_json::{Map, Value};

use super::event::WebhookEvent;
use crate::error::{Error, Result};

/// Applies one `PATH=VALUE` override to a webhook body.
///
/// ```
/// use serde_json::json;
/// use qc_harness::qonversion::overrides::apply;
/// let mut body = json!({"event_name": "trial_started", "entitlements": [{"active": false}]});
/// apply(&mut body, "entitlements[0].active=true").unwrap();
/// apply(&mut body, "revenue.value=4.99").unwrap();
/// apply(&mut body, "transaction.transaction_id=\"1000000123\"").unwrap();
/// assert_eq!(body["entitlements"][0]["active"], json!(true));
/// assert_eq!(body["revenue"], json!({"value": 4.99}));
/// assert_eq!(body["transaction"]["transaction_id"], json!("1000000123"));
/// let err = apply(&mut body, "entitlements[3].active=true").unwrap_err();
/// assert!(err.to_string().contains("entitlements[3]"));
/// ```
pub fn apply(body: &mut Value, spec: &str) -> Result<()> {
    let fail = |message: String| Error::Usage(format!("--set {spec}: {message}"));
    let Some((path, text)) = spec.split_once('=') else {
        return Err(fail("expected PATH=VALUE, e.g. `revenue.value=4.99`".into()));
    };
    let steps = parse_path(path).map_err(&fail)?;
    let value = parse_value(text).map_err(&fail)?;
    // Work on a copy so that a failed override leaves the body untouched.
    let mut changed = body.clone();
    set(&mut changed, &steps, value, path).map_err(fail)?;
    *body = changed;
    Ok(())
}

/// Applies every override in order, then checks the result is still a webhook event;
/// an error names the field that no longer fits. `origin` names the input in errors.
pub fn apply_all(body: &mut Value, specs: &[String], origin: &str) -> Result<WebhookEvent> {
    for spec in specs {
        apply(body, spec)?;
    }
    let origin = if specs.is_empty() { origin.to_string() } else { format!("{origin} (after --set)") };
    // From the value, not from text: no line/column of a document the user never saw.
    serde_path_to_error::deserialize(body.clone()).map_err(|e| {
        let path = e.path().to_string();
        Error::invalid(origin, path, e.into_inner().to_string())
    })
}

/// One step of a path: an object key or an array index.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Step {
    /// `.key`
    Key(String),
    /// `[n]`
    Index(usize),
}

/// Splits `a.b[0].c` into steps; errors name the bad part.
///
/// ```
/// use qc_harness::qonversion::overrides::{parse_path, Step};
/// assert_eq!(
///     parse_path("entitlements[0].active").unwrap(),
///     vec![Step::Key("entitlements".into()), Step::Index(0), Step::Key("active".into())]
/// );
/// assert!(parse_path("a..b").is_err());
/// ```
pub fn parse_path(path: &str) -> Result<Vec<Step>, String> {
    if path.is_empty() {
        return Err("empty path before `=`".into());
    }
    let mut steps = Vec::new();
    for (n, segment) in path.split('.').enumerate() {
        let (key, mut rest) = segment.split_at(segment.find('[').unwrap_or(segment.len()));
        if key.is_empty() {
            let what = if segment.is_empty() { "empty segment" } else { "an index needs a key before it" };
            return Err(format!("{what} at position {} in path `{path}`", n + 1));
        }
        steps.push(Step::Key(key.to_string()));
        while !rest.is_empty() {
            let close = rest.find(']').ok_or_else(|| format!("unclosed `[` in path `{path}`"))?;
            let index = &rest[1..close];
            let parsed = index.parse::<usize>().ok().filter(|_| index.bytes().all(|b| b.is_ascii_digit()));
            let index = parsed.ok_or_else(|| format!("bad index `[{index}]` in path `{path}`"))?;
            steps.push(Step::Index(index));
            rest = &rest[close + 1..];
            if !rest.is_empty() && !rest.starts_with('[') {
                return Err(format!("unexpected `{rest}` after `]` in path `{path}` (use `.` before a key)"));
            }
        }
    }
    Ok(steps)
}

/// Types VALUE as the module documentation says.
///
/// ```
/// use qc_harness::qonversion::overrides::parse_value;
/// use serde_json::json;
/// assert_eq!(parse_value("4.99").unwrap(), json!(4.99));
/// assert_eq!(parse_value("sandbox").unwrap(), json!("sandbox"));
/// assert_eq!(parse_value("\"42\"").unwrap(), json!("42"));
/// assert!(parse_value("{oops").is_err());
/// ```
pub fn parse_value(text: &str) -> Result<Value, String> {
    let strict = |kind: &str| {
        serde_json::from_str::<Value>(text)
            .map_err(|e| format!("value `{text}` is not a valid JSON {kind}: {e}"))
    };
    match text.trim_start().chars().next() {
        Some('{') => strict("object"),
        Some('[') => strict("array"),
        Some('"') => strict("string"),
        _ => match serde_json::from_str::<Value>(text) {
            Ok(value @ (Value::Number(_) | Value::Bool(_) | Value::Null)) => Ok(value),
            _ => Ok(Value::String(text.to_string())),
        },
    }
}

/// Walks `steps` from `root`, creating missing objects, and sets the last one to `value`.
fn set(root: &mut Value, steps: &[Step], value: Value, path: &str) -> Result<(), String> {
    let mut node = root;
    for (n, step) in steps.iter().enumerate() {
        let at = render(&steps[..n]);
        let last = n + 1 == steps.len();
        node = match step {
            Step::Key(key) => {
                if node.is_null() && n > 0 {
                    *node = Value::Object(Map::new());
                }
                let Value::Object(map) = node else {
                    return Err(format!(
                        "cannot set `{key}` in path `{path}`: `{at}` is {}, not an object",
                        kind(node)
                    ));
                };
                if last {
                    map.insert(key.clone(), value);
                    return Ok(());
                }
                map.entry(key.clone()).or_insert(Value::Null)
            }
            Step::Index(index) => {
                let Value::Array(items) = node else {
                    let hint = if node.is_null() {
                        " (arrays are not created: set a whole one with PATH=[...])"
                    } else {
                        ""
                    };
                    let what = kind(node);
                    return Err(format!(
                        "cannot index `{at}[{index}]` in path `{path}`: `{at}` is {what}, not an array{hint}"
                    ));
                };
                let len = items.len();
                let item = items.get_mut(*index).ok_or_else(|| {
                    format!(
                        "index out of range in path `{path}`: `{at}` has {len} element(s), no `[{index}]`"
                    )
                })?;
                if last {
                    *item = value;
                    return Ok(());
                }
                item
            }
        };
    }
    Err(format!("empty path `{path}`"))
}

fn render(steps: &[Step]) -> String {
    let mut text = String::new();
    for step in steps {
        match step {
            Step::Key(key) if text.is_empty() => text.push_str(key),
            Step::Key(key) => text.push_str(&format!(".{key}")),
            Step::Index(i) => text.push_str(&format!("[{i}]")),
        }
    }
    if text.is_empty() { "the body".into() } else { text }
}

fn kind(value: &Value) -> &'static str {
    match value {
        Value::Null => "null or missing",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "an array",
        Value::Object(_) => "an object",
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    fn body() -> Value {
        json!({
            "event_name": "subscription_renewed",
            "revenue": null,
            "transaction": {"transaction_id": "t1"},
            "entitlements": [{"id": "premium", "active": true, "product": {"product_id": "p1"}}]
        })
    }

    fn error(spec: &str) -> String {
        let mut value = body();
        let message = apply(&mut value, spec).unwrap_err().to_string();
        assert_eq!(value, body(), "a failed override changes nothing");
        message
    }

    #[test]
    fn sets_dotted_and_indexed_paths() {
        let mut value = body();
        apply(&mut value, "transaction.transaction_id=t2").unwrap();
        apply(&mut value, "entitlements[0].active=false").unwrap();
        apply(&mut value, "entitlements[0].product.product_id=p2").unwrap();
        apply(&mut value, "environment=sandbox").unwrap();
        assert_eq!(value["transaction"]["transaction_id"], json!("t2"));
        assert_eq!(value["entitlements"][0]["active"], json!(false));
        assert_eq!(value["entitlements"][0]["product"]["product_id"], json!("p2"));
        assert_eq!(value["environment"], json!("sandbox"));
    }

    #[test]
    fn creates_missing_and_null_objects_on_the_way() {
        let mut value = body();
        apply(&mut value, "revenue.value=4.99").unwrap();
        apply(&mut value, "asa_attribution.campaign.id=17").unwrap();
        assert_eq!(value["revenue"], json!({"value": 4.99}));
        assert_eq!(value["asa_attribution"], json!({"campaign": {"id": 17}}));
    }

    #[test]
    fn replaces_a_whole_array_element() {
        let mut value = body();
        apply(&mut value, "entitlements[0]={\"id\":\"gold\"}").unwrap();
        assert_eq!(value["entitlements"], json!([{"id": "gold"}]));
    }

    #[test]
    fn types_values_like_json() {
        let cases = [
            ("4.99", json!(4.99)),
            ("-3", json!(-3)),
            ("1e3", json!(1000.0)),
            ("true", json!(true)),
            ("false", json!(false)),
            ("null", json!(null)),
            ("{\"a\":[1]}", json!({"a": [1]})),
            ("[1,\"x\"]", json!([1, "x"])),
            ("\"42\"", json!("42")),
            ("\"\"", json!("")),
            ("", json!("")),
            ("sandbox", json!("sandbox")),
            ("007", json!("007")),
            ("True", json!("True")),
            ("a=b", json!("a=b")),
            ("héllo wörld", json!("héllo wörld")),
        ];
        for (text, expected) in cases {
            assert_eq!(parse_value(text).unwrap(), expected, "value `{text}`");
        }
    }

    #[test]
    fn splits_at_the_first_equals_sign() {
        let mut value = body();
        apply(&mut value, "properties.note=a=b").unwrap();
        assert_eq!(value["properties"]["note"], json!("a=b"));
    }

    #[test]
    fn rejects_bad_paths_naming_them() {
        let cases = [
            ("a..b=1", "empty segment at position 2 in path `a..b`"),
            (".a=1", "empty segment at position 1"),
            ("a.=1", "empty segment at position 2"),
            ("=1", "empty path"),
            ("entitlements[x].active=1", "bad index `[x]` in path `entitlements[x].active`"),
            ("entitlements[-1]=1", "bad index `[-1]`"),
            ("entitlements[]=1", "bad index `[]`"),
            ("entitlements[0=1", "unclosed `[` in path `entitlements[0`"),
            ("entitlements[0]x=1", "unexpected `x` after `]`"),
            ("[0]=1", "an index needs a key before it"),
            ("entitlements[3].active=true", "index out of range in path `entitlements[3].active`"),
            ("transaction[0]=1", "`transaction` is an object, not an array"),
            ("missing[0]=1", "`missing` is null or missing, not an array (arrays are not created"),
            ("transaction.transaction_id.x=1", "`transaction.transaction_id` is a string, not an object"),
            ("entitlements.active=1", "`entitlements` is an array, not an object"),
            ("event_name", "expected PATH=VALUE"),
        ];
        for (spec, expected) in cases {
            let message = error(spec);
            assert!(message.starts_with(&format!("--set {spec}: ")), "{message}");
            assert!(message.contains(expected), "`{spec}`: {message}");
        }
    }

    #[test]
    fn rejects_malformed_json_values() {
        for (spec, kind) in [("a={oops", "object"), ("a=[1,", "array"), ("a=\"open", "string")] {
            let message = error(spec);
            assert!(message.contains(&format!("is not a valid JSON {kind}")), "{message}");
        }
    }

    #[test]
    fn checks_the_event_still_parses_naming_the_field() {
        let mut value = body();
        let err = apply_all(&mut value, &["time=soon".into()], "event.json").unwrap_err();
        let text = err.to_string();
        assert!(text.starts_with("event.json (after --set): time: "), "{text}");
        let mut value = body();
        let err = apply_all(&mut value, &["revenue.value=\"cheap\"".into()], "event.json").unwrap_err();
        assert!(err.to_string().contains("revenue.value"), "{err}");
        let mut value = body();
        let event = apply_all(&mut value, &["time=1700000000".into()], "event.json").unwrap();
        assert_eq!(event.time.get(), Some(&1_700_000_000));
    }
}
