//! `--partition K/N`: one shard of a run, for CI matrices (as `cargo nextest --partition count:K/N`).
//!
//! The units of a run (settings variants and behaviour checks) are dealt round-robin, in a
//! fixed order, to N shards: across shards 1..N every unit runs exactly once, and no shard is
//! empty while another has two or more units. `qc-harness report merge` joins the shards'
//! JSON reports into the report the unsharded run would have written.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};

use super::config::RunConfig;

/// Shard `index` (1-based) of `count`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Partition {
    /// This shard, 1 ..= `count`.
    pub index: u32,
    /// How many shards the run is split into.
    pub count: u32,
}

impl Partition {
    /// Whether the `position`-th unit (0-based, in the run's fixed unit order) is this shard's.
    pub fn owns(&self, position: usize) -> bool {
        position % self.count as usize == (self.index - 1) as usize
    }

    /// How many of `total` units (or cases) are this shard's.
    pub fn share(&self, total: usize) -> usize {
        (total + (self.count - self.index) as usize) / self.count as usize
    }

    /// The items of `items` (in the run's fixed order) that belong to this shard.
    pub fn select<T: Clone>(&self, items: &[T]) -> Vec<T> {
        items.iter().enumerate().filter(|(i, _)| self.owns(*i)).map(|(_, item)| item.clone()).collect()
    }
}

impl fmt::Display for Partition {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}/{}", self.index, self.count)
    }
}

impl FromStr for Partition {
    type Err = String;

    /// `K/N` with 1 ≤ K ≤ N ≤ 1024; `count:K/N` (nextest's spelling) is accepted too.
    fn from_str(text: &str) -> Result<Self, String> {
        let spec = text.trim().strip_prefix("count:").unwrap_or(text.trim());
        let usage = || format!("expected K/N with 1 <= K <= N (for example 2/4), got {text:?}");
        let (k, n) = spec.split_once('/').ok_or_else(usage)?;
        let index: u32 = k.trim().parse().map_err(|_| usage())?;
        let count: u32 = n.trim().parse().map_err(|_| usage())?;
        if count == 0 || index == 0 || index > count || count > 1024 {
            return Err(usage());
        }
        Ok(Partition { index, count })
    }
}

/// What a run was asked to do, as its JSON report records it (`"plan"`): `report merge`
/// joins only shard reports whose plans are equal but for the shard index.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct RunPlan {
    /// The `qc-harness` version that ran.
    pub harness_version: String,
    /// The relay: `built-in reference relay`, `--relay-cmd <CMD>` or `--relay-url <URL>`.
    pub relay: String,
    /// Every variant of the whole (unsharded) run, in run order.
    pub variants: Vec<String>,
    /// Every behaviour check of the whole run, in report order.
    pub checks: Vec<String>,
    /// `--strict`.
    pub strict: bool,
    /// `--allow-extra-keys`.
    pub allow_extra_keys: bool,
    /// The shard this report is of; `None` for an unsharded run.
    pub partition: Option<Partition>,
}

impl RunConfig {
    /// Keeps only the units (variants, then checks, in run order) of shard `partition`;
    /// the run's [`RunPlan`] still names them all.
    pub fn keep_shard(&mut self, partition: Partition) {
        let mut plan = self.plan();
        plan.partition = Some(partition);
        let variants = self.variants.len();
        let owns = |position: usize| partition.owns(position);
        self.variants =
            self.variants.iter().enumerate().filter(|(i, _)| owns(*i)).map(|(_, v)| v.clone()).collect();
        self.checks = self
            .checks
            .iter()
            .enumerate()
            .filter(|(i, _)| owns(variants + i))
            .map(|(_, c)| c.clone())
            .collect();
        self.shard_plan = Some(plan);
    }

    /// What this run was asked to do (for the report).
    pub fn plan(&self) -> RunPlan {
        if let Some(plan) = &self.shard_plan {
            return plan.clone();
        }
        RunPlan {
            harness_version: env!("CARGO_PKG_VERSION").to_string(),
            relay: self.relay.target.describe(),
            variants: self.variants.iter().map(|v| v.name.clone()).collect(),
            checks: self.checks.clone(),
            strict: self.strict,
            allow_extra_keys: self.allow_extra_keys,
            partition: None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shards_cover_every_unit_exactly_once_and_none_is_empty_while_another_has_two() {
        for units in 0..40usize {
            let items: Vec<usize> = (0..units).collect();
            for count in 1..=8u32 {
                let shards: Vec<Vec<usize>> =
                    (1..=count).map(|index| Partition { index, count }.select(&items)).collect();
                let mut all: Vec<usize> = shards.iter().flatten().copied().collect();
                all.sort_unstable();
                assert_eq!(all, items, "{units} units over {count} shards");
                let (min, max) = (
                    shards.iter().map(Vec::len).min().unwrap_or(0),
                    shards.iter().map(Vec::len).max().unwrap_or(0),
                );
                assert!(max - min <= 1, "{units} units over {count} shards: sizes {min}..{max}");
                for (k, shard) in shards.iter().enumerate() {
                    let partition = Partition { index: k as u32 + 1, count };
                    assert_eq!(partition.share(units), shard.len());
                }
            }
        }
    }

    #[test]
    fn parses_k_of_n_and_refuses_the_rest() {
        assert_eq!("2/4".parse(), Ok(Partition { index: 2, count: 4 }));
        assert_eq!("count:1/1".parse(), Ok(Partition { index: 1, count: 1 }));
        for bad in ["0/4", "5/4", "1/0", "x/2", "2", "", "-1/2", "1/99999"] {
            let error = bad.parse::<Partition>().unwrap_err();
            assert!(error.contains("K/N"), "{bad}: {error}");
        }
    }
}
