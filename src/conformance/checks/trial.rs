//! [`try_check`]: runs one [`Check`] against a relay, outside a full run (for tests of a
//! new check; see `docs/adding-a-check.md`).

use std::time::Duration;

use super::{Check, CheckContext, Verdict, plan};
use crate::conformance::bench::BenchPool;
use crate::error::Result;
use crate::mapping::Settings;
use crate::qonversion::sender::FakeQonversion;
use crate::relay::RelaySpec;

/// Starts `relay` (with `settings`, adjusted as `check` asks) and a fake CleverTap set up
/// for `check`, runs the check, stops both and returns the verdict.
pub async fn try_check(
    check: &dyn Check,
    relay: &RelaySpec,
    token: &str,
    settings: &Settings,
    timeout: Duration,
    settle: Duration,
) -> Result<Verdict> {
    let pool = BenchPool::new(relay, token, settings).await?;
    let plan = plan(check, settings, pool.fixed_settings().is_some());
    let bench = pool.acquire(&plan.settings, &plan.setup).await?;
    let sender = FakeQonversion::new(bench.relay().webhook_url(), bench.token.clone()).timeout(timeout);
    let ctx = CheckContext { bench: &bench, sender, timeout, settle };
    let verdict = check.run(&ctx).await;
    drop(ctx);
    bench.finish().await?;
    Ok(verdict)
}
