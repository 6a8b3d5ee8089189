//! Cassettes: one upstream answer per file, recorded by `parity --record DIR`, replayed
//! against the fake by `cargo test` (and by [`replay_dir`]) so a difference found once stays
//! fixed. The format is plain JSON, documented in `docs/parity.md`:
//!
//! ```json
//! {"format": "qc-harness-cassette/1", "case": "514-gender", "rule": "514",
//!  "source": "qc-harness parity --record, https://eu1.api.clevertap.com, unix 1764500000",
//!  "account": {"property_limit": 100, "nested_objects": false, "discarded_event": null},
//!  "request": {"auth": "valid", "body": "{\"d\":[...]}"},
//!  "response": {"status": 200, "content_type": "application/json;charset=utf-8",
//!               "retry_after": null, "body": "{\"status\":\"fail\",...}"},
//!  "known_differences": [{"aspect": "status", "why": "..."}]}
//! ```
//!
//! `request.body` is `null` for a corpus case too big to store (over 1 MiB): replay then
//! rebuilds it from the built-in corpus by `case` name.

use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use super::client::Observed;
use super::corpus::{Auth, Case, CorpusOptions, corpus};
use crate::error::{Error, Result};

/// The `format` value of this version.
pub const FORMAT: &str = "qc-harness-cassette/1";
/// Request bodies larger than this are not stored (rebuilt from the corpus on replay).
pub const MAX_STORED_BODY: usize = 1024 * 1024;

/// The account settings the answer was recorded under (the fake is set up the same way).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AccountSettings {
    /// Properties per event.
    pub property_limit: usize,
    /// Nested Objects switched on.
    #[serde(default)]
    pub nested_objects: bool,
    /// The event name sent by the 528 case, if any.
    #[serde(default)]
    pub discarded_event: Option<String>,
}

/// The request of a cassette.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RecordedRequest {
    /// Which credentials were sent.
    pub auth: Auth,
    /// The raw body, or `null` when it was too big to store.
    pub body: Option<String>,
}

/// The upstream's answer.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RecordedResponse {
    /// HTTP status.
    pub status: u16,
    /// `Content-Type`.
    #[serde(default)]
    pub content_type: Option<String>,
    /// `Retry-After`.
    #[serde(default)]
    pub retry_after: Option<String>,
    /// The body, as text.
    pub body: String,
}

/// A difference the fake keeps on purpose, with the reason.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct KnownDifference {
    /// The [`Difference::aspect`](super::Difference::aspect) it excuses.
    pub aspect: String,
    /// Why the fake does not follow the recording.
    pub why: String,
}

/// One recorded exchange.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Cassette {
    /// Always [`FORMAT`].
    pub format: String,
    /// The corpus case name.
    pub case: String,
    /// The rule it exercises.
    pub rule: String,
    /// Where the answer came from.
    pub source: String,
    /// The account settings.
    pub account: AccountSettings,
    /// What was sent.
    pub request: RecordedRequest,
    /// What the upstream answered.
    pub response: RecordedResponse,
    /// Differences the fake keeps on purpose.
    #[serde(default)]
    pub known_differences: Vec<KnownDifference>,
}

impl Cassette {
    /// A cassette of `case` answered with `observed`.
    pub fn new(case: &Case, observed: &Observed, source: String, account: AccountSettings) -> Cassette {
        let body =
            (case.body.len() <= MAX_STORED_BODY).then(|| String::from_utf8_lossy(&case.body).into_owned());
        Cassette {
            format: FORMAT.into(),
            case: case.name.clone(),
            rule: case.rule.clone(),
            source,
            account,
            request: RecordedRequest { auth: case.auth, body },
            response: RecordedResponse {
                status: observed.status,
                content_type: observed.content_type.clone(),
                retry_after: observed.retry_after.clone(),
                body: observed.body.clone(),
            },
            known_differences: Vec::new(),
        }
    }

    /// The recorded answer.
    pub fn observed(&self) -> Observed {
        Observed {
            status: self.response.status,
            retry_after: self.response.retry_after.clone(),
            content_type: self.response.content_type.clone(),
            body: self.response.body.clone(),
        }
    }

    /// The case to send again: the stored body, or the corpus case of the same name.
    pub fn case(&self, file: &Path) -> Result<Case> {
        let body = match &self.request.body {
            Some(body) => body.clone().into_bytes(),
            None => {
                let options = CorpusOptions {
                    property_limit: self.account.property_limit,
                    discarded_event: self.account.discarded_event.clone(),
                    nested_objects: self.account.nested_objects,
                };
                let case = corpus(&options).into_iter().find(|case| case.name == self.case);
                case.map(|case| case.body)
                    .ok_or_else(|| invalid(file, ".request.body", "null, and no corpus case has this name"))?
            }
        };
        Ok(Case { name: self.case.clone(), rule: self.rule.clone(), auth: self.request.auth, body })
    }

    /// Reads and checks a cassette file.
    pub fn read(file: &Path) -> Result<Cassette> {
        let text = std::fs::read_to_string(file).map_err(|source| Error::Io { path: file.into(), source })?;
        let mut deserializer = serde_json::Deserializer::from_str(&text);
        let cassette: Cassette = serde_path_to_error::deserialize(&mut deserializer)
            .map_err(|e| invalid(file, &format!(".{}", e.path()), &e.inner().to_string()))?;
        if cassette.format != FORMAT {
            return Err(invalid(file, ".format", &format!("`{}` is not `{FORMAT}`", cassette.format)));
        }
        Ok(cassette)
    }

    /// Writes the cassette as `DIR/<case>.json` (pretty JSON) and returns the path.
    pub fn write(&self, dir: &Path) -> Result<PathBuf> {
        std::fs::create_dir_all(dir).map_err(|source| Error::Io { path: dir.into(), source })?;
        let path = dir.join(format!("{}.json", self.case));
        let text = serde_json::to_string_pretty(self).expect("cassettes serialise") + "\n";
        std::fs::write(&path, text).map_err(|source| Error::Io { path: path.clone(), source })?;
        Ok(path)
    }
}

fn invalid(file: &Path, path: &str, message: &str) -> Error {
    Error::InvalidInput { file: file.into(), path: path.into(), message: message.into() }
}

/// The `*.json` files of `dir`, sorted.
pub fn cassette_files(dir: &Path) -> Result<Vec<PathBuf>> {
    let entries = std::fs::read_dir(dir).map_err(|source| Error::Io { path: dir.into(), source })?;
    let mut files: Vec<PathBuf> = entries
        .filter_map(|entry| entry.ok().map(|entry| entry.path()))
        .filter(|path| path.extension().is_some_and(|ext| ext == "json"))
        .collect();
    files.sort();
    Ok(files)
}
