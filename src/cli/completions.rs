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

/// The name completions are generated for.
const BIN_NAME: &str = "qc-harness";

/// The completion script for `shell`, covering every subcommand and flag of [`Cli`].
fn script(shell: Shell) -> Vec<u8> {
    let mut command = Cli::command();
    let mut script = Vec::new();
    clap_complete::generate(shell, &mut command, BIN_NAME, &mut script);
    if shell == Shell::Bash {
        script = fix_bash_state_names(&String::from_utf8_lossy(&script)).into_bytes();
    }
    script
}

/// Works around clap_complete's bash bug for hyphenated binary names (clap-rs/clap#6421):
/// the dispatch loop spells the state `qc__harness__subcmd__run`, but the case arms spell it
/// `qc__subcmd__harness__subcmd__run`, so nothing after a subcommand ever completed.
fn fix_bash_state_names(script: &str) -> String {
    let wrong = BIN_NAME.replace('-', "__subcmd__");
    let right = BIN_NAME.replace('-', "__");
    script.replace(&format!("{wrong}__subcmd__"), &format!("{right}__subcmd__"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_bash_state_the_dispatch_loop_sets_has_a_case_arm() {
        let script = String::from_utf8(script(Shell::Bash)).expect("UTF-8");
        let states: Vec<&str> = script
            .lines()
            .filter_map(|line| line.trim().strip_prefix("cmd=\"")?.strip_suffix('"'))
            .filter(|state| !state.is_empty())
            .collect();
        assert!(states.contains(&"qc__harness__subcmd__run"), "{states:?}");
        for state in states {
            assert!(script.contains(&format!("\n        {state})\n")), "no case arm for {state}");
        }
    }

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
