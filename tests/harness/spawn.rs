//! Starting the `qc-harness` binary as a user would, with its output piped for the test.

use std::process::Stdio;

use tokio::io::{AsyncBufReadExt, BufReader, Lines};
use tokio::process::{Child, ChildStdout, Command};

/// `qc-harness ARGS...` without colours, stdout and stderr piped, killed when dropped.
pub(crate) fn qc_harness(args: &[&str]) -> Command {
    let mut command = Command::new(env!("CARGO_BIN_EXE_qc-harness"));
    command.args(args).env("NO_COLOR", "1").stdout(Stdio::piped()).stderr(Stdio::piped());
    command.kill_on_drop(true);
    command
}

/// The started child and its stdout, line by line.
pub(crate) fn spawn_with_lines(command: &mut Command) -> (Child, Lines<BufReader<ChildStdout>>) {
    let mut child = command.spawn().expect("qc-harness starts");
    let lines = BufReader::new(child.stdout.take().expect("stdout is piped")).lines();
    (child, lines)
}
