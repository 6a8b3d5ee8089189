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
use crate::relay::{RelayLaunch, RelaySpec, RelayTarget, RunningRelay, start_relay};

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
    fake: FakeCleverTap,
    relay: RunningRelay,
}

enum Inner {
    Owned { fake: FakeCleverTap, relay: RunningRelay },
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
        if !matches!(spec.target, RelayTarget::Url(_)) {
            return Ok(BenchPool::Spawn { spec: spec.clone(), token: token.to_string() });
        }
        let mut builder = FakeCleverTap::builder();
        if let Some(addr) = spec.clevertap_listen {
            builder = builder.listen(addr);
        }
        let fake = builder.start().await?;
        let relay = start_relay(spec, launch(&fake, token, declared.clone())).await?;
        let shared = Arc::new(Mutex::new(SharedBench { fake, relay }));
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
                    inner: Inner::Owned { fake, relay },
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

    /// The relay's output tail, prefixed by how it exited when it did.
    pub fn relay_tail(&self) -> String {
        let tail = self.relay().output_tail();
        match self.relay().exit_status() {
            Some(status) => format!("(the relay {status})\n{tail}"),
            None => tail,
        }
    }

    /// [`relay_tail`](Self::relay_tail), or `None` when there is nothing to show: an
    /// attached relay (`--relay-url`, in-process) has no captured output.
    pub fn captured_tail(&self) -> Option<String> {
        Some(self.relay_tail()).filter(|tail| !tail.trim().is_empty())
    }

    /// Stops an owned relay; resets a shared fake for the next unit.
    pub async fn finish(self) -> Result<()> {
        match self.inner {
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
        }
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
