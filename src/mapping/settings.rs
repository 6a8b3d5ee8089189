//! [`Settings`]: the integration settings file (`relay-contract.md` §3).

use std::collections::BTreeMap;
use std::path::Path;

use serde::{Deserialize, Serialize};

use crate::error::{Error, Result};
use crate::qonversion::catalogue::{EventKind, event_kind};

/// The CleverTap integration screen of the Qonversion dashboard.
///
/// ```
/// use qc_harness::Settings;
/// let s = Settings::from_json(br#"{"send_sandbox": true}"#, "s.json").unwrap();
/// assert!(s.send_revenue && s.send_proceeds && s.send_sandbox);
/// let err = Settings::from_json(br#"{"events": {"nope": {}}}"#, "s.json").unwrap_err();
/// assert!(err.to_string().starts_with("s.json: events.nope: "));
/// let err = Settings::from_json(b"[]", "s.json").unwrap_err();
/// assert!(err.to_string().contains("must be a JSON object"), "{err}");
/// ```
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Settings {
    /// Send revenue properties at all (default true).
    #[serde(default = "yes")]
    pub send_revenue: bool,
    /// Send revenue net of store commission (default true).
    #[serde(default = "yes")]
    pub send_proceeds: bool,
    /// Forward sandbox events (default false).
    #[serde(default)]
    pub send_sandbox: bool,
    /// Per-event switches; an absent event takes its catalogue defaults.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub events: BTreeMap<String, EventSettings>,
}

/// The per-event switches.
///
/// ```
/// use qc_harness::{EventSettings, Fixture, Settings, map_event};
/// let mut settings = Settings::default();
/// settings.events.insert("trial_started".into(), EventSettings { name: Some("Trial".into()), ..Default::default() });
/// let record = map_event(&Fixture::built_in("trial_started.ios").unwrap().event, &settings).unwrap();
/// assert_eq!(record.evt_name, "Trial");
/// ```
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct EventSettings {
    /// Forward this event (default true).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub enabled: Option<bool>,
    /// Send revenue with this event (default: the catalogue's "carries revenue").
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub send_revenue: Option<bool>,
    /// Custom CleverTap event name (default: the machine name; empty or blank = default).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
}

fn yes() -> bool {
    true
}

impl Default for Settings {
    fn default() -> Self {
        Settings { send_revenue: true, send_proceeds: true, send_sandbox: false, events: BTreeMap::new() }
    }
}

impl Settings {
    /// Parses and validates a settings document; errors name `origin` and the JSON path.
    pub fn from_json(bytes: &[u8], origin: impl AsRef<Path>) -> Result<Self> {
        // serde would take `[]` for a struct of defaults: only an object is a settings file.
        let value: serde_json::Value = crate::json_input::parse(bytes, origin.as_ref())?;
        if !value.is_object() {
            return Err(Error::invalid(
                origin.as_ref(),
                ".",
                format!(
                    "settings must be a JSON object ({{\"send_sandbox\": true, ...}}), got {}",
                    kind_of(&value)
                ),
            ));
        }
        let settings: Settings = crate::json_input::parse(bytes, origin.as_ref())?;
        settings.validate(origin.as_ref())?;
        Ok(settings)
    }

    /// Reads a settings file.
    pub fn from_file(path: impl AsRef<Path>) -> Result<Self> {
        let path = path.as_ref();
        let bytes = std::fs::read(path).map_err(|e| Error::io(path, e))?;
        Self::from_json(&bytes, path)
    }

    fn validate(&self, origin: &Path) -> Result<()> {
        match self.events.keys().find(|name| event_kind(name).is_none()) {
            Some(name) => Err(Error::invalid(
                origin,
                format!("events.{name}"),
                format!("unknown event name {name:?}; known: {}", known_names()),
            )),
            None => Ok(()),
        }
    }

    /// The settings as pretty JSON, as written to `RELAY_SETTINGS`.
    pub fn to_json_pretty(&self) -> String {
        serde_json::to_string_pretty(self).expect("settings always serialise")
    }

    /// Whether `kind` is enabled (default true).
    pub fn is_enabled(&self, kind: &EventKind) -> bool {
        self.event(kind.name).and_then(|e| e.enabled).unwrap_or(true)
    }

    /// Whether revenue goes with `kind` (default: the catalogue's "carries revenue").
    pub fn sends_revenue_for(&self, kind: &EventKind) -> bool {
        self.event(kind.name).and_then(|e| e.send_revenue).unwrap_or(kind.carries_revenue)
    }

    /// The CleverTap event name for `kind`: the custom name, or the machine name.
    pub fn event_name_for(&self, kind: &EventKind) -> String {
        match self.event(kind.name).and_then(|e| e.name.as_deref()) {
            Some(name) if !name.trim().is_empty() => name.to_string(),
            _ => kind.name.to_string(),
        }
    }

    /// The switches of one event, with defaults filled in as `None`s.
    pub fn event_mut(&mut self, name: &str) -> &mut EventSettings {
        self.events.entry(name.to_string()).or_default()
    }

    fn event(&self, name: &str) -> Option<&EventSettings> {
        self.events.get(name)
    }
}

/// `an array`, `a string`, ... for messages.
fn kind_of(value: &serde_json::Value) -> &'static str {
    match value {
        serde_json::Value::Null => "null",
        serde_json::Value::Bool(_) => "a boolean",
        serde_json::Value::Number(_) => "a number",
        serde_json::Value::String(_) => "a string",
        serde_json::Value::Array(_) => "an array",
        serde_json::Value::Object(_) => "an object",
    }
}

fn known_names() -> String {
    crate::qonversion::catalogue::EVENT_KINDS.iter().map(|k| k.name).collect::<Vec<_>>().join(", ")
}
