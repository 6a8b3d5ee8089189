//! The `qc-harness parity` binary: exit codes, output, and the passcode never printed.

use std::process::Output;
use std::time::Duration;

use tokio::process::Command;

use super::standin::{self, ACCOUNT, Change, PASSCODE};

async fn parity(upstream: &str, passcode: &str, extra: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_qc-harness"))
        .args(["parity", "--upstream", upstream, "--account-id", ACCOUNT])
        .args(extra)
        .env("CLEVERTAP_PASSCODE", passcode)
        .env("NO_COLOR", "1")
        .output()
        .await
        .unwrap()
}

fn printed(output: &Output) -> String {
    format!("{}{}", String::from_utf8_lossy(&output.stdout), String::from_utf8_lossy(&output.stderr))
}

#[tokio::test]
async fn exit_0_without_differences_and_1_with_them_and_never_the_passcode() {
    let faithful = standin::start(&[], Duration::ZERO, 0).await;
    let output = parity(&faithful.uri, PASSCODE, &[]).await;
    let text = printed(&output);
    assert_eq!(output.status.code(), Some(0), "{text}");
    assert!(text.contains("0 differences"), "{text}");
    let changed = standin::start(&[Change::PasscodeText, Change::Text514], Duration::ZERO, 0).await;
    for extra in [&[][..], &["--json"][..], &["-v", "--passcode", PASSCODE][..]] {
        let output = parity(&changed.uri, PASSCODE, extra).await;
        let text = printed(&output);
        assert_eq!(output.status.code(), Some(1), "{text}");
        assert!(text.contains("auth-wrong-passcode") && text.contains("Passcode is not valid"), "{text}");
        assert!(!text.contains(PASSCODE), "the passcode was printed: {text}");
    }
}

#[tokio::test]
async fn exit_3_when_the_upstream_is_unreachable_or_refuses_the_credentials() {
    let closed = {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        format!("http://{}", listener.local_addr().unwrap())
    };
    let output = parity(&closed, PASSCODE, &[]).await;
    assert_eq!(output.status.code(), Some(3), "{}", printed(&output));
    assert!(printed(&output).contains("unreachable"), "{}", printed(&output));
    let standin = standin::start(&[], Duration::ZERO, 0).await;
    let output = parity(&standin.uri, "not-the-passcode", &[]).await;
    let text = printed(&output);
    assert_eq!(output.status.code(), Some(3), "{text}");
    assert!(text.contains("refuses the credentials") && !text.contains("not-the-passcode"), "{text}");
}

#[tokio::test]
async fn exit_2_on_bad_input() {
    for (upstream, extra) in [
        ("ftp://example.com", &[][..]),
        ("not a url", &[][..]),
        ("http://127.0.0.1:9", &["--concurrency", "16"][..]),
        ("http://127.0.0.1:9", &["--concurrency", "0"][..]),
    ] {
        let output = parity(upstream, PASSCODE, extra).await;
        assert_eq!(output.status.code(), Some(2), "{upstream} {extra:?}: {}", printed(&output));
        assert!(!printed(&output).contains(PASSCODE));
    }
    let missing = Command::new(env!("CARGO_BIN_EXE_qc-harness"))
        .args(["parity", "--upstream", "http://127.0.0.1:9", "--account-id", ACCOUNT])
        .env_remove("CLEVERTAP_PASSCODE")
        .output()
        .await
        .unwrap();
    assert_eq!(missing.status.code(), Some(2), "{}", printed(&missing));
    assert!(printed(&missing).contains("--passcode"), "{}", printed(&missing));
}
