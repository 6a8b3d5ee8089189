//! Tests: every numeric flag of every subcommand refuses 0 (where 0 means nothing), negative,
//! NaN, huge and malformed values at parse time, with exit code 2 and a message naming the flag.
//!
//! The flags are listed from the clap definitions (`Cli::command()`), so a new numeric flag is
//! covered without editing this file; a new subcommand needs its required arguments below.

use std::process::Command;

use clap::CommandFactory;
use qc_harness::cli::Cli;

/// The arguments a (sub)command needs to parse at all, by its path from the root.
fn required_args(path: &str) -> Vec<&'static str> {
    match path {
        "run" | "clevertap" | "dev" | "prop" | "reference-relay" => vec![],
        "send" => vec!["trial_started", "--to", "http://127.0.0.1:9/webhook", "--token", "t"],
        "map" => vec!["event.json"],
        "parity" => vec!["--upstream", "http://127.0.0.1:9", "--account-id", "A", "--passcode", "P"],
        "completions" => vec!["bash"],
        "fixtures" => vec![],
        "report merge" => vec!["shard.json"],
        "snapshots list" | "snapshots show" | "snapshots review" => vec![],
        "snapshots accept" | "snapshots reject" => vec!["--all"],
        other => panic!("flags.rs: add the required arguments of `{other}` to required_args"),
    }
}

/// Flags that only parse together with another one.
fn companion_args(flag: &str) -> Vec<&'static str> {
    match flag {
        "chaos-rate" => vec!["--chaos", "1"],
        _ => vec![],
    }
}

/// Every (subcommand path, long flag) whose value is a number: it accepts `1` and refuses `abc`.
fn numeric_flags() -> Vec<(String, String)> {
    let root = Cli::command();
    let mut found = Vec::new();
    let mut stack: Vec<(String, clap::Command)> =
        root.get_subcommands().map(|c| (c.get_name().to_string(), c.clone())).collect();
    while let Some((path, command)) = stack.pop() {
        for sub in command.get_subcommands().filter(|s| s.get_name() != "help") {
            stack.push((format!("{path} {}", sub.get_name()), sub.clone()));
        }
        if command.has_subcommands() {
            continue;
        }
        for arg in command.get_arguments() {
            let Some(long) = arg.get_long() else { continue };
            if !arg.get_action().takes_values() {
                continue;
            }
            if parses(&path, long, "1") && !parses(&path, long, "abc") {
                found.push((path.clone(), long.to_string()));
            }
        }
    }
    found.sort();
    found
}

fn argv(path: &str, flag: &str, value: &str) -> Vec<String> {
    let mut argv = vec!["qc-harness".to_string()];
    argv.extend(path.split(' ').map(str::to_string));
    argv.extend(required_args(path).into_iter().map(str::to_string));
    argv.extend(companion_args(flag).into_iter().map(str::to_string));
    argv.push(format!("--{flag}={value}"));
    argv
}

fn parse(path: &str, flag: &str, value: &str) -> Result<(), clap::Error> {
    Cli::command().try_get_matches_from(argv(path, flag, value)).map(|_| ())
}

fn parses(path: &str, flag: &str, value: &str) -> bool {
    parse(path, flag, value).is_ok()
}

const BAD_VALUES: [&str; 9] =
    ["-1", "-0.5", "NaN", "inf", "1e30", "99999999999999999999999", "abc", "", "1e19s"];

#[test]
fn the_enumeration_finds_the_known_numeric_flags() {
    let flags = numeric_flags();
    for (path, flag) in [
        ("run", "timeout"),
        ("run", "settle"),
        ("run", "jobs"),
        ("run", "startup-timeout"),
        ("prop", "line-timeout"),
        ("prop", "cases"),
        ("clevertap", "latency"),
        ("clevertap", "chaos-rate"),
        ("clevertap", "max-concurrency"),
        ("clevertap", "max-connections"),
        ("clevertap", "header-timeout"),
        ("clevertap", "accept-retry-for"),
        ("clevertap", "threads"),
        ("send", "time-scale"),
        ("send", "timeout"),
        ("send", "delay"),
        ("dev", "startup-timeout"),
        ("parity", "timeout"),
        ("parity", "concurrency"),
    ] {
        assert!(
            flags.iter().any(|(p, f)| p == path && f == flag),
            "{path} --{flag} not found among the numeric flags {flags:?}"
        );
    }
}

#[test]
fn every_numeric_flag_refuses_bad_values_at_parse_time_naming_the_flag() {
    let mut failures = Vec::new();
    for (path, flag) in numeric_flags() {
        for value in BAD_VALUES {
            match parse(&path, &flag, value) {
                Ok(()) => failures.push(format!("{path} --{flag}={value:?} was accepted")),
                Err(e) if !e.to_string().contains(&format!("--{flag}")) => {
                    failures.push(format!("{path} --{flag}={value:?}: message does not name the flag: {e}"))
                }
                Err(_) => {}
            }
        }
        if let Err(e) = parse(&path, &flag, "0")
            && !e.to_string().contains(&format!("--{flag}"))
        {
            failures.push(format!("{path} --{flag}=0: message does not name the flag: {e}"));
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

#[test]
fn the_binary_exits_2_not_101_on_every_numeric_flag() {
    for (path, flag) in numeric_flags() {
        for value in ["NaN", "1e30", "-1"] {
            let args = &argv(&path, &flag, value)[1..];
            let out = Command::new(env!("CARGO_BIN_EXE_qc-harness")).args(args).output().unwrap();
            let stderr = String::from_utf8_lossy(&out.stderr);
            assert_eq!(out.status.code(), Some(2), "{args:?}: {stderr}");
            assert!(stderr.contains(&format!("--{flag}")), "{args:?}: {stderr}");
        }
    }
}

/// The values that panicked later (issue 12) are refused at parse time with exit code 2.
#[test]
fn huge_durations_and_scales_are_refused_before_anything_starts() {
    for args in [
        &["clevertap", "--latency", "1e19s"][..],
        &["clevertap", "--latency", "1e30s"],
        &["clevertap", "--fault", "1=delay:1e19s"],
        &["clevertap", "--fault", "1=delay:NaNs"],
        &["clevertap", "--fault", "1=delay:-5ms"],
        &["run", "--timeout", "1e20"],
        &["run", "--startup-timeout", "1e20"],
        &["prop", "--line-timeout", "1e20"],
        &[
            "send",
            "trial_started",
            "--to",
            "http://127.0.0.1:9/w",
            "--token",
            "t",
            "--retry",
            "--time-scale",
            "1e-300",
        ],
    ] {
        let out = Command::new(env!("CARGO_BIN_EXE_qc-harness")).args(args).output().unwrap();
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(2), "{args:?}: {stderr}");
        assert!(!stderr.contains("panicked"), "{args:?}: {stderr}");
        let flag = args.iter().find(|a| a.starts_with("--") && !["--to", "--token", "--retry"].contains(a));
        assert!(stderr.contains(flag.unwrap()), "{args:?}: the message names the flag: {stderr}");
    }
}

#[test]
fn durations_take_units_everywhere() {
    for (path, flag, value) in [
        ("run", "timeout", "500ms"),
        ("run", "settle", "1s"),
        ("prop", "line-timeout", "2s"),
        ("clevertap", "latency", "250ms"),
        ("send", "delay", "1m"),
        ("parity", "timeout", "90s"),
    ] {
        assert!(parses(path, flag, value), "{path} --{flag}={value} was refused");
    }
}
