//! The page's redaction is the crate's one [`crate::redact`] module.

pub use crate::redact::{REDACTED as HIDDEN, Redactor};
