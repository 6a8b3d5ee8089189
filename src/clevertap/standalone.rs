//! `qc-harness clevertap`: the fake alone, for local development. Prints one line per
//! received record with its outcome, serves the journal at `/__harness/requests`, and stops
//! cleanly on Ctrl-C (or SIGTERM).

use std::future::Future;

use console::{Style, style};
use serde_json::Value;

use super::{
    CONTROL_PATH, FakeCleverTap, FakeCleverTapBuilder, Journal, JournalEntry, RecordOutcome, UPLOAD_PATH,
};
use crate::error::{Error, Result};

/// What a standalone run saw, for the closing line.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Summary {
    /// Requests served (printed, or with `--quiet` counted).
    pub requests: u64,
    /// Their records with outcome `Processed` (dry runs included).
    pub processed: u64,
}

/// Starts the fake (with the journal endpoint), calls `ready` with it, prints every record
/// through `print` until `shutdown` completes, then stops the server. Fails with
/// [`Error::Harness`] (exit code 3) when the fake dies (see [`FakeCleverTap::health`]).
pub async fn serve(
    builder: FakeCleverTapBuilder,
    color: bool,
    ready: impl FnOnce(&FakeCleverTap),
    print: impl FnMut(&str),
    shutdown: impl Future<Output = ()>,
) -> Result<Summary> {
    serve_with(builder, Lines { color, records: true }, ready, print, shutdown).await
}

/// How [`serve_with`] prints.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Lines {
    /// Colour the outcome labels.
    pub color: bool,
    /// Print one line per record; `false` (`--quiet`) only counts (the journal's totals), and
    /// never parses a body.
    pub records: bool,
}

/// [`serve`], with the record lines optional (`--quiet` turns them off, and with them the
/// parsing of every body they need).
pub async fn serve_with(
    builder: FakeCleverTapBuilder,
    lines: Lines,
    ready: impl FnOnce(&FakeCleverTap),
    mut print: impl FnMut(&str),
    shutdown: impl Future<Output = ()>,
) -> Result<Summary> {
    let fake = builder.control_endpoints(true).start().await?;
    ready(&fake);
    let journal = fake.journal();
    tokio::pin!(shutdown);
    if !lines.records {
        // Only counts: the journal keeps them, so nothing here wakes per request (a wake per
        // upload cost the standalone fake about a tenth of its CPU).
        tokio::select! {
            () = &mut shutdown => {}
            reason = fake.died() => return Err(Error::Harness(reason)),
        }
        let totals = journal.totals();
        drop(fake);
        return Ok(Summary { requests: totals.requests, processed: totals.processed });
    }
    let mut changes = journal.subscribe();
    let mut summary = Summary::default();
    let (mut last_seq, mut clears) = (0, journal.clears());
    loop {
        changes.borrow_and_update();
        if journal.clears() != clears {
            (clears, last_seq) = (journal.clears(), 0); // the journal was cleared: numbers restart
        }
        last_seq = print_new(&journal, last_seq, lines.color, &mut print, &mut summary);
        tokio::select! {
            changed = changes.changed() => if changed.is_err() { break },
            () = &mut shutdown => break,
            reason = fake.died() => return Err(Error::Harness(reason)),
        }
    }
    drop(fake);
    Ok(summary)
}

/// Prints and counts the requests after `last_seq`; returns the new `last_seq`.
fn print_new(
    journal: &Journal,
    mut last_seq: u64,
    color: bool,
    print: &mut impl FnMut(&str),
    summary: &mut Summary,
) -> u64 {
    for entry in &journal.requests_after(last_seq) {
        entry_lines(entry, color).iter().for_each(|line| print(line));
        summary.requests += 1;
        summary.processed += entry.outcomes.iter().filter(|o| **o == RecordOutcome::Processed).count() as u64;
        last_seq = entry.seq;
    }
    last_seq
}

/// The banner printed when the fake is up.
pub fn banner(fake: &FakeCleverTap) -> Vec<String> {
    vec![
        format!("fake CleverTap listening on {}", fake.uri()),
        format!("  upload:  POST {}{UPLOAD_PATH}", fake.uri()),
        format!("  journal: GET|DELETE {}{CONTROL_PATH}", fake.uri()),
        format!(
            "  account: {}  passcode: (as configured)  region: {}  -  Ctrl-C to stop",
            fake.account_id(),
            fake.region()
        ),
    ]
}

/// The lines for one journal entry: one per record, or one for the request when it had none.
pub fn entry_lines(entry: &JournalEntry, color: bool) -> Vec<String> {
    let mut notes = String::new();
    if entry.dry_run {
        notes.push_str("  [dry run]");
    }
    if let Some(fault) = &entry.fault {
        notes.push_str(&format!("  [fault: {fault}]"));
    }
    let status = if entry.status == 0 { "---".to_string() } else { entry.status.to_string() };
    if entry.records.is_empty() {
        let what = request_summary(entry);
        let label = paint(&format!("{:<12}", "rejected"), Style::new().red(), color);
        return vec![format!("#{:<6} {status}  {label} {what}{notes}", entry.seq)];
    }
    entry
        .records
        .iter()
        .zip(&entry.outcomes)
        .enumerate()
        .map(|(i, (record, outcome))| {
            let id = format!("#{}.{}", entry.seq, i + 1);
            let (label, detail) = outcome_text(outcome, color);
            format!("{id:<7} {status}  {label} {}{detail}{notes}", describe(record))
        })
        .collect()
}

fn paint(text: &str, style_: Style, color: bool) -> String {
    if color { style_.force_styling(true).apply_to(text).to_string() } else { text.to_string() }
}

fn outcome_text(outcome: &RecordOutcome, color: bool) -> (String, String) {
    match outcome {
        RecordOutcome::Processed => {
            (paint(&format!("{:<12}", "processed"), Style::new().green(), color), String::new())
        }
        RecordOutcome::Unprocessed { code, error } => (
            paint(&format!("{:<12}", format!("skipped {code}")), Style::new().red(), color),
            format!("  - {error}"),
        ),
        RecordOutcome::Rejected { status: 0 } => {
            (paint(&format!("{:<12}", "dropped"), Style::new().yellow(), color), String::new())
        }
        RecordOutcome::Rejected { .. } => {
            (paint(&format!("{:<12}", "rejected"), Style::new().yellow(), color), String::new())
        }
    }
}

/// `event trial_started  identity=u1` (what kind of record, and whose).
fn describe(record: &Value) -> String {
    let text = |key: &str| match record.get(key) {
        Some(Value::String(s)) => Some(s.clone()),
        Some(Value::Null) | None => None,
        Some(other) => Some(other.to_string()),
    };
    let kind = text("type").unwrap_or_else(|| "?".into());
    let name = if kind == "event" {
        text("evtName").map(|n| format!(" {n}")).unwrap_or_default()
    } else {
        String::new()
    };
    let who = ["identity", "objectId", "FBID", "GPID"]
        .iter()
        .find_map(|key| text(key).map(|v| format!("  {key}={v}")))
        .unwrap_or_default();
    format!("{kind}{name}{who}")
}

fn request_summary(entry: &JournalEntry) -> String {
    let error = serde_json::from_str::<Value>(&entry.response)
        .ok()
        .and_then(|v| v.get("error").and_then(Value::as_str).map(str::to_string));
    let what = format!("{} {}", entry.method, entry.path);
    match error {
        Some(error) => format!("{what}  - {error}"),
        None if entry.status == 0 => format!("{what}  - connection dropped"),
        None => what,
    }
}

/// A dimmed line (for the banner) when colour is on.
pub fn dim(text: &str, color: bool) -> String {
    if color { style(text).dim().force_styling(true).to_string() } else { text.to_string() }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// `--quiet` counts from the journal's totals: requests the journal no longer keeps (here
    /// past a capacity of 2) still count, and so do their processed records.
    #[tokio::test]
    async fn quiet_counts_every_request_even_those_the_journal_dropped() {
        let (address_tx, address) = tokio::sync::oneshot::channel();
        let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
        let ready = move |fake: &FakeCleverTap| {
            let _ = address_tx.send((fake.uri(), fake.account_id().to_owned(), fake.passcode().to_owned()));
        };
        let builder = FakeCleverTap::builder().journal_capacity(2);
        let lines = Lines { color: false, records: false };
        let serve = serve_with(builder, lines, ready, |_| {}, async {
            let _ = stopped.await;
        });
        let uploads = async {
            let (uri, account, passcode) = address.await.expect("the fake started");
            let record = |identity: &str| {
                serde_json::json!({"identity": identity, "ts": 1717000000, "type": "event",
                    "evtName": "trial_started", "evtData": {"platform": "iOS"}})
            };
            let client = reqwest::Client::new();
            for n in 0..5 {
                // Two records that pass, and one without an identity (skipped).
                let body =
                    serde_json::json!({"d": [record(&format!("u{n}")), record("v"), {"type": "event"}]});
                let answer = client
                    .post(format!("{uri}{UPLOAD_PATH}"))
                    .header("X-CleverTap-Account-Id", &account)
                    .header("X-CleverTap-Passcode", &passcode)
                    .json(&body)
                    .send()
                    .await
                    .expect("an answer");
                assert_eq!(answer.status(), 200);
            }
            let _ = stop.send(());
        };
        let (summary, ()) = tokio::join!(serve, uploads);
        assert_eq!(summary.expect("a clean stop"), Summary { requests: 5, processed: 10 });
    }
}
