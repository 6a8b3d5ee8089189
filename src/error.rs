//! Typed errors of the harness and the exit codes they map to.
//!
//! Exit codes are part of the command line's public interface (`cli.md`):
//! see [`exit_code`].

use std::path::PathBuf;

/// The documented exit codes of `qc-harness`.
///
/// ```
/// assert_eq!(qc_harness::exit_code::USAGE, 2);
/// assert_eq!(qc_harness::Error::Usage("bad flag".into()).exit_code(), qc_harness::exit_code::USAGE);
/// ```
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
///
/// ```
/// fn settings_from(text: &str) -> qc_harness::Result<qc_harness::Settings> {
///     qc_harness::Settings::from_json(text.as_bytes(), "settings.json")
/// }
/// assert!(settings_from(r#"{"send_sandbox": true}"#).unwrap().send_sandbox);
/// assert!(settings_from("[]").is_err());
/// ```
pub type Result<T, E = Error> = std::result::Result<T, E>;

/// Every error the harness reports to a user.
///
/// ```
/// use qc_harness::{Error, Settings, exit_code};
/// let error = Settings::from_json(br#"{"send_sandbox": "yes"}"#, "settings.json").unwrap_err();
/// assert!(matches!(&error, Error::InvalidInput { path, .. } if path == "send_sandbox"));
/// assert!(error.to_string().starts_with("settings.json: send_sandbox: "), "{error}");
/// assert_eq!(error.exit_code(), exit_code::USAGE);
/// ```
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
    /// A file could not be read or written, or another I/O operation failed (a bind, a
    /// connect: see the `From<std::io::Error>` impl, which leaves `path` empty).
    #[error("{}{source}", path_prefix(path))]
    Io {
        /// The file concerned (empty when the error came through `?` without one).
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

fn path_prefix(path: &std::path::Path) -> String {
    if path.as_os_str().is_empty() { String::new() } else { format!("{}: ", path.display()) }
}

/// `?` on any I/O result inside a function that returns [`Result`]:
///
/// ```
/// async fn start_my_relay() -> qc_harness::Result<std::net::SocketAddr> {
///     let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
///     Ok(listener.local_addr()?)
/// }
/// # tokio::runtime::Runtime::new().unwrap().block_on(async {
/// assert!(start_my_relay().await.unwrap().port() > 0);
/// # });
/// ```
impl From<std::io::Error> for Error {
    fn from(source: std::io::Error) -> Self {
        Error::Io { path: PathBuf::new(), source }
    }
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

#[cfg(test)]
mod tests {
    use std::error::Error as _;

    use super::*;

    async fn bind_twice() -> Result<()> {
        let first = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
        let _second = tokio::net::TcpListener::bind(first.local_addr()?).await?;
        Ok(())
    }

    #[tokio::test]
    async fn question_mark_turns_an_io_error_into_an_io_error_without_a_path() {
        let error = bind_twice().await.unwrap_err();
        let Error::Io { path, source } = &error else { panic!("not an Io error: {error:?}") };
        assert!(path.as_os_str().is_empty());
        assert_eq!(source.kind(), std::io::ErrorKind::AddrInUse);
        assert_eq!(error.to_string(), source.to_string(), "no `: ` prefix without a path");
        assert!(error.source().is_some());
        assert_eq!(error.exit_code(), exit_code::USAGE);
    }

    #[test]
    fn an_io_error_with_a_path_names_it() {
        let error = Error::io("settings.json", std::io::Error::from(std::io::ErrorKind::NotFound));
        assert!(error.to_string().starts_with("settings.json: "), "{error}");
    }
}
