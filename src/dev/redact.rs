//! [`Redactor`]: the page never shows the CleverTap passcode or the webhook token.

/// What replaces a secret in text shown on the page.
pub const HIDDEN: &str = "[redacted]";

/// Replaces every secret in text bound for the page.
#[derive(Debug, Clone, Default)]
pub struct Redactor {
    secrets: Vec<String>,
}

impl Redactor {
    /// Hides each of `secrets` (empty ones are ignored).
    pub fn new<I: IntoIterator<Item = String>>(secrets: I) -> Redactor {
        let mut secrets: Vec<String> = secrets.into_iter().filter(|s| !s.is_empty()).collect();
        // Longest first, so a secret that contains another is hidden whole.
        secrets.sort_by_key(|s| std::cmp::Reverse(s.len()));
        Redactor { secrets }
    }

    /// `text` with every secret replaced by [`HIDDEN`].
    pub fn text(&self, text: &str) -> String {
        self.secrets.iter().fold(text.to_string(), |acc, secret| acc.replace(secret.as_str(), HIDDEN))
    }

    /// A JSON value with every secret hidden in its strings (keys included).
    pub fn value(&self, value: &serde_json::Value) -> serde_json::Value {
        if self.secrets.is_empty() {
            return value.clone();
        }
        let text = value.to_string();
        if !self.secrets.iter().any(|s| text.contains(s.as_str())) {
            return value.clone();
        }
        serde_json::from_str(&self.text(&text)).unwrap_or_else(|_| serde_json::Value::String(HIDDEN.into()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn secrets_are_hidden_in_text_and_json() {
        let redactor = Redactor::new(["TOKEN-1".to_string(), "PASS".to_string(), String::new()]);
        assert_eq!(redactor.text("env TOKEN-1 PASS x"), "env [redacted] [redacted] x");
        let value = serde_json::json!({"a": ["PASS"], "b": 1});
        assert_eq!(redactor.value(&value), serde_json::json!({"a": ["[redacted]"], "b": 1}));
    }
}
