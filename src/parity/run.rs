//! A whole parity run: preflight the upstream (reachable, credentials accepted), send every
//! corpus case to the upstream and to the fake, compare, optionally record cassettes.

use std::path::PathBuf;
use std::sync::Arc;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use futures::stream::{self, StreamExt};
use tokio::sync::Semaphore;

use super::cassette::{AccountSettings, Cassette};
use super::client::{MAX_IN_FLIGHT, Observed, Target, upload_url};
use super::compare::{Difference, compare};
use super::corpus::{Case, CorpusOptions, corpus, rules_covered};
use super::{Account, fake_for};
use crate::error::Error;

/// Everything a parity run needs.
#[derive(Debug, Clone)]
pub struct ParityConfig {
    /// The upstream's base URL, e.g. `https://eu1.api.clevertap.com`.
    pub upstream: String,
    /// The account (its passcode is never printed).
    pub account: Account,
    /// The account's settings, mirrored by the fake.
    pub settings: AccountSettings,
    /// Write the upstream's answers as cassettes here.
    pub record: Option<PathBuf>,
    /// Requests in flight per target (1 to 15).
    pub concurrency: usize,
    /// Per-request timeout.
    pub timeout: Duration,
}

/// What a parity run found.
#[derive(Debug, Clone)]
pub struct ParityReport {
    /// The upstream's origin (scheme, host, port).
    pub upstream: String,
    /// Requests in the corpus (each sent once to each side, plus 429 retries).
    pub requests: usize,
    /// The rules the corpus covers.
    pub rules: Vec<String>,
    /// Every difference, in corpus order.
    pub differences: Vec<Difference>,
    /// Cassettes written.
    pub recorded: Vec<PathBuf>,
    /// Wall time of the run.
    pub elapsed: Duration,
}

/// Why a run could not compare anything.
#[derive(Debug, thiserror::Error)]
pub enum ParityError {
    /// The upstream is unreachable, failing, or refuses the credentials (exit code 3).
    #[error("{0}")]
    Upstream(String),
    /// Bad input or a local problem (exit code 2).
    #[error(transparent)]
    Setup(#[from] Error),
}

/// Runs the corpus against the upstream and the fake.
pub async fn run(config: &ParityConfig) -> Result<ParityReport, ParityError> {
    let started = Instant::now();
    if !(1..=MAX_IN_FLIGHT).contains(&config.concurrency) {
        return Err(Error::Usage(format!("--concurrency must be 1 to {MAX_IN_FLIGHT}")).into());
    }
    let url = upload_url(&config.upstream).map_err(Error::Usage)?;
    let origin = url.origin().ascii_serialization();
    let upstream = target(&config.upstream, config)?;
    let fake = fake_for(&config.account, &config.settings).start().await?;
    let ours = target(&fake.uri(), config)?;
    let cases = corpus(&CorpusOptions {
        property_limit: config.settings.property_limit,
        discarded_event: config.settings.discarded_event.clone(),
        nested_objects: config.settings.nested_objects,
    });
    preflight(&upstream, &cases[0], &origin, &config.account).await?;
    let answers: Vec<Result<(Observed, Observed), ParityError>> = stream::iter(&cases)
        .map(|case| exchange(case, &upstream, &ours))
        .buffered(config.concurrency)
        .collect()
        .await;
    let mut differences = Vec::new();
    let mut recorded = Vec::new();
    for (case, answer) in cases.iter().zip(answers) {
        let (from_fake, from_upstream) = answer?;
        differences.extend(compare(&case.name, &case.rule, &from_fake, &from_upstream));
        if let Some(dir) = &config.record {
            let cassette = Cassette::new(case, &from_upstream, source(&origin), config.settings.clone());
            recorded.push(cassette.write(dir)?);
        }
    }
    Ok(ParityReport {
        upstream: origin,
        requests: cases.len(),
        rules: rules_covered(&cases),
        differences,
        recorded,
        elapsed: started.elapsed(),
    })
}

fn target(base: &str, config: &ParityConfig) -> Result<Target, ParityError> {
    let slots = Arc::new(Semaphore::new(config.concurrency));
    Target::new(base, config.account.clone(), slots, config.timeout).map_err(|e| Error::Usage(e).into())
}

/// Sends the valid request once: the upstream must answer, and accept the credentials.
async fn preflight(
    upstream: &Target,
    valid: &Case,
    origin: &str,
    account: &Account,
) -> Result<(), ParityError> {
    let observed = upstream
        .send(valid)
        .await
        .map_err(|e| ParityError::Upstream(format!("upstream {origin} is unreachable: {}", e.0)))?;
    let error = serde_json::from_str::<serde_json::Value>(&observed.body)
        .ok()
        .and_then(|body| body.get("error").and_then(|e| e.as_str()).map(str::to_string))
        .unwrap_or_default();
    match observed.status {
        200..=299 => Ok(()),
        401 | 403 => Err(ParityError::Upstream(format!(
            "upstream {origin} refuses the credentials of account {} (HTTP {}: {error}); check --account-id, \
             --passcode and the region host",
            account.id, observed.status
        ))),
        status => Err(ParityError::Upstream(format!(
            "upstream {origin} does not accept uploads: HTTP {status} to a valid dry-run upload {error}"
        ))),
    }
}

async fn exchange(
    case: &Case,
    upstream: &Target,
    fake: &Target,
) -> Result<(Observed, Observed), ParityError> {
    let (theirs, ours) = tokio::join!(upstream.send(case), fake.send(case));
    let theirs = theirs.map_err(|e| {
        ParityError::Upstream(format!("upstream unreachable during `{}`: {}", case.name, e.0))
    })?;
    let ours = ours.map_err(|e| {
        Error::Network(format!("the in-process fake did not answer `{}`: {}", case.name, e.0))
    })?;
    Ok((ours, theirs))
}

fn source(origin: &str) -> String {
    let now = SystemTime::now().duration_since(UNIX_EPOCH).unwrap_or_default().as_secs();
    format!("qc-harness parity --record, {origin}, unix {now}")
}
