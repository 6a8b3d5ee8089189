//! `qc-harness parity` against a stand-in upstream on 127.0.0.1 (never the internet): no false
//! differences, every rule changed on purpose found, exit codes, Retry-After, the concurrency
//! limit, the passcode never printed, cassettes recorded and replayed.

use std::collections::BTreeSet;
use std::path::Path;
use std::time::{Duration, Instant};

use qc_harness::parity::cassette::AccountSettings;
use qc_harness::parity::client::MAX_IN_FLIGHT;
use qc_harness::parity::replay::replay_dir;
use qc_harness::parity::{Account, ParityConfig, ParityReport, run};

mod cli;
mod standin;

use standin::{ACCOUNT, Change, PASSCODE, StandIn};

fn config(standin: &StandIn, concurrency: usize) -> ParityConfig {
    ParityConfig {
        upstream: standin.uri.clone(),
        account: Account::new(ACCOUNT, PASSCODE),
        settings: AccountSettings { property_limit: 100, nested_objects: false, discarded_event: None },
        record: None,
        concurrency,
        timeout: Duration::from_secs(30),
    }
}

async fn parity(changes: &[Change]) -> (ParityReport, StandIn) {
    let standin = standin::start(changes, Duration::ZERO, 0).await;
    let report = run(&config(&standin, 8)).await.unwrap();
    (report, standin)
}

fn cases_reported(report: &ParityReport) -> BTreeSet<String> {
    report.differences.iter().map(|d| d.case.clone()).collect()
}

fn expected_cases(changes: &[Change]) -> BTreeSet<String> {
    changes.iter().flat_map(|change| change.cases()).map(|case| case.to_string()).collect()
}

#[tokio::test]
async fn a_faithful_stand_in_shows_no_difference_within_the_concurrency_limit() {
    let standin = standin::start(&[], Duration::from_millis(20), 0).await;
    let started = Instant::now();
    let report = run(&config(&standin, MAX_IN_FLIGHT)).await.unwrap();
    eprintln!(
        "parity against the faithful stand-in: {} requests, {} rules, {} differences, {:.2}s",
        report.requests,
        report.rules.len(),
        report.differences.len(),
        started.elapsed().as_secs_f64()
    );
    assert_eq!(report.differences, [], "no false differences");
    assert!(report.requests >= 50, "corpus of {} requests", report.requests);
    for rule in [
        "auth", "envelope", "509", "512", "513", "514", "520", "522", "523", "524", "525", "526", "530",
        "535", "mixed",
    ] {
        assert!(report.rules.iter().any(|r| r == rule), "rule {rule} is covered: {:?}", report.rules);
    }
    assert!(standin.max_in_flight() <= MAX_IN_FLIGHT, "in flight: {}", standin.max_in_flight());
    assert!(standin.max_in_flight() > 1, "requests overlap: {}", standin.max_in_flight());
    let (dry, all) = standin.dry_runs();
    assert_eq!(dry, all, "every request is a dry run");
}

#[tokio::test]
async fn every_rule_changed_on_purpose_is_reported_and_nothing_else() {
    let all = [
        Change::Text514,
        Change::Code513As512,
        Change::PasscodeText,
        Change::TooManyRecords413,
        Change::LongIdentityAccepted,
    ];
    let (report, _standin) = parity(&all).await;
    assert_eq!(cases_reported(&report), expected_cases(&all));
    let aspects = |case: &str| -> Vec<String> {
        report.differences.iter().filter(|d| d.case == case).map(|d| d.aspect.clone()).collect()
    };
    assert_eq!(aspects("514-gender"), ["record 1: text"]);
    assert_eq!(aspects("513-restricted-event"), ["record 1: code"]);
    assert_eq!(aspects("mixed-partial"), ["record 4: code"]);
    assert_eq!(aspects("auth-wrong-passcode"), ["error"]);
    assert_eq!(aspects("envelope-1001-records"), ["http status", "code"]);
    assert_eq!(
        aspects("523-identity-over-120-chars"),
        ["body shape", "status", "processed", "record 1: number"]
    );
    let text = report.differences.iter().find(|d| d.case == "514-gender").unwrap();
    assert_eq!(text.fake, "Profile data is incorrect. Gender needs to be M/F.");
    assert_eq!(text.upstream, "Profile data is incorrect. Gender must be M or F.");
}

#[tokio::test]
async fn each_change_alone_is_found_alone() {
    for change in [Change::Text514, Change::Code513As512, Change::PasscodeText, Change::TooManyRecords413] {
        let (report, _standin) = parity(&[change]).await;
        assert_eq!(cases_reported(&report), expected_cases(&[change]), "{change:?}");
    }
}

#[tokio::test]
async fn retry_after_is_honoured_before_an_answer_counts() {
    let standin = standin::start(&[], Duration::ZERO, 2).await;
    let started = Instant::now();
    let report = run(&config(&standin, 4)).await.unwrap();
    assert_eq!(report.differences, [], "the 429s were retried, not compared");
    assert!(started.elapsed() >= Duration::from_secs(2), "waited Retry-After twice: {:?}", started.elapsed());
    // The preflight, its two retries, then the corpus.
    assert_eq!(standin.received(), report.requests + 3);
}

#[tokio::test]
async fn recorded_cassettes_replay_against_the_fake_and_keep_the_differences() {
    let standin = standin::start(&[Change::Text514], Duration::ZERO, 0).await;
    let dir = tempfile::tempdir().unwrap();
    let mut config = config(&standin, 8);
    config.record = Some(dir.path().to_path_buf());
    let report = run(&config).await.unwrap();
    assert_eq!(report.recorded.len(), report.requests);
    let replayed = replay_dir(dir.path()).await.unwrap();
    assert_eq!(replayed.len(), report.requests);
    let dirty: BTreeSet<String> = replayed
        .iter()
        .filter(|r| !r.is_clean())
        .map(|r| r.file.file_stem().unwrap().to_string_lossy().into_owned())
        .collect();
    assert_eq!(dirty, expected_cases(&[Change::Text514]));
    for file in &report.recorded {
        let text = std::fs::read_to_string(file).unwrap();
        assert!(!text.contains(PASSCODE), "{} holds the passcode", file.display());
    }
}

#[tokio::test]
async fn the_committed_cassettes_replay_clean() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/cassettes");
    let replayed = replay_dir(&dir).await.unwrap();
    assert!(!replayed.is_empty(), "tests/cassettes holds cassettes");
    for cassette in &replayed {
        assert!(
            cassette.is_clean(),
            "{}: unexpected {:#?}, stale known differences {:?}",
            cassette.file.display(),
            cassette.unexpected,
            cassette.stale
        );
    }
}

#[tokio::test]
async fn a_stale_known_difference_and_a_bad_cassette_are_reported() {
    let committed =
        Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/cassettes/ruby-401-unknown-account.json");
    let mut cassette: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(committed).unwrap()).unwrap();
    cassette["known_differences"] = serde_json::json!([{"aspect": "error", "why": "no longer true"}]);
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("stale.json"), cassette.to_string()).unwrap();
    let replayed = replay_dir(dir.path()).await.unwrap();
    assert_eq!(replayed[0].stale, ["error"]);
    assert!(!replayed[0].is_clean());
    cassette["request"]["auth"] = serde_json::json!("sometimes");
    std::fs::write(dir.path().join("stale.json"), cassette.to_string()).unwrap();
    let error = replay_dir(dir.path()).await.unwrap_err().to_string();
    assert!(error.contains("stale.json") && error.contains("request.auth"), "{error}");
}

/// The codes of docs/clevertap-upload.md's per-record table (ranges expanded).
fn documented_codes() -> Vec<String> {
    let doc = std::fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join("docs/clevertap-upload.md"))
        .unwrap();
    let mut codes = Vec::new();
    for line in doc.lines().filter(|line| line.starts_with("| 5")) {
        let cell = line.split('|').nth(1).unwrap().trim();
        match cell.split_once('–') {
            Some((from, to)) => {
                codes.extend((from.parse::<u16>().unwrap()..=to.parse().unwrap()).map(|c| c.to_string()))
            }
            None => codes.push(cell.to_string()),
        }
    }
    codes
}

#[test]
fn the_corpus_covers_every_documented_code_with_unique_names() {
    use qc_harness::parity::corpus::{CorpusOptions, corpus, rules_covered};
    let options = CorpusOptions {
        property_limit: 100,
        discarded_event: Some("old_event".into()),
        nested_objects: true,
    };
    let cases = corpus(&options);
    let rules = rules_covered(&cases);
    let codes = documented_codes();
    assert!(codes.len() >= 20, "read the table: {codes:?}");
    for code in codes.iter().map(String::as_str).chain(["auth", "envelope", "mixed", "nested"]) {
        assert!(rules.iter().any(|rule| rule == code), "no corpus case for {code}");
    }
    let names: BTreeSet<&str> = cases.iter().map(|case| case.name.as_str()).collect();
    assert_eq!(names.len(), cases.len(), "case names are unique (they name cassette files)");
    assert!(names.iter().all(|name| name.chars().all(|c| c.is_ascii_alphanumeric() || c == '-')));
    let without = corpus(&CorpusOptions { property_limit: 100, ..CorpusOptions::default() });
    assert!(!rules_covered(&without).iter().any(|rule| rule == "528" || rule == "nested"));
}
