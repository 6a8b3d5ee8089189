//! `qc-harness prop` through the built binary: it passes correct relays and catches broken
//! ones, through `--relay-lines` and `--relay-cmd`, each shrunk to a small event.

use std::path::Path;
use std::process::{Command, Output};

use qc_harness::{FixtureCatalogue, Settings};
use serde_json::Value;

const LINES: &str = concat!("python3 ", env!("CARGO_MANIFEST_DIR"), "/tests/relays/lines/relay.py");
const HTTP: &str = concat!("python3 ", env!("CARGO_MANIFEST_DIR"), "/tests/relays/relay.py");

fn prop(args: &[&str], env: &[(&str, &str)]) -> Output {
    let mut command = Command::new(env!("CARGO_BIN_EXE_qc-harness"));
    command.arg("prop").args(args).env_remove("BREAK").env("NO_COLOR", "1");
    command.envs(env.iter().copied()).output().expect("qc-harness runs")
}

fn stdout(out: &Output) -> String {
    String::from_utf8_lossy(&out.stdout).into_owned()
}

fn stderr(out: &Output) -> String {
    String::from_utf8_lossy(&out.stderr).into_owned()
}

/// The printed fixture: from the line after the "ready-to-save fixture" header to the first `}` line.
fn printed_fixture(stdout: &str) -> String {
    let after = stdout.split_once("ready-to-save fixture").expect("a fixture is printed").1;
    let body = after.split_once('\n').unwrap().1;
    let end = body.find("\n}\n").expect("the fixture ends with a `}` line");
    body[..end + 2].to_string()
}

/// Checks a caught failure: exit 1, the property named, a small shrunk event; returns it.
fn assert_caught(out: &Output, property: &str) -> Value {
    let text = stdout(out);
    assert_eq!(out.status.code(), Some(1), "stdout:\n{text}\nstderr:\n{}", stderr(out));
    assert!(text.contains(&format!("property {property} failed")), "{text}");
    assert!(text.contains("  expected: ") && text.contains("  observed: "), "{text}");
    assert!(text.contains("replay: qc-harness prop") && text.contains("--seed 11"), "{text}");
    let fixture = printed_fixture(&text);
    let event: Value = serde_json::from_str(&fixture).expect("the printed fixture is JSON");
    let keys = event.as_object().unwrap().len();
    assert!(
        keys <= 5 && fixture.len() <= 320,
        "not shrunk enough ({keys} keys, {} bytes):\n{fixture}",
        fixture.len()
    );
    event
}

fn lines_bug(bug: &str) -> Output {
    prop(&["--relay-lines", &format!("{LINES} --bug {bug}"), "--cases", "500", "--seed", "11"], &[])
}

#[test]
fn passes_a_correct_json_lines_relay() {
    let out = prop(&["--relay-lines", LINES, "--cases", "2000", "--seed", "11"], &[]);
    assert_eq!(out.status.code(), Some(0), "{}{}", stdout(&out), stderr(&out));
    assert!(stdout(&out).contains("2000 cases passed, every property held (seed 11)"));
}

#[test]
fn catches_gross_instead_of_proceeds() {
    let event = assert_caught(&lines_bug("gross"), "revenue_rule");
    assert!(event.get("price").is_some() || event.get("revenue").is_some(), "{event}");
}

#[test]
fn catches_positive_refunds() {
    let event = assert_caught(&lines_bug("positive_refunds"), "refunds_are_negative");
    assert!(event["event_name"].as_str().unwrap().ends_with("_refunded"), "{event}");
}

#[test]
fn catches_a_sandbox_leak() {
    let event = assert_caught(&lines_bug("sandbox_leak"), "nothing_uploaded_when_not_forwarded");
    assert_ne!(event.get("environment"), Some(&Value::from("production")), "{event}");
}

#[test]
fn catches_a_wrong_identity() {
    let out = lines_bug("wrong_identity");
    let text = stdout(&out);
    let property = ["identity_rule", "nothing_uploaded_when_not_forwarded"]
        .into_iter()
        .find(|p| text.contains(&format!("property {p} failed")))
        .unwrap_or("identity_rule");
    let event = assert_caught(&out, property);
    assert!(event.get("user_id").is_some(), "{event}");
}

#[test]
fn catches_ignored_custom_names() {
    let out = lines_bug("custom_names");
    assert_caught(&out, "event_name_rule");
    assert!(stdout(&out).contains("\"name\": \""), "the settings with the custom name are printed");
}

#[test]
fn catches_revenue_in_usd() {
    let event = assert_caught(&lines_bug("usd"), "revenue_rule");
    let usd = event.pointer("/price/value_usd").or(event.pointer("/revenue/value_usd"));
    assert!(usd.is_some(), "the shrunk event keeps the USD amount the relay sent: {event}");
}

#[test]
fn catches_the_price_currency_where_the_revenue_currency_rules() {
    assert_currency_rule_caught(&lines_bug("price_currency"));
}

/// `prop` caught the price's currency sent where the revenue's rules, on an event with both.
fn assert_currency_rule_caught(out: &Output) {
    let event = assert_caught(out, "revenue_rule");
    assert_ne!(event.pointer("/price/currency"), event.pointer("/revenue/currency"), "{event}");
}

#[test]
fn catches_the_revenue_value_taken_for_the_gross_price() {
    let event = assert_caught(&lines_bug("revenue_as_gross"), "revenue_rule");
    assert_ne!(event.pointer("/price/value"), event.pointer("/revenue/value"), "{event}");
}

#[test]
fn catches_timestamps_in_milliseconds() {
    assert_caught(&lines_bug("ts_millis"), "clevertap_accepts_the_record");
}

#[test]
fn catches_a_forwarded_downgrade() {
    let event = assert_caught(&lines_bug("downgraded"), "nothing_uploaded_when_not_forwarded");
    assert_eq!(event["event_name"], "subscription_downgraded");
}

#[test]
fn catches_duplicate_records() {
    assert_caught(&lines_bug("twice"), "at_most_one_record");
}

#[test]
fn catches_a_relay_that_dies_on_an_event_and_restarts_it() {
    let event = assert_caught(&lines_bug("crash_numeric_id"), "relay_answers");
    assert!(event.pointer("/transaction/transaction_id").is_some_and(Value::is_number), "{event}");
}

fn http_bug(mode: &str) -> Output {
    prop(&["--relay-cmd", HTTP, "--cases", "300", "--seed", "11"], &[("BREAK", mode)])
}

#[test]
fn passes_a_correct_relay_over_http() {
    let out = prop(&["--relay-cmd", HTTP, "--cases", "200", "--seed", "11"], &[]);
    assert_eq!(out.status.code(), Some(0), "{}{}", stdout(&out), stderr(&out));
}

#[test]
fn passes_the_built_in_reference_relay() {
    let out = prop(&["--cases", "200", "--seed", "5"], &[]);
    assert_eq!(out.status.code(), Some(0), "{}{}", stdout(&out), stderr(&out));
}

#[test]
fn catches_a_sandbox_leak_over_http() {
    assert_caught(&http_bug("leak-sandbox"), "nothing_uploaded_when_not_forwarded");
}

#[test]
fn catches_gross_revenue_over_http() {
    assert_caught(&http_bug("gross-always"), "revenue_rule");
}

#[test]
fn catches_a_disabled_event_forwarded_over_http() {
    assert_caught(&http_bug("forward-disabled"), "nothing_uploaded_when_not_forwarded");
}

/// `tests/relays/correct/relay.py` with one planted mapping bug, over HTTP.
fn http_mapping_bug(bug: &str) -> Output {
    let relay = concat!("python3 ", env!("CARGO_MANIFEST_DIR"), "/tests/relays/correct/relay.py");
    prop(&["--relay-cmd", relay, "--cases", "300", "--seed", "11"], &[("MAPPING_BUG", bug)])
}

#[test]
fn catches_the_price_currency_over_http() {
    assert_currency_rule_caught(&http_mapping_bug("price-currency"));
}

#[test]
fn catches_a_per_event_revenue_switch_overriding_the_global_one_over_http() {
    let out = http_mapping_bug("per-event-revenue-wins");
    assert_caught(&out, "revenue_rule");
    assert!(stdout(&out).contains("\"send_revenue\": false"), "the settings are printed:\n{}", stdout(&out));
}

#[test]
fn passes_a_correct_relay_that_uploads_after_answering() {
    // BATCH=1: the relay answers the webhook first and uploads from a background flusher.
    let out = prop(&["--relay-cmd", HTTP, "--cases", "60", "--seed", "11"], &[("BATCH", "1")]);
    assert_eq!(out.status.code(), Some(0), "{}{}", stdout(&out), stderr(&out));
}

#[test]
fn catches_duplicate_uploads_of_a_relay_that_uploads_after_answering() {
    let env = [("BATCH", "1"), ("BREAK", "double-upload")];
    let out = prop(&["--relay-cmd", HTTP, "--cases", "60", "--seed", "11"], &env);
    assert_caught(&out, "at_most_one_record");
}

#[test]
fn the_same_seed_replays_the_same_failure() {
    let first = stdout(&lines_bug("gross"));
    let second = stdout(&lines_bug("gross"));
    assert_eq!(printed_fixture(&first), printed_fixture(&second));
    assert_eq!(first, second);
}

#[test]
fn save_failure_writes_a_loadable_fixture_and_its_settings() {
    let dir = tempfile::tempdir().unwrap();
    let target = dir.path().join("found");
    let bug = format!("{LINES} --bug custom_names");
    let args = ["--relay-lines", &bug, "--seed", "11", "--save-failure", target.to_str().unwrap()];
    let out = prop(&args, &[]);
    assert_eq!(out.status.code(), Some(1));
    let catalogue = FixtureCatalogue::from_dir(&target).unwrap();
    assert_eq!(catalogue.events.len(), 1);
    let fixture = &catalogue.events[0];
    assert!(fixture.name.ends_with(".prop-11"), "{}", fixture.name);
    let saved = std::fs::read_to_string(target.join(format!("{}.json", fixture.name))).unwrap();
    assert_eq!(saved.trim_end(), printed_fixture(&stdout(&out)).trim_end());
    let settings =
        Settings::from_file(target.join("settings").join(format!("{}.json", fixture.name))).unwrap();
    assert!(settings.events.values().any(|e| e.name.as_ref().is_some_and(|n| !n.is_empty())));
}

#[test]
fn a_relay_that_cannot_start_exits_3_with_its_stderr() {
    let dying = "python3 -c 'import sys; sys.stderr.write(\"no module named mapping\\n\"); sys.exit(1)'";
    let out = prop(&["--relay-lines", dying], &[]);
    assert_eq!(out.status.code(), Some(3));
    assert!(stderr(&out).contains("no module named mapping"), "{}", stderr(&out));
    let out = prop(&["--relay-cmd", "echo listening-nowhere >&2; exit 1", "--startup-timeout", "2"], &[]);
    assert_eq!(out.status.code(), Some(3));
    assert!(stderr(&out).contains("listening-nowhere"), "{}", stderr(&out));
}

#[test]
fn bad_flags_and_settings_exit_2_naming_the_problem() {
    let dir = tempfile::tempdir().unwrap();
    let bad = dir.path().join("settings.json");
    std::fs::write(&bad, r#"{"events": {"trial_started": {"enabled": "yes"}}}"#).unwrap();
    let out = prop(&["--relay-lines", LINES, "--settings", bad.to_str().unwrap()], &[]);
    assert_eq!(out.status.code(), Some(2));
    assert!(stderr(&out).contains("events.trial_started.enabled"), "{}", stderr(&out));
    let missing = prop(&["--relay-lines", LINES, "--settings", "/nonexistent/s.json"], &[]);
    assert_eq!(missing.status.code(), Some(2));
    assert_eq!(prop(&["--relay-lines", LINES, "--cases", "0"], &[]).status.code(), Some(2));
    assert_eq!(prop(&["--relay-lines", LINES, "--relay-cmd", "x"], &[]).status.code(), Some(2));
}

#[test]
fn fixed_settings_are_used_for_every_case() {
    let dir = tempfile::tempdir().unwrap();
    let settings = dir.path().join("s.json");
    std::fs::write(&settings, r#"{"send_sandbox": true}"#).unwrap();
    // With send_sandbox on, a relay that ignores send_sandbox is correct.
    let bug = format!("{LINES} --bug sandbox_leak");
    let out = prop(&["--relay-lines", &bug, "--settings", settings.to_str().unwrap(), "--seed", "11"], &[]);
    assert_eq!(out.status.code(), Some(0), "{}", stdout(&out));
    assert!(Path::new(&settings).exists());
}

#[test]
fn help_shows_examples() {
    let out = prop(&["--help"], &[]);
    let text = stdout(&out);
    for flag in
        ["--relay-lines", "--relay-cmd", "--relay-url", "--cases", "--seed", "--save-failure", "Examples:"]
    {
        assert!(text.contains(flag), "{flag} missing from:\n{text}");
    }
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port()
}

/// Kills the relay a test started by hand, also when the test fails.
struct Started(std::process::Child);

impl Drop for Started {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

#[test]
fn checks_a_running_relay_given_by_url() {
    let (port, clevertap) = (free_port(), free_port());
    let relay = Command::new(env!("CARGO_BIN_EXE_qc-harness"))
        .arg("reference-relay")
        .env("PORT", port.to_string())
        .env("CLEVERTAP_API_URL", format!("http://127.0.0.1:{clevertap}"))
        .env("CLEVERTAP_ACCOUNT_ID", qc_harness::DEFAULT_ACCOUNT_ID)
        .env("CLEVERTAP_PASSCODE", qc_harness::DEFAULT_PASSCODE)
        .env("CLEVERTAP_REGION", "eu1")
        .env("QONVERSION_WEBHOOK_TOKEN", qc_harness::DEFAULT_TOKEN)
        .stderr(std::process::Stdio::null())
        .spawn()
        .unwrap();
    let _relay = Started(relay);
    let url = format!("http://127.0.0.1:{port}");
    let listen = format!("127.0.0.1:{clevertap}");
    let out =
        prop(&["--relay-url", &url, "--clevertap-listen", &listen, "--cases", "150", "--seed", "3"], &[]);
    assert_eq!(out.status.code(), Some(0), "{}{}", stdout(&out), stderr(&out));
    assert!(stdout(&out).contains("150 cases passed"));
}
