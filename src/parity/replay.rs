//! Replaying cassettes against the fake: each recorded request is sent to a fake set up with
//! the cassette's account settings, and the fake's answer is compared with the recording.

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use tokio::sync::Semaphore;

use super::cassette::{Cassette, cassette_files};
use super::client::{MAX_IN_FLIGHT, Target};
use super::compare::{Difference, compare};
use super::{Account, fake_for};
use crate::error::{Error, Result};

/// What replaying one cassette found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Replayed {
    /// The cassette file.
    pub file: PathBuf,
    /// Differences the cassette does not list as known.
    pub unexpected: Vec<Difference>,
    /// Known differences (by aspect) that no longer occur: the cassette should drop them.
    pub stale: Vec<String>,
}

impl Replayed {
    /// True when the fake answers exactly as recorded, known differences aside.
    pub fn is_clean(&self) -> bool {
        self.unexpected.is_empty() && self.stale.is_empty()
    }
}

/// Replays one cassette file against a fresh fake.
pub async fn replay_file(file: &Path) -> Result<Replayed> {
    let cassette = Cassette::read(file)?;
    let case = cassette.case(file)?;
    let account = Account::new("QC-REPLAY-ACC", "QC-REPLAY-PASSCODE");
    let fake = fake_for(&account, &cassette.account).start().await?;
    let slots = Arc::new(Semaphore::new(MAX_IN_FLIGHT));
    let target = Target::new(&fake.uri(), account, slots, Duration::from_secs(30)).map_err(Error::Network)?;
    let observed = target.send(&case).await.map_err(|e| Error::Network(format!("the fake: {}", e.0)))?;
    let differences = compare(&case.name, &case.rule, &observed, &cassette.observed());
    let known = |aspect: &str| cassette.known_differences.iter().any(|known| known.aspect == aspect);
    let stale = cassette
        .known_differences
        .iter()
        .filter(|known| !differences.iter().any(|d| d.aspect == known.aspect))
        .map(|known| known.aspect.clone())
        .collect();
    let unexpected = differences.into_iter().filter(|d| !known(&d.aspect)).collect();
    Ok(Replayed { file: file.into(), unexpected, stale })
}

/// Replays every `*.json` cassette of `dir`.
pub async fn replay_dir(dir: &Path) -> Result<Vec<Replayed>> {
    let mut replayed = Vec::new();
    for file in cassette_files(dir)? {
        replayed.push(replay_file(&file).await?);
    }
    Ok(replayed)
}
