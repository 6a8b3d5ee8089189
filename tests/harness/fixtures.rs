//! Tests: the fixture catalogue, data-driven over every file in `fixtures/`.
//!
//! The expected upload bodies in `tests/expected/` are written by an independent Python
//! implementation of mapping.md (`tests/oracle/reference_mapping.py`); the Rust reference
//! mapping must agree with it (revenue within tolerance, everything else exact).

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::process::Command;

use qc_harness::conformance::BUILT_IN_VARIANTS;
use qc_harness::mapping::revenue::within_tolerance;
use qc_harness::qonversion::fixtures::built_in_source;
use qc_harness::{FixtureCatalogue, Settings, Variant, WebhookEvent, expected_records, upload_body};
use serde_json::{Value, json};

/// One fixture file as it is on disk.
struct DiskFile {
    name: String,
    path: PathBuf,
    bytes: Vec<u8>,
    raw: Value,
}

impl DiskFile {
    /// The webhook bodies in the file: one for an event, several for a journey.
    fn bodies(&self) -> Vec<&Value> {
        match &self.raw {
            Value::Array(events) => events.iter().collect(),
            event => vec![event],
        }
    }
}

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

fn disk_files(sub: &str) -> Vec<DiskFile> {
    let dir = root().join("fixtures").join(sub);
    let mut paths: Vec<PathBuf> = std::fs::read_dir(&dir)
        .unwrap_or_else(|e| panic!("{}: {e}", dir.display()))
        .map(|entry| entry.expect("directory entry").path())
        .filter(|p| p.extension().is_some_and(|e| e == "json"))
        .collect();
    paths.sort();
    paths.into_iter().map(|path| read_disk_file(&path)).collect()
}

fn read_disk_file(path: &Path) -> DiskFile {
    let bytes = std::fs::read(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    let raw = serde_json::from_slice(&bytes).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    let file = path.file_name().unwrap().to_string_lossy();
    let name = file.strip_suffix(".json").unwrap().to_string();
    DiskFile { name, path: path.to_path_buf(), bytes, raw }
}

fn events() -> Vec<DiskFile> {
    disk_files("events")
}

fn journeys() -> Vec<DiskFile> {
    disk_files("journeys")
}

/// `tests/expected/<file>.json`.
fn expected(file: &str) -> Value {
    let path = root().join("tests/expected").join(format!("{file}.json"));
    let text = std::fs::read(&path).unwrap_or_else(|e| {
        panic!("{}: {e} (run `python3 tests/oracle/reference_mapping.py`)", path.display())
    });
    serde_json::from_slice(&text).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

/// Compares an upload body with the oracle's: `revenue` within tolerance, everything else exact.
/// Returns one line per difference, naming the JSON path.
fn compare(path: &str, expected: &Value, actual: &Value, out: &mut Vec<String>) {
    match (expected, actual) {
        (Value::Object(e), Value::Object(a)) => {
            for key in e.keys().chain(a.keys()).collect::<BTreeSet<_>>() {
                let sub = format!("{path}.{key}");
                match (e.get(key), a.get(key)) {
                    (Some(ev), Some(av)) => compare(&sub, ev, av, out),
                    (Some(ev), None) => out.push(format!("{sub}: missing (expected {ev})")),
                    (None, Some(av)) => out.push(format!("{sub}: unexpected {av}")),
                    (None, None) => unreachable!("key from one of the maps"),
                }
            }
        }
        (Value::Array(e), Value::Array(a)) if e.len() == a.len() => {
            for (i, (ev, av)) in e.iter().zip(a).enumerate() {
                compare(&format!("{path}[{i}]"), ev, av, out);
            }
        }
        (Value::Number(e), Value::Number(a)) if path.ends_with(".evtData.revenue") => {
            let (e, a) = (e.as_f64().unwrap(), a.as_f64().unwrap());
            if !within_tolerance(e, a) {
                out.push(format!("{path}: expected {e}, got {a} (beyond tolerance)"));
            }
        }
        (e, a) if e != a => out.push(format!("{path}: expected {e}, got {a}")),
        _ => {}
    }
}

fn differences(name: &str, expected: &Value, actual: &Value) -> Vec<String> {
    let mut out = Vec::new();
    compare("", expected, actual, &mut out);
    out.into_iter().map(|d| format!("{name}: {d}")).collect()
}

fn parse_event(file: &DiskFile) -> WebhookEvent {
    WebhookEvent::from_json(&file.bytes, &file.path).unwrap_or_else(|e| panic!("{}: {e}", file.name))
}

fn assert_no_failures(what: &str, failures: Vec<String>) {
    assert!(failures.is_empty(), "{what}: {} problem(s)\n{}", failures.len(), failures.join("\n"));
}

#[test]
fn built_in_catalogue_holds_exactly_the_files_on_disk() {
    let built_in = FixtureCatalogue::built_in().expect("built-in catalogue parses");
    let from_dir = FixtureCatalogue::from_dir(root().join("fixtures")).expect("fixtures/ parses");
    let on_disk = |files: Vec<DiskFile>| files.into_iter().map(|f| f.name).collect::<BTreeSet<_>>();
    for catalogue in [&built_in, &from_dir] {
        let names: BTreeSet<String> = catalogue.events.iter().map(|f| f.name.clone()).collect();
        assert_eq!(names, on_disk(events()), "event fixtures");
        let names: BTreeSet<String> = catalogue.journeys.iter().map(|j| j.name.clone()).collect();
        assert_eq!(names, on_disk(journeys()), "journeys");
    }
    let stale: Vec<String> = events()
        .into_iter()
        .chain(journeys())
        .filter(|f| built_in_source(&f.name) != Some(f.bytes.as_slice()))
        .map(|f| format!("{}: the embedded copy differs from the file (rebuild the crate)", f.name))
        .collect();
    assert_no_failures("embedded catalogue", stale);
    assert!(built_in.events.len() >= 45, "only {} event fixtures", built_in.events.len());
    assert!(built_in.journeys.len() >= 3, "only {} journeys", built_in.journeys.len());
}

#[test]
fn every_fixture_round_trips_to_the_same_json_value() {
    let mut failures = Vec::new();
    for file in events() {
        let back = parse_event(&file).to_value();
        failures.extend(differences(&file.name, &file.raw, &back));
    }
    for file in journeys() {
        let events: Vec<WebhookEvent> =
            serde_json::from_slice(&file.bytes).unwrap_or_else(|e| panic!("journey {}: {e}", file.name));
        let back = Value::Array(events.iter().map(WebhookEvent::to_value).collect());
        failures.extend(differences(&format!("journey {}", file.name), &file.raw, &back));
    }
    assert_no_failures("round trip", failures);
}

#[test]
fn reference_mapping_agrees_with_the_python_oracle_for_every_fixture() {
    let settings = Settings::default();
    let mut failures = Vec::new();
    for file in events() {
        let actual = upload_body(&expected_records(&parse_event(&file), &settings));
        failures.extend(differences(&file.name, &expected(&file.name), &actual));
    }
    assert_no_failures("Rust mapping vs tests/expected", failures);
}

#[test]
fn reference_mapping_agrees_with_the_python_oracle_for_every_journey() {
    let settings = Settings::default();
    let catalogue = FixtureCatalogue::from_dir(root().join("fixtures")).unwrap();
    let mut failures = Vec::new();
    for journey in &catalogue.journeys {
        let records: Vec<_> = journey.events.iter().flat_map(|e| expected_records(e, &settings)).collect();
        let name = format!("journey.{}", journey.name);
        failures.extend(differences(&name, &expected(&name), &upload_body(&records)));
    }
    assert_no_failures("Rust mapping vs tests/expected (journeys)", failures);
}

#[test]
fn every_expected_file_belongs_to_a_fixture() {
    let mut wanted: BTreeSet<String> = events().into_iter().map(|f| f.name).collect();
    wanted.extend(journeys().into_iter().map(|f| format!("journey.{}", f.name)));
    let dir = root().join("tests/expected");
    assert_eq!(json_stems(&dir), wanted, "tests/expected/ out of step with fixtures/ (rerun the oracle)");
}

/// The names (without `.json`) of the JSON files directly in `dir`.
fn json_stems(dir: &Path) -> BTreeSet<String> {
    std::fs::read_dir(dir)
        .unwrap_or_else(|e| panic!("{}: {e}", dir.display()))
        .map(|e| e.unwrap().path())
        .filter(|p| p.is_file())
        .map(|p| p.file_name().unwrap().to_string_lossy().trim_end_matches(".json").to_string())
        .collect()
}

/// `tests/expected/variants/<variant>.json` holds the oracle's body for every event fixture
/// under that built-in variant's settings; the Rust mapping must agree under the same variant.
#[test]
fn reference_mapping_agrees_with_the_python_oracle_under_every_built_in_variant() {
    let dir = root().join("tests/expected/variants");
    let wanted: BTreeSet<String> = BUILT_IN_VARIANTS.iter().map(|v| v.to_string()).collect();
    assert_eq!(json_stems(&dir), wanted, "one oracle file per built-in variant (rerun the oracle)");
    let mut failures = Vec::new();
    for name in BUILT_IN_VARIANTS {
        let settings = Variant::built_in(name).expect("a built-in variant").settings;
        let bodies = expected(&format!("variants/{name}"));
        let fixtures: BTreeSet<String> = events().into_iter().map(|f| f.name).collect();
        let in_file: BTreeSet<String> = bodies.as_object().unwrap().keys().cloned().collect();
        assert_eq!(in_file, fixtures, "variants/{name}.json: stale (rerun the oracle)");
        for file in events() {
            let actual = upload_body(&expected_records(&parse_event(&file), &settings));
            failures.extend(differences(&format!("{}@{name}", file.name), &bodies[&file.name], &actual));
        }
    }
    assert_no_failures("Rust mapping vs tests/expected/variants", failures);
}

#[test]
fn comparison_flags_changed_fields_and_tolerates_only_revenue_noise() {
    let body = json!({"d": [{"identity": "u1", "ts": 5, "type": "event", "evtName": "x",
        "evtData": {"revenue": 1049.993, "transaction_id": "7", "quantity": 1}}]});
    assert!(differences("f", &body, &body).is_empty());
    let mut noisy = body.clone();
    noisy["d"][0]["evtData"]["revenue"] = json!(1049.9930000001);
    assert!(differences("f", &body, &noisy).is_empty(), "float noise is within tolerance");
    let mut off = body.clone();
    off["d"][0]["evtData"]["revenue"] = json!(1049.99);
    assert_eq!(differences("f", &body, &off).len(), 1);
    assert!(differences("f", &body, &off)[0].starts_with("f: .d[0].evtData.revenue: expected 1049.993"));
    let mut numeric_id = body.clone();
    numeric_id["d"][0]["evtData"]["transaction_id"] = json!(7);
    assert_eq!(
        differences("f", &body, &numeric_id),
        ["f: .d[0].evtData.transaction_id: expected \"7\", got 7"]
    );
    let mut extra = body.clone();
    extra["d"][0]["evtData"]["os_version"] = json!("17.4");
    assert_eq!(differences("f", &body, &extra), ["f: .d[0].evtData.os_version: unexpected \"17.4\""]);
    assert_eq!(differences("f", &body, &json!({"d": []})).len(), 1, "a missing record is reported");
    let mut ts = body.clone();
    ts["d"][0]["ts"] = json!(6);
    assert_eq!(differences("f", &body, &ts).len(), 1, "ts is compared exactly");
}

#[test]
fn map_cli_prints_the_expected_body_for_every_fixture() {
    let exe = env!("CARGO_BIN_EXE_qc-harness");
    let mut failures = Vec::new();
    for file in events() {
        let output = Command::new(exe).arg("map").arg(&file.path).env("NO_COLOR", "1").output().unwrap();
        if !output.status.success() {
            let stderr = String::from_utf8_lossy(&output.stderr);
            failures.push(format!("{}: exit {:?}: {stderr}", file.name, output.status.code()));
            continue;
        }
        match serde_json::from_slice::<Value>(&output.stdout) {
            Ok(printed) => failures.extend(differences(&file.name, &expected(&file.name), &printed)),
            Err(e) => failures.push(format!("{}: stdout is not JSON: {e}", file.name)),
        }
    }
    assert_no_failures("qc-harness map", failures);
}

/// What the catalogue covers: kinds, platforms, users, journeys and the documented variations.
mod catalogue;
/// The `price_differs_from_revenue` fixtures tell every revenue reading apart.
mod contrasts;
/// The field rules of qonversion-webhook.md, checked on every body.
mod rules;
