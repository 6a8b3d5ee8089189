//! [`ShutdownSignals`]: opt-in ownership of SIGINT, SIGTERM and SIGHUP for a whole process.
//!
//! The library never installs a signal handler by itself and never exits the process. A
//! program that wants Ctrl-C to stop a run (the CLI does) installs this once: the first
//! signal cancels a [`CancellationToken`] that the run watches; what happens after that (a
//! second signal, or [`ShutdownSignals::grace`] without the run finishing) is the caller's
//! `escalate` callback, called after every registered relay was stopped.

use std::sync::Arc;
use std::sync::atomic::{AtomicI32, Ordering};
use std::time::Duration;

use tokio_util::sync::CancellationToken;

use crate::error::{Error, Result};

/// When the `escalate` callback runs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Escalate {
    /// At the first signal: for work that does not watch the token.
    OnFirstSignal,
    /// At a second signal, or when the work has not finished `grace` after the first.
    OnSecondSignal {
        /// How long the work may take to wind down after the first signal.
        grace: Duration,
    },
}

/// The process's signal owner: a cancellation token plus the signal that cancelled it.
///
/// ```no_run
/// use qc_harness::relay::{Escalate, ShutdownSignals};
/// let grace = std::time::Duration::from_secs(10);
/// let signals = ShutdownSignals::install(Escalate::OnSecondSignal { grace }, |code| std::process::exit(code))
///     .unwrap();
/// let token = signals.token(); // hand it to RunConfig::cancel
/// // ... run ...
/// if let Some(code) = signals.exit_code() { std::process::exit(code) }
/// ```
#[derive(Debug, Clone)]
pub struct ShutdownSignals {
    token: CancellationToken,
    received: Arc<AtomicI32>,
}

impl ShutdownSignals {
    /// Listens to SIGINT, SIGTERM and SIGHUP on a thread of its own (so it works whatever
    /// runtime the caller uses). `escalate` gets the exit code (128 + signal number) after
    /// [`kill_all_relays`](super::kill_all_relays) ran.
    pub fn install(mode: Escalate, escalate: impl Fn(i32) + Send + 'static) -> Result<Self> {
        let signals =
            ShutdownSignals { token: CancellationToken::new(), received: Arc::new(AtomicI32::new(0)) };
        let owner = signals.clone();
        let (ready_tx, ready_rx) = std::sync::mpsc::channel();
        std::thread::Builder::new()
            .name("qc-harness-signals".into())
            .spawn(move || {
                let Ok(rt) = tokio::runtime::Builder::new_current_thread().enable_all().build() else {
                    let _ = ready_tx.send(false);
                    return;
                };
                rt.block_on(owner.listen(mode, escalate, ready_tx));
            })
            .map_err(|e| Error::Network(format!("cannot start the signal thread: {e}")))?;
        match ready_rx.recv_timeout(Duration::from_secs(5)) {
            Ok(true) => Ok(signals),
            _ => Err(Error::Network("cannot listen to SIGINT, SIGTERM and SIGHUP".into())),
        }
    }

    /// The token the first signal cancels.
    pub fn token(&self) -> CancellationToken {
        self.token.clone()
    }

    /// `Some(130)` after SIGINT, `Some(143)` after SIGTERM, `Some(129)` after SIGHUP.
    pub fn exit_code(&self) -> Option<i32> {
        match self.received.load(Ordering::SeqCst) {
            0 => None,
            code => Some(code),
        }
    }

    async fn listen(self, mode: Escalate, escalate: impl Fn(i32), ready: std::sync::mpsc::Sender<bool>) {
        use tokio::signal::unix::{SignalKind, signal};
        let registered =
            (signal(SignalKind::interrupt()), signal(SignalKind::terminate()), signal(SignalKind::hangup()));
        let (Ok(mut int), Ok(mut term), Ok(mut hup)) = registered else {
            let _ = ready.send(false);
            return;
        };
        let _ = ready.send(true);
        let code = tokio::select! {
            _ = int.recv() => 130,
            _ = term.recv() => 143,
            _ = hup.recv() => 129,
        };
        self.received.store(code, Ordering::SeqCst);
        self.token.cancel();
        if let Escalate::OnSecondSignal { grace } = mode {
            eprintln!("qc-harness: interrupted, finishing the report (interrupt again to stop at once)");
            tokio::select! {
                _ = int.recv() => {}
                _ = term.recv() => {}
                _ = hup.recv() => {}
                _ = tokio::time::sleep(grace) => {}
            }
        } else {
            eprintln!("qc-harness: interrupted, stopping the relay processes");
        }
        // This thread runs nothing else: blocking here delays no other work.
        super::kill_all_relays();
        escalate(code);
    }
}
