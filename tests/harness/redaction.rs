//! Tests: a relay that prints its passcode and token, and uploads them in its records, never
//! gets them into the human output, the JSON or JUnit reports, or the `-vv` log.

use std::path::Path;
use std::process::Command;

const TOKEN: &str = "tok-SeCrEt-4217";
const PASSCODE: &str = "TEST-PASSCODE";

#[test]
fn leaked_secrets_are_redacted_in_every_output() {
    let dir = tempfile::tempdir().unwrap();
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/relays/relay.py");
    let relay = format!(
        "BREAK=leak-secrets python3 '{}' --passcode {{passcode}} --token {{token}}",
        script.display()
    );
    let (json, junit) = (dir.path().join("report.json"), dir.path().join("junit.xml"));
    let out = Command::new(env!("CARGO_BIN_EXE_qc-harness"))
        .args(["-vv", "run", "--relay-cmd", &relay, "--token", TOKEN, "--variants", "default"])
        .args(["--checks", "auth", "--no-snapshots", "--json"])
        .arg(&json)
        .arg("--junit")
        .arg(&junit)
        .env("NO_COLOR", "1")
        .env_remove("RUST_LOG")
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
    let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
    assert_eq!(out.status.code(), Some(1), "the leaked key fails the cases\n{stdout}\n{stderr}");
    let outputs = [
        ("stdout", stdout),
        ("stderr (-vv log)", stderr),
        ("JSON", std::fs::read_to_string(&json).unwrap()),
        ("JUnit", std::fs::read_to_string(&junit).unwrap()),
    ];
    for (name, text) in &outputs {
        assert!(!text.contains(TOKEN), "{name} shows the token:\n{text}");
        assert!(!text.contains(PASSCODE), "{name} shows the passcode:\n{text}");
        assert!(text.contains("[redacted]"), "{name} shows no [redacted] where the secrets were:\n{text}");
    }
    assert!(outputs[1].1.contains("relay started"), "-vv logs the relay command: {}", outputs[1].1);
}
