//! The streaming pass against the `View` path it replaces (the oracle, [`Upload::parse`]):
//! seeded random upload bodies with every rule's violation, escapes, repeated keys, unicode,
//! nested objects on and off, huge numbers, deep nesting, and random byte mutations. The
//! envelope error, each record's result and the answer text must be identical.

use super::{Rules, Upload};
use crate::clevertap::answer::Answer;
use generator::Gen;

mod generator;

/// What the oracle and the new path said about one body.
#[derive(Default)]
struct Tally {
    bodies: usize,
    streamed: usize,
    records: usize,
    proven: usize,
    refused: usize,
}

/// Answers `body` both ways and asserts they agree; returns (streamed, proven valid records).
fn compare(body: &[u8], rules: &Rules, partial: &[usize], tally: &mut Tally) {
    let shown = || String::from_utf8_lossy(body).into_owned();
    tally.bodies += 1;
    let counted = super::parse_envelope(body).map_or(0, |records| records.len());
    assert_eq!(super::record_count(body), counted, "record count differs for {}", shown());
    match (Upload::parse(body), Upload::read(body, rules)) {
        (Err(old), Err(new)) => {
            assert_eq!(old, new, "envelope error differs for {}", shown());
            tally.refused += 1;
        }
        (Ok(old), Ok(new)) => {
            let (old_results, new_results) = (old.results(rules, partial), new.results(rules, partial));
            assert_eq!(old_results, new_results, "results differ for {} with {rules:?}", shown());
            let old_answer = Answer::build(&old_results, |i| old.echo(i)).body();
            let new_answer = Answer::build(&new_results, |i| new.echo(i)).body();
            assert_eq!(old_answer, new_answer, "answer differs for {}", shown());
            tally.streamed += usize::from(new.streamed());
            tally.records += new.len();
            tally.proven += new.proven_valid();
        }
        (old, new) => panic!("one path refused: old {old:?}, new {new:?}, body {}", shown()),
    }
}

#[test]
fn the_streaming_pass_answers_exactly_as_the_view_path_on_random_uploads() {
    let mut source = Gen::new(0x5eed_2026);
    let mut tally = Tally::default();
    for _ in 0..20_000 {
        let (body, rules) = (source.body(), source.rules());
        let partial: &[usize] = if source.chance(0.1) { &[1, 3] } else { &[] };
        compare(&body, &rules, partial, &mut tally);
    }
    // The comparison means something only if both paths were taken often.
    println!(
        "{} bodies: {} streamed, {} refused; {} records, {} proven valid in the pass",
        tally.bodies, tally.streamed, tally.refused, tally.records, tally.proven
    );
    assert!(tally.streamed > tally.bodies / 3, "streamed {} of {}", tally.streamed, tally.bodies);
    assert!(tally.proven > tally.records / 10, "proven {} of {} records", tally.proven, tally.records);
    assert!(tally.proven < tally.records, "some records must take the slow path");
    assert!(tally.refused > 100, "refused {}", tally.refused);
}

#[test]
fn the_perf_kit_body_is_proven_valid_in_one_pass() {
    let record = |i: usize| {
        format!(
            r#"{{"identity":"user-{i}","ts":{},"type":"event","evtName":"subscription_renewed","evtData":{{"platform":"iOS","product_id":"com.example.pro.monthly","revenue":6.993,"currency":"EUR"}}}}"#,
            1_717_000_000 + i
        )
    };
    let body = format!("{{\"d\":[{}]}}", (0..1000).map(record).collect::<Vec<_>>().join(","));
    let upload = Upload::read(body.as_bytes(), &Rules::default()).unwrap();
    assert!(upload.streamed());
    assert_eq!((upload.len(), upload.proven_valid()), (1000, 1000));
}

#[test]
fn what_serde_json_refuses_is_refused() {
    let rules = Rules::default();
    let ok = r#"{"type":"event","identity":"u","evtName":"e","evtData":{"v":VALUE}}"#;
    for value in [
        "01",
        "1.",
        "-",
        ".5",
        "+1",
        "1e",
        "1e+",
        "1e400",
        "nul",
        "tru",
        "[1,]",
        "{\"a\":1,}",
        "{,}",
        "[,1]",
        "\"\\ud800\"",
        "\"\\udc00\"",
        "\"\\x\"",
        "\"\u{1}\"",
        "\"\\u12\"",
        "{1:2}",
        "[1 2]",
        "{\"a\" 1}",
    ] {
        let body = format!("{{\"d\":[{}]}}", ok.replace("VALUE", value));
        assert_eq!(Upload::read(body.as_bytes(), &rules).unwrap_err().status, 400, "{value}");
    }
    for value in ["1e308", "-0", "0.5e-400", "\"\\ud83d\\ude00\"", "\"\\u00e9\\/\"", "[[[[1]]]]"] {
        let body = format!("{{\"d\":[{}]}}", ok.replace("VALUE", value));
        assert!(Upload::read(body.as_bytes(), &rules).is_ok(), "{value}");
    }
    for body in ["", " ", "[]", "{\"d\":[]}", "{\"d\":{}}", "{\"d\":[1]} x", "\u{feff}{\"d\":[1]}"] {
        assert_eq!(Upload::read(body.as_bytes(), &rules).unwrap_err().status, 400, "{body:?}");
    }
}

/// Writes 2,000 generated bodies to the directory `$QC_STREAM_CORPUS`, to compare the answers
/// of two builds of the binary (docs/architecture.md, "Validation without allocation storms").
#[test]
#[ignore = "writes files; run by hand with QC_STREAM_CORPUS=DIR"]
fn write_a_corpus_of_generated_bodies() {
    let dir = std::env::var("QC_STREAM_CORPUS").expect("QC_STREAM_CORPUS=DIR");
    let mut source = Gen::new(0xc0_5e);
    for i in 0..2000 {
        std::fs::write(format!("{dir}/body-{i:04}.json"), source.body())
            .expect("the corpus directory is writable");
    }
}
