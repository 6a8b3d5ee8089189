//! `qc-harness completions <shell>`.

use std::io::Write;

use clap::{Args, CommandFactory};
use clap_complete::Shell;

use super::Cli;
use crate::error::{Error, Result, exit_code};

/// Print a shell completion script to standard output.
///
/// Examples:
///   qc-harness completions bash > ~/.local/share/bash-completion/completions/qc-harness
///   qc-harness completions zsh  > ~/.zfunc/_qc-harness      # with fpath+=~/.zfunc
///   qc-harness completions fish > ~/.config/fish/completions/qc-harness.fish
///   qc-harness completions powershell >> $PROFILE
#[derive(Debug, Args)]
#[command(verbatim_doc_comment)]
pub struct CompletionsArgs {
    /// The shell to generate the script for.
    #[arg(value_enum)]
    shell: Shell,
}

pub fn execute(args: CompletionsArgs) -> Result<i32> {
    let script = script(args.shell);
    let mut stdout = std::io::stdout().lock();
    match stdout.write_all(&script).and_then(|()| stdout.flush()) {
        // `qc-harness completions bash | head` is not an error.
        Err(e) if e.kind() != std::io::ErrorKind::BrokenPipe => Err(Error::io("<stdout>", e)),
        _ => Ok(exit_code::SUCCESS),
    }
}

/// The completion script for `shell`, covering every subcommand and flag of [`Cli`].
fn script(shell: Shell) -> Vec<u8> {
    let mut command = Cli::command();
    let mut script = Vec::new();
    clap_complete::generate(shell, &mut command, "qc-harness", &mut script);
    script
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_shell_gets_a_script_naming_every_subcommand() {
        for shell in [Shell::Bash, Shell::Zsh, Shell::Fish, Shell::Elvish, Shell::PowerShell] {
            let script = String::from_utf8(script(shell)).expect("scripts are UTF-8");
            for subcommand in ["run", "clevertap", "send", "map", "prop", "reference-relay", "fixtures"] {
                assert!(script.contains(subcommand), "{shell}: no {subcommand} in the script");
            }
            for flag in ["quiet", "settings"] {
                assert!(script.contains(flag), "{shell}: no {flag} in the script");
            }
        }
    }
}
