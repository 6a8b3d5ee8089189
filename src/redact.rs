//! Every redaction of the crate, in one place: the CleverTap passcode and the webhook token
//! never reach an output (human report, JSON, JUnit, logs, the dev page, snapshots).
//!
//! A relay may leak its secrets anywhere: in its output (kept as the relay's tail in reports),
//! in the records it uploads, in its answers. Rather than hunting for every field, the outputs
//! pass through a [`Redactor`] as text, which replaces each secret in its raw, JSON-escaped and
//! XML-escaped spellings with [`REDACTED`]. [`LogWriter`] does the same for log lines.
//!
//! (Internal: the examples are the unit tests below.)

use std::io::Write;
use std::sync::{OnceLock, RwLock};

/// What replaces a secret.
pub const REDACTED: &str = "[redacted]";

/// Replaces every secret in text bound for an output.
#[derive(Debug, Clone, Default)]
pub struct Redactor {
    /// Every spelling of every secret, longest first.
    forms: Vec<String>,
}

impl Redactor {
    /// Hides each of `secrets` (empty ones are ignored).
    pub fn new<I: IntoIterator<Item = String>>(secrets: I) -> Redactor {
        let mut forms: Vec<String> =
            secrets.into_iter().filter(|s| !s.is_empty()).flat_map(spellings).collect();
        // Longest first, so a secret that contains another is hidden whole.
        forms.sort_by_key(|s| std::cmp::Reverse(s.len()));
        forms.dedup();
        Redactor { forms }
    }

    /// `text` with every secret replaced by [`REDACTED`].
    pub fn text(&self, text: &str) -> String {
        self.forms.iter().fold(text.to_string(), |acc, secret| acc.replace(secret.as_str(), REDACTED))
    }

    /// A JSON value with every secret hidden in its strings (keys included).
    pub fn value(&self, value: &serde_json::Value) -> serde_json::Value {
        if self.forms.is_empty() {
            return value.clone();
        }
        let text = value.to_string();
        if !self.forms.iter().any(|s| text.contains(s.as_str())) {
            return value.clone();
        }
        serde_json::from_str(&self.text(&text)).unwrap_or_else(|_| serde_json::Value::String(REDACTED.into()))
    }
}

/// A secret as written raw, inside a JSON string, and inside XML text or attributes.
fn spellings(secret: String) -> Vec<String> {
    let json = serde_json::to_string(&secret).map(|s| s[1..s.len() - 1].to_string()).unwrap_or_default();
    let xml = secret
        .replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
        .replace('\'', "&apos;");
    [secret, json, xml].into_iter().filter(|s| !s.is_empty()).collect()
}

/// The secrets hidden from log lines ([`hide_in_logs`]).
fn log_redactor() -> &'static RwLock<Redactor> {
    static LOGS: OnceLock<RwLock<Redactor>> = OnceLock::new();
    LOGS.get_or_init(|| RwLock::new(Redactor::default()))
}

/// Hides `secrets` from every line written through [`LogWriter`] from now on (the command
/// line calls this with the passcode and the token before it starts a relay).
pub fn hide_in_logs<I: IntoIterator<Item = String>>(secrets: I) {
    let mut redactor = log_redactor().write().unwrap_or_else(|e| e.into_inner());
    let mut all: Vec<String> = redactor.forms.clone();
    all.extend(secrets);
    *redactor = Redactor::new(all);
}

/// A log writer to stderr that hides the secrets given to [`hide_in_logs`]; give
/// `LogWriter::default` to `tracing_subscriber::fmt().with_writer(..)`.
#[derive(Debug, Default)]
pub struct LogWriter;

impl Write for LogWriter {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        let text = String::from_utf8_lossy(buf);
        let redacted = log_redactor().read().unwrap_or_else(|e| e.into_inner()).text(&text);
        std::io::stderr().write_all(redacted.as_bytes())?;
        Ok(buf.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        std::io::stderr().flush()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_secret_in_text_is_replaced() {
        let redactor = Redactor::new(["s3cret".to_string()]);
        assert_eq!(redactor.text("token s3cret"), "token [redacted]");
    }

    #[test]
    fn secrets_are_hidden_in_text_and_json() {
        let redactor = Redactor::new(["TOKEN-1".to_string(), "PASS".to_string(), String::new()]);
        assert_eq!(redactor.text("env TOKEN-1 PASS x"), "env [redacted] [redacted] x");
        let value = serde_json::json!({"a": ["PASS"], "b": 1});
        assert_eq!(redactor.value(&value), serde_json::json!({"a": ["[redacted]"], "b": 1}));
    }

    #[test]
    fn escaped_spellings_are_hidden_too() {
        let redactor = Redactor::new([r#"a"b<c&d\e"#.to_string()]);
        let json = serde_json::json!({ "k": r#"x a"b<c&d\e y"# }).to_string();
        assert_eq!(redactor.text(&json), r#"{"k":"x [redacted] y"}"#);
        assert_eq!(redactor.text("<t>a&quot;b&lt;c&amp;d\\e</t>"), "<t>[redacted]</t>");
    }
}
