//! [`simplest_first`]: a weighted choice whose shrinking first jumps to the first (simplest)
//! alternative, and only then shrinks the value it has.
//!
//! proptest's `prop_oneof!` shrinks the chosen value all the way down before it tries an
//! earlier alternative, one step at a time; for an optional field that means shrinking a
//! string character by character before trying to drop it. Jumping first drops whole
//! fields in one step, so failures shrink in far fewer cases to far more readable events.

use std::fmt;

use proptest::prelude::Rng;
use proptest::strategy::{BoxedStrategy, NewTree, Strategy, ValueTree};
use proptest::test_runner::TestRunner;

type BoxedTree<T> = Box<dyn ValueTree<Value = T>>;

/// A weighted choice between `options`; shrinks to the first option first.
pub fn simplest_first<T: fmt::Debug + 'static>(options: Vec<(u32, BoxedStrategy<T>)>) -> SimplestFirst<T> {
    assert!(!options.is_empty() && options.iter().any(|(w, _)| *w > 0), "at least one weighted option");
    SimplestFirst { options }
}

/// The strategy of [`simplest_first`].
pub struct SimplestFirst<T> {
    options: Vec<(u32, BoxedStrategy<T>)>,
}

impl<T> fmt::Debug for SimplestFirst<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "SimplestFirst({} options)", self.options.len())
    }
}

impl<T: fmt::Debug + 'static> Strategy for SimplestFirst<T> {
    type Tree = SimplestFirstTree<T>;
    type Value = T;

    fn new_tree(&self, runner: &mut TestRunner) -> NewTree<Self> {
        let total: u32 = self.options.iter().map(|(w, _)| *w).sum();
        let mut roll = runner.rng().next_u32() % total;
        let pick = self
            .options
            .iter()
            .position(|(w, _)| {
                let hit = roll < *w;
                roll = roll.saturating_sub(*w);
                hit
            })
            .unwrap_or(0);
        let chosen = self.options[pick].1.new_tree(runner)?;
        let first = if pick == 0 { None } else { Some(self.options[0].1.new_tree(runner)?) };
        Ok(SimplestFirstTree { chosen, first, on_first: false, just_jumped: false })
    }
}

/// The value tree of [`SimplestFirst`].
pub struct SimplestFirstTree<T> {
    chosen: BoxedTree<T>,
    first: Option<BoxedTree<T>>,
    on_first: bool,
    just_jumped: bool,
}

impl<T> fmt::Debug for SimplestFirstTree<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "SimplestFirstTree {{ on_first: {} }}", self.on_first)
    }
}

impl<T: fmt::Debug> SimplestFirstTree<T> {
    fn active(&mut self) -> &mut BoxedTree<T> {
        match (&mut self.first, self.on_first) {
            (Some(first), true) => first,
            _ => &mut self.chosen,
        }
    }
}

impl<T: fmt::Debug> ValueTree for SimplestFirstTree<T> {
    type Value = T;

    fn current(&self) -> T {
        match (&self.first, self.on_first) {
            (Some(first), true) => first.current(),
            _ => self.chosen.current(),
        }
    }

    fn simplify(&mut self) -> bool {
        if self.first.is_some() && !self.on_first && !self.just_jumped {
            self.on_first = true;
            self.just_jumped = true;
            return true;
        }
        self.just_jumped = false;
        self.active().simplify()
    }

    fn complicate(&mut self) -> bool {
        if self.just_jumped && self.on_first {
            // The simplest option passes: keep the chosen one, and never jump again.
            self.on_first = false;
            self.first = None;
            self.just_jumped = false;
            return true;
        }
        self.active().complicate()
    }
}
