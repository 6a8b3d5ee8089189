//! [`LinesRelay`]: the mapping-only JSON-lines adapter (`relay-contract.md` §5).
//!
//! A long-running process reads one `{"event": <webhook>, "settings": <settings>}` per line
//! on stdin and writes one `{"records": [<CleverTap records>]}` per line on stdout. Each
//! line has a deadline; errors carry the tail of the process's stderr. The process runs
//! in its own process group, which is killed when the adapter is dropped, and which an
//! interrupt of the harness (Ctrl-C) stops like any other relay group.

use std::io::{Read, Write};
use std::os::fd::AsRawFd;
use std::os::unix::process::CommandExt;
use std::process::{Child, ChildStdin, ChildStdout, Command, Stdio};
use std::time::{Duration, Instant};

use serde::Serialize;
use serde_json::{Value, json};

use crate::error::{Error, Result};
use crate::mapping::Settings;
use crate::relay::group;
use crate::relay::tail::{OutputTail, TAIL_LINES};

/// Default deadline for one answer line.
pub const DEFAULT_LINE_TIMEOUT: Duration = Duration::from_secs(5);

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
    buffer: Vec<u8>,
}

struct Process {
    child: Child,
    stdin: Option<ChildStdin>,
    stdout: LineReader,
    stderr: OutputTail,
    /// The value of [`group::MARKER_ENV`] in the relay's environment.
    marker: String,
}

/// One input line.
#[derive(Serialize)]
struct Line<'a, E: Serialize> {
    event: &'a E,
    settings: &'a Settings,
}

impl LinesRelay {
    /// Starts `command` (through `sh -c`) and checks that it answers one probe line.
    /// A command that cannot start, dies, or does not answer is an [`Error::Relay`].
    pub fn spawn(command: &str) -> Result<Self> {
        Self::spawn_with_timeout(command, DEFAULT_LINE_TIMEOUT)
    }

    /// Like [`LinesRelay::spawn`], with a deadline per line.
    pub fn spawn_with_timeout(command: &str, timeout: Duration) -> Result<Self> {
        let mut relay = LinesRelay {
            command: command.to_string(),
            timeout,
            process: None,
            lines_sent: 0,
            last_tail: String::new(),
            buffer: Vec::new(),
        };
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
    pub fn request<E: Serialize>(&mut self, event: &E, settings: &Settings) -> Result<Vec<Value>> {
        self.buffer.clear();
        serde_json::to_writer(&mut self.buffer, &Line { event, settings })
            .map_err(|e| Error::Failed(format!("cannot encode a line: {e}")))?;
        self.buffer.push(b'\n');
        self.lines_sent += 1;
        let n = self.lines_sent;
        let answer = self.exchange(n);
        if answer.is_err() {
            self.kill();
        }
        parse_answer(&answer?, n).map_err(|message| self.error(message))
    }

    fn exchange(&mut self, n: u64) -> Result<String> {
        let deadline = Instant::now() + self.timeout;
        let Some(process) = self.process.as_mut() else {
            return Err(self.error("the relay is not running".to_string()));
        };
        if let Err(e) = process.write_line(&self.buffer) {
            let status = process.exit_status();
            return Err(self.error(format!("cannot write line {n}: {e}{status}")));
        }
        match process.stdout.read_line(deadline) {
            Ok(Some(answer)) => Ok(answer),
            Ok(None) => {
                let status = self.process.as_mut().map(Process::exit_status).unwrap_or_default();
                Err(self.error(format!("closed its stdout instead of answering line {n}{status}")))
            }
            Err(e) if e.kind() == std::io::ErrorKind::TimedOut => {
                Err(self.error(format!("no answer to line {n} within {:.1} s", self.timeout.as_secs_f64())))
            }
            Err(e) => Err(self.error(format!("cannot read the answer to line {n}: {e}"))),
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

#[derive(serde::Deserialize)]
struct Answer {
    records: Vec<Value>,
}

fn parse_answer(line: &str, n: u64) -> std::result::Result<Vec<Value>, String> {
    let shown = || line.chars().take(200).collect::<String>();
    match serde_json::from_str::<Answer>(line) {
        Ok(answer) => Ok(answer.records),
        Err(e) if e.is_syntax() || e.is_eof() => {
            Err(format!("answer to line {n} is not JSON ({e}): {}", shown()))
        }
        Err(_) => Err(format!("answer to line {n} is not {{\"records\": [...]}}: {}", shown())),
    }
}

/// Reads whole lines from the relay's stdout with a deadline, without a helper thread.
struct LineReader {
    stdout: ChildStdout,
    pending: Vec<u8>,
}

impl LineReader {
    /// The next non-empty line; `Ok(None)` at end of file; `TimedOut` after the deadline.
    fn read_line(&mut self, deadline: Instant) -> std::io::Result<Option<String>> {
        loop {
            if let Some(end) = self.pending.iter().position(|b| *b == b'\n') {
                let line: Vec<u8> = self.pending.drain(..=end).collect();
                let text = String::from_utf8_lossy(&line).trim().to_string();
                if text.is_empty() {
                    continue;
                }
                return Ok(Some(text));
            }
            self.wait_readable(deadline)?;
            let mut chunk = [0u8; 64 * 1024];
            match self.stdout.read(&mut chunk) {
                Ok(0) => return Ok(None),
                Ok(read) => self.pending.extend_from_slice(&chunk[..read]),
                Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
                Err(e) => return Err(e),
            }
        }
    }

    fn wait_readable(&self, deadline: Instant) -> std::io::Result<()> {
        loop {
            let left = deadline.saturating_duration_since(Instant::now());
            if left.is_zero() {
                return Err(std::io::ErrorKind::TimedOut.into());
            }
            let mut fd = libc::pollfd { fd: self.stdout.as_raw_fd(), events: libc::POLLIN, revents: 0 };
            let millis = left.as_millis().clamp(1, i32::MAX as u128) as i32;
            // SAFETY: `fd` is one valid pollfd that lives across the call.
            match unsafe { libc::poll(&mut fd, 1, millis) } {
                n if n > 0 => return Ok(()),
                0 => {}
                _ => {
                    let error = std::io::Error::last_os_error();
                    if error.kind() != std::io::ErrorKind::Interrupted {
                        return Err(error);
                    }
                }
            }
        }
    }
}

impl Process {
    fn start(command: &str) -> Result<Process> {
        let marker = group::new_marker();
        let mut child = Command::new("sh")
            .arg("-c")
            .arg(command)
            .env(group::MARKER_ENV, &marker)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .process_group(0)
            .spawn()
            .map_err(|e| Error::Relay {
                message: format!("cannot run `sh -c {command}`: {e}"),
                tail: String::new(),
            })?;
        let stdout = child.stdout.take().expect("stdout is piped");
        let stderr = OutputTail::new();
        if let Some(stream) = child.stderr.take() {
            stderr.capture(stream, "stderr");
        }
        group::register(child.id() as i32, &marker);
        let stdout = LineReader { stdout, pending: Vec::new() };
        Ok(Process { stdin: child.stdin.take(), child, stdout, stderr, marker })
    }

    fn write_line(&mut self, line: &[u8]) -> std::io::Result<()> {
        let stdin = self.stdin.as_mut().ok_or_else(|| std::io::Error::other("stdin is closed"))?;
        stdin.write_all(line)?;
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
        self.stderr.last(TAIL_LINES)
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
        let pgid = self.child.id() as i32;
        group::signal_relay(pgid, &self.marker, nix::sys::signal::Signal::SIGKILL);
        group::unregister(pgid);
        let _ = self.child.wait();
    }
}
