//! Tests: driver. Spawning relays, readiness, output tails, shutdown, and that no
//! process of a relay's group survives (checked against the OS through `/proc`).

use std::path::PathBuf;
use std::time::{Duration, Instant};

use qc_harness::relay::{RelayLaunch, RunningRelay, group_members, start_relay};
use qc_harness::{Error, RelaySpec, RelayTarget, Settings};

fn listen_py() -> String {
    format!("python3 '{}/tests/relays/listen.py'", env!("CARGO_MANIFEST_DIR"))
}

fn command_spec(command: String) -> RelaySpec {
    RelaySpec::new(RelayTarget::Command(command))
}

fn launch() -> RelayLaunch {
    RelayLaunch::new("http://127.0.0.1:9", Settings::default())
}

async fn start(spec: &RelaySpec) -> RunningRelay {
    let started = tokio::time::timeout(Duration::from_secs(20), start_relay(spec, launch())).await;
    started.expect("start_relay has its own deadline").expect("the relay starts")
}

async fn start_err(spec: &RelaySpec) -> (String, String) {
    let started = tokio::time::timeout(Duration::from_secs(20), start_relay(spec, launch())).await;
    match started.expect("start_relay has its own deadline") {
        Err(Error::Relay { message, tail }) => (message, tail),
        Err(other) => panic!("expected a relay error, got {other}"),
        Ok(relay) => panic!("expected an error, the relay started at {}", relay.base_url()),
    }
}

/// The pgid a shell relay wrote to `file` (`echo $$ > file`: `sh -c` leads its group).
fn read_pgid(file: &std::path::Path) -> i32 {
    std::fs::read_to_string(file).expect("pid file").trim().parse().expect("a pid")
}

fn assert_group_gone(pgid: i32) {
    let left = group_members(pgid);
    assert!(left.is_empty(), "processes of group {pgid} still alive: {left:?}");
}

#[tokio::test]
async fn reports_startup_timeout_with_the_stderr_tail() {
    let dir = tempfile::tempdir().unwrap();
    let pid_file = dir.path().join("pid");
    let command = format!(
        "echo $$ > '{}'; echo 'loading config' >&2; echo 'fatal: cannot open database' >&2; \
         sleep 300 & sleep 300",
        pid_file.display()
    );
    let mut spec = command_spec(command);
    spec.startup_timeout = Duration::from_millis(600);
    let started = Instant::now();
    let (message, tail) = start_err(&spec).await;
    assert!(started.elapsed() < Duration::from_secs(5), "timed out after {:?}", started.elapsed());
    assert!(message.contains("start-up timeout of 0.6 s"), "{message}");
    assert!(message.contains("TCP connection"), "{message}");
    assert!(tail.contains("fatal: cannot open database"), "tail: {tail}");
    assert_group_gone(read_pgid(&pid_file));
}

#[tokio::test]
async fn the_error_message_carries_the_tail_for_users() {
    let mut spec = command_spec("echo 'bad flag --frobnicate' >&2; sleep 300".into());
    spec.startup_timeout = Duration::from_millis(300);
    let err = start_relay(&spec, launch()).await.unwrap_err();
    assert_eq!(err.exit_code(), 3);
    let text = err.to_string();
    assert!(text.contains("--- relay output (last lines) ---\nbad flag --frobnicate"), "{text}");
}

#[tokio::test]
async fn reports_a_relay_that_exits_at_once() {
    let spec = command_spec("echo 'boom: RELAY_SECRET is not set' >&2; exit 7".into());
    let started = Instant::now();
    let (message, tail) = start_err(&spec).await;
    assert!(started.elapsed() < Duration::from_secs(3), "took {:?}", started.elapsed());
    assert_eq!(message, "the relay exited with code 7 before it was ready");
    assert!(tail.contains("boom: RELAY_SECRET is not set"), "tail: {tail}");
}

#[tokio::test]
async fn reports_a_command_that_does_not_exist() {
    let (message, tail) = start_err(&command_spec("./no-such-relay-binary --port {port}".into())).await;
    assert!(message.contains("exited with code 127"), "{message}");
    assert!(tail.contains("no-such-relay-binary"), "tail: {tail}");
}

#[tokio::test]
async fn kills_a_relay_that_ignores_sigterm() {
    let relay = start(&command_spec(format!("{} --ignore-term --children 2", listen_py()))).await;
    let pgid = relay.process_group().expect("a spawned relay has a group");
    assert!(group_members(pgid).len() >= 3, "relay and its children: {:?}", group_members(pgid));
    let started = Instant::now();
    tokio::time::timeout(Duration::from_secs(15), relay.stop()).await.expect("stop has a deadline").unwrap();
    let took = started.elapsed();
    assert!(took >= Duration::from_secs(5), "SIGKILL must wait the 5 s grace, took {took:?}");
    assert!(took < Duration::from_secs(8), "SIGKILL right after the grace, took {took:?}");
    assert_group_gone(pgid);
}

#[tokio::test]
async fn stops_a_well_behaved_relay_quickly_with_sigterm() {
    let relay = start(&command_spec(format!("{} --children 1", listen_py()))).await;
    let pgid = relay.process_group().unwrap();
    assert_eq!(relay.exit_status(), None);
    let started = Instant::now();
    relay.stop().await.unwrap();
    assert!(started.elapsed() < Duration::from_secs(3), "took {:?}", started.elapsed());
    assert_group_gone(pgid);
}

#[tokio::test]
async fn leaves_no_process_of_the_group_after_a_dropped_relay() {
    let relay = start(&command_spec(format!("sleep 300 & {} --ignore-term --children 2", listen_py()))).await;
    let pgid = relay.process_group().unwrap();
    assert!(group_members(pgid).len() >= 4, "{:?}", group_members(pgid));
    drop(relay);
    // Drop kills at once but does not wait (it may run on a runtime thread).
    let deadline = Instant::now() + Duration::from_secs(3);
    while !group_members(pgid).is_empty() && Instant::now() < deadline {
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    assert_group_gone(pgid);
}

#[tokio::test]
async fn detects_a_relay_that_dies_while_running() {
    let dir = tempfile::tempdir().unwrap();
    let marker = dir.path().join("die");
    let command = format!(
        "{} & while [ ! -e '{}' ]; do sleep 0.05; done; echo 'relay crashed' >&2; kill $!; exit 3",
        listen_py(),
        marker.display()
    );
    let relay = start(&command_spec(command)).await;
    std::fs::write(&marker, "").unwrap();
    let deadline = Instant::now() + Duration::from_secs(5);
    while relay.exit_status().is_none() && Instant::now() < deadline {
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    assert_eq!(relay.exit_status().as_deref(), Some("exited with code 3"));
    let err = relay.error("webhook delivery failed").to_string();
    assert!(err.contains("(the relay exited with code 3)"), "{err}");
    assert!(err.contains("relay crashed"), "{err}");
}

#[tokio::test]
async fn sets_the_contract_environment_placeholders_and_settings_file() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("env.json");
    let command = format!(
        "{} --env-out '{}' {{port}} {{clevertap_url}} {{account_id}} {{passcode}} {{region}} {{token}} {{settings}}",
        listen_py(),
        out.display()
    );
    let mut settings = Settings { send_sandbox: true, ..Settings::default() };
    settings.event_mut("trial_started").enabled = Some(false);
    let mut launch = RelayLaunch::new("http://127.0.0.1:4321/", settings.clone());
    launch.token = "tok-123".into();
    let relay = start_relay(&command_spec(command), launch).await.unwrap();
    let seen: serde_json::Value = serde_json::from_slice(&std::fs::read(&out).unwrap()).unwrap();
    let env = &seen["env"];
    let port = env["PORT"].as_str().unwrap();
    assert_eq!(relay.base_url(), format!("http://127.0.0.1:{port}"));
    assert_eq!(relay.webhook_url(), format!("http://127.0.0.1:{port}/webhook"));
    assert_eq!(env["CLEVERTAP_API_URL"], "http://127.0.0.1:4321");
    assert_eq!(env["CLEVERTAP_ACCOUNT_ID"], "TEST-ACC-000");
    assert_eq!(env["CLEVERTAP_PASSCODE"], "TEST-PASSCODE");
    assert_eq!(env["CLEVERTAP_REGION"], "eu1");
    assert_eq!(env["QONVERSION_WEBHOOK_TOKEN"], "tok-123");
    let settings_file = PathBuf::from(env["RELAY_SETTINGS"].as_str().unwrap());
    assert_eq!(Settings::from_file(&settings_file).unwrap(), settings);
    let argv: Vec<&str> = seen["argv"].as_array().unwrap().iter().map(|v| v.as_str().unwrap()).collect();
    let file = settings_file.display().to_string();
    let expected =
        [port, "http://127.0.0.1:4321", "TEST-ACC-000", "TEST-PASSCODE", "eu1", "tok-123", file.as_str()];
    assert_eq!(argv, expected);
    relay.stop().await.unwrap();
    assert!(!settings_file.exists(), "the settings file is removed with the relay");
}

#[tokio::test]
async fn waits_for_the_ready_path_to_answer_2xx() {
    let mut spec = command_spec(listen_py());
    spec.ready_path = Some("/ready".into());
    let relay = start(&spec).await;
    relay.stop().await.unwrap();

    let mut spec = command_spec(listen_py());
    spec.ready_path = Some("/not-ready".into());
    spec.startup_timeout = Duration::from_millis(1500);
    let (message, tail) = start_err(&spec).await;
    assert!(message.contains("answered 404"), "{message}");
    assert!(tail.contains("listen.py: ready"), "tail: {tail}");
}

#[tokio::test]
async fn keeps_only_a_bounded_tail_of_the_output() {
    let relay = start(&command_spec(format!("{} --print-lines 5000", listen_py()))).await;
    // Output is read on threads of its own: wait (with a deadline) until the last line is in.
    let deadline = Instant::now() + Duration::from_secs(10);
    while !relay.output_tail().contains("line 4999") && Instant::now() < deadline {
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    let tail = relay.output_tail();
    assert!(tail.lines().count() <= 40, "{} lines", tail.lines().count());
    assert!(tail.contains("line 4999"), "the newest lines are kept: {tail}");
    assert!(!tail.contains("line 10\n"), "old lines are dropped");
    relay.stop().await.unwrap();
}

#[tokio::test]
async fn attaches_to_a_relay_that_is_already_running() {
    let running = start(&command_spec(listen_py())).await;
    let mut spec = RelaySpec::new(RelayTarget::Url(running.base_url()));
    spec.webhook_path = "/hooks/qonversion".into();
    let attached = start_relay(&spec, launch()).await.unwrap();
    assert_eq!(attached.webhook_url(), format!("{}/hooks/qonversion", running.base_url()));
    assert_eq!(attached.process_group(), None);
    attached.stop().await.unwrap();
    running.stop().await.unwrap();
}

#[tokio::test]
async fn fails_to_attach_to_an_unreachable_url() {
    let port = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
    let mut spec = RelaySpec::new(RelayTarget::Url(format!("http://127.0.0.1:{port}")));
    spec.startup_timeout = Duration::from_millis(300);
    let (message, _) = start_err(&spec).await;
    assert!(message.contains(&format!("127.0.0.1:{port} is not reachable")), "{message}");
}

#[tokio::test]
async fn rejects_the_lines_adapter_as_an_http_relay() {
    let spec = RelaySpec::new(RelayTarget::Lines("python3 map.py".into()));
    let err = start_relay(&spec, launch()).await.unwrap_err();
    assert_eq!(err.exit_code(), 2, "{err}");
    assert!(err.to_string().contains("--relay-lines"), "{err}");
}

/// Set in the environment of the child test process that plays the interrupted harness.
const HELPER_ENV: &str = "QC_HARNESS_INTERRUPT_HELPER_PGID_FILE";

/// Not a test of its own: run by `kills_the_relay_group_when_the_harness_is_interrupted`
/// in a child process, it starts a relay, writes its process group to a file and waits.
#[tokio::test]
#[ignore = "helper process for kills_the_relay_group_when_the_harness_is_interrupted"]
async fn interrupt_helper_process() {
    let Ok(file) = std::env::var(HELPER_ENV) else { return };
    // The library installs no handler by itself: this program asks for one, as the CLI does.
    let exit = |code| std::process::exit(code);
    qc_harness::relay::ShutdownSignals::install(qc_harness::relay::Escalate::OnFirstSignal, exit).unwrap();
    let relay = start(&command_spec(format!("sleep 300 & {} --children 1", listen_py()))).await;
    std::fs::write(&file, relay.process_group().unwrap().to_string()).unwrap();
    tokio::time::sleep(Duration::from_secs(60)).await;
    panic!("the helper was not interrupted");
}

/// Runs the helper process, sends it `signal` once its relay runs, checks its exit code and
/// that no process of the relay's group is left.
async fn interrupted_by(signal: nix::sys::signal::Signal, code: i32) {
    let dir = tempfile::tempdir().unwrap();
    let pgid_file = dir.path().join("pgid");
    let mut child = tokio::process::Command::new(std::env::current_exe().unwrap())
        .args(["driver::interrupt_helper_process", "--exact", "--ignored", "--nocapture"])
        .env(HELPER_ENV, &pgid_file)
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .kill_on_drop(true)
        .spawn()
        .unwrap();
    let deadline = Instant::now() + Duration::from_secs(20);
    while std::fs::read_to_string(&pgid_file).map(|s| s.is_empty()).unwrap_or(true) {
        assert!(Instant::now() < deadline, "the helper never started its relay");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let pgid = read_pgid(&pgid_file);
    assert!(group_members(pgid).len() >= 3, "{:?}", group_members(pgid));
    let pid = nix::unistd::Pid::from_raw(child.id().unwrap() as i32);
    nix::sys::signal::kill(pid, signal).unwrap();
    let output = tokio::time::timeout(Duration::from_secs(15), child.wait()).await.expect("exits").unwrap();
    assert_eq!(output.code(), Some(code), "exit code after {signal}");
    assert_group_gone(pgid);
}

#[tokio::test]
async fn kills_the_relay_group_when_the_harness_is_interrupted() {
    interrupted_by(nix::sys::signal::Signal::SIGINT, 130).await;
}

#[tokio::test]
async fn kills_the_relay_group_when_the_harness_is_terminated() {
    interrupted_by(nix::sys::signal::Signal::SIGTERM, 143).await;
}

#[tokio::test]
async fn starts_again_on_another_port_when_the_port_was_taken() {
    let dir = tempfile::tempdir().unwrap();
    let marker = dir.path().join("tried");
    // The first start fails like a relay whose port was grabbed; the second one listens.
    let command = format!(
        "if [ ! -e '{m}' ]; then touch '{m}'; echo 'Error: listen EADDRINUSE: address already in use' >&2; exit 1; fi; \
         exec {}",
        listen_py(),
        m = marker.display()
    );
    let relay = start(&command_spec(command)).await;
    assert!(relay.output_tail().contains("listen.py: ready"));
    relay.stop().await.unwrap();
}

/// Starts the "relay" `echo {port} >> FILE; sleep 300` and, for each port it is given, a
/// listener process on that port started after it (a later clock tick), with `marker` as its
/// `QC_HARNESS_RELAY` when given. Returns the start's result (the relay's URL; the relay is
/// stopped) and the ports tried.
async fn start_with_a_later_listener(marker: Option<&str>) -> (qc_harness::Result<String>, Vec<String>) {
    let dir = tempfile::tempdir().unwrap();
    let port_file = dir.path().join("port");
    let command = format!("echo {{port}} >> '{}'; sleep 300", port_file.display());
    let listen = "import socket, sys, time\n\
                  s = socket.socket(); s.bind(('127.0.0.1', int(sys.argv[1]))); s.listen(16); time.sleep(300)";
    let (stop, mut stopped) = tokio::sync::oneshot::channel::<()>();
    let grabber = tokio::spawn({
        let (port_file, marker) = (port_file.clone(), marker.map(str::to_owned));
        async move {
            let mut listeners: Vec<tokio::process::Child> = Vec::new(); // killed when dropped
            loop {
                let text = std::fs::read_to_string(&port_file).unwrap_or_default();
                for port in text.lines().skip(listeners.len()) {
                    tokio::time::sleep(Duration::from_millis(30)).await; // a later clock tick
                    let mut listener = tokio::process::Command::new("python3");
                    listener.args(["-c", listen, port.trim()]).kill_on_drop(true);
                    listener.env_remove(qc_harness::relay::MARKER_ENV);
                    if let Some(marker) = &marker {
                        listener.env(qc_harness::relay::MARKER_ENV, marker);
                    }
                    listeners.push(listener.spawn().unwrap());
                }
                tokio::select! {
                    _ = &mut stopped => return,
                    () = tokio::time::sleep(Duration::from_millis(5)) => {}
                }
            }
        }
    });
    let started =
        tokio::time::timeout(Duration::from_secs(30), start_relay(&command_spec(command), launch())).await;
    let started = match started.expect("start_relay has its own deadline") {
        Ok(relay) => {
            let url = relay.base_url();
            relay.stop().await.unwrap();
            Ok(url)
        }
        Err(e) => Err(e),
    };
    let _ = stop.send(());
    grabber.await.unwrap();
    let tried = std::fs::read_to_string(&port_file).unwrap().lines().map(str::to_owned).collect();
    (started, tried)
}

/// A listener that started after the relay is taken for the relay's own (docker-proxy is
/// one), unless it carries another relay's marker: then it is another harness's relay (a
/// parallel test process, another CI shard) that took the port between the pick and the
/// relay's bind, and the relay is started again on another port.
#[tokio::test]
async fn another_harness_relay_on_the_port_is_not_taken_for_the_relay_however_late_it_started() {
    let (started, tried) = start_with_a_later_listener(Some("4242-7")).await;
    match started {
        Err(Error::Relay { message, .. }) => {
            assert!(message.contains("lost its port"), "{message}");
            assert!(message.contains("served by another program"), "{message}");
        }
        Err(other) => panic!("expected a relay error, got {other}"),
        Ok(url) => panic!("another harness's relay was taken for the relay at {url}"),
    }
    assert_eq!(tried.len(), 3, "tried on 3 different ports: {tried:?}");
    // Without a marker, the same late listener is accepted, as docker-proxy must be.
    let (started, tried) = start_with_a_later_listener(None).await;
    let url = started.expect("a later listener without a marker is the relay's");
    assert_eq!(url, format!("http://127.0.0.1:{}", tried[0]));
}

#[tokio::test]
async fn does_not_take_another_process_on_its_port_for_the_relay() {
    let dir = tempfile::tempdir().unwrap();
    let port_file = dir.path().join("port");
    // The "relay" only says which port it was given; this test grabs that port first, as
    // another program on the machine could, and answers on it.
    let command = format!("echo {{port}} >> '{}'; sleep 300", port_file.display());
    let grabber = tokio::spawn({
        let port_file = port_file.clone();
        async move {
            let mut held = Vec::new();
            loop {
                let text = std::fs::read_to_string(&port_file).unwrap_or_default();
                for port in text.lines().skip(held.len()) {
                    let port: u16 = port.trim().parse().unwrap();
                    held.push(tokio::net::TcpListener::bind(("127.0.0.1", port)).await.unwrap());
                }
                tokio::time::sleep(Duration::from_millis(5)).await;
            }
        }
    });
    let (message, _) = start_err(&command_spec(command)).await;
    grabber.abort();
    assert!(message.contains("lost its port"), "{message}");
    assert!(message.contains("served by another program"), "{message}");
    let tried = std::fs::read_to_string(&port_file).unwrap();
    assert_eq!(tried.lines().count(), 3, "tried on 3 different ports: {tried}");
}
