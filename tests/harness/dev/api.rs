//! The JSON API of `qc-harness dev` over plain HTTP.

use qc_harness::dev::DevConfig;
use qc_harness::{RelaySpec, RelayTarget};
use serde_json::{Value, json};

use super::{DEADLINE, Dev, test_relay};

fn texts(value: &Value) -> Vec<String> {
    value.as_array().unwrap().iter().map(|v| v.as_str().unwrap().to_string()).collect()
}

#[tokio::test]
async fn a_sent_fixture_shows_its_record_matching_the_reference() {
    let dev = Dev::start(test_relay("")).await;
    let webhook = dev.call("POST", "/api/send", Some(json!({"fixture": "trial_started.ios"})), 200).await;
    assert_eq!(webhook["delivered"], true, "{webhook:#}");
    assert_eq!(webhook["expected"].as_array().unwrap().len(), 1);
    let page = dev.wait_for("/api/records", |p| p["total"] == 1).await;
    let record = &page["items"][0];
    assert_eq!(record["outcome"], "processed");
    assert_eq!(record["explained"], "processed");
    assert_eq!(record["matches"], true, "{record:#}");
    assert_eq!(record["webhook_id"], webhook["id"]);
    assert_eq!(record["evt_name"], "trial_started");
    dev.stop().await;
}

#[tokio::test]
async fn a_broken_relay_shows_the_code_in_words_and_the_field_differences() {
    let dev = Dev::start(test_relay("ms-timestamp,extra-key")).await;
    dev.call("POST", "/api/send", Some(json!({"fixture": "trial_started"})), 200).await;
    // The test relay uploads a record CleverTap did not process again (3 times in all).
    let page = dev.wait_for("/api/records", |p| p["total"].as_u64() >= Some(1)).await;
    let items = page["items"].as_array().unwrap();
    let record = items.last().unwrap();
    assert_eq!(record["outcome"], "unprocessed");
    assert_eq!(record["code"], 525);
    assert!(
        record["explained"].as_str().unwrap().contains("ts is not a Unix timestamp in seconds"),
        "{record:#}"
    );
    assert_eq!(record["matches"], false);
    let differences = texts(&record["differences"]);
    assert!(differences.iter().any(|d| d.starts_with("ts: expected ")), "{differences:?}");
    assert!(
        differences.iter().any(|d| d == "evtData.sandbox: unexpected key (observed false)"),
        "{differences:?}"
    );
    assert!(
        differences
            .iter()
            .any(|d| d.starts_with("CleverTap did not process request #1 record #1: unprocessed, code 525"))
    );
    dev.stop().await;
}

#[tokio::test]
async fn overrides_are_applied_like_send_set_and_bad_ones_are_refused() {
    let dev = Dev::start(test_relay("")).await;
    let set = json!({"fixture": "subscription_renewed.ios", "set": ["revenue.value=4.99", "environment=production"]});
    let webhook = dev.call("POST", "/api/send", Some(set), 200).await;
    assert_eq!(webhook["body"]["revenue"]["value"], 4.99);
    assert_eq!(texts(&webhook["overrides"]), ["revenue.value=4.99", "environment=production"]);
    let bad = json!({"fixture": "subscription_renewed.ios", "set": ["revenue.value"]});
    let error = dev.call("POST", "/api/send", Some(bad), 400).await;
    assert_eq!(error["error"], "--set revenue.value: expected PATH=VALUE, e.g. `revenue.value=4.99`");
    let wrong_type = json!({"fixture": "subscription_renewed.ios", "set": ["time=\"soon\""]});
    let error = dev.call("POST", "/api/send", Some(wrong_type), 400).await;
    assert!(error["error"].as_str().unwrap().contains("time"), "{error}");
    dev.stop().await;
}

#[tokio::test]
async fn every_bad_input_gets_a_clear_error() {
    let dev = Dev::start(test_relay("")).await;
    let cases: [(&str, &str, Option<Value>, u16, &str); 11] = [
        ("POST", "/api/send", Some(json!({"fixture": "nope"})), 400, "unknown fixture \"nope\""),
        ("POST", "/api/send", Some(json!({"fixture": "trial", "sets": []})), 422, "unknown field `sets`"),
        ("POST", "/api/send", Some(json!({"fixture": "renewed"})), 400, "did you mean"),
        (
            "POST",
            "/api/journey",
            Some(json!({"journey": "nope"})),
            400,
            "unknown journey \"nope\"; journeys:",
        ),
        (
            "POST",
            "/api/variant",
            Some(json!({"name": "nope"})),
            400,
            "unknown settings variant \"nope\"; variants: default, gross",
        ),
        ("POST", "/api/faults", Some(json!({"fault": "418"})), 400, "invalid fault `418`"),
        (
            "POST",
            "/api/faults",
            Some(json!({"fault": "500", "seed": 1})),
            400,
            "seed and rate are for chaos only",
        ),
        ("DELETE", "/api/faults/99", None, 404, "no fault with id 99"),
        ("GET", "/api/records?limit=0", None, 400, "limit 0: must be between 1 and 500"),
        ("GET", "/api/records?outcome=odd", None, 400, "outcome \"odd\""),
        ("GET", "/api/nothing", None, 404, "no such API endpoint"),
    ];
    for (method, path, body, status, message) in cases {
        let error = dev.call(method, path, body, status).await;
        let text = error["error"].as_str().unwrap();
        assert!(text.contains(message), "{method} {path}: {text:?} should contain {message:?}");
    }
    let raw = dev.http.post(format!("{}/api/send", dev.base)).body("fixture=x").send().await.unwrap();
    assert_eq!(raw.status(), 415, "a form post is not JSON");
    assert!(raw.text().await.unwrap().contains("Content-Type"));
    dev.stop().await;
}

#[tokio::test]
async fn a_429_fault_shows_the_relays_retry() {
    let dev = Dev::start(test_relay("")).await;
    let rule = dev.call("POST", "/api/faults", Some(json!({"fault": "429", "count": 1})), 201).await;
    assert_eq!((rule["from"].as_u64(), rule["to"].as_u64()), (Some(1), Some(1)));
    dev.call("POST", "/api/send", Some(json!({"fixture": "trial_started.ios"})), 200).await;
    let uploads = dev.wait_for("/api/uploads", |p| p["total"] == 2).await;
    let (retry, first) = (&uploads["items"][0], &uploads["items"][1]);
    assert_eq!((first["seq"].as_u64(), first["status"].as_u64()), (Some(1), Some(429)));
    assert_eq!(first["fault"], "HTTP 429 without Retry-After");
    assert_eq!((retry["seq"].as_u64(), retry["status"].as_u64()), (Some(2), Some(200)));
    assert_eq!(retry["retry_of"], 1, "{uploads:#}");
    let records = dev.get("/api/records?outcome=rejected", 200).await;
    assert_eq!(records["total"], 1);
    assert!(records["items"][0]["explained"].as_str().unwrap().starts_with("HTTP 429: too many requests"));
    dev.stop().await;
}

#[tokio::test]
async fn every_fault_kind_is_listed_and_removable() {
    let dev = Dev::start(test_relay("")).await;
    let kinds = ["429", "429:2", "500", "503", "delay:20", "drop", "partial:1", "chaos"];
    for kind in kinds {
        let mut request = json!({"fault": kind, "count": 3});
        if kind == "chaos" {
            request = json!({"fault": "chaos", "seed": 7, "rate": 0.5});
        }
        dev.call("POST", "/api/faults", Some(request), 201).await;
    }
    let rules = dev.get("/api/faults", 200).await;
    let specs: Vec<&str> = rules.as_array().unwrap().iter().map(|r| r["spec"].as_str().unwrap()).collect();
    assert_eq!(specs, ["429", "429:2", "500", "503", "delay:20ms", "drop", "partial:1", "chaos"]);
    let first = rules[0]["id"].as_u64().unwrap();
    let left = dev.call("DELETE", &format!("/api/faults/{first}"), None, 200).await;
    assert_eq!(left.as_array().unwrap().len(), 7);
    let none = dev.call("DELETE", "/api/faults", None, 200).await;
    assert_eq!(none, json!([]));
    dev.stop().await;
}

#[tokio::test]
async fn switching_the_variant_restarts_the_relay_with_its_settings() {
    let dev = Dev::start(test_relay("")).await;
    let switched = dev.call("POST", "/api/variant", Some(json!({"name": "renamed"})), 200).await;
    assert_eq!(switched["variant"], "renamed");
    assert_eq!(switched["relay"]["starts"], 2);
    assert_eq!(switched["relay"]["state"], "running");
    let webhook = dev.call("POST", "/api/send", Some(json!({"fixture": "trial_started.ios"})), 200).await;
    assert_eq!(webhook["variant"], "renamed");
    let page = dev.wait_for("/api/records", |p| p["total"] == 1).await;
    assert_eq!(page["items"][0]["evt_name"], "QC Trial Started");
    assert_eq!(page["items"][0]["matches"], true, "{page:#}");
    dev.stop().await;
}

#[tokio::test]
async fn a_journey_sends_every_event_in_order() {
    let dev = Dev::start(test_relay("")).await;
    let fixtures = dev.get("/api/fixtures", 200).await;
    let journey = &fixtures["journeys"][0];
    let sent = dev.call("POST", "/api/journey", Some(json!({"journey": journey["name"]})), 200).await;
    let names: Vec<&Value> = sent.as_array().unwrap().iter().map(|w| &w["event_name"]).collect();
    let wanted: Vec<&Value> = journey["events"].as_array().unwrap().iter().collect();
    assert_eq!(names, wanted);
    assert!(sent.as_array().unwrap().iter().all(|w| w["delivered"] == true));
    dev.stop().await;
}

#[tokio::test]
async fn the_fixture_search_matches_every_word() {
    let dev = Dev::start(test_relay("")).await;
    let found = dev.get("/api/fixtures?q=renewed%20android", 200).await;
    let names: Vec<&str> =
        found["fixtures"].as_array().unwrap().iter().map(|f| f["name"].as_str().unwrap()).collect();
    assert!(!names.is_empty());
    assert!(names.iter().all(|n| n.contains("renewed") && n.contains("android")), "{names:?}");
    let none = dev.get("/api/fixtures?q=zzzz", 200).await;
    assert_eq!(none["fixtures"], json!([]));
    dev.stop().await;
}

#[tokio::test]
async fn the_journal_downloads_as_json_and_clears() {
    let dev = Dev::start(test_relay("")).await;
    dev.call("POST", "/api/send", Some(json!({"fixture": "trial_started.ios"})), 200).await;
    dev.wait_for("/api/uploads", |p| p["total"] == 1).await;
    let response = dev.http.get(format!("{}/api/journal", dev.base)).send().await.unwrap();
    let disposition = response.headers()["content-disposition"].to_str().unwrap().to_string();
    assert!(disposition.starts_with("attachment"), "{disposition}");
    let journal: Value = response.json().await.unwrap();
    assert_eq!(journal.as_array().unwrap().len(), 1);
    assert_eq!(journal[0]["headers"]["x-clevertap-passcode"], "[redacted]");
    let cleared = dev.call("DELETE", "/api/journal", None, 200).await;
    assert_eq!(cleared["cleared"], 1);
    let state = dev.get("/api/state", 200).await;
    assert_eq!(
        state["counts"],
        json!({"webhooks": 0, "uploads": 0, "records": 0, "processed": 0, "dropped_from_journal": 0})
    );
    dev.stop().await;
}

#[tokio::test]
async fn the_page_never_shows_the_passcode_or_the_token() {
    let token = "dev-secret-token-42";
    let mut spec = test_relay("");
    if let qc_harness::RelayTarget::Command(command) = &mut spec.target {
        *command =
            format!("echo \"token=$QONVERSION_WEBHOOK_TOKEN passcode=$CLEVERTAP_PASSCODE\"; {command}");
    }
    let mut config = DevConfig::new(spec);
    config.token = token.to_string();
    let dev = Dev::start_with(config).await;
    dev.call("POST", "/api/send", Some(json!({"fixture": "trial_started.ios"})), 200).await;
    dev.wait_for("/api/records", |p| p["total"] == 1).await;
    let relay = dev.wait_for("/api/relay", |r| r["output"].as_str().unwrap().contains("token=")).await;
    assert!(relay["output"].as_str().unwrap().contains("token=[redacted] passcode=[redacted]"), "{relay:#}");
    for path in [
        "/",
        "/app.js",
        "/api/state",
        "/api/relay",
        "/api/webhooks",
        "/api/uploads",
        "/api/records",
        "/api/journal",
    ] {
        let text = dev.http.get(format!("{}{path}", dev.base)).send().await.unwrap().text().await.unwrap();
        assert!(!text.contains(token), "{path} shows the token");
        assert!(!text.contains("TEST-PASSCODE"), "{path} shows the passcode");
    }
    dev.stop().await;
}

#[tokio::test]
async fn requests_from_other_sites_are_refused() {
    let dev = Dev::start(test_relay("")).await;
    let url = format!("{}/api/faults", dev.base);
    let foreign = dev.http.post(&url).header("origin", "http://evil.example").json(&json!({"fault": "drop"}));
    let response = foreign.send().await.unwrap();
    assert_eq!(response.status(), 403);
    assert!(response.text().await.unwrap().contains("cross-origin request from http://evil.example refused"));
    let rebound =
        dev.http.get(format!("{}/api/state", dev.base)).header("host", "evil.example").send().await.unwrap();
    assert_eq!(rebound.status(), 403);
    assert_eq!(dev.get("/api/faults", 200).await, json!([]), "nothing was changed");
    dev.stop().await;
}

#[tokio::test]
async fn the_event_stream_pushes_webhooks_and_uploads() {
    let dev = Dev::start(test_relay("")).await;
    let response = dev.http.get(format!("{}/api/events", dev.base)).send().await.unwrap();
    assert_eq!(response.headers()["content-type"], "text/event-stream");
    let mut stream = response;
    dev.call("POST", "/api/send", Some(json!({"fixture": "trial_started.ios"})), 200).await;
    let mut seen = String::new();
    let read = async {
        while !(seen.contains("event: webhook") && seen.contains("event: upload")) {
            let chunk = stream.chunk().await.unwrap().expect("the stream stays open");
            seen.push_str(&String::from_utf8_lossy(&chunk));
        }
    };
    tokio::time::timeout(DEADLINE, read).await.expect("webhook and upload events arrive");
    assert!(seen.contains("\"event_name\":\"trial_started\""), "{seen}");
    dev.stop().await;
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port()
}

#[tokio::test]
async fn a_relay_at_a_url_is_attached_and_keeps_its_own_settings() {
    let (clevertap, relay_port) = (free_port(), free_port());
    let settings = tempfile::NamedTempFile::new().unwrap();
    std::fs::write(settings.path(), qc_harness::Settings::default().to_json_pretty()).unwrap();
    let script = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/relays/relay.py");
    let launch =
        qc_harness::relay::RelayLaunch::new(format!("http://127.0.0.1:{clevertap}"), Default::default());
    let launch = qc_harness::relay::RelayLaunch { token: "url-token".to_string(), ..launch };
    let _relay = tokio::process::Command::new("python3")
        .arg(script)
        .envs(launch.environment(relay_port, settings.path()))
        .stderr(std::process::Stdio::null())
        .kill_on_drop(true)
        .spawn()
        .unwrap();
    let mut spec = RelaySpec::new(RelayTarget::Url(format!("http://127.0.0.1:{relay_port}")));
    spec.clevertap_listen = Some(format!("127.0.0.1:{clevertap}").parse().unwrap());
    let mut config = DevConfig::new(spec);
    config.token = "url-token".into();
    let dev = Dev::start_with(config).await;
    let relay = dev.get("/api/relay", 200).await;
    assert_eq!((relay["mode"].as_str(), relay["state"].as_str()), (Some("url"), Some("attached")));
    assert_eq!(relay["can_switch"], false);
    let refused = dev.call("POST", "/api/variant", Some(json!({"name": "gross"})), 409).await;
    let message = refused["error"].as_str().unwrap();
    assert!(message.starts_with("the relay at --relay-url runs with its own settings"), "{message}");
    dev.call("POST", "/api/relay/restart", None, 200).await;
    dev.call("POST", "/api/send", Some(json!({"fixture": "trial_started.ios"})), 200).await;
    let page = dev.wait_for("/api/records", |p| p["total"] == 1).await;
    assert_eq!(page["items"][0]["matches"], true, "{page:#}");
    dev.stop().await;
}

#[tokio::test]
async fn each_fault_kind_reaches_the_relay_and_shows_on_its_upload() {
    let dev = Dev::start(test_relay("")).await;
    let kinds = [
        ("429:1", 429, "HTTP 429 with Retry-After: 1"),
        ("500", 500, "HTTP 500"),
        ("503", 503, "HTTP 503"),
        ("drop", 0, "connection closed without an answer"),
        ("partial:1", 200, "records #1 unprocessed (code 500)"),
        ("delay:30", 200, "answer 30 ms late"),
    ];
    for (n, (kind, status, words)) in kinds.into_iter().enumerate() {
        dev.call("DELETE", "/api/journal", None, 200).await;
        dev.call("POST", "/api/faults", Some(json!({"fault": kind, "count": 1})), 201).await;
        // Another time each round: the relay takes the same webhook again for a redelivery.
        let send = json!({"fixture": "trial_started.ios", "set": [format!("time={}", 1_700_000_000 + n)]});
        dev.call("POST", "/api/send", Some(send), 200).await;
        let processed =
            |p: &Value| p["items"].as_array().unwrap().iter().any(|r| r["outcome"] == "processed");
        dev.wait_for("/api/records", processed).await;
        let uploads = dev.get("/api/uploads", 200).await;
        let first = uploads["items"].as_array().unwrap().last().unwrap();
        assert_eq!(
            (first["seq"].as_u64(), first["status"].as_u64()),
            (Some(1), Some(status)),
            "{kind}: {uploads:#}"
        );
        assert_eq!(first["fault"], words, "{kind}");
        let faults = dev.get("/api/faults", 200).await;
        assert!(faults.as_array().unwrap().iter().all(|f| f["used_up"] == true), "{kind}: {faults:#}");
        dev.call("DELETE", "/api/faults", None, 200).await;
    }
    dev.stop().await;
}

#[tokio::test]
async fn a_relay_that_died_is_shown_and_restarted_on_demand() {
    let dev = Dev::start(test_relay("")).await;
    let relay = dev.get("/api/relay", 200).await;
    let group = nix::unistd::Pid::from_raw(relay["process_group"].as_i64().unwrap() as i32);
    nix::sys::signal::killpg(group, nix::sys::signal::Signal::SIGKILL).unwrap();
    let dead = dev.wait_for("/api/relay", |r| r["state"] == "exited").await;
    assert!(dead["problem"].as_str().unwrap().starts_with("the relay "), "{dead:#}");
    let refused = dev.call("POST", "/api/send", Some(json!({"fixture": "trial_started.ios"})), 409).await;
    assert!(
        refused["error"].as_str().unwrap().contains("the relay is not running (it is exited"),
        "{refused}"
    );
    let restarted = dev.call("POST", "/api/relay/restart", None, 200).await;
    assert_eq!((restarted["state"].as_str(), restarted["starts"].as_u64()), (Some("running"), Some(2)));
    let webhook = dev.call("POST", "/api/send", Some(json!({"fixture": "trial_started.ios"})), 200).await;
    assert_eq!(webhook["delivered"], true);
    dev.stop().await;
}

#[tokio::test]
async fn a_settings_file_is_the_first_variant_and_the_relay_runs_with_it() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("mine.json");
    let settings = qc_harness::Settings { send_sandbox: true, ..Default::default() };
    std::fs::write(&file, settings.to_json_pretty()).unwrap();
    let mut spec = test_relay("");
    spec.settings = Some(file.clone());
    let dev = Dev::start(spec).await;
    let state = dev.get("/api/state", 200).await;
    assert_eq!(state["variant"], "mine");
    assert_eq!(state["variants"][0], json!({"name": "mine", "origin": file.display().to_string()}));
    assert_eq!(state["variants"][1]["name"], "default");
    let sandbox = json!({"fixture": "trial_started.ios", "set": ["environment=sandbox"]});
    let webhook = dev.call("POST", "/api/send", Some(sandbox), 200).await;
    assert_eq!(webhook["expected"].as_array().unwrap().len(), 1, "send_sandbox is on: {webhook:#}");
    let page = dev.wait_for("/api/records", |p| p["total"] == 1).await;
    assert_eq!(page["items"][0]["matches"], true);
    dev.stop().await;
}

#[tokio::test]
async fn with_retry_a_refused_webhook_is_delivered_again_on_qonversions_schedule() {
    let dev = Dev::start(test_relay("")).await;
    // The test relay tries an upload 7 times, then answers 503: the first delivery fails.
    dev.call("POST", "/api/faults", Some(json!({"fault": "500", "count": 7})), 201).await;
    let send = json!({"fixture": "trial_started.ios", "retry": true});
    let webhook = dev.call("POST", "/api/send", Some(send), 200).await;
    let statuses: Vec<Value> =
        webhook["attempts"].as_array().unwrap().iter().map(|a| a["status"].clone()).collect();
    assert_eq!(statuses, [json!(503), json!(200)], "{webhook:#}");
    assert_eq!(webhook["delivered"], true);
    dev.stop().await;
}
