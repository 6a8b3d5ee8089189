//! [`Variant`]: a named settings file the relay runs under (built in, or the user's own).

use std::path::{Path, PathBuf};

use crate::error::{Error, Result};
use crate::mapping::Settings;
use crate::qonversion::catalogue::EVENT_KINDS;

/// A built-in variant: a name and how it changes the default settings.
///
/// Adding one is one entry in [`BUILT_IN`]; there is no name dispatch to keep in step.
#[derive(Debug, Clone, Copy)]
pub struct BuiltInVariant {
    /// Name shown in reports and snapshot file names.
    pub name: &'static str,
    /// Changes [`Settings::default`] into this variant's settings.
    pub apply: fn(&mut Settings),
}

/// The built-in variants, in run order.
///
/// Each separates a pair of settings rules of `mapping.md`: `revenue-off-event-on` (global
/// `send_revenue: false`, every event `send_revenue: true`: both must hold, so no revenue) and
/// `empty-name` (every custom name `""`: falls back to the machine name) catch relays that
/// let the per-event switch win or send an empty `evtName`.
pub static BUILT_IN: [BuiltInVariant; 9] = [
    BuiltInVariant { name: "default", apply: |_| {} },
    BuiltInVariant { name: "gross", apply: |s| s.send_proceeds = false },
    BuiltInVariant { name: "no-revenue", apply: |s| s.send_revenue = false },
    BuiltInVariant { name: "sandbox-on", apply: |s| s.send_sandbox = true },
    BuiltInVariant { name: "event-disabled", apply: |s| each_event(s, |e, _| e.enabled = Some(false)) },
    BuiltInVariant {
        name: "event-no-revenue",
        apply: |s| each_event(s, |e, _| e.send_revenue = Some(false)),
    },
    BuiltInVariant {
        name: "renamed",
        apply: |s| each_event(s, |e, display| e.name = Some(format!("QC {display}"))),
    },
    BuiltInVariant {
        name: "revenue-off-event-on",
        apply: |s| {
            s.send_revenue = false;
            each_event(s, |e, _| e.send_revenue = Some(true));
        },
    },
    BuiltInVariant { name: "empty-name", apply: |s| each_event(s, |e, _| e.name = Some(String::new())) },
];

/// The names of the built-in variants, in run order (from [`BUILT_IN`]).
pub const BUILT_IN_VARIANTS: [&str; 9] = {
    let mut names = [""; 9];
    let mut i = 0;
    while i < names.len() {
        names[i] = BUILT_IN[i].name;
        i += 1;
    }
    names
};

/// One settings variant: every fixture is sent to a relay started with these settings.
#[derive(Debug, Clone, PartialEq)]
pub struct Variant {
    /// Name shown in reports and used in snapshot file names (`<fixture>@<name>.snap`).
    pub name: String,
    /// The settings written to `RELAY_SETTINGS`.
    pub settings: Settings,
    /// Where the settings came from: `built-in` or a file path.
    pub origin: String,
}

impl Variant {
    /// A built-in variant by name, or `None` for an unknown name.
    ///
    /// ```
    /// use qc_harness::Variant;
    /// let gross = Variant::built_in("gross").unwrap();
    /// assert!(!gross.settings.send_proceeds);
    /// assert!(Variant::built_in("nope").is_none());
    /// ```
    pub fn built_in(name: &str) -> Option<Variant> {
        let built_in = BUILT_IN.iter().find(|v| v.name == name)?;
        let mut settings = Settings::default();
        (built_in.apply)(&mut settings);
        Some(Variant { name: name.to_string(), settings, origin: "built-in".to_string() })
    }

    /// A user variant from a settings file: `FILE` (named after the file stem) or `NAME=FILE`.
    pub fn from_arg(arg: &str) -> Result<Variant> {
        let (name, path) = match arg.split_once('=') {
            Some((name, path)) if !name.is_empty() && !name.contains('/') => {
                (name.to_string(), PathBuf::from(path))
            }
            _ => (stem(Path::new(arg)), PathBuf::from(arg)),
        };
        Self::from_file(&name, &path)
    }

    /// A user variant named `name` from the settings file at `path`.
    pub fn from_file(name: &str, path: &Path) -> Result<Variant> {
        validate_name(name)?;
        let settings = Settings::from_file(path)?;
        Ok(Variant { name: name.to_string(), settings, origin: path.display().to_string() })
    }
}

/// Resolves `--variants` (a comma list of built-in names; `all` or none = every built-in one).
pub fn select_built_in(list: Option<&str>) -> Result<Vec<Variant>> {
    let names: Vec<&str> = match list.map(str::trim) {
        None | Some("") | Some("all") => BUILT_IN_VARIANTS.to_vec(),
        Some("none") => Vec::new(),
        Some(list) => list.split(',').map(str::trim).filter(|s| !s.is_empty()).collect(),
    };
    let mut variants: Vec<Variant> = Vec::new();
    for name in names {
        let variant = Variant::built_in(name).ok_or_else(|| {
            Error::Usage(format!(
                "--variants: unknown variant {name:?}; built-in variants: {}",
                BUILT_IN_VARIANTS.join(", ")
            ))
        })?;
        if !variants.iter().any(|v| v.name == variant.name) {
            variants.push(variant);
        }
    }
    Ok(variants)
}

/// Appends user variants, refusing a name that is already taken.
pub fn add_user_variants(variants: &mut Vec<Variant>, extra: Vec<Variant>) -> Result<()> {
    for variant in extra {
        if variants.iter().any(|v| v.name == variant.name) {
            return Err(Error::Usage(format!(
                "variant name {:?} (from {}) is used twice; name it with NAME=FILE",
                variant.name, variant.origin
            )));
        }
        variants.push(variant);
    }
    Ok(())
}

fn each_event(settings: &mut Settings, f: impl Fn(&mut crate::mapping::EventSettings, &str)) {
    for kind in EVENT_KINDS.iter().filter(|k| k.forwardable) {
        f(settings.event_mut(kind.name), kind.display_name);
    }
}

fn stem(path: &Path) -> String {
    let file = path.file_name().map(|f| f.to_string_lossy().to_string()).unwrap_or_default();
    file.strip_suffix(".json").unwrap_or(&file).to_string()
}

fn validate_name(name: &str) -> Result<()> {
    let ok = !name.is_empty()
        && name.chars().all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.'))
        && !name.starts_with('.');
    if ok {
        Ok(())
    } else {
        Err(Error::Usage(format!(
            "variant name {name:?} must be letters, digits, '-', '_' or '.' (it is part of snapshot file names)"
        )))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::qonversion::catalogue::event_kind;

    #[test]
    fn every_built_in_variant_exists_and_differs_from_default() {
        let default = Variant::built_in("default").unwrap();
        for name in &BUILT_IN_VARIANTS[1..] {
            assert_ne!(Variant::built_in(name).unwrap().settings, default.settings, "{name}");
        }
    }

    #[test]
    fn event_disabled_disables_every_forwardable_event() {
        let v = Variant::built_in("event-disabled").unwrap();
        assert!(EVENT_KINDS.iter().filter(|k| k.forwardable).all(|k| !v.settings.is_enabled(k)));
    }

    #[test]
    fn renamed_gives_every_event_a_custom_name() {
        let v = Variant::built_in("renamed").unwrap();
        let kind = event_kind("subscription_renewed").unwrap();
        assert_eq!(v.settings.event_name_for(kind), "QC Subscription Renewed");
    }

    #[test]
    fn revenue_off_event_on_sends_no_revenue_although_every_event_asks_for_it() {
        let v = Variant::built_in("revenue-off-event-on").unwrap();
        assert!(!v.settings.send_revenue);
        let forwardable = EVENT_KINDS.iter().filter(|k| k.forwardable);
        assert!(
            forwardable
                .clone()
                .all(|k| v.settings.events.get(k.name).and_then(|e| e.send_revenue) == Some(true))
        );
        let event: crate::WebhookEvent = serde_json::from_value(serde_json::json!({
            "event_name": "subscription_renewed", "custom_user_id": "u1", "environment": "production",
            "price": {"value": 9.99, "currency": "EUR"}}))
        .unwrap();
        let record = crate::mapping::map_event(&event, &v.settings).unwrap();
        assert!(!record.evt_data.contains_key("revenue") && !record.evt_data.contains_key("currency"));
    }

    #[test]
    fn empty_name_gives_every_event_an_empty_custom_name_that_falls_back() {
        let v = Variant::built_in("empty-name").unwrap();
        let kind = event_kind("trial_converted").unwrap();
        assert_eq!(v.settings.events.get(kind.name).and_then(|e| e.name.as_deref()), Some(""));
        assert_eq!(v.settings.event_name_for(kind), "trial_converted");
    }

    #[test]
    fn selects_listed_variants_in_order_and_rejects_unknown_names() {
        let v = select_built_in(Some("gross, default,gross")).unwrap();
        assert_eq!(v.iter().map(|v| v.name.as_str()).collect::<Vec<_>>(), ["gross", "default"]);
        assert_eq!(select_built_in(None).unwrap().len(), BUILT_IN_VARIANTS.len());
        let err = select_built_in(Some("gros")).unwrap_err().to_string();
        assert!(err.contains("\"gros\"") && err.contains("event-no-revenue"), "{err}");
    }

    #[test]
    fn user_variant_is_named_after_its_file_or_given_name() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("eu-app.json");
        std::fs::write(&path, r#"{"send_sandbox": true}"#).unwrap();
        let v = Variant::from_arg(path.to_str().unwrap()).unwrap();
        assert_eq!(v.name, "eu-app");
        assert!(v.settings.send_sandbox);
        let v = Variant::from_arg(&format!("mine={}", path.display())).unwrap();
        assert_eq!(v.name, "mine");
        let mut all = vec![v.clone()];
        assert!(add_user_variants(&mut all, vec![v]).is_err());
    }

    #[test]
    fn invalid_user_settings_name_the_file_and_path() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("bad.json");
        std::fs::write(&path, r#"{"send_sandbox": "yes"}"#).unwrap();
        let err = Variant::from_arg(path.to_str().unwrap()).unwrap_err();
        assert_eq!(err.exit_code(), 2);
        assert!(err.to_string().contains("bad.json") && err.to_string().contains("send_sandbox"), "{err}");
    }
}
