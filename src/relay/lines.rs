//! [`LinesRelay`]: the mapping-only JSON-lines adapter (`relay-contract.md` §5).
//!
//! A long-running process reads one `{"event": <webhook>, "settings": <settings>}` per line
//! on stdin and writes one `{"records": [<CleverTap records>]}` per line on stdout. Each
//! line has a deadline; errors carry the tail of the process's stderr. The process runs
//! in its own process group, which is killed when the adapter is dropped.

use std::collections::VecDeque;
use std::io::{BufRead, BufReader, Write};
use std::os::unix::process::CommandExt;
use std::process::{Child, ChildStdin, Command, Stdio};
use std::sync::mpsc::{Receiver, RecvTimeoutError, channel};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use serde_json::{Value, json};

use crate::error::{Error, Result};
use crate::mapping::Settings;

/// Default deadline for one answer line.
pub const DEFAULT_LINE_TIMEOUT: Duration = Duration::from_secs(5);

/// How many stderr lines an error shows.
const TAIL_LINES: usize = 40;

/// A JSON-lines relay process.
///
/// ```no_run
/// use qc_harness::{Settings, relay::LinesRelay};
/// let mut relay = LinesRelay::spawn("python3 relay.py").unwrap();
/// let event = serde_json::json!({"event_name": "trial_started", "custom_user_id": "u1"});
/// let records = relay.request(&event, &Settings::default()).unwrap();
/// ```
pub struct LinesRelay {
    command: String,
    timeout: Duration,
    process: Option<Process>,
    lines_sent: u64,
    last_tail: String,
}

struct Process {
    child: Child,
    stdin: Option<ChildStdin>,
    stdout: Receiver<std::io::Result<String>>,
    stderr: Arc<Mutex<VecDeque<String>>>,
}

impl LinesRelay {
    /// Starts `command` (through `sh -c`) and checks that it answers one probe line.
    /// A command that cannot start, dies, or does not answer is an [`Error::Relay`].
    pub fn spawn(command: &str) -> Result<Self> {
        Self::spawn_with_timeout(command, DEFAULT_LINE_TIMEOUT)
    }

    /// Like [`LinesRelay::spawn`], with a deadline per line.
    pub fn spawn_with_timeout(command: &str, timeout: Duration) -> Result<Self> {
        let mut relay = LinesRelay { command: command.to_string(), timeout, process: None, lines_sent: 0, last_tail: String::new() };
        relay.restart()?;
        Ok(relay)
    }

    /// The command line the relay runs.
    pub fn command(&self) -> &str {
        &self.command
    }

    /// (Re)starts the process and sends the probe line; the old process, if any, is killed.
    pub fn restart(&mut self) -> Result<()> {
        self.kill();
        self.process = Some(Process::start(&self.command)?);
        let probe = json!({"event_name": "trial_started", "custom_user_id": "probe-user",
            "environment": "production", "platform": "iOS", "time": 1700000000});
        self.request(&probe, &Settings::default()).map_err(|e| match e {
            Error::Relay { message, tail } => {
                Error::Relay { message: format!("`{}` did not start: {message}", self.command), tail }
            }
            other => other,
        })?;
        Ok(())
    }

    /// Whether the process is running.
    pub fn is_running(&mut self) -> bool {
        self.process.as_mut().is_some_and(|p| matches!(p.child.try_wait(), Ok(None)))
    }

    /// Sends one case and reads the answer line: the records the relay would upload.
    pub fn request(&mut self, event: &Value, settings: &Settings) -> Result<Vec<Value>> {
        let line = serde_json::to_string(&json!({"event": event, "settings": settings}))
            .map_err(|e| Error::Failed(format!("cannot encode a line: {e}")))?;
        self.lines_sent += 1;
        let n = self.lines_sent;
        let answer = self.exchange(&line, n);
        if answer.is_err() {
            self.kill();
        }
        parse_answer(&answer?, n).map_err(|message| self.error(message))
    }

    fn exchange(&mut self, line: &str, n: u64) -> Result<String> {
        let timeout = self.timeout;
        let Some(process) = self.process.as_mut() else {
            return Err(self.error("the relay is not running".to_string()));
        };
        if let Err(e) = process.write_line(line) {
            let status = process.exit_status();
            return Err(self.error(format!("cannot write line {n}: {e}{status}")));
        }
        let deadline = Instant::now() + timeout;
        match process.stdout.recv_timeout(deadline.saturating_duration_since(Instant::now())) {
            Ok(Ok(answer)) => Ok(answer),
            Ok(Err(e)) => Err(self.error(format!("cannot read the answer to line {n}: {e}"))),
            Err(RecvTimeoutError::Timeout) => {
                Err(self.error(format!("no answer to line {n} within {:.1} s", timeout.as_secs_f64())))
            }
            Err(RecvTimeoutError::Disconnected) => {
                let status = self.process.as_mut().map(Process::exit_status).unwrap_or_default();
                Err(self.error(format!("closed its stdout instead of answering line {n}{status}")))
            }
        }
    }

    /// The last lines the process wrote to stderr.
    pub fn stderr_tail(&self) -> String {
        self.process.as_ref().map_or_else(|| self.last_tail.clone(), Process::tail)
    }

    fn error(&self, message: String) -> Error {
        Error::Relay { message: format!("json-lines relay: {message}"), tail: self.stderr_tail() }
    }

    fn kill(&mut self) {
        if let Some(mut process) = self.process.take() {
            process.stop();
            // Keep the tail of the dead process for the next error message.
            self.last_tail = process.tail();
        }
    }
}

impl Drop for LinesRelay {
    fn drop(&mut self) {
        if let Some(mut process) = self.process.take() {
            process.stop();
        }
    }
}

fn parse_answer(line: &str, n: u64) -> std::result::Result<Vec<Value>, String> {
    let shown: String = line.chars().take(200).collect();
    let value: Value = serde_json::from_str(line)
        .map_err(|e| format!("answer to line {n} is not JSON ({e}): {shown}"))?;
    match value.get("records") {
        Some(Value::Array(records)) => Ok(records.clone()),
        _ => Err(format!("answer to line {n} is not {{\"records\": [...]}}: {shown}")),
    }
}

impl Process {
    fn start(command: &str) -> Result<Process> {
        let mut child = Command::new("sh")
            .arg("-c")
            .arg(command)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .process_group(0)
            .spawn()
            .map_err(|e| Error::Relay { message: format!("cannot run `sh -c {command}`: {e}"), tail: String::new() })?;
        let stdout = child.stdout.take().expect("stdout is piped");
        let stderr = child.stderr.take().expect("stderr is piped");
        let (tx, rx) = channel();
        std::thread::spawn(move || {
            for line in BufReader::new(stdout).lines() {
                let line = line.map(|l| l.trim_end().to_string());
                if matches!(&line, Ok(l) if l.is_empty()) {
                    continue;
                }
                if tx.send(line).is_err() {
                    break;
                }
            }
        });
        let tail = Arc::new(Mutex::new(VecDeque::new()));
        let sink = Arc::clone(&tail);
        std::thread::spawn(move || {
            for line in BufReader::new(stderr).lines().map_while(std::io::Result::ok) {
                let mut tail = sink.lock().unwrap_or_else(|e| e.into_inner());
                if tail.len() == TAIL_LINES {
                    tail.pop_front();
                }
                tail.push_back(line);
            }
        });
        Ok(Process { stdin: child.stdin.take(), child, stdout: rx, stderr: tail })
    }

    fn write_line(&mut self, line: &str) -> std::io::Result<()> {
        let stdin = self.stdin.as_mut().ok_or_else(|| std::io::Error::other("stdin is closed"))?;
        stdin.write_all(line.as_bytes())?;
        stdin.write_all(b"\n")?;
        stdin.flush()
    }

    fn exit_status(&mut self) -> String {
        // Give a dying process a moment so that its status and last stderr lines are in.
        for _ in 0..20 {
            if let Ok(Some(status)) = self.child.try_wait() {
                std::thread::sleep(Duration::from_millis(20));
                return format!(" (the relay exited: {status})");
            }
            std::thread::sleep(Duration::from_millis(10));
        }
        String::new()
    }

    fn tail(&self) -> String {
        let tail = self.stderr.lock().unwrap_or_else(|e| e.into_inner());
        tail.iter().cloned().collect::<Vec<_>>().join("\n")
    }

    /// Closes stdin (a well-behaved relay exits), then kills the process group.
    fn stop(&mut self) {
        drop(self.stdin.take());
        let deadline = Instant::now() + Duration::from_millis(200);
        while Instant::now() < deadline {
            if let Ok(Some(_)) = self.child.try_wait() {
                break;
            }
            std::thread::sleep(Duration::from_millis(5));
        }
        let group = nix::unistd::Pid::from_raw(self.child.id() as i32);
        let _ = nix::sys::signal::killpg(group, nix::sys::signal::Signal::SIGKILL);
        let _ = self.child.wait();
    }
}
