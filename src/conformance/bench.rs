//! [`Bench`]: a fake CleverTap and a relay pointed at it, for one variant or one check.
//!
//! Spawned relays (`--relay-cmd`, the built-in one) get a bench each, so variants and checks
//! run side by side. A `--relay-url` relay is one shared bench, used by one unit at a time
//! and reset in between.

use std::sync::Arc;
use std::time::Duration;

use tokio::sync::{Mutex, OwnedMutexGuard};

use crate::clevertap::{FakeCleverTap, FaultScript};
use crate::error::Result;
use crate::mapping::Settings;
use crate::relay::{RelayLaunch, RelaySpec, RunningRelay, start_relay};

/// How the fake CleverTap behaves for one unit.
#[derive(Debug, Clone, Default)]
pub struct FakeSetup {
    /// Faults by request number.
    pub faults: Option<FaultScript>,
    /// Simulated latency of every answer.
    pub latency: Option<Duration>,
}

/// Where benches come from.
#[derive(Debug, Clone)]
pub enum BenchPool {
    /// A fresh fake and relay per unit.
    Spawn {
        /// The relay to start.
        spec: RelaySpec,
        /// Its webhook token.
        token: String,
    },
    /// One relay the user runs, one fake on `--clevertap-listen`, shared.
    Attached {
        /// The shared bench.
        shared: Arc<Mutex<SharedBench>>,
        /// The settings the user declared for the relay.
        settings: Settings,
        /// Its webhook token.
        token: String,
    },
}

/// The fake and the relay of an attached run.
#[derive(Debug)]
pub struct SharedBench {
    relay: RunningRelay,
    fake: FakeCleverTap,
}

/// Fields drop in order: the relay first, then its fake. A fake closed first would free its
/// port while the relay still uploads to it, and a fake started meanwhile (by this run or by
/// another harness process) could be given that port and receive those uploads.
enum Inner {
    Owned { relay: RunningRelay, fake: FakeCleverTap },
    Shared(OwnedMutexGuard<SharedBench>),
}

/// A fake CleverTap with a relay uploading to it.
pub struct Bench {
    inner: Inner,
    /// The relay's settings.
    pub settings: Settings,
    /// The webhook token.
    pub token: String,
}

impl BenchPool {
    /// The pool for `spec`: attaches at once for `--relay-url` (one fake, one relay).
    pub async fn new(spec: &RelaySpec, token: &str, declared: &Settings) -> Result<BenchPool> {
        if !spec.is_attached() {
            return Ok(BenchPool::Spawn { spec: spec.clone(), token: token.to_string() });
        }
        let mut builder = FakeCleverTap::builder();
        if let Some(addr) = spec.clevertap_listen {
            builder = builder.listen(addr);
        }
        let fake = builder.start().await?;
        let relay = start_relay(spec, launch(&fake, token, declared.clone())).await?;
        let shared = Arc::new(Mutex::new(SharedBench { relay, fake }));
        Ok(BenchPool::Attached { shared, settings: declared.clone(), token: token.to_string() })
    }

    /// Whether every unit must use the declared settings (`--relay-url`).
    pub fn fixed_settings(&self) -> Option<&Settings> {
        match self {
            BenchPool::Spawn { .. } => None,
            BenchPool::Attached { settings, .. } => Some(settings),
        }
    }

    /// A bench whose relay runs with `settings` and whose fake behaves as `setup` says.
    pub async fn acquire(&self, settings: &Settings, setup: &FakeSetup) -> Result<Bench> {
        let bench = match self {
            BenchPool::Spawn { spec, token } => {
                let fake = FakeCleverTap::builder().start().await?;
                let relay = start_relay(spec, launch(&fake, token, settings.clone())).await?;
                Bench {
                    inner: Inner::Owned { relay, fake },
                    settings: settings.clone(),
                    token: token.clone(),
                }
            }
            BenchPool::Attached { shared, settings: declared, token } => {
                let guard = shared.clone().lock_owned().await;
                guard.fake.reset();
                Bench { inner: Inner::Shared(guard), settings: declared.clone(), token: token.clone() }
            }
        };
        if let Some(faults) = &setup.faults {
            bench.fake().set_faults(faults.clone());
        }
        bench.fake().set_latency(setup.latency.unwrap_or(Duration::ZERO));
        Ok(bench)
    }
}

impl Bench {
    /// The fake CleverTap.
    pub fn fake(&self) -> &FakeCleverTap {
        match &self.inner {
            Inner::Owned { fake, .. } => fake,
            Inner::Shared(guard) => &guard.fake,
        }
    }

    /// The relay.
    pub fn relay(&self) -> &RunningRelay {
        match &self.inner {
            Inner::Owned { relay, .. } => relay,
            Inner::Shared(guard) => &guard.relay,
        }
    }

    /// The relay's output tail, prefixed by how it exited when it did; `None` when there is
    /// nothing to show (a `--relay-url` or in-process relay, whose output is not the
    /// harness's, while it runs), so that reports print no empty "relay output" section.
    pub fn relay_tail(&self) -> Option<String> {
        let tail = self.relay().output_tail();
        let text = match self.relay().exit_status() {
            Some(status) => format!("(the relay {status})\n{tail}"),
            None => tail,
        };
        (!text.trim().is_empty()).then_some(text)
    }

    /// Stops an owned relay; resets a shared fake for the next unit. A fake that died during
    /// the unit is an [`Error::Harness`](crate::Error::Harness): what the unit saw is not the
    /// relay's doing.
    pub async fn finish(self) -> Result<()> {
        let dead = match self.fake().health() {
            crate::clevertap::Health::Dead { reason } => Some(crate::Error::Harness(reason)),
            crate::clevertap::Health::Serving => None,
        };
        let finished = match self.inner {
            Inner::Owned { relay, fake } => {
                let stopped = relay.stop().await;
                drop(fake);
                stopped
            }
            Inner::Shared(guard) => {
                guard.fake.reset();
                guard.fake.set_latency(Duration::ZERO);
                Ok(())
            }
        };
        dead.map_or(finished, Err)
    }
}

fn launch(fake: &FakeCleverTap, token: &str, settings: Settings) -> RelayLaunch {
    RelayLaunch {
        clevertap_url: fake.uri(),
        account_id: fake.account_id().to_string(),
        passcode: fake.passcode().to_string(),
        region: fake.region().to_string(),
        token: token.to_string(),
        settings,
    }
}
