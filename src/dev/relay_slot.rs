//! [`RelaySlot`]: the relay `dev` drives, (re)started on demand with a settings variant,
//! and what the page shows about it (state, webhook URL, recent output).

use std::sync::Mutex;

use serde::Serialize;

use super::redact::Redactor;
use crate::error::{Error, Result};
use crate::mapping::Settings;
use crate::relay::{RelayLaunch, RelaySpec, RelayTarget, RunningRelay, start_relay};

/// What the page shows about the relay.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct RelayInfo {
    /// `command`, `built-in` (the reference relay) or `url`.
    pub mode: &'static str,
    /// The command or URL (secrets hidden).
    pub target: String,
    /// `starting`, `running`, `exited`, `failed` or `attached`.
    pub state: &'static str,
    /// Where webhooks go.
    pub webhook_url: Option<String>,
    /// How a spawned relay exited, or why it could not start.
    pub problem: Option<String>,
    /// The relay's process group (spawned relays).
    pub process_group: Option<i32>,
    /// How many times it was started.
    pub starts: u32,
    /// Its last lines of stdout and stderr (secrets hidden).
    pub output: String,
    /// Settings variants can be switched (false for `--relay-url`: its settings are its own).
    pub can_switch: bool,
}

/// The relay and its latest [`RelayInfo`].
#[derive(Debug)]
pub struct RelaySlot {
    spec: RelaySpec,
    launch: RelayLaunch,
    redactor: Redactor,
    running: tokio::sync::Mutex<Option<RunningRelay>>,
    info: Mutex<RelayInfo>,
}

impl RelaySlot {
    /// A slot for `spec`; nothing runs until [`start`](Self::start).
    pub fn new(spec: RelaySpec, launch: RelayLaunch, redactor: Redactor) -> RelaySlot {
        let (mode, target) = match &spec.target {
            RelayTarget::Command(command) => ("command", command.clone()),
            RelayTarget::BuiltIn { .. } => ("built-in", "qc-harness reference-relay".to_string()),
            RelayTarget::Url(url) | RelayTarget::Lines(url) => ("url", url.clone()),
            RelayTarget::InProcess(relay) => ("in-process", relay.name().to_string()),
        };
        let info = RelayInfo {
            mode,
            target: redactor.text(&target),
            state: "starting",
            can_switch: mode != "url",
            ..RelayInfo::default()
        };
        RelaySlot { spec, launch, redactor, running: tokio::sync::Mutex::new(None), info: Mutex::new(info) }
    }

    /// Stops the relay if one runs, then starts it with `settings` and waits until ready.
    pub async fn start(&self, settings: &Settings) -> Result<()> {
        let mut running = self.running.lock().await;
        if let Some(old) = running.take() {
            old.stop().await?;
        }
        self.update(|info| {
            (info.state, info.problem, info.webhook_url, info.process_group) = ("starting", None, None, None);
        });
        let launch = RelayLaunch { settings: settings.clone(), ..self.launch.clone() };
        match start_relay(&self.spec, launch).await {
            Ok(relay) => {
                let attached = relay.process_group().is_none();
                self.update(|info| {
                    info.state = if attached { "attached" } else { "running" };
                    info.webhook_url = Some(relay.webhook_url());
                    info.process_group = relay.process_group();
                    info.output = self.redactor.text(&relay.output_tail());
                    info.starts += 1;
                });
                *running = Some(relay);
                Ok(())
            }
            Err(error) => {
                let (problem, tail) = match &error {
                    Error::Relay { message, tail } => (message.clone(), tail.clone()),
                    other => (other.to_string(), String::new()),
                };
                self.update(|info| {
                    (info.state, info.problem) = ("failed", Some(self.redactor.text(&problem)));
                    info.output = self.redactor.text(&tail);
                });
                Err(error)
            }
        }
    }

    /// Stops the relay (its whole process group), if one runs.
    pub async fn stop(&self) -> Result<()> {
        let relay = self.running.lock().await.take();
        self.update(|info| (info.state, info.webhook_url) = ("exited", None));
        match relay {
            Some(relay) => relay.stop().await,
            None => Ok(()),
        }
    }

    /// The webhook URL while the relay runs (or is attached).
    pub fn webhook_url(&self) -> Option<String> {
        self.info().webhook_url
    }

    /// The latest info.
    pub fn info(&self) -> RelayInfo {
        self.info.lock().unwrap_or_else(|e| e.into_inner()).clone()
    }

    /// Reads the relay's output and exit status again; true when the info changed.
    /// Skips the look while a (re)start holds the relay.
    pub fn refresh(&self) -> bool {
        let Ok(running) = self.running.try_lock() else { return false };
        let Some(relay) = running.as_ref() else { return false };
        let (output, exit) = (self.redactor.text(&relay.output_tail()), relay.exit_status());
        drop(running);
        let before = self.info();
        self.update(|info| {
            info.output = output;
            if let Some(status) = exit {
                (info.state, info.problem) = ("exited", Some(format!("the relay {status}")));
                info.webhook_url = None;
            }
        });
        self.info() != before
    }

    fn update(&self, change: impl FnOnce(&mut RelayInfo)) {
        change(&mut self.info.lock().unwrap_or_else(|e| e.into_inner()));
    }
}
