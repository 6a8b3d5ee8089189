//! [`Output`]: quiet/verbose levels, colour on a terminal only (`NO_COLOR` respected), logging.

use std::io::IsTerminal;

/// `--color`: when to colour the output.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, clap::ValueEnum)]
pub enum ColorChoice {
    /// On a terminal, unless `NO_COLOR` is set.
    #[default]
    Auto,
    /// Always, even into a pipe or a file.
    Always,
    /// Never.
    Never,
}

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
    /// Colour stderr.
    pub color_stderr: bool,
}

impl Output {
    /// Reads the terminal and `NO_COLOR` (for `--color auto`).
    pub fn new(quiet: bool, verbose: u8, choice: ColorChoice) -> Self {
        let is_terminal = std::io::stdout().is_terminal();
        let no_color = std::env::var_os("NO_COLOR").is_some_and(|v| !v.is_empty());
        let (color, color_stderr) = match choice {
            ColorChoice::Auto => (is_terminal && !no_color, std::io::stderr().is_terminal() && !no_color),
            ColorChoice::Always => (true, true),
            ColorChoice::Never => (false, false),
        };
        console::set_colors_enabled(color);
        console::set_colors_enabled_stderr(color_stderr);
        Output { quiet, verbose, color, is_terminal, color_stderr }
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
            .with_ansi(self.color_stderr)
            .with_target(false)
            .try_init();
    }

    /// Prints a line to stdout unless quiet.
    pub fn line(&self, text: &str) {
        if !self.quiet {
            stdout_line(format_args!("{text}"));
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

/// Writes one line to stdout. A closed stdout (`qc-harness fixtures | head`) is not worth a
/// panic: the line is dropped, as `println!` would have panicked on it.
pub fn stdout_line(text: std::fmt::Arguments<'_>) {
    use std::io::Write;
    let mut stdout = std::io::stdout().lock();
    let _ = stdout.write_fmt(text).and_then(|()| stdout.write_all(b"\n"));
}

/// `println!` for the command line's output: see [`stdout_line`].
macro_rules! outln {
    () => { $crate::cli::output::stdout_line(format_args!("")) };
    ($($arg:tt)*) => { $crate::cli::output::stdout_line(format_args!($($arg)*)) };
}
pub(crate) use outln;
