//! Comparing two answers to the same request: HTTP status, body shape, `status`,
//! `processed`, the request-level `error`/`code`, and per skipped record its code, record
//! number and text. Every difference is one [`Difference`].

use std::collections::BTreeMap;

use serde_json::Value;

use super::client::Observed;

/// One way the fake's answer differs from the upstream's.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct Difference {
    /// The corpus case (or cassette) name.
    pub case: String,
    /// The rule the case exercises.
    pub rule: String,
    /// What differs: `http status`, `body shape`, `status`, `processed`, `error`, `code`,
    /// `record N: code`, `record N: number`, `record N: text`, `record N: outcome`.
    pub aspect: String,
    /// The fake's value.
    pub fake: String,
    /// The upstream's value.
    pub upstream: String,
}

/// The parts of an answer that are compared.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Summary {
    status: u16,
    shape: String,
    fields: BTreeMap<&'static str, String>,
    /// Skipped records by number: (code, text without the record number).
    skipped: BTreeMap<String, (String, String)>,
}

const SKIPPED: &str = "Skipped record number : ";

/// `text` split into the message and the record number it ends with.
pub fn split_skipped(text: &str) -> (&str, Option<&str>) {
    match text.rfind(SKIPPED) {
        Some(at) => (&text[..at], Some(text[at + SKIPPED.len()..].trim())),
        None => (text, None),
    }
}

fn type_name(value: &Value) -> &'static str {
    match value {
        Value::Null => "null",
        Value::Bool(_) => "boolean",
        Value::Number(_) => "number",
        Value::String(_) => "string",
        Value::Array(_) => "array",
        Value::Object(_) => "object",
    }
}

/// `{code:number,error:string,...}`; for `unprocessed` also the shape of its entries.
fn shape(value: &Value) -> String {
    let Value::Object(fields) = value else { return type_name(value).to_string() };
    let mut parts: Vec<String> = fields
        .iter()
        .map(|(key, value)| match (key.as_str(), value) {
            ("unprocessed", Value::Array(items)) => {
                let mut inner: Vec<String> = items.iter().map(shape).collect();
                inner.sort();
                inner.dedup();
                format!("unprocessed:[{}]", inner.join("|"))
            }
            _ => format!("{key}:{}", type_name(value)),
        })
        .collect();
    parts.sort();
    format!("{{{}}}", parts.join(","))
}

fn text_of(value: &Value) -> String {
    match value {
        Value::String(s) => s.clone(),
        other => other.to_string(),
    }
}

fn summarise(observed: &Observed) -> Summary {
    let Ok(body) = serde_json::from_str::<Value>(&observed.body) else {
        return Summary {
            status: observed.status,
            shape: "not JSON".into(),
            fields: BTreeMap::new(),
            skipped: BTreeMap::new(),
        };
    };
    let mut fields = BTreeMap::new();
    for key in ["status", "processed", "error", "code"] {
        if let Some(value) = body.get(key) {
            fields.insert(key, text_of(value));
        }
    }
    let mut skipped = BTreeMap::new();
    for (position, entry) in
        body.get("unprocessed").and_then(Value::as_array).into_iter().flatten().enumerate()
    {
        let error = entry.get("error").map(text_of).unwrap_or_default();
        let (text, number) = split_skipped(&error);
        let number = number.map_or_else(|| format!("at position {}", position + 1), str::to_string);
        let code = entry.get("code").map(text_of).unwrap_or_default();
        skipped.insert(number, (code, text.to_string()));
    }
    Summary { status: observed.status, shape: shape(&body), fields, skipped }
}

/// Every difference between the fake's and the upstream's answers to one case.
pub fn compare(case: &str, rule: &str, fake: &Observed, upstream: &Observed) -> Vec<Difference> {
    let (ours, theirs) = (summarise(fake), summarise(upstream));
    let mut differences = Vec::new();
    let mut differ = |aspect: String, fake: String, upstream: String| {
        if fake != upstream {
            differences.push(Difference { case: case.into(), rule: rule.into(), aspect, fake, upstream });
        }
    };
    differ("http status".into(), ours.status.to_string(), theirs.status.to_string());
    differ("body shape".into(), ours.shape.clone(), theirs.shape.clone());
    for key in ["status", "processed", "error", "code"] {
        let get = |summary: &Summary| summary.fields.get(key).cloned().unwrap_or_else(|| "(absent)".into());
        differ(key.into(), get(&ours), get(&theirs));
    }
    let numbers: std::collections::BTreeSet<&String> =
        ours.skipped.keys().chain(theirs.skipped.keys()).collect();
    for number in numbers {
        match (ours.skipped.get(number), theirs.skipped.get(number)) {
            (Some((code, text)), Some((their_code, their_text))) => {
                differ(format!("record {number}: code"), code.clone(), their_code.clone());
                differ(format!("record {number}: text"), text.clone(), their_text.clone());
            }
            (ours_entry, theirs_entry) => {
                let outcome = |entry: Option<&(String, String)>| {
                    entry
                        .map_or_else(|| "not skipped".to_string(), |(code, _)| format!("skipped with {code}"))
                };
                differ(format!("record {number}: number"), outcome(ours_entry), outcome(theirs_entry));
            }
        }
    }
    differences
}

#[cfg(test)]
mod tests {
    use super::*;

    fn observed(status: u16, body: &str) -> Observed {
        Observed { status, retry_after: None, content_type: None, body: body.into() }
    }

    #[test]
    fn equal_answers_have_no_difference_even_with_other_spacing_and_key_order() {
        let fake = observed(
            200,
            r#"{"status":"fail","processed":0,"unprocessed":[{"status":"fail","code":514,"error":"G.Skipped record number : 1","record":{}}]}"#,
        );
        let upstream = observed(
            200,
            r#"{ "processed" : 0 , "status" : "fail", "unprocessed" : [ { "code" : 514 , "status" : "fail", "error" : "G.Skipped record number : 1", "record": {"a": 1} } ] }"#,
        );
        assert_eq!(compare("c", "514", &fake, &upstream), []);
    }

    /// A partial answer whose one unprocessed record has `code`, `error` and `record`.
    fn partial(code: u16, error: &str, record: &str) -> Observed {
        let unprocessed = format!(r#"{{"status":"fail","code":{code},"error":"{error}","record":{record}}}"#);
        observed(200, &format!(r#"{{"status":"partial","processed":1,"unprocessed":[{unprocessed}]}}"#))
    }

    #[test]
    fn reports_each_aspect() {
        let fake = partial(514, "A.Skipped record number : 2", "{}");
        let upstream = partial(515, "B.Skipped record number : 2", r#""{}""#);
        let aspects: Vec<String> =
            compare("c", "r", &fake, &upstream).into_iter().map(|d| d.aspect).collect();
        assert_eq!(aspects, ["body shape", "record 2: code", "record 2: text"]);
        let moved = partial(514, "A.Skipped record number : 1", "{}");
        let aspects: Vec<String> = compare("c", "r", &fake, &moved).into_iter().map(|d| d.aspect).collect();
        assert_eq!(aspects, ["record 1: number", "record 2: number"]);
        let refused = observed(401, r#"{"status":"fail","error":"Invalid Credentials","code":401}"#);
        let aspects: Vec<String> = compare("c", "r", &fake, &refused).into_iter().map(|d| d.aspect).collect();
        assert_eq!(
            aspects,
            ["http status", "body shape", "status", "processed", "error", "code", "record 2: number"]
        );
        let html = observed(502, "<html>bad gateway</html>");
        let differences = compare("c", "r", &refused, &html);
        assert_eq!(differences[1].upstream, "not JSON");
    }
}
