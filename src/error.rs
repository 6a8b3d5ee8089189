//! Typed errors of the harness and the exit codes they map to.
//!
//! Exit codes are part of the command line's public interface (`cli.md`):
//! see [`exit_code`].

use std::path::PathBuf;

/// The documented exit codes of `qc-harness`.
pub mod exit_code {
    /// Everything passed.
    pub const SUCCESS: i32 = 0;
    /// At least one check or snapshot failed (or a send did not end in 2xx).
    pub const FAILURE: i32 = 1;
    /// Usage or configuration error: bad flag, unreadable or invalid input file.
    pub const USAGE: i32 = 2;
    /// The relay could not be started or died (or the harness's own fake CleverTap died:
    /// [`Error::Harness`]; never reported as the relay's fault).
    pub const RELAY: i32 = 3;
}

/// Result alias used across the library.
pub type Result<T, E = Error> = std::result::Result<T, E>;

/// Every error the harness reports to a user.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// An input file (fixture, settings, webhook) is not valid; names the file and JSON path.
    #[error("{}: {path}: {message}", file.display())]
    InvalidInput {
        /// The file (or `<stdin>`, `<built-in NAME>`) that holds the bad input.
        file: PathBuf,
        /// JSON path of the offending value, `.` for the whole document.
        path: String,
        /// What is wrong with it.
        message: String,
    },
    /// A file could not be read or written.
    #[error("{}: {source}", path.display())]
    Io {
        /// The file concerned.
        path: PathBuf,
        /// The underlying error.
        #[source]
        source: std::io::Error,
    },
    /// A bad flag value or combination of flags.
    #[error("{0}")]
    Usage(String),
    /// The relay could not be started, or died; carries its output tail.
    #[error("relay: {message}{}", format_tail(tail))]
    Relay {
        /// What went wrong.
        message: String,
        /// The last lines of the relay's stdout and stderr.
        tail: String,
    },
    /// A network or server problem of the harness itself (bind failed, ...).
    #[error("{0}")]
    Network(String),
    /// The harness itself stopped working mid-run (its fake CleverTap died); exit code 3,
    /// and nothing it observed is blamed on the relay.
    #[error("harness error: {0}")]
    Harness(String),
    /// Checks, snapshots or a delivery failed; the report has already been printed.
    #[error("{0}")]
    Failed(String),
}

fn format_tail(tail: &str) -> String {
    if tail.trim().is_empty() {
        " (the relay printed nothing)".to_string()
    } else {
        format!("\n--- relay output (last lines) ---\n{}", tail.trim_end())
    }
}

impl Error {
    /// The process exit code for this error (see [`exit_code`]).
    pub fn exit_code(&self) -> i32 {
        match self {
            Error::Failed(_) => exit_code::FAILURE,
            Error::Relay { .. } | Error::Harness(_) => exit_code::RELAY,
            Error::InvalidInput { .. } | Error::Io { .. } | Error::Usage(_) | Error::Network(_) => {
                exit_code::USAGE
            }
        }
    }

    /// Builds an [`Error::InvalidInput`].
    pub fn invalid(file: impl Into<PathBuf>, path: impl Into<String>, message: impl Into<String>) -> Self {
        Error::InvalidInput { file: file.into(), path: path.into(), message: message.into() }
    }

    /// Builds an [`Error::Io`].
    pub fn io(path: impl Into<PathBuf>, source: std::io::Error) -> Self {
        Error::Io { path: path.into(), source }
    }
}
