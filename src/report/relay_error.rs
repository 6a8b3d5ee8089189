//! A relay that did not start (or died): one message for stderr, with a hint for the common
//! causes, and the last line when no case ran.

use crate::conformance::RunOutcome;

/// A hint for a relay error's common causes, read from its message and output tail.
///
/// ```
/// let hint = qc_harness::report::relay_error::startup_hint(
///     "relay: the relay exited with code 1 before it was ready\n  | OSError: [Errno 98] Address already in use");
/// assert!(hint.unwrap().contains("$PORT"));
/// ```
pub fn startup_hint(error: &str) -> Option<String> {
    let lower = error.to_ascii_lowercase();
    let hint = if lower.contains("address already in use") || lower.contains("eaddrinuse") {
        "the relay's address was taken: does the relay listen on $PORT? The harness gives every relay \
         it starts its own free port in $PORT (or {port} in --relay-cmd); a hard-coded port clashes"
            .to_string()
    } else if lower.contains("exited with code 127")
        || lower.contains("command not found")
        || lower.contains(": not found")
    {
        "the command was not found: --relay-cmd runs through `sh -c` in the current directory; check the \
         program name and its path (e.g. `python3 ./relay.py`)"
            .to_string()
    } else if lower.contains("exited with code 0") && lower.contains("before it was ready") {
        "the relay exited with code 0 before it answered: a relay that daemonizes (forks into the \
         background and exits) must stay in the foreground, so that the harness can stop it"
            .to_string()
    } else if lower.contains("before it was ready") {
        "the relay exited at start: its output is above".to_string()
    } else if lower.contains("is not reachable") {
        "with --relay-url the harness does not start the relay: start it first, and check the URL and \
         port it listens on (or let the harness start it with --relay-cmd)"
            .to_string()
    } else if lower.contains("not ready within") {
        let addr = polled(error).unwrap_or_else(|| "its port".to_string());
        format!(
            "the relay never answered on {addr}: it must listen on 127.0.0.1:$PORT (use --ready-path if \
             it answers only once ready at a path; raise --startup-timeout if it starts slowly)"
        )
    } else {
        return None;
    };
    Some(hint)
}

/// The polled address in a "not ready" message: `127.0.0.1:PORT` or the probed URL.
fn polled(error: &str) -> Option<String> {
    for marker in ["connection on ", "GET "] {
        if let Some(rest) = error.split(marker).nth(1) {
            return rest.split_whitespace().next().map(|a| a.trim_end_matches([':', ')', ',']).to_string());
        }
    }
    None
}

/// Whether the run ended before any case or check ran.
pub fn nothing_ran(outcome: &RunOutcome) -> bool {
    outcome.cases.is_empty() && outcome.checks.is_empty()
}

/// The relay error with its hint, for stderr.
pub fn relay_error_text(error: &str) -> String {
    match startup_hint(error) {
        Some(hint) => format!("{error}\nhint: {hint}"),
        None => error.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_common_cause_has_its_hint() {
        let not_found = startup_hint(
            "relay: the relay exited with code 127 before it was ready\n  | sh: 1: relya: not found",
        );
        assert!(not_found.unwrap().contains("not found"));
        let daemon = startup_hint("relay: the relay exited with code 0 before it was ready");
        assert!(daemon.unwrap().contains("daemonizes"));
        let silent = startup_hint(
            "relay: the relay was not ready within the start-up timeout of 2.0 s: nothing accepted a TCP \
             connection on 127.0.0.1:4242 (last probe: connect 127.0.0.1:4242: refused)",
        );
        assert!(silent.unwrap().contains("never answered on 127.0.0.1:4242"));
        let url = startup_hint("relay: the relay at http://localhost:1 is not reachable after 1.0 s");
        assert!(url.unwrap().contains("start it first"));
        assert_eq!(startup_hint("relay: something else"), None);
    }
}
