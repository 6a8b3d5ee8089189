#!/usr/bin/env bash
# What qc-harness costs a relay crate as a dev-dependency: clean `cargo test --no-run` time and
# package count for a small axum relay (a) without qc-harness, (b) with its default features,
# (c) with `default-features = false` (the lean library). Each build uses a fresh target dir.
#
#   scripts/measure-dependency-cost.sh [WORKDIR] [none|default|lean ...]
#
# Prints one line per variant. Builds are offline (the registry cache must hold the crates:
# build qc-harness once first). Numbers depend on the machine's load: the script prints it.
set -uo pipefail
repo="$(cd "$(dirname "$0")/.." && pwd)"
work="${1:-$(mktemp -d /tmp/lib-dep-measure.XXXXXX)}"
shift || true
variants=("$@")
[ ${#variants[@]} -eq 0 ] && variants=(none lean default)
mkdir -p "$work"

write_crate() { # $1: variant, $2: the dev-dependency line (empty for none)
  local dir="$work/$1"
  mkdir -p "$dir/src" "$dir/tests"
  cat >"$dir/Cargo.toml" <<EOF
[package]
name = "relay"
version = "0.1.0"
edition = "2024"

[dependencies]
axum = "0.8"
tokio = { version = "1", features = ["full"] }
reqwest = { version = "0.12", default-features = false, features = ["rustls-tls", "json"] }
serde_json = "1"

[dev-dependencies]
$2
EOF
  cat >"$dir/src/lib.rs" <<'EOF'
//! A tiny relay: one axum route that forwards a webhook's event name to CleverTap.
use axum::{Json, Router, extract::State, routing::post};
use serde_json::{Value, json};

pub fn router(clevertap: String) -> Router {
    Router::new().route("/webhook", post(forward)).with_state(clevertap)
}

async fn forward(State(clevertap): State<String>, Json(event): Json<Value>) -> &'static str {
    let record = json!({"type": "event", "identity": event["user_id"], "evtName": event["event_name"], "evtData": {}});
    let _ = reqwest::Client::new()
        .post(format!("{clevertap}/1/upload"))
        .header("X-CleverTap-Account-Id", "TEST-ACC-000")
        .header("X-CleverTap-Passcode", "TEST-PASSCODE")
        .json(&json!({"d": [record]}))
        .send()
        .await;
    "ok"
}
EOF
  if [ -z "$2" ]; then
    cat >"$dir/tests/relay.rs" <<'EOF'
#[tokio::test]
async fn the_router_builds() {
    let _ = relay::router("http://127.0.0.1:1".into());
}
EOF
  else
    cat >"$dir/tests/relay.rs" <<'EOF'
use std::time::Duration;

#[tokio::test]
async fn the_relay_uploads_the_event() {
    let fake = qc_harness::FakeCleverTap::start().await;
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(axum::serve(listener, relay::router(fake.uri())).into_future());
    reqwest::Client::new()
        .post(format!("http://{addr}/webhook"))
        .json(&serde_json::json!({"event_name": "trial_started", "user_id": "u1"}))
        .send()
        .await
        .unwrap();
    let records = fake.wait_for_records(1, Duration::from_secs(10)).await.unwrap();
    assert_eq!(records[0].record["evtName"], "trial_started");
}
EOF
  fi
  cp "$repo/Cargo.lock" "$dir/Cargo.lock"
}

for v in "${variants[@]}"; do
  case "$v" in
    none) write_crate none "" ;;
    default) write_crate default "qc-harness = { path = \"$repo\" }" ;;
    lean) write_crate lean "qc-harness = { path = \"$repo\", default-features = false }" ;;
    *) echo "unknown variant $v (none, default, lean)" >&2; exit 2 ;;
  esac
  export CARGO_TARGET_DIR="$work/target-$v"
  rm -rf "$CARGO_TARGET_DIR"
  load_before=$(cut -d' ' -f1-3 /proc/loadavg)
  start=$(date +%s.%N)
  # CPU seconds (user + sys of cargo and every rustc it ran) depend far less on the load.
  (cd "$work/$v" && TIMEFORMAT='%U %S' && time cargo test --no-run --offline) >"$work/$v.log" 2>"$work/$v.err"
  rc=$?
  seconds=$(echo "$(date +%s.%N) - $start" | bc)
  cpu=$(tail -1 "$work/$v.err" | awk '{printf "%.1f", $1 + $2}')
  cat "$work/$v.err" >>"$work/$v.log"
  load_after=$(cut -d' ' -f1-3 /proc/loadavg)
  count() { (cd "$work/$v" && cargo tree --offline -e "$1" --prefix none | sed 's/ (\*)//' | sort -u | wc -l); }
  printf '%-8s rc=%s clean cargo test --no-run: %6.1f s wall, %6.1f s CPU  load before [%s] after [%s]  packages: %s (normal+dev edges), %s (normal only)\n' \
    "$v" "$rc" "$seconds" "$cpu" "$load_before" "$load_after" "$(count normal,dev)" "$(count normal)"
  [ "$rc" = 0 ] || tail -5 "$work/$v.log"
  if [ "$rc" = 0 ] && [ "$v" != none ]; then
    (cd "$work/$v" && cargo test --offline -q 2>&1 | grep -E "^test result: .* [1-9][0-9]* passed|FAILED")
  fi
done
