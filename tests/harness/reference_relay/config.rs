//! The relay is configured only through the contract's environment; bad values are
//! reported with the variable (or file and JSON path) and exit code 2.

use std::process::Command;

use qc_harness::relay::{RelayLaunch, start_relay};
use qc_harness::{Error, FakeCleverTap, Settings};

fn relay_with_env(vars: &[(&str, &str)]) -> (i32, String) {
    let mut command = Command::new(env!("CARGO_BIN_EXE_qc-harness"));
    command.arg("reference-relay").env_clear();
    for (name, value) in vars {
        command.env(name, value);
    }
    let output = command.output().expect("the binary runs");
    (output.status.code().unwrap_or(-1), String::from_utf8_lossy(&output.stderr).into_owned())
}

const GOOD: [(&str, &str); 4] = [
    ("PORT", "18999"),
    ("CLEVERTAP_ACCOUNT_ID", "ACC"),
    ("CLEVERTAP_PASSCODE", "PASS"),
    ("QONVERSION_WEBHOOK_TOKEN", "tok"),
];

fn without(name: &str) -> Vec<(&'static str, &'static str)> {
    GOOD.iter().copied().filter(|(n, _)| *n != name).collect()
}

#[test]
fn names_each_missing_variable_and_exits_2() {
    for (name, _) in GOOD {
        let (code, stderr) = relay_with_env(&without(name));
        assert_eq!(code, 2, "{name}: {stderr}");
        assert!(stderr.contains(&format!("environment variable {name} is not set")), "{stderr}");
        assert!(!stderr.contains("panicked"), "{stderr}");
    }
}

#[test]
fn rejects_bad_values_with_their_variable() {
    let cases = [
        ("PORT", "eighty", "PORT \"eighty\" is not a port number"),
        ("CLEVERTAP_REGION", "mars1", "CLEVERTAP_REGION \"mars1\" is not one of eu1"),
        ("CLEVERTAP_API_URL", "ftp://x", "CLEVERTAP_API_URL \"ftp://x\" is not an http(s) URL"),
        ("WEBHOOK_PATH", "webhook", "WEBHOOK_PATH \"webhook\" must start with '/'"),
    ];
    for (name, value, message) in cases {
        let mut vars = without(name);
        vars.push((name, value));
        let (code, stderr) = relay_with_env(&vars);
        assert_eq!(code, 2, "{name}={value}: {stderr}");
        assert!(stderr.contains(message), "{name}={value}: {stderr}");
    }
}

#[test]
fn names_the_settings_file_and_json_path_of_a_bad_setting() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("settings.json");
    std::fs::write(&file, r#"{"events": {"trial_started": {"enabled": "yes"}}}"#).unwrap();
    let mut vars = GOOD.to_vec();
    let path = file.display().to_string();
    vars.push(("RELAY_SETTINGS", &path));
    let (code, stderr) = relay_with_env(&vars);
    assert_eq!(code, 2, "{stderr}");
    assert!(stderr.contains(&format!("{path}: events.trial_started.enabled")), "{stderr}");
}

#[test]
fn help_explains_the_environment_with_an_example() {
    let output =
        Command::new(env!("CARGO_BIN_EXE_qc-harness")).args(["reference-relay", "--help"]).output().unwrap();
    let help = String::from_utf8_lossy(&output.stdout);
    for name in ["PORT", "CLEVERTAP_API_URL", "QONVERSION_WEBHOOK_TOKEN", "RELAY_SETTINGS", "Example"] {
        assert!(help.contains(name), "{name} missing from:\n{help}");
    }
}

#[tokio::test]
async fn a_bad_environment_fails_the_start_with_the_relay_message() {
    let fake = FakeCleverTap::start().await;
    let mut launch = RelayLaunch::new(fake.uri(), Settings::default());
    launch.region = "nowhere9".into();
    match start_relay(&super::built_in_spec(), launch).await {
        Err(Error::Relay { message, tail }) => {
            assert!(message.contains("exited with code 2"), "{message}");
            assert!(tail.contains("CLEVERTAP_REGION \"nowhere9\""), "{tail}");
        }
        other => panic!("expected a relay error, got {other:?}"),
    }
}
