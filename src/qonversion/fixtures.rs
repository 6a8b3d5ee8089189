//! The fixture catalogue: webhook bodies in `fixtures/`, built into the binary.
//!
//! Layout: `events/NAME.json` holds one webhook body (NAME says what it is, e.g.
//! `subscription_renewed.ios`), `journeys/NAME.json` an ordered list of bodies for one user.

use std::path::{Path, PathBuf};
use std::sync::OnceLock;

use include_dir::{Dir, include_dir};

use super::event::WebhookEvent;
use crate::error::{Error, Result};

static BUILT_IN: Dir<'static> = include_dir!("$CARGO_MANIFEST_DIR/fixtures");

/// One webhook event case.
///
/// ```
/// let fixture = qc_harness::Fixture::built_in("subscription_renewed.android").unwrap();
/// assert_eq!(fixture.name, "subscription_renewed.android");
/// assert_eq!(fixture.event.event_name, "subscription_renewed");
/// ```
#[derive(Debug, Clone, PartialEq)]
pub struct Fixture {
    /// Name: the file name without `.json`, e.g. `subscription_renewed.ios`.
    pub name: String,
    /// Where it came from (a path, or `fixtures/...` for built-in ones).
    pub origin: PathBuf,
    /// The webhook body.
    pub event: WebhookEvent,
}

/// An ordered list of events for one user.
///
/// ```
/// let catalogue = qc_harness::FixtureCatalogue::built_in_shared().unwrap();
/// let journey = &catalogue.journeys[0];
/// assert!(journey.events.len() > 1, "a journey is several events of one user");
/// ```
#[derive(Debug, Clone, PartialEq)]
pub struct Journey {
    /// Name: the file name without `.json`.
    pub name: String,
    /// Where it came from.
    pub origin: PathBuf,
    /// The events, in order.
    pub events: Vec<WebhookEvent>,
}

/// A set of fixtures and journeys, sorted by name.
///
/// ```
/// let catalogue = qc_harness::FixtureCatalogue::built_in().unwrap();
/// let ios: Vec<_> = catalogue.events.iter().filter(|f| f.name.ends_with(".ios")).collect();
/// assert!(!ios.is_empty());
/// assert!(catalogue.get("no_such_event").is_none());
/// ```
#[derive(Debug, Clone, Default, PartialEq)]
pub struct FixtureCatalogue {
    /// Single-event cases.
    pub events: Vec<Fixture>,
    /// Journeys.
    pub journeys: Vec<Journey>,
}

impl FixtureCatalogue {
    /// The catalogue built into the binary.
    ///
    /// ```
    /// let catalogue = qc_harness::FixtureCatalogue::built_in().unwrap();
    /// assert!(catalogue.get("subscription_renewed.ios").is_some());
    /// ```
    pub fn built_in() -> Result<Self> {
        Self::built_in_shared().cloned()
    }

    /// The built-in catalogue without a copy: parsed once per process, on first use.
    ///
    /// ```
    /// let first = qc_harness::FixtureCatalogue::built_in_shared().unwrap();
    /// let again = qc_harness::FixtureCatalogue::built_in_shared().unwrap();
    /// assert!(std::ptr::eq(first, again));
    /// ```
    pub fn built_in_shared() -> Result<&'static Self> {
        static PARSED: OnceLock<std::result::Result<FixtureCatalogue, String>> = OnceLock::new();
        PARSED
            .get_or_init(|| Self::parse_built_in().map_err(|e| e.to_string()))
            .as_ref()
            .map_err(|message| Error::invalid("fixtures", ".", message.clone()))
    }

    fn parse_built_in() -> Result<Self> {
        let mut catalogue = FixtureCatalogue::default();
        for (sub, is_journey) in [("events", false), ("journeys", true)] {
            let Some(dir) = BUILT_IN.get_dir(sub) else { continue };
            for file in dir.files().filter(|f| is_json(f.path())) {
                let origin = Path::new("fixtures").join(file.path());
                catalogue.add(&origin, file.contents(), is_journey)?;
            }
        }
        catalogue.sort();
        Ok(catalogue)
    }

    /// Loads a directory laid out like `fixtures/` (or a flat directory of event files).
    pub fn from_dir(dir: impl AsRef<Path>) -> Result<Self> {
        let dir = dir.as_ref();
        if !dir.is_dir() {
            return Err(Error::invalid(
                dir,
                ".",
                "not a directory of fixtures (events/, journeys/ or *.json)",
            ));
        }
        let mut catalogue = FixtureCatalogue::default();
        let has_layout = dir.join("events").is_dir() || dir.join("journeys").is_dir();
        let parts: Vec<(PathBuf, bool)> = if has_layout {
            vec![(dir.join("events"), false), (dir.join("journeys"), true)]
        } else {
            vec![(dir.to_path_buf(), false)]
        };
        for (sub, is_journey) in parts.into_iter().filter(|(p, _)| p.is_dir()) {
            for path in json_files(&sub)? {
                let bytes = std::fs::read(&path).map_err(|e| Error::io(&path, e))?;
                catalogue.add(&path, &bytes, is_journey)?;
            }
        }
        if catalogue.events.is_empty() && catalogue.journeys.is_empty() {
            return Err(Error::invalid(dir, ".", "no fixture files (*.json) found"));
        }
        catalogue.sort();
        Ok(catalogue)
    }

    /// Finds a single-event fixture by name (a binary search: catalogues are sorted by name).
    pub fn get(&self, name: &str) -> Option<&Fixture> {
        match self.events.binary_search_by(|f| f.name.as_str().cmp(name)) {
            Ok(found) => Some(&self.events[found]),
            // A catalogue assembled by hand may be unsorted.
            Err(_) => self.events.iter().find(|f| f.name == name),
        }
    }

    fn add(&mut self, origin: &Path, bytes: &[u8], is_journey: bool) -> Result<()> {
        let name = fixture_name(origin);
        if is_journey {
            let events: Vec<WebhookEvent> = crate::json_input::parse(bytes, origin)?;
            self.journeys.push(Journey { name, origin: origin.to_path_buf(), events });
        } else {
            let event = WebhookEvent::from_json(bytes, origin)?;
            self.events.push(Fixture { name, origin: origin.to_path_buf(), event });
        }
        Ok(())
    }

    fn sort(&mut self) {
        self.events.sort_by(|a, b| a.name.cmp(&b.name));
        self.journeys.sort_by(|a, b| a.name.cmp(&b.name));
    }
}

impl Fixture {
    /// A built-in fixture by name, from the catalogue parsed once per process.
    ///
    /// ```
    /// let fixture = qc_harness::Fixture::built_in("trial_started.ios").unwrap();
    /// assert_eq!(fixture.event.event_name, "trial_started");
    /// assert!(qc_harness::Fixture::built_in("no_such_event.ios").is_err());
    /// ```
    pub fn built_in(name: &str) -> Result<&'static Fixture> {
        FixtureCatalogue::built_in_shared()?.get(name).ok_or_else(|| {
            Error::Usage(format!(
                "no built-in fixture named `{name}` (`qc-harness fixtures` lists them, e.g. trial_started.ios)"
            ))
        })
    }
}

/// The raw bytes of a built-in fixture file, by name (`events` first, then `journeys`).
pub fn built_in_source(name: &str) -> Option<&'static [u8]> {
    ["events", "journeys"]
        .iter()
        .find_map(|sub| BUILT_IN.get_file(format!("{sub}/{name}.json")))
        .map(|f| f.contents())
}

fn fixture_name(path: &Path) -> String {
    let file = path.file_name().map(|f| f.to_string_lossy()).unwrap_or_default();
    file.strip_suffix(".json").unwrap_or(&file).to_string()
}

fn is_json(path: &Path) -> bool {
    path.extension().is_some_and(|e| e == "json")
}

fn json_files(dir: &Path) -> Result<Vec<PathBuf>> {
    let entries = std::fs::read_dir(dir).map_err(|e| Error::io(dir, e))?;
    let mut files = Vec::new();
    for entry in entries {
        let path = entry.map_err(|e| Error::io(dir, e))?.path();
        if path.is_file() && is_json(&path) {
            files.push(path);
        }
    }
    files.sort();
    Ok(files)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn fixture(name: &str) -> Fixture {
        let event = FixtureCatalogue::built_in_shared().unwrap().events[0].event.clone();
        Fixture { name: name.into(), origin: PathBuf::from(name), event }
    }

    #[test]
    fn the_built_in_catalogue_is_parsed_once() {
        let first = FixtureCatalogue::built_in_shared().unwrap();
        assert!(std::ptr::eq(first, FixtureCatalogue::built_in_shared().unwrap()));
        assert!(std::ptr::eq(
            Fixture::built_in("trial_started.ios").unwrap(),
            Fixture::built_in("trial_started.ios").unwrap()
        ));
        assert_eq!(&FixtureCatalogue::built_in().unwrap(), first);
    }

    #[test]
    fn lookup_finds_every_fixture_by_name_and_nothing_else() {
        let catalogue = FixtureCatalogue::built_in_shared().unwrap();
        for fixture in &catalogue.events {
            assert_eq!(catalogue.get(&fixture.name).map(|f| &f.name), Some(&fixture.name));
        }
        assert!(catalogue.get("trial_started").is_none());
        assert!(catalogue.get("").is_none());
    }

    #[test]
    fn lookup_works_in_an_unsorted_catalogue_built_by_hand() {
        let catalogue = FixtureCatalogue {
            events: vec![fixture("zeta"), fixture("alpha"), fixture("mid")],
            journeys: Vec::new(),
        };
        for name in ["zeta", "alpha", "mid"] {
            assert_eq!(catalogue.get(name).map(|f| f.name.as_str()), Some(name));
        }
        assert!(catalogue.get("beta").is_none());
    }
}
