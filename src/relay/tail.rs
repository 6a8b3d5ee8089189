//! [`OutputTail`]: a bounded buffer of the last lines a relay printed.

use std::collections::VecDeque;
use std::io::{BufRead, BufReader, Read};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;

/// Lines kept in the buffer.
const KEEP_LINES: usize = 200;
/// Longest line kept; longer lines are cut (a relay that prints megabytes stays bounded).
const MAX_LINE: usize = 2000;
/// Lines shown in an error message.
pub(crate) const TAIL_LINES: usize = 40;

/// The last lines of a relay's stdout and stderr, interleaved as they arrived.
#[derive(Debug, Clone, Default)]
pub struct OutputTail {
    lines: Arc<Mutex<VecDeque<String>>>,
}

impl OutputTail {
    /// An empty buffer.
    pub fn new() -> Self {
        Self::default()
    }

    /// Adds one line (cut to a bounded length), dropping the oldest when full.
    pub fn push(&self, line: &str) {
        let mut line = line.trim_end_matches(['\n', '\r']).to_string();
        if line.len() > MAX_LINE {
            let mut cut = MAX_LINE;
            while !line.is_char_boundary(cut) {
                cut -= 1;
            }
            line.truncate(cut);
            line.push_str(" [...]");
        }
        let mut lines = self.lines.lock().unwrap_or_else(|e| e.into_inner());
        if lines.len() == KEEP_LINES {
            lines.pop_front();
        }
        lines.push_back(line);
    }

    /// The last `n` lines, joined with newlines.
    pub fn last(&self, n: usize) -> String {
        let lines = self.lines.lock().unwrap_or_else(|e| e.into_inner());
        let skip = lines.len().saturating_sub(n);
        lines.iter().skip(skip).cloned().collect::<Vec<_>>().join("\n")
    }

    /// Reads `stream` line by line into the buffer on a thread of its own, until EOF.
    /// `label` prefixes each line in the debug log (`stdout` / `stderr`).
    pub(crate) fn capture(&self, stream: impl Read + Send + 'static, label: &'static str) -> JoinHandle<()> {
        let tail = self.clone();
        std::thread::spawn(move || {
            let mut reader = BufReader::new(stream);
            let mut buf = Vec::new();
            loop {
                buf.clear();
                // `take` bounds one read, so a line without an end cannot grow the buffer forever.
                match reader.by_ref().take(2 * MAX_LINE as u64).read_until(b'\n', &mut buf) {
                    Ok(0) | Err(_) => break,
                    Ok(_) => {
                        let line = String::from_utf8_lossy(&buf);
                        tracing::debug!("relay {label}: {}", line.trim_end());
                        tail.push(&line);
                    }
                }
            }
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keeps_only_the_last_lines_and_cuts_long_ones() {
        let tail = OutputTail::new();
        for i in 0..(KEEP_LINES + 10) {
            tail.push(&format!("line {i}\n"));
        }
        assert_eq!(tail.last(2), format!("line {}\nline {}", KEEP_LINES + 8, KEEP_LINES + 9));
        assert_eq!(tail.last(usize::MAX).lines().count(), KEEP_LINES);
        tail.push(&"é".repeat(MAX_LINE));
        assert!(tail.last(1).len() <= MAX_LINE + 6);
        assert!(tail.last(1).ends_with("[...]"));
    }
}
