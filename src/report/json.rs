//! The `--json` report.
//!
//! Schema (version 1), one object:
//!
//! ```text
//! {
//!   "schema": "qc-harness/run/1",
//!   "passed": bool,                      // nothing failed, no relay error, not interrupted
//!   "totals": {"passed", "failed", "skipped", "warnings"},
//!   "variants": [string], "fixtures": [string],
//!   "relay_error": string|null, "interrupted": bool, "elapsed": ms,
//!   "plan": {"harness_version", "relay", "variants": [string], "checks": [string],
//!            "strict": bool, "allow_extra_keys": bool,
//!            "partition": {"index", "count"}|null},   // the whole run; the shard of --partition
//!   "cases": [{"fixture", "variant", "status": "passed"|"failed"|"warning"|"skipped",
//!              "expected": [record], "observed": [{"record", "request_seq", "index", "problem"}],
//!              "differences": [{"kind": "missing"|"extra"|"field"|"rejected", ...}],
//!              "webhook_statuses": [u16|null], "problems": [string],
//!              "snapshot": {"state": "matched"|"new"|"missing"|"changed"|"written"|"not_accepted"|"not_checked", ...},
//!              "relay_tail"?: string}],
//!   "checks": [{"name", "level": "MUST"|"SHOULD", "variant", "status", "expected", "observed",
//!               "details": [string], "relay_tail"?: string, "duration": ms}]
//! }
//! ```

use serde_json::{Value, json};

use crate::conformance::RunOutcome;

/// The JSON report text.
pub fn render(outcome: &RunOutcome) -> String {
    let mut value = serde_json::to_value(outcome).expect("outcomes always serialise");
    if let Value::Object(map) = &mut value {
        map.insert("schema".into(), json!("qc-harness/run/1"));
        map.insert("passed".into(), json!(outcome.passed()));
        map.insert("totals".into(), serde_json::to_value(outcome.totals()).expect("totals serialise"));
    }
    serde_json::to_string_pretty(&value).expect("JSON values always serialise") + "\n"
}
