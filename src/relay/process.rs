//! [`RelayProcess`]: a relay command running through `sh -c` in its own process group.

use std::os::unix::process::ExitStatusExt;
use std::process::{ExitStatus, Stdio};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use nix::sys::signal::Signal;
use tokio::sync::watch;

use super::group::{self, TERM_GRACE};
use super::tail::{OutputTail, TAIL_LINES};
use crate::error::{Error, Result};

/// A spawned relay: the leader's pid is the process group id.
#[derive(Debug)]
pub(crate) struct RelayProcess {
    pgid: i32,
    /// The value of [`group::MARKER_ENV`] in the relay's environment.
    marker: String,
    tail: OutputTail,
    exit: watch::Receiver<Option<String>>,
    readers: Vec<JoinHandle<()>>,
    stopped: bool,
}

impl RelayProcess {
    /// Runs `sh -c command` with `env` added to the harness's environment, in a new
    /// process group, stdin closed, stdout and stderr captured. Must run inside a tokio
    /// runtime: the leader is reaped by a task of that runtime.
    pub(crate) fn spawn(command: &str, env: &[(&str, String)]) -> Result<Self> {
        let marker = group::new_marker();
        let mut cmd = tokio::process::Command::new("sh");
        cmd.arg("-c").arg(command).stdin(Stdio::null()).stdout(Stdio::piped()).stderr(Stdio::piped());
        cmd.process_group(0).env(group::MARKER_ENV, &marker);
        for (name, value) in env {
            cmd.env(name, value);
        }
        let mut child = cmd.spawn().map_err(|e| Error::Relay {
            message: format!("cannot run `sh -c {command}`: {e}"),
            tail: String::new(),
        })?;
        let pgid = child.id().map(|id| id as i32).ok_or_else(|| Error::Relay {
            message: format!("`sh -c {command}` exited before it could be watched"),
            tail: String::new(),
        })?;
        group::register(pgid, &marker);
        let tail = OutputTail::new();
        let mut readers = Vec::new();
        if let Some(out) = child.stdout.take().and_then(|s| s.into_owned_fd().ok()) {
            readers.push(tail.capture(std::fs::File::from(out), "stdout"));
        }
        if let Some(err) = child.stderr.take().and_then(|s| s.into_owned_fd().ok()) {
            readers.push(tail.capture(std::fs::File::from(err), "stderr"));
        }
        let (tx, exit) = watch::channel(None);
        tokio::spawn(async move {
            let status = child.wait().await.map(describe).unwrap_or_else(|e| format!("wait failed: {e}"));
            let _ = tx.send(Some(status));
        });
        tracing::debug!("relay started: pid/pgid {pgid}: sh -c {command:?}");
        Ok(RelayProcess { pgid, marker, tail, exit, readers, stopped: false })
    }

    /// The process group id (= the leader's pid).
    pub(crate) fn pgid(&self) -> i32 {
        self.pgid
    }

    /// The value of [`group::MARKER_ENV`] this relay's processes carry.
    pub(crate) fn marker(&self) -> &str {
        &self.marker
    }

    /// The last lines of output.
    pub(crate) fn tail(&self) -> String {
        self.tail.last(TAIL_LINES)
    }

    /// How the leader ended, if it has.
    pub(crate) fn exit_status(&self) -> Option<String> {
        self.exit.borrow().clone()
    }

    /// Waits until the leader exits, at most `deadline`; its status if it did.
    pub(crate) async fn wait_exit(&self, deadline: Duration) -> Option<String> {
        let mut exit = self.exit.clone();
        let waited = tokio::time::timeout(deadline, exit.wait_for(Option::is_some)).await;
        waited.ok().and_then(|r| r.ok().and_then(|s| s.clone()))
    }

    /// Waits (briefly) until the output readers have seen EOF, so the tail is complete.
    pub(crate) async fn drain_output(&self) {
        let start = Instant::now();
        while start.elapsed() < Duration::from_millis(500) && !self.readers.iter().all(|r| r.is_finished()) {
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
    }

    /// SIGTERM to the group; SIGKILL to whatever is left after [`TERM_GRACE`].
    /// Returns once the leader is reaped and no process of the group is alive.
    pub(crate) async fn stop(&mut self) -> Result<()> {
        if self.stopped {
            return Ok(());
        }
        group::signal_relay(self.pgid, &self.marker, Signal::SIGTERM);
        let start = Instant::now();
        let graceful = self.wait_gone(TERM_GRACE).await;
        if !graceful {
            tracing::warn!("relay (pgid {}) still running {TERM_GRACE:?} after SIGTERM: SIGKILL", self.pgid);
            group::signal_relay(self.pgid, &self.marker, Signal::SIGKILL);
            self.wait_gone(Duration::from_secs(5)).await;
        }
        tracing::debug!("relay (pgid {}) stopped after {:?}", self.pgid, start.elapsed());
        self.stopped = true;
        group::unregister(self.pgid);
        Ok(())
    }

    /// Waits until the leader has exited and the group is empty, at most `deadline`.
    async fn wait_gone(&self, deadline: Duration) -> bool {
        let start = Instant::now();
        if self.wait_exit(deadline).await.is_none() {
            return false;
        }
        loop {
            if group::relay_gone(self.pgid, &self.marker) {
                return true;
            }
            if start.elapsed() >= deadline {
                return false;
            }
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
    }
}

impl Drop for RelayProcess {
    /// Kills the whole group, and every process that carries the relay's marker, at once;
    /// never waits (this may run on a runtime thread). The leader is reaped by its task;
    /// callers that need to know that the relay is gone call [`RelayProcess::stop`].
    fn drop(&mut self) {
        if self.stopped {
            return;
        }
        group::signal_relay(self.pgid, &self.marker, Signal::SIGKILL);
        group::unregister(self.pgid);
    }
}

/// "exited with code 1", "killed by signal 9 (SIGKILL)".
fn describe(status: ExitStatus) -> String {
    match (status.code(), status.signal()) {
        (Some(code), _) => format!("exited with code {code}"),
        (None, Some(sig)) => match Signal::try_from(sig) {
            Ok(name) => format!("killed by signal {sig} ({name})"),
            Err(_) => format!("killed by signal {sig}"),
        },
        _ => format!("ended: {status}"),
    }
}
