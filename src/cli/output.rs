//! [`Output`]: quiet/verbose levels, colour on a terminal only (`NO_COLOR` respected), logging.

use std::io::IsTerminal;

/// How much to print, and whether to colour it.
#[derive(Debug, Clone, Copy)]
pub struct Output {
    /// `--quiet`: only errors and the final line.
    pub quiet: bool,
    /// `-v` count.
    pub verbose: u8,
    /// Colour stdout (a terminal, and `NO_COLOR` unset).
    pub color: bool,
    /// stdout is a terminal (progress bars).
    pub is_terminal: bool,
}

impl Output {
    /// Reads the terminal and `NO_COLOR`.
    pub fn new(quiet: bool, verbose: u8) -> Self {
        let is_terminal = std::io::stdout().is_terminal();
        let no_color = std::env::var_os("NO_COLOR").is_some_and(|v| !v.is_empty());
        let color = is_terminal && !no_color;
        console::set_colors_enabled(color);
        console::set_colors_enabled_stderr(std::io::stderr().is_terminal() && !no_color);
        Output { quiet, verbose, color, is_terminal }
    }

    /// Logs to stderr through `RUST_LOG` (default `warn`, `-v` info, `-vv` debug), the secrets
    /// given to [`crate::redact::hide_in_logs`] hidden.
    pub fn init_logging(&self) {
        let default = match self.verbose {
            0 => "warn",
            1 => "info",
            _ => "debug",
        };
        let filter = tracing_subscriber::EnvFilter::try_from_default_env()
            .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new(default));
        let _ = tracing_subscriber::fmt()
            .with_env_filter(filter)
            .with_writer(crate::redact::LogWriter::default)
            .with_ansi(self.color_stderr())
            .with_target(false)
            .try_init();
    }

    /// Colour on stderr: a terminal and `NO_COLOR` unset.
    pub fn color_stderr(&self) -> bool {
        std::io::stderr().is_terminal() && std::env::var_os("NO_COLOR").is_none_or(|v| v.is_empty())
    }

    /// Prints a line to stdout unless quiet.
    pub fn line(&self, text: &str) {
        if !self.quiet {
            println!("{text}");
        }
    }

    /// Prints an error to stderr.
    pub fn error(&self, text: &str) {
        eprintln!("{} {text}", console::style("error:").red().bold().for_stderr());
    }

    /// Prints a warning to stderr.
    pub fn warn(&self, text: &str) {
        eprintln!("{} {text}", console::style("warning:").yellow().bold().for_stderr());
    }
}
