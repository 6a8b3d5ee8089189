//! Tests: `--partition K/N` for `run` and `prop`, and `report merge` of the shards.

use std::path::Path;
use std::process::{Command, Output};

use qc_harness::conformance::Partition;
use qc_harness::{
    FixtureCatalogue, PropConfig, ReferenceMapping, RelayMapping, RelaySpec, Result, RunConfig, Settings,
    run_properties, strategies,
};
use serde_json::Value;

const EXE: &str = env!("CARGO_BIN_EXE_qc-harness");

fn qc(dir: &Path, args: &[&str]) -> Output {
    Command::new(EXE).args(args).current_dir(dir).env("NO_COLOR", "1").output().expect("qc-harness runs")
}

fn text(output: &Output) -> String {
    format!("{}{}", String::from_utf8_lossy(&output.stdout), String::from_utf8_lossy(&output.stderr))
}

/// A JSON report without what differs between any two runs: timings (`elapsed`, each check's
/// `duration`, "after 3 ms" in details) and the arrival order of uploads (`request_seq`; a
/// variant sends its fixtures side by side).
fn without_timings(path: &Path) -> Value {
    let mut report: Value = serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap();
    report.as_object_mut().unwrap().remove("elapsed");
    for check in report["checks"].as_array_mut().unwrap() {
        check.as_object_mut().unwrap().remove("duration");
        for detail in check["details"].as_array_mut().unwrap() {
            *detail = Value::from(mask_numbers_before_ms(detail.as_str().unwrap()));
        }
    }
    for case in report["cases"].as_array_mut().unwrap() {
        for observed in case["observed"].as_array_mut().unwrap() {
            observed.as_object_mut().unwrap().remove("request_seq");
        }
    }
    report
}

/// `HTTP 200 after 28 ms` → `HTTP 200 after N ms`.
fn mask_numbers_before_ms(text: &str) -> String {
    let words: Vec<&str> = text.split(' ').collect();
    let masked: Vec<&str> = words
        .iter()
        .enumerate()
        .map(|(i, w)| if words.get(i + 1) == Some(&"ms") { "N" } else { w })
        .collect();
    masked.join(" ")
}

/// A JUnit file without its `time="…"` and `timestamp="…"` attributes.
fn junit_without_timings(path: &Path) -> String {
    let xml = std::fs::read_to_string(path).unwrap();
    let mut out = String::with_capacity(xml.len());
    let mut rest = xml.as_str();
    while let Some(start) = rest.find(" time=\"").or_else(|| rest.find(" timestamp=\"")) {
        out.push_str(&rest[..start]);
        let after = &rest[start + 2..];
        let quote = after.find('"').unwrap() + 1;
        let end = after[quote..].find('"').unwrap() + quote + 1;
        rest = &after[end..];
    }
    out.push_str(rest);
    out
}

const SELECTION: [&str; 6] =
    ["--variants", "default,gross,sandbox-on", "--checks", "auth,body", "--no-snapshots", "--jobs"];

#[test]
fn run_shards_cover_every_variant_and_check_exactly_once_for_any_n() {
    let catalogue = FixtureCatalogue::built_in().unwrap();
    let full = RunConfig::new(RelaySpec::built_in(EXE), catalogue);
    let units = full.variants.len() + full.checks.len();
    for count in 1..=8u32 {
        let mut variants = Vec::new();
        let mut checks = Vec::new();
        let mut sizes = Vec::new();
        for index in 1..=count {
            let mut shard = full.clone();
            shard.keep_shard(Partition { index, count });
            assert_eq!(shard.plan().variants.len(), full.variants.len(), "the plan names every variant");
            assert_eq!(shard.plan().partition, Some(Partition { index, count }));
            sizes.push(shard.variants.len() + shard.checks.len());
            variants.extend(shard.variants.into_iter().map(|v| v.name));
            checks.extend(shard.checks);
        }
        variants.sort();
        checks.sort();
        let mut all_variants: Vec<String> = full.variants.iter().map(|v| v.name.clone()).collect();
        let mut all_checks = full.checks.clone();
        all_variants.sort();
        all_checks.sort();
        assert_eq!(variants, all_variants, "{count} shards");
        assert_eq!(checks, all_checks, "{count} shards");
        assert_eq!(sizes.iter().sum::<usize>(), units);
        assert!(sizes.iter().max().unwrap() - sizes.iter().min().unwrap() <= 1, "{count} shards: {sizes:?}");
    }
}

/// Records the events it is given and maps them like the reference.
struct Recorder(Vec<String>);

impl RelayMapping for Recorder {
    fn map(&mut self, event: &Value, settings: &Settings) -> Result<Vec<Value>> {
        self.0.push(format!("{event}|{}", serde_json::to_string(settings).unwrap()));
        ReferenceMapping.map(event, settings)
    }
}

#[test]
fn prop_shards_run_every_generated_case_exactly_once_for_any_n() {
    let config = PropConfig { cases: 60, seed: 11, ..PropConfig::default() };
    let mut whole = Recorder(Vec::new());
    let outcome = run_properties(&mut whole, &strategies::case(), &config).unwrap();
    assert!(outcome.failure.is_none());
    assert_eq!(whole.0.len(), 60);
    let mut expected = whole.0.clone();
    expected.sort();
    for count in 1..=8u32 {
        let mut seen = Vec::new();
        for index in 1..=count {
            let partition = Partition { index, count };
            let shard_config = PropConfig { partition: Some(partition), ..config.clone() };
            let mut shard = Recorder(Vec::new());
            let shard_outcome = run_properties(&mut shard, &strategies::case(), &shard_config).unwrap();
            assert_eq!(shard_outcome.cases as usize, partition.share(60), "shard {partition}");
            assert_eq!(shard.0.len(), partition.share(60), "shard {partition}");
            seen.extend(shard.0);
        }
        seen.sort();
        assert_eq!(seen, expected, "{count} shards");
    }
}

#[test]
fn merged_shard_reports_equal_the_unsharded_run_apart_from_timings() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let mut args: Vec<&str> = vec!["run"];
    args.extend(SELECTION);
    args.push("4");
    let whole = qc(d, &[&args[..], &["--json", "whole.json", "--junit", "whole.xml"]].concat());
    assert_eq!(whole.status.code(), Some(0), "{}", text(&whole));
    for k in 1..=3 {
        let partition = format!("{k}/3");
        let (json, xml) = (format!("shard-{k}.json"), format!("shard-{k}.xml"));
        let shard =
            qc(d, &[&args[..], &["--partition", &partition, "--json", &json, "--junit", &xml]].concat());
        assert_eq!(shard.status.code(), Some(0), "shard {partition}: {}", text(&shard));
    }
    let merged = qc(
        d,
        &[
            "report",
            "merge",
            "shard-3.json",
            "shard-1.json",
            "shard-2.json",
            "--json",
            "merged.json",
            "--junit",
            "merged.xml",
        ],
    );
    assert_eq!(merged.status.code(), Some(0), "{}", text(&merged));
    assert_eq!(without_timings(&d.join("merged.json")), without_timings(&d.join("whole.json")));
    assert_eq!(junit_without_timings(&d.join("merged.xml")), junit_without_timings(&d.join("whole.xml")));
    assert_eq!(
        String::from_utf8_lossy(&merged.stdout),
        String::from_utf8_lossy(&whole.stdout),
        "merge prints what the whole run printed"
    );
}

/// `request #12` → `request #N`: upload numbers follow arrival order, which differs between runs.
fn mask_request_numbers(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    while let Some(at) = rest.find("request #") {
        out.push_str(&rest[..at + "request #".len()]);
        rest = rest[at + "request #".len()..].trim_start_matches(|c: char| c.is_ascii_digit());
        out.push('N');
    }
    out.push_str(rest);
    out
}

#[test]
fn merging_the_shards_of_a_failing_run_prints_the_same_summary_and_matrix() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let relay = format!(
        "python3 {}",
        Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/relays/three_mistakes.py").display()
    );
    let args = [
        "run",
        "--variants",
        "default,sandbox-on",
        "--checks",
        "auth,event",
        "--no-snapshots",
        "--relay-cmd",
        &relay,
    ];
    let whole = qc(d, &[&args[..], &["--json", "whole.json"]].concat());
    assert_eq!(whole.status.code(), Some(1), "{}", text(&whole));
    for k in 1..=3 {
        let (partition, json) = (format!("{k}/3"), format!("shard-{k}.json"));
        let shard = qc(d, &[&args[..], &["--partition", &partition, "--json", &json]].concat());
        assert!(matches!(shard.status.code(), Some(0 | 1)), "shard {partition}: {}", text(&shard));
    }
    let merged = qc(d, &["report", "merge", "shard-1.json", "shard-2.json", "shard-3.json"]);
    assert_eq!(merged.status.code(), Some(1), "{}", text(&merged));
    let (merged, whole) = (String::from_utf8_lossy(&merged.stdout), String::from_utf8_lossy(&whole.stdout));
    assert!(whole.contains("sandbox"), "the failing run names its root causes: {whole}");
    assert_eq!(mask_request_numbers(&merged), mask_request_numbers(&whole));
}

#[test]
fn report_merge_refuses_mismatched_duplicate_missing_and_unsharded_reports() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let base = ["run", "--variants", "default", "--checks", "body.malformed", "--no-snapshots"];
    for (name, extra) in [
        ("a1.json", vec!["--partition", "1/2"]),
        ("a2.json", vec!["--partition", "2/2"]),
        ("strict2.json", vec!["--partition", "2/2", "--strict"]),
        ("whole.json", vec![]),
    ] {
        let out = qc(d, &[&base[..], &extra[..], &["--json", name]].concat());
        assert_eq!(out.status.code(), Some(0), "{name}: {}", text(&out));
    }
    let refused = |files: &[&str], needle: &str| {
        let out = qc(d, &[&["report", "merge"][..], files].concat());
        assert_eq!(out.status.code(), Some(2), "{files:?}: {}", text(&out));
        let message = String::from_utf8_lossy(&out.stderr).to_string();
        assert!(message.contains(needle), "{files:?}: expected {needle:?} in {message}");
    };
    refused(&["a1.json", "strict2.json"], "strict2.json is from another run than a1.json");
    refused(&["a1.json", "a1.json"], "are both shard 1/2");
    refused(&["a1.json"], "shard report(s) missing: 2/2");
    refused(&["a1.json", "whole.json"], "whole.json: .plan.partition: not a shard report");
    std::fs::write(d.join("junk.json"), "{\"schema\": \"other\"}").unwrap();
    refused(&["junk.json"], "junk.json: .schema");
    let version = std::fs::read_to_string(d.join("a2.json")).unwrap().replace(
        &format!("\"harness_version\": \"{}\"", env!("CARGO_PKG_VERSION")),
        "\"harness_version\": \"0.0.1\"",
    );
    std::fs::write(d.join("old2.json"), version).unwrap();
    refused(&["a1.json", "old2.json"], "the qc-harness version is 0.0.1");
    let ok = qc(d, &["report", "merge", "a2.json", "a1.json"]);
    assert_eq!(ok.status.code(), Some(0), "{}", text(&ok));
}

#[test]
fn a_bad_partition_flag_is_a_usage_error() {
    let dir = tempfile::tempdir().unwrap();
    for args in [["run", "--partition", "5/4"], ["prop", "--partition", "0/2"], ["run", "--partition", "x"]] {
        let out = qc(dir.path(), &args);
        assert_eq!(out.status.code(), Some(2), "{args:?}: {}", text(&out));
        assert!(String::from_utf8_lossy(&out.stderr).contains("K/N"), "{args:?}: {}", text(&out));
    }
}

#[test]
fn a_prop_shard_says_which_cases_it_runs_and_passes() {
    let dir = tempfile::tempdir().unwrap();
    let out = qc(dir.path(), &["prop", "--cases", "30", "--seed", "3", "--partition", "2/4"]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(stdout.contains("seed 3, 8 of 30 cases (shard 2/4)"), "{stdout}");
}
