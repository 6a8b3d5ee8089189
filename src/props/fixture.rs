//! A shrunk failure as a ready-to-save fixture file (and the settings it needs).

use std::path::{Path, PathBuf};

use super::runner::Counterexample;
use crate::error::{Error, Result};
use crate::qonversion::event::WebhookEvent;

/// The fixture name of a failing event: `<event_name>.<ios|android>.prop-<seed>`,
/// as in `fixtures/events/<event_name>.<platform>[.<qualifier>].json`.
///
/// ```
/// let event: qc_harness::WebhookEvent = serde_json::from_value(serde_json::json!(
///     {"event_name": "in_app_refunded", "platform": "Android"})).unwrap();
/// assert_eq!(qc_harness::props::fixture::fixture_name(&event, 42), "in_app_refunded.android.prop-42");
/// ```
pub fn fixture_name(event: &WebhookEvent, seed: u64) -> String {
    let safe: String = event
        .event_name
        .chars()
        .map(|c| if c.is_ascii_alphanumeric() || c == '_' { c.to_ascii_lowercase() } else { '_' })
        .collect();
    let name = if safe.trim_matches('_').is_empty() { "unnamed_event".to_string() } else { safe };
    let platform = match event.platform.get().map(String::as_str) {
        Some("Android") => "android",
        _ => "ios",
    };
    format!("{name}.{platform}.prop-{seed}")
}

/// The fixture file's text: the webhook body, pretty-printed with a trailing newline.
pub fn fixture_json(event: &WebhookEvent) -> String {
    let mut text = serde_json::to_string_pretty(&event.to_value()).expect("events always serialise");
    text.push('\n');
    text
}

/// Files written by [`save_failure`].
#[derive(Debug, Clone, PartialEq)]
pub struct SavedFailure {
    /// The event fixture (`DIR/<name>.json`, or `DIR/events/<name>.json` in a fixtures layout).
    pub event: PathBuf,
    /// The settings it fails under (`DIR/settings/<name>.json`).
    pub settings: PathBuf,
}

/// Writes the failing event as a fixture file into `dir`, and its settings beside it.
pub fn save_failure(dir: &Path, counterexample: &Counterexample, seed: u64) -> Result<SavedFailure> {
    let name = fixture_name(&counterexample.event, seed);
    let events_dir = if dir.join("events").is_dir() { dir.join("events") } else { dir.to_path_buf() };
    let settings_dir = dir.join("settings");
    for d in [&events_dir, &settings_dir] {
        std::fs::create_dir_all(d).map_err(|e| Error::io(d, e))?;
    }
    let event = events_dir.join(format!("{name}.json"));
    std::fs::write(&event, fixture_json(&counterexample.event)).map_err(|e| Error::io(&event, e))?;
    let settings = settings_dir.join(format!("{name}.json"));
    let text = format!("{}\n", counterexample.settings.to_json_pretty());
    std::fs::write(&settings, text).map_err(|e| Error::io(&settings, e))?;
    Ok(SavedFailure { event, settings })
}
