//! `qc-harness send EVENT|FILE --to URL --token T [--set P=V]... [--retry]`.

use super::output::outln;
use std::path::Path;
use std::time::Duration;

use clap::{Args, ValueEnum};

use super::Output;
use crate::error::{Error, Result, exit_code};
use crate::qonversion::sender::FakeQonversion;
use crate::qonversion::{EVENT_KINDS, FixtureCatalogue, WebhookEvent, event_kind, overrides};

/// Send one webhook to a relay, as Qonversion does.
///
/// EVENT is a catalogue event name (`trial_started`): the built-in fixture
/// `EVENT.PLATFORM` is sent (see `qc-harness fixtures`); a full fixture name
/// (`subscription_renewed.android`) works too. FILE is a webhook JSON file (`-` reads
/// standard input).
///
/// Headers are Qonversion's: `Authorization: Basic <token>` (the token as-is,
/// not base64), `Accept: application/json`, `Content-Type: application/json`. One attempt
/// unless `--retry`: then failed attempts (non-2xx, timeout, connection error) are
/// retried at +5m, +4h, +8h and +24h from the first, on a clock compressed by
/// `--time-scale` (default 10000: +5m = 30ms, +24h = 8.64s). Every attempt is printed.
///
/// Exit code: 0 when the last attempt got a 2xx answer, 1 when it did not, 2 on bad
/// input (unknown event, unreadable or invalid file, bad --set).
///
/// Examples:
///   qc-harness send trial_started --to http://127.0.0.1:3000/webhook --token secret
///   qc-harness send subscription_renewed --platform android --retry \
///       --to http://127.0.0.1:3000/webhook --token secret
///   qc-harness send event.json --to http://127.0.0.1:3000/webhook --token secret \
///       --set revenue.value=4.99 --set environment=sandbox --set entitlements[0].active=false
///   qc-harness send in_app_purchase --set 'transaction.transaction_id="1000000999"' \
///       --to http://127.0.0.1:3000/webhook --token secret
#[derive(Debug, Args)]
#[command(verbatim_doc_comment)]
pub struct SendArgs {
    /// A catalogue event name, a built-in fixture name, or a webhook JSON file (`-`: stdin).
    #[arg(value_name = "EVENT|FILE")]
    input: String,
    /// The relay's full webhook URL (`http://` may be left out: localhost:3000/webhook).
    #[arg(long, value_name = "URL")]
    to: String,
    /// The webhook token, sent as `Authorization: Basic <token>`.
    #[arg(long, value_name = "T", env = "QONVERSION_WEBHOOK_TOKEN", hide_env_values = true)]
    token: String,
    /// Override a field: dotted/indexed PATH, VALUE a number, true/false, null, {..}/[..]
    /// JSON, "quoted" JSON string, or else plain text. Repeatable.
    #[arg(long = "set", value_name = "PATH=VALUE")]
    sets: Vec<String>,
    /// Which built-in fixture of EVENT to send [default: ios].
    #[arg(long, value_enum)]
    platform: Option<Platform>,
    /// Follow Qonversion's retry schedule while attempts fail.
    #[arg(long)]
    retry: bool,
    /// How much faster than real time the retry schedule runs.
    #[arg(long, value_name = "N", allow_negative_numbers = true, value_parser = super::numbers::time_scale,
          default_value_t = crate::qonversion::schedule::DEFAULT_TIME_SCALE)]
    time_scale: f64,
    /// Time limit of one attempt (not compressed): seconds, or with a unit (500ms, 1m).
    #[arg(long, value_name = "SECS", allow_negative_numbers = true, default_value = "10",
          value_parser = crate::duration::flag::positive_secs)]
    timeout: Duration,
    /// Where events whose environment is not "production" go (Qonversion's Sandbox URL).
    #[arg(long, value_name = "URL")]
    sandbox_url: Option<String>,
    /// Wait this long (real seconds, or with a unit) before the first attempt, like Qonversion's
    /// 20-120 s lag.
    #[arg(long, value_name = "SECS", allow_negative_numbers = true, value_parser = crate::duration::flag::secs)]
    delay: Option<Duration>,
}

/// The platform of a built-in fixture.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
enum Platform {
    Ios,
    Android,
}

pub fn execute(args: SendArgs, out: &Output) -> Result<i32> {
    let sender = build_sender(&args)?;
    let (mut body, origin) = load_body(&args, out)?;
    let event = overrides::apply_all(&mut body, &args.sets, &origin)?;
    out.line(&format!("POST {}  {} ({origin})", sender.url_for(&event), event.event_name));
    if out.verbose > 0 {
        out.line(&format!("body: {}", String::from_utf8_lossy(&FakeQonversion::body_of(&event))));
    }
    let delivery = super::runtime()?.block_on(async {
        if args.retry { sender.send_with_retries(&event).await } else { sender.send(&event).await }
    });
    for attempt in &delivery.attempts {
        out.line(&attempt.to_string());
    }
    let count = delivery.attempts.len();
    let status = delivery.final_status().map_or("no answer".to_string(), |s| format!("HTTP {s}"));
    if delivery.succeeded() {
        outln!("delivered: {status} on attempt {count}");
        return Ok(exit_code::SUCCESS);
    }
    let hint = if args.retry { "" } else { "; --retry follows Qonversion's retry schedule" };
    Err(Error::Failed(format!("not delivered: {status} on attempt {count}, the last{hint}")))
}

/// Checks the flags and builds the sender.
fn build_sender(args: &SendArgs) -> Result<FakeQonversion> {
    let to = super::addr::with_scheme(&args.to);
    check_url("--to", &to).map_err(|e| match &e {
        // Name the URL as typed, not with the `http://` added to it.
        Error::Usage(message) => Error::Usage(message.replacen(&to, &args.to, 1)),
        _ => e,
    })?;
    if let Some(url) = &args.sandbox_url {
        check_url("--sandbox-url", url)?;
    }
    if reqwest::header::HeaderValue::from_str(&format!("Basic {}", args.token)).is_err() {
        return Err(Error::Usage("--token: contains characters not allowed in an HTTP header".into()));
    }
    let mut sender = FakeQonversion::new(&to, &args.token).time_scale(args.time_scale).timeout(args.timeout);
    if let Some(url) = &args.sandbox_url {
        sender = sender.sandbox_url(url);
    }
    if let Some(delay) = args.delay {
        sender = sender.delay(delay);
    }
    Ok(sender)
}

fn check_url(flag: &str, url: &str) -> Result<()> {
    match reqwest::Url::parse(url) {
        Ok(parsed) if matches!(parsed.scheme(), "http" | "https") && parsed.has_host() => Ok(()),
        Ok(_) => Err(Error::Usage(format!("{flag} {url}: not an http:// or https:// URL"))),
        Err(e) => Err(Error::Usage(format!("{flag} {url}: not a valid URL: {e}"))),
    }
}

/// The webhook body as JSON, checked to be a webhook event, and where it came from.
fn load_body(args: &SendArgs, out: &Output) -> Result<(serde_json::Value, String)> {
    let input = args.input.as_str();
    let path = Path::new(input);
    let is_file = input == "-" || path.is_file() || input.ends_with(".json") || input.contains('/');
    if is_file {
        if args.platform.is_some() {
            out.warn("--platform only picks a built-in fixture; it is ignored for a FILE");
        }
        let bytes = read_input(path)?;
        let event = WebhookEvent::from_json(&bytes, path)?;
        return Ok((event.to_value(), path.display().to_string()));
    }
    let fixture = built_in_fixture(input, args.platform.unwrap_or(Platform::Ios))?;
    Ok((fixture.event.to_value(), fixture.origin.display().to_string()))
}

fn read_input(path: &Path) -> Result<Vec<u8>> {
    if path.as_os_str() == "-" {
        let mut bytes = Vec::new();
        std::io::Read::read_to_end(&mut std::io::stdin(), &mut bytes).map_err(|e| Error::io("<stdin>", e))?;
        return Ok(bytes);
    }
    std::fs::read(path).map_err(|e| Error::io(path, e))
}

/// `trial_started` + ios → fixture `trial_started.ios`; a full fixture name is taken as is.
fn built_in_fixture(name: &str, platform: Platform) -> Result<crate::qonversion::Fixture> {
    let catalogue = FixtureCatalogue::built_in()?;
    let platform = match platform {
        Platform::Ios => "ios",
        Platform::Android => "android",
    };
    if let Some(fixture) = catalogue.get(name) {
        return Ok(fixture.clone());
    }
    if event_kind(name).is_none() {
        let known: Vec<&str> = EVENT_KINDS.iter().map(|k| k.name).collect();
        let fixtures = catalogue.events.iter().map(|f| f.name.as_str());
        let hint = super::suggest::did_you_mean(name, known.iter().copied().chain(fixtures));
        return Err(Error::Usage(format!(
            "unknown event `{name}`: not a file, a catalogue event or a built-in fixture{hint}; events: {}",
            known.join(", ")
        )));
    }
    let wanted = format!("{name}.{platform}");
    catalogue.get(&wanted).cloned().ok_or_else(|| {
        Error::Usage(format!(
            "no built-in fixture `{wanted}` (see `qc-harness fixtures`); send a FILE instead"
        ))
    })
}
