//! Snapshot files (insta format) and their redaction, in one place.
//!
//! One file per fixture × variant, `snapshots/<fixture>@<variant>.snap`, holding the records
//! the relay sent for that case: keys sorted, records in a stable order, secrets redacted,
//! numbers in one spelling (`85`, `85.0` and `8.5e1` are all `85`; fractions rounded to
//! 6 decimals, the mapping's precision), so that two relays sending the same values give the
//! same snapshot.
//! The file format is insta's, so `cargo insta review` accepts or rejects `.snap.new` files:
//!
//! ```text
//! ---
//! source: qc-harness run
//! expression: "subscription_renewed.ios@gross"
//! ---
//! [ ...records... ]
//! ```

use std::path::{Path, PathBuf};

use serde::Serialize;
use serde_json::Value;

use crate::error::{Error, Result};

/// What `source:` says in every snapshot header.
pub const SOURCE: &str = "qc-harness run";

/// What replaces a secret (webhook token, passcode) found in a snapshot value.
pub use crate::redact::REDACTED;

/// The outcome of comparing one case with its snapshot file.
#[derive(Debug, Clone, PartialEq, Serialize, serde::Deserialize)]
#[serde(tag = "state", rename_all = "snake_case")]
pub enum SnapshotStatus {
    /// The snapshot file holds exactly these records.
    Matched,
    /// No snapshot file yet: `.snap.new` was written for review; does not fail the run.
    New {
        /// The `.snap.new` path.
        pending: PathBuf,
    },
    /// No snapshot file, in CI mode ([`ci_mode`]): fails the run, nothing is written.
    Missing {
        /// The `.snap` path that does not exist.
        path: PathBuf,
    },
    /// The records differ from the snapshot file: `.snap.new` was written (not in CI mode);
    /// fails the run.
    Changed {
        /// The `.snap.new` path (not written in CI mode).
        pending: PathBuf,
        /// The accepted contents.
        old: String,
        /// The new contents.
        new: String,
    },
    /// `--accept`: the snapshot file was written.
    Written {
        /// The `.snap` path.
        path: PathBuf,
    },
    /// `--accept` on a failing case: nothing was written, its records are wrong.
    NotAccepted,
    /// Snapshots are off for this run, or the case failed (its records are not worth keeping).
    NotChecked,
    /// The snapshot file could not be used: corrupt, unreadable, a symbolic link, or a name
    /// the file system refuses. An input error (exit code 2); the case fails and is counted.
    Unusable {
        /// The `.snap` or `.snap.new` file.
        path: PathBuf,
        /// Why, naming the file.
        error: String,
    },
}

impl SnapshotStatus {
    /// Whether this status fails the case.
    pub fn is_failure(&self) -> bool {
        matches!(
            self,
            SnapshotStatus::Missing { .. } | SnapshotStatus::Changed { .. } | SnapshotStatus::Unusable { .. }
        )
    }

    /// The status of a case whose snapshot could not be compared because of `error`.
    pub fn unusable(path: PathBuf, error: &Error) -> Self {
        SnapshotStatus::Unusable { path, error: error.to_string() }
    }
}

/// CI mode, as insta decides it: `CI` is set (and not `false`/`0`), or `INSTA_UPDATE=no`.
/// In CI mode a missing snapshot fails the run and no `.snap.new` file is written.
pub fn ci_mode() -> bool {
    let ci = std::env::var("CI").is_ok_and(|v| !v.is_empty() && v != "false" && v != "0");
    ci || std::env::var("INSTA_UPDATE").is_ok_and(|v| v == "no")
}

/// A directory of snapshots and the secrets to redact from them.
#[derive(Debug, Clone)]
pub struct SnapshotStore {
    dir: PathBuf,
    secrets: Vec<String>,
    accept: bool,
    ci: bool,
}

impl SnapshotStore {
    /// A store in `dir`; `accept` writes `.snap` files instead of `.snap.new`.
    pub fn new(dir: impl Into<PathBuf>, secrets: Vec<String>, accept: bool) -> Self {
        let secrets = secrets.into_iter().filter(|s| !s.is_empty()).collect();
        SnapshotStore { dir: dir.into(), secrets, accept, ci: false }
    }

    /// In CI mode ([`ci_mode`]) a missing snapshot fails and no `.snap.new` is written.
    pub fn ci(mut self, ci: bool) -> Self {
        self.ci = ci;
        self
    }

    /// Whether this store writes `.snap` files (`--accept`).
    pub fn accepts(&self) -> bool {
        self.accept
    }

    /// `<dir>/<case>@<variant>.snap`.
    pub fn path(&self, case: &str, variant: &str) -> PathBuf {
        self.dir.join(format!("{case}@{variant}.snap"))
    }

    /// Compares the records of one case with its snapshot and writes `.snap.new` or `.snap`.
    pub fn check(&self, case: &str, variant: &str, records: &[Value]) -> Result<SnapshotStatus> {
        let path = self.path(case, variant);
        let pending = pending_path(&path);
        let new = contents(records, &self.secrets);
        let old = read_contents(&path)?;
        if old.as_deref() == Some(new.as_str()) {
            remove_if_exists(&pending)?;
            return Ok(SnapshotStatus::Matched);
        }
        let file = render(&format!("{case}@{variant}"), &new);
        if self.accept {
            write(&path, &file)?;
            remove_if_exists(&pending)?;
            return Ok(SnapshotStatus::Written { path });
        }
        if self.ci {
            return Ok(match old {
                None => SnapshotStatus::Missing { path },
                Some(old) => SnapshotStatus::Changed { pending, old, new },
            });
        }
        write(&pending, &file)?;
        Ok(match old {
            None => SnapshotStatus::New { pending },
            Some(old) => SnapshotStatus::Changed { pending, old, new },
        })
    }
}

/// The normalised, redacted text of a list of records (the part after the header).
///
/// ```
/// let text = qc_harness::snapshot::contents(&[serde_json::json!({"b": "s3cret", "a": 1})], &["s3cret".into()]);
/// assert_eq!(text, "[\n  {\n    \"a\": 1,\n    \"b\": \"[redacted]\"\n  }\n]");
/// ```
pub fn contents(records: &[Value], secrets: &[String]) -> String {
    let mut records: Vec<Value> = records.iter().map(|r| redact(r, secrets)).collect();
    records.sort_by_cached_key(sort_key);
    serde_json::to_string_pretty(&records).expect("JSON values always serialise")
}

/// Replaces every string that is, or contains, a secret with [`REDACTED`]; sorts object keys;
/// writes numbers in one spelling ([`normalise_number`]).
pub fn redact(value: &Value, secrets: &[String]) -> Value {
    match value {
        Value::String(s) if secrets.iter().any(|secret| s.contains(secret.as_str())) => {
            Value::String(REDACTED.to_string())
        }
        Value::Array(items) => Value::Array(items.iter().map(|v| redact(v, secrets)).collect()),
        Value::Object(map) => {
            let mut sorted: Vec<(&String, &Value)> = map.iter().collect();
            sorted.sort_by(|a, b| a.0.cmp(b.0));
            Value::Object(sorted.into_iter().map(|(k, v)| (k.clone(), redact(v, secrets))).collect())
        }
        Value::Number(n) => Value::Number(normalise_number(n)),
        other => other.clone(),
    }
}

/// One spelling per value: integral numbers as integers, fractions rounded to 6 decimals.
///
/// ```
/// use qc_harness::snapshot::redact;
/// use serde_json::json;
/// assert_eq!(redact(&json!([85.0, 85, 6.992999999999999, 84.9999999999, -0.5]), &[]), json!([85, 85, 6.993, 85, -0.5]));
/// ```
pub fn normalise_number(n: &serde_json::Number) -> serde_json::Number {
    let Some(f) = n.as_f64().filter(|_| n.is_f64()) else { return n.clone() };
    let rounded = crate::mapping::revenue::round(f);
    if rounded.fract() == 0.0 && rounded.abs() < 9.0e15 {
        serde_json::Number::from(rounded as i64)
    } else {
        serde_json::Number::from_f64(rounded).unwrap_or_else(|| n.clone())
    }
}

/// Records sort by time, then event name, then their JSON text: independent of arrival order.
fn sort_key(record: &Value) -> (i128, String, String) {
    let ts = record.get("ts").and_then(Value::as_i64).map(i128::from).unwrap_or(i128::MIN);
    let name = record.get("evtName").and_then(Value::as_str).unwrap_or_default().to_string();
    (ts, name, record.to_string())
}

/// A whole `.snap` file in insta's format.
pub fn render(expression: &str, contents: &str) -> String {
    let expression = serde_json::to_string(expression).expect("strings always serialise");
    format!("---\nsource: {SOURCE}\nexpression: {expression}\n---\n{contents}\n")
}

/// The contents of a `.snap` file (after the header), trailing whitespace trimmed as insta does.
pub fn parse(file: &str) -> Option<String> {
    let rest = file.strip_prefix("---\n").or_else(|| file.strip_prefix("---\r\n"))?;
    let end = rest.find("\n---\n").map(|i| (i, 5)).or_else(|| rest.find("\r\n---\r\n").map(|i| (i, 7)))?;
    Some(rest[end.0 + end.1..].replace("\r\n", "\n").trim_end().to_string())
}

/// `x.snap` → `x.snap.new`.
pub fn pending_path(path: &Path) -> PathBuf {
    let mut name = path.as_os_str().to_owned();
    name.push(".new");
    PathBuf::from(name)
}

fn read_contents(path: &Path) -> Result<Option<String>> {
    match std::fs::read_to_string(path) {
        Ok(text) => parse(&text)
            .map(Some)
            .ok_or_else(|| Error::invalid(path, ".", "not a snapshot file (expected insta's `---` header)")),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
        Err(e) => Err(Error::io(path, e)),
    }
}

/// Writes `text` to `path` through a temporary file renamed over it, so that a symbolic link
/// planted at `path` is never written through (and is refused, naming it).
pub(crate) fn write(path: &Path, text: &str) -> Result<()> {
    if let Ok(meta) = std::fs::symlink_metadata(path)
        && !meta.file_type().is_file()
    {
        let what = if meta.file_type().is_symlink() { "a symbolic link" } else { "not a regular file" };
        return Err(Error::invalid(path, ".", format!("{what}: refusing to write a snapshot through it")));
    }
    let dir = match path.parent() {
        Some(dir) if !dir.as_os_str().is_empty() => dir,
        _ => Path::new("."),
    };
    std::fs::create_dir_all(dir).map_err(|e| Error::io(dir, e))?;
    let mut temp = tempfile::NamedTempFile::new_in(dir).map_err(|e| Error::io(dir, e))?;
    std::io::Write::write_all(&mut temp, text.as_bytes()).map_err(|e| Error::io(temp.path(), e))?;
    temp.persist(path).map_err(|e| Error::io(path, e.error))?;
    Ok(())
}

pub(crate) fn remove_if_exists(path: &Path) -> Result<()> {
    match std::fs::remove_file(path) {
        Err(e) if e.kind() != std::io::ErrorKind::NotFound => Err(Error::io(path, e)),
        _ => Ok(()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn store(dir: &Path, accept: bool) -> SnapshotStore {
        SnapshotStore::new(dir, vec!["tok-123".into()], accept)
    }

    #[test]
    fn in_ci_mode_a_missing_snapshot_fails_and_nothing_is_written() {
        let dir = tempfile::tempdir().unwrap();
        let status = store(dir.path(), false).ci(true).check("f", "v", &[json!({"a": 1})]).unwrap();
        assert_eq!(status, SnapshotStatus::Missing { path: dir.path().join("f@v.snap") });
        assert!(status.is_failure());
        assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 0);
    }

    #[test]
    fn a_new_snapshot_outside_ci_does_not_fail() {
        let dir = tempfile::tempdir().unwrap();
        let status = store(dir.path(), false).check("f", "v", &[json!({"a": 1})]).unwrap();
        assert!(matches!(status, SnapshotStatus::New { .. }) && !status.is_failure());
    }

    #[cfg(unix)]
    #[test]
    fn writing_through_a_symlink_is_refused() {
        let dir = tempfile::tempdir().unwrap();
        let target = dir.path().join("elsewhere.txt");
        let kept = render("f@v", "[]");
        std::fs::write(&target, &kept).unwrap();
        std::os::unix::fs::symlink(&target, dir.path().join("f@v.snap")).unwrap();
        let err = store(dir.path(), true).check("f", "v", &[json!({"a": 1})]).unwrap_err();
        assert!(err.to_string().contains("symbolic link"), "{err}");
        assert_eq!(std::fs::read_to_string(&target).unwrap(), kept);
    }

    #[test]
    fn a_new_snapshot_writes_snap_new_and_accept_writes_snap() {
        let dir = tempfile::tempdir().unwrap();
        let records = [json!({"identity": "u", "evtName": "x"})];
        let status = store(dir.path(), false).check("f.ios", "gross", &records).unwrap();
        let pending = dir.path().join("f.ios@gross.snap.new");
        assert_eq!(status, SnapshotStatus::New { pending: pending.clone() });
        assert!(pending.exists() && !dir.path().join("f.ios@gross.snap").exists());
        let status = store(dir.path(), true).check("f.ios", "gross", &records).unwrap();
        assert!(matches!(status, SnapshotStatus::Written { .. }));
        assert!(!pending.exists());
        assert_eq!(
            store(dir.path(), false).check("f.ios", "gross", &records).unwrap(),
            SnapshotStatus::Matched
        );
    }

    #[test]
    fn a_changed_snapshot_keeps_the_old_file_and_fails() {
        let dir = tempfile::tempdir().unwrap();
        store(dir.path(), true).check("f", "v", &[json!({"a": 1})]).unwrap();
        let status = store(dir.path(), false).check("f", "v", &[json!({"a": 2})]).unwrap();
        assert!(status.is_failure());
        let SnapshotStatus::Changed { old, new, .. } = status else { panic!("{status:?}") };
        assert!(old.contains("\"a\": 1") && new.contains("\"a\": 2"));
        assert!(std::fs::read_to_string(dir.path().join("f@v.snap")).unwrap().contains("\"a\": 1"));
    }

    #[test]
    fn files_use_insta_format_and_parse_back() {
        let file = render("f@v", "[]");
        assert_eq!(file, "---\nsource: qc-harness run\nexpression: \"f@v\"\n---\n[]\n");
        assert_eq!(parse(&file).as_deref(), Some("[]"));
        assert_eq!(parse("no header"), None);
    }

    #[test]
    fn contents_do_not_depend_on_arrival_order_and_redact_secrets() {
        let a = json!({"ts": 2, "evtName": "b", "evtData": {"note": "Basic tok-123"}});
        let b = json!({"ts": 1, "evtName": "a"});
        let one = contents(&[a.clone(), b.clone()], &["tok-123".into()]);
        assert_eq!(one, contents(&[b, a], &["tok-123".into()]));
        assert!(one.contains(REDACTED) && !one.contains("tok-123"));
    }

    #[test]
    fn a_symlink_planted_as_snap_new_is_not_written_through() {
        let dir = tempfile::tempdir().unwrap();
        let outside = dir.path().join("outside.txt");
        std::fs::write(&outside, "precious").unwrap();
        let snaps = dir.path().join("snapshots");
        std::fs::create_dir(&snaps).unwrap();
        std::os::unix::fs::symlink(&outside, snaps.join("f@v.snap.new")).unwrap();
        let err = store(&snaps, false).check("f", "v", &[json!({"a": 1})]).unwrap_err();
        assert!(
            err.to_string().contains("f@v.snap.new") && err.to_string().contains("symbolic link"),
            "{err}"
        );
        assert_eq!(std::fs::read_to_string(&outside).unwrap(), "precious");
        std::os::unix::fs::symlink(&outside, snaps.join("g@v.snap")).unwrap();
        let err = store(&snaps, true).check("g", "v", &[json!({"a": 1})]).unwrap_err();
        assert!(err.to_string().contains("g@v.snap"), "{err}");
        assert_eq!(std::fs::read_to_string(&outside).unwrap(), "precious");
    }

    #[test]
    fn a_file_without_header_is_an_error_naming_it() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("f@v.snap"), "garbage").unwrap();
        let err = store(dir.path(), false).check("f", "v", &[]).unwrap_err();
        assert!(err.to_string().contains("f@v.snap"), "{err}");
    }
}
