//! `qc-harness clevertap`: the fake CleverTap alone.

use std::net::SocketAddr;
use std::time::Duration;

use clap::Args;

use super::Output;
use crate::clevertap::standalone::{self, Summary};
use crate::clevertap::validate::DEFAULT_PROPERTY_LIMIT;
use crate::clevertap::{
    DEFAULT_ACCOUNT_ID, DEFAULT_MAX_CONNECTIONS, DEFAULT_PASSCODE, FakeCleverTap, FakeCleverTapBuilder,
    FaultScript,
};
use crate::error::{Result, exit_code};

/// Run the fake CleverTap Upload API alone, for local development.
///
/// Checks every upload like the real API (auth, envelope, per-record codes) and prints one
/// line per received record with its outcome. The journal is served as JSON at
/// GET /__harness/requests and cleared by DELETE /__harness/requests. Ctrl-C stops it.
///
/// Examples:
///   qc-harness clevertap
///   qc-harness clevertap --listen 127.0.0.1:9000 --passcode P1 --passcode P2 --latency 200
///   qc-harness clevertap --fault 1-2=429:5 --fault 3=drop --fault 5=partial:1+3
///   curl -s -XPOST localhost:8080/1/upload -H 'X-CleverTap-Account-Id: TEST-ACC-000' \
///        -H 'X-CleverTap-Passcode: TEST-PASSCODE' \
///        -d '{"d":[{"type":"event","identity":"u1","evtName":"trial_started","evtData":{}}]}'
#[derive(Debug, Args)]
#[command(verbatim_doc_comment)]
pub struct ClevertapArgs {
    /// Address to listen on. A non-loopback address exposes the fake to the network (a warning is printed).
    #[arg(long, value_name = "ADDR", default_value = "127.0.0.1:8080", value_parser = super::addr::parse_addr)]
    listen: SocketAddr,
    /// The account id relays must send in X-CleverTap-Account-Id.
    #[arg(long, value_name = "ID", default_value = DEFAULT_ACCOUNT_ID)]
    account_id: String,
    /// A valid passcode for the account (X-CleverTap-Passcode); repeat for several. Default: TEST-PASSCODE.
    #[arg(long, value_name = "P")]
    passcode: Vec<String>,
    /// The region shown in the banner (eu1, in1, sg1, us1, aps3, mec1, sk1).
    #[arg(long, value_name = "R", default_value = "eu1")]
    region: String,
    /// Simulated processing time of each request, in milliseconds (or with a unit: 250ms, 2s; at most 24h).
    #[arg(long, value_name = "MS", default_value = "0", value_parser = crate::duration::flag::millis)]
    latency: Duration,
    /// Inject faults: REQUESTS=KIND joined by commas; repeatable. REQUESTS is N, N-M or N- (from N on,
    /// 1-based, counted since start or DELETE /__harness/requests). KIND is 429, 429:SECS (with
    /// Retry-After), 500, 503, delay:MS, drop (close the connection), partial:1+3 (those records
    /// unprocessed). Example: --fault 1-2=429 --fault 3=drop
    #[arg(long, value_name = "SPEC", value_parser = parse_fault)]
    fault: Vec<FaultScript>,
    /// Inject random faults reproducibly from this seed (see --chaos-rate).
    #[arg(long, value_name = "SEED")]
    chaos: Option<u64>,
    /// Probability (0 to 1) that a request gets a random fault with --chaos.
    #[arg(long, value_name = "RATE", default_value_t = 0.1, requires = "chaos", value_parser = super::numbers::rate)]
    chaos_rate: f64,
    /// Most uploads in flight per account; one more gets HTTP 429 (needs --latency to overlap).
    #[arg(long, value_name = "N", default_value_t = 15, value_parser = super::numbers::count)]
    max_concurrency: usize,
    /// Most properties per event; more gets code 522. The default is CleverTap's documented
    /// default (100); set your account's limit if CleverTap raised it.
    #[arg(long, value_name = "N", default_value_t = DEFAULT_PROPERTY_LIMIT, value_parser = super::numbers::count_or_zero)]
    property_limit: usize,
    /// Switch the account's Nested Objects feature on: objects and arrays are accepted in evtData,
    /// up to 3 levels deep (without it they get code 512).
    #[arg(long)]
    nested_objects: bool,
    /// An event name discarded in the account (code 528); repeatable.
    #[arg(long, value_name = "NAME")]
    discard_event: Vec<String>,
    /// Requests kept in the journal; older ones are dropped.
    #[arg(long, value_name = "N", default_value_t = 10_000, value_parser = super::numbers::count)]
    journal_capacity: usize,
    /// Most bytes the journal keeps (bodies, answers, headers, outcomes); older requests are
    /// dropped. A number of bytes, or with K, M or G (KiB, MiB, GiB): 64M, 1G.
    #[arg(long, value_name = "SIZE", default_value = "64M", value_parser = parse_size)]
    journal_max_bytes: usize,
    /// Most connections open at once; more wait in the kernel's queue until one closes.
    #[arg(long, value_name = "N", default_value_t = DEFAULT_MAX_CONNECTIONS, value_parser = super::numbers::count)]
    max_connections: usize,
    /// How long a client may take to send a request's headers before its connection is closed,
    /// in seconds (or with a unit: 500ms, 1m).
    #[arg(long, value_name = "SECS", default_value = "10", value_parser = crate::duration::flag::positive_secs)]
    header_timeout: Duration,
    /// How long accepting connections may keep failing (e.g. "too many open files") before the
    /// fake gives up and exits with code 3, in seconds (or with a unit).
    #[arg(long, value_name = "SECS", default_value = "30", value_parser = crate::duration::flag::positive_secs)]
    accept_retry_for: Duration,
    /// Threads that answer requests (1 to 64).
    #[arg(long, value_name = "N", default_value_t = 2, value_parser = super::numbers::threads)]
    threads: usize,
}

/// `65536`, `64K`, `64M`, `1G` (binary units; `KiB`/`MiB`/`GiB` and `KB`/`MB`/`GB` read the same).
fn parse_size(text: &str) -> Result<usize, String> {
    let trimmed = text.trim();
    let split = trimmed.find(|c: char| !c.is_ascii_digit()).unwrap_or(trimmed.len());
    let (digits, unit) = trimmed.split_at(split);
    let shift = match unit.trim().to_ascii_uppercase().as_str() {
        "" | "B" => 0,
        "K" | "KB" | "KIB" => 10,
        "M" | "MB" | "MIB" => 20,
        "G" | "GB" | "GIB" => 30,
        _ => return Err(format!("`{text}` is not a size: use bytes (1048576) or 64K, 64M, 1G")),
    };
    let number: usize =
        digits.parse().map_err(|_| format!("`{text}` is not a size: use bytes (1048576) or 64K, 64M, 1G"))?;
    number.checked_mul(1 << shift).ok_or_else(|| format!("`{text}` is too large"))
}

fn parse_fault(text: &str) -> Result<FaultScript, String> {
    FaultScript::parse(text).map_err(|e| e.to_string())
}

impl ClevertapArgs {
    /// The fake's configuration.
    fn to_builder(&self) -> Result<FakeCleverTapBuilder> {
        let mut script = FaultScript::new();
        for spec in &self.fault {
            script = script.merge(spec.clone());
        }
        let passcodes =
            if self.passcode.is_empty() { vec![DEFAULT_PASSCODE.to_string()] } else { self.passcode.clone() };
        let mut builder = FakeCleverTap::builder()
            .account(self.account_id.clone(), passcodes)
            .region(self.region.clone())
            .listen(self.listen)
            .latency(self.latency)
            .max_concurrency(self.max_concurrency)
            .property_limit(self.property_limit)
            .nested_objects(self.nested_objects)
            .journal_capacity(self.journal_capacity)
            .journal_max_bytes(self.journal_max_bytes)
            .max_connections(self.max_connections)
            .header_timeout(self.header_timeout)
            .accept_retry_for(self.accept_retry_for)
            .threads(self.threads)
            .faults(script);
        for name in &self.discard_event {
            builder = builder.discard_event(name.clone());
        }
        if let Some(seed) = self.chaos {
            builder = builder.chaos(seed, self.chaos_rate);
        }
        Ok(builder)
    }
}

pub fn execute(args: ClevertapArgs, out: &Output) -> Result<i32> {
    let builder = args.to_builder()?;
    warn_if_exposed(args.listen, out);
    let color = out.color;
    // The first banner line (the address) is printed even with --quiet: with `--listen
    // 127.0.0.1:0` it is the only way to learn the port.
    let ready = |fake: &FakeCleverTap| {
        for (i, line) in standalone::banner(fake).into_iter().enumerate() {
            if i == 0 && out.quiet {
                super::output::stdout_line(format_args!("{line}"));
            } else {
                out.line(&standalone::dim(&line, color));
            }
        }
    };
    let lines = standalone::Lines { color, records: !out.quiet };
    let summary: Summary = super::runtime()?.block_on(standalone::serve_with(
        builder,
        lines,
        ready,
        |line| out.line(line),
        shutdown_signal(),
    ))?;
    // The final line, printed even with --quiet (as `run` prints its totals).
    super::output::stdout_line(format_args!(
        "stopped: {} requests, {} records processed",
        summary.requests, summary.processed
    ));
    Ok(exit_code::SUCCESS)
}

/// Warns when the fake CleverTap listens beyond loopback (`clevertap --listen`, `--clevertap-listen`).
pub(super) fn warn_if_exposed(listen: SocketAddr, out: &Output) {
    if !listen.ip().is_loopback() {
        out.warn(&format!(
            "listening on {listen}: the fake CleverTap (and its journal at /__harness/requests) is reachable \
             from other machines"
        ));
    }
}

/// Completes on Ctrl-C or SIGTERM.
async fn shutdown_signal() {
    let mut term = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()).ok();
    let term = async {
        match term.as_mut() {
            Some(term) => {
                term.recv().await;
            }
            None => std::future::pending().await,
        }
    };
    tokio::select! {
        _ = tokio::signal::ctrl_c() => {},
        () = term => {},
    }
}

#[cfg(test)]
mod tests {
    use super::parse_size;

    #[test]
    fn sizes_take_bytes_or_binary_units_and_refuse_anything_else() {
        assert_eq!(parse_size("65536"), Ok(65_536));
        assert_eq!(parse_size("64K"), Ok(64 << 10));
        assert_eq!(parse_size("64M"), Ok(64 << 20));
        assert_eq!(parse_size("64MiB"), Ok(64 << 20));
        assert_eq!(parse_size("1g"), Ok(1 << 30));
        for bad in ["", "M", "64X", "-1", "1.5M", "99999999999999999999G"] {
            assert!(parse_size(bad).is_err(), "{bad}");
        }
    }
}
