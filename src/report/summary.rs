//! The root-cause summary: failures grouped by signature (the field and the kind of
//! difference, the check, the CleverTap code), each group with a count, the events and variants
//! it touches, a hint where the pattern is recognised, and the first few examples.

use std::collections::BTreeSet;

use super::signature::{case_signatures, contract_hint};
use crate::conformance::{CaseResult, CheckResult, Difference, Level, RunOutcome, Status};

/// One root cause: a signature shared by failing cases, or by failing checks.
#[derive(Debug, Clone, PartialEq)]
pub struct RootCause {
    /// The signature, e.g. `ts: observed = expected × 1000`.
    pub headline: String,
    /// The likely cause and fix, when the pattern is recognised.
    pub hint: Option<String>,
    /// One line per affected case (`fixture @ variant — detail`), or the checks' details.
    pub examples: Vec<String>,
    /// Affected cases (0 for a check group).
    pub cases: usize,
    /// Affected events (the fixture names' first part).
    pub events: BTreeSet<String>,
    /// Affected variants.
    pub variants: BTreeSet<String>,
    /// The checks of a check group (empty for a case group).
    pub checks: Vec<String>,
    /// A check group's verdict and level.
    pub check_status: Option<(Status, Level)>,
    /// The last lines of the relay's output, for a check group.
    pub relay_tail: Option<String>,
    /// The affected cases, as `(fixture, variant)`.
    pub case_keys: BTreeSet<(String, String)>,
    /// Groups that follow from this one (e.g. CleverTap's 525 after `ts` in milliseconds),
    /// shown as one line each under it.
    pub consequences: Vec<RootCause>,
}

impl RootCause {
    fn new(headline: String, hint: Option<String>) -> Self {
        RootCause {
            headline,
            hint,
            examples: Vec::new(),
            cases: 0,
            events: BTreeSet::new(),
            variants: BTreeSet::new(),
            checks: Vec::new(),
            check_status: None,
            relay_tail: None,
            case_keys: BTreeSet::new(),
            consequences: Vec::new(),
        }
    }
}

/// The failing cases grouped by signature (most cases first), then the failing and warning
/// checks grouped by what they observed.
pub fn root_causes(outcome: &RunOutcome) -> Vec<RootCause> {
    let mut groups: Vec<RootCause> = Vec::new();
    for case in outcome.cases.iter().filter(|c| c.status == Status::Failed) {
        let mut seen: BTreeSet<String> = BTreeSet::new();
        for (headline, hint, detail) in case_signatures(case) {
            if !seen.insert(headline.clone()) {
                continue;
            }
            let group = match groups.iter().position(|g| g.headline == headline) {
                Some(i) => &mut groups[i],
                None => {
                    groups.push(RootCause::new(headline, hint));
                    groups.last_mut().expect("just pushed")
                }
            };
            group.cases += 1;
            group.case_keys.insert((case.fixture.clone(), case.variant.clone()));
            group.events.insert(event_of(case));
            group.variants.insert(case.variant.clone());
            group.examples.push(format!("{} @ {} — {detail}", case.fixture, case.variant));
        }
    }
    groups.sort_by_key(|g| std::cmp::Reverse(g.cases));
    let mut groups = nest_consequences(groups);
    groups.extend(check_groups(&outcome.checks));
    groups
}

/// A group that follows from another (its hint says so, or it re-sends rejected records).
fn is_consequence(group: &RootCause) -> bool {
    group.hint.as_deref().is_some_and(|h| h.starts_with("follows from"))
        || group.headline.starts_with("extra record (a rejected record")
}

/// Moves each consequence under the first group holding all of its cases.
fn nest_consequences(groups: Vec<RootCause>) -> Vec<RootCause> {
    let (consequences, mut roots): (Vec<RootCause>, Vec<RootCause>) =
        groups.into_iter().partition(is_consequence);
    for consequence in consequences {
        match roots.iter_mut().find(|r| consequence.case_keys.is_subset(&r.case_keys)) {
            Some(root) => root.consequences.push(consequence),
            None => roots.push(consequence),
        }
    }
    roots
}

/// The event a case belongs to: the fixture name's first part.
fn event_of(case: &CaseResult) -> String {
    match case.reasons.as_slice() {
        [only] => only.event.clone(),
        _ => case.fixture.clone(),
    }
}

fn check_groups(checks: &[CheckResult]) -> Vec<RootCause> {
    let mut groups: Vec<RootCause> = Vec::new();
    for check in checks.iter().filter(|c| matches!(c.status, Status::Failed | Status::Warning)) {
        let found = groups.iter().position(|g| {
            g.headline == check.observed && g.check_status == Some((check.status, check.level))
        });
        let group = match found {
            Some(i) => &mut groups[i],
            None => {
                let mut group = RootCause::new(check.observed.clone(), None);
                group.check_status = Some((check.status, check.level));
                group.relay_tail = check.relay_tail.as_deref().and_then(last_lines);
                groups.push(group);
                groups.last_mut().expect("just pushed")
            }
        };
        let expected = format!("expected: {}", check.expected);
        if !group.examples.contains(&expected) {
            group.examples.push(expected);
        }
        group.examples.extend(check.details.iter().map(|d| format!("{}: {d}", check.name)));
        group.checks.push(check.name.clone());
        group.variants.insert(check.variant.clone());
    }
    for group in &mut groups {
        group.hint = contract_hint(&group.checks);
    }
    groups
}

/// The last non-blank lines of a relay's output, as one indented block.
fn last_lines(tail: &str) -> Option<String> {
    let lines: Vec<&str> = tail.lines().filter(|l| !l.trim().is_empty()).collect();
    let last = &lines[lines.len().saturating_sub(TAIL_LINES)..];
    (!last.is_empty()).then(|| last.iter().map(|l| format!("  | {l}")).collect::<Vec<_>>().join("\n"))
}

/// Relay output lines shown per check group.
const TAIL_LINES: usize = 3;

/// How many examples (and names) each group shows: `Some(n)`, or `None` for all of them.
pub type Limit = Option<usize>;

/// The summary as lines: a title, then per group a headline, the hint, the events and
/// variants, and up to `limit` examples with a count of the rest; `with_checks` false leaves
/// out the check groups (when their lines were printed already).
pub fn render_root_causes(outcome: &RunOutcome, color: bool, limit: Limit, with_checks: bool) -> Vec<String> {
    let mut groups = root_causes(outcome);
    if !with_checks {
        groups.retain(|g| g.check_status.is_none());
    }
    if groups.is_empty() {
        return Vec::new();
    }
    let case_groups = groups.iter().filter(|g| g.check_status.is_none()).count();
    let check_groups = groups.len() - case_groups;
    let mut lines = vec![format!(
        "Root causes: {case_groups} in the mapping cases, {check_groups} in the behaviour checks"
    )];
    let rejected =
        outcome.cases.iter().any(|c| c.differences.iter().any(|d| matches!(d, Difference::Rejected { .. })));
    for (i, group) in groups.iter().enumerate() {
        let first_check =
            group.check_status.is_some() && groups[..i].iter().all(|g| g.check_status.is_none());
        if rejected && first_check {
            lines.push(
                "note: CleverTap rejected records in the mapping cases; a check that needs a record \
                 processed fails for that reason too: fix the mapping first (--details all shows the checks' details)"
                    .to_string(),
            );
        }
        let mut rendered = render_group(group, color, limit);
        if rejected && limit.is_some() && group.check_status.is_some() {
            rendered.truncate(1);
        }
        lines.extend(rendered);
    }
    lines
}

fn render_group(group: &RootCause, color: bool, limit: Limit) -> Vec<String> {
    let mut lines = Vec::new();
    match group.check_status {
        None => {
            let mark = super::human::mark(Status::Failed, color);
            lines.push(format!("{mark} {} — {} case(s)", group.headline, group.cases));
            if let Some(hint) = &group.hint {
                lines.push(format!("    hint: {hint}"));
            }
            lines.push(format!("    events: {}", names(&group.events, limit)));
            lines.push(format!("    variants: {}", names(&group.variants, limit)));
            for c in &group.consequences {
                lines.push(format!("    then: {} — {} case(s)", c.headline, c.cases));
            }
        }
        Some((status, level)) => {
            let level = if level == Level::Must { "MUST" } else { "SHOULD" };
            let plural = if group.checks.len() > 1 { "checks" } else { "check" };
            let warning = if status == Status::Warning { "warning: " } else { "" };
            lines.push(format!(
                "{} {plural} {} [{level}] — {warning}{}",
                super::human::mark(status, color),
                group.checks.join(", "),
                group.headline
            ));
            if let Some(hint) = &group.hint {
                lines.push(format!("    hint: {hint}"));
            }
        }
    }
    // A check group's first line is `expected: ...`; its details are long request logs.
    let shown = match (limit, group.check_status) {
        (Some(n), Some(_)) => n.min(2),
        (Some(n), None) => n,
        (None, _) => usize::MAX,
    };
    lines.extend(group.examples.iter().take(shown).map(|e| format!("    {e}")));
    if group.examples.len() > shown {
        lines
            .push(format!("    … and {} more (--details all shows every one)", group.examples.len() - shown));
    }
    if let Some(tail) = &group.relay_tail {
        lines.push("    relay output (last lines):".into());
        lines.extend(tail.lines().map(|l| format!("    {l}")));
    }
    lines
}

/// One line per root cause (its headline), for `run -q`.
///
/// ```
/// use qc_harness::RunOutcome;
/// assert!(qc_harness::report::summary::headlines(&RunOutcome::default(), false).is_empty());
/// ```
pub fn headlines(outcome: &RunOutcome, color: bool) -> Vec<String> {
    root_causes(outcome).iter().map(|g| render_group(g, color, Some(0))[0].clone()).collect()
}

/// `a, b, c (+4 more)`.
fn names(set: &BTreeSet<String>, limit: Limit) -> String {
    let shown = limit.map_or(usize::MAX, |n| n.max(6));
    let mut text: Vec<&str> = set.iter().take(shown).map(String::as_str).collect();
    let rest = set.len().saturating_sub(shown);
    let more = format!("(+{rest} more)");
    if rest > 0 {
        text.push(&more);
    }
    text.join(", ")
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::conformance::hints::DiffHint;
    use crate::conformance::reasons::{RecordReason, Rule};
    use crate::snapshot::SnapshotStatus;
    use serde_json::json;

    fn case(fixture: &str, variant: &str, differences: Vec<Difference>, hints: Vec<DiffHint>) -> CaseResult {
        CaseResult {
            fixture: fixture.into(),
            variant: variant.into(),
            status: Status::Failed,
            expected: Vec::new(),
            reasons: vec![RecordReason {
                event: fixture.split('.').next().unwrap().into(),
                expected: !fixture.contains("sandbox"),
                rule: if fixture.contains("sandbox") { Rule::Sandbox } else { Rule::Forwarded },
                why: "because".into(),
            }],
            observed: Vec::new(),
            differences,
            hints,
            webhook_statuses: vec![Some(200)],
            problems: Vec::new(),
            snapshot: SnapshotStatus::NotChecked,
            relay_tail: None,
        }
    }

    fn ms(fixture: &str, variant: &str) -> CaseResult {
        let diff =
            Difference::Field { path: "ts".into(), expected: Some(json!(1)), observed: Some(json!(1000)) };
        let hint =
            DiffHint { path: "ts".into(), pattern: "observed = expected × 1000".into(), hint: "ms".into() };
        case(fixture, variant, vec![diff], vec![hint])
    }

    fn outcome() -> RunOutcome {
        let extra = Difference::Extra { observed: json!({}), at: "request #1 record #1".into() };
        let mut cases: Vec<CaseResult> = (0..5)
            .map(|i| ms(&format!("trial_started.f{i}"), if i % 2 == 0 { "default" } else { "gross" }))
            .collect();
        cases.push(case("in_app_purchase.ios.sandbox", "default", vec![extra], Vec::new()));
        RunOutcome { cases, ..RunOutcome::default() }
    }

    #[test]
    fn failures_group_by_signature_with_counts_events_variants_and_hints() {
        let groups = root_causes(&outcome());
        assert_eq!(groups.len(), 2, "{groups:?}");
        assert_eq!(groups[0].headline, "ts: observed = expected × 1000");
        assert_eq!((groups[0].cases, groups[0].variants.len(), groups[0].events.len()), (5, 2, 1));
        assert_eq!(groups[1].headline, "extra record for a sandbox event");
        assert!(groups[1].hint.as_deref().unwrap().contains("only sandbox fixtures"));
    }

    #[test]
    fn examples_are_capped_and_every_headline_is_printed_once() {
        let lines = render_root_causes(&outcome(), false, Some(2), true);
        let text = lines.join("\n");
        assert_eq!(text.matches("ts: observed = expected × 1000 — 5 case(s)").count(), 1, "{text}");
        assert!(text.contains("… and 3 more (--details all shows every one)"), "{text}");
        let all = render_root_causes(&outcome(), false, None, true).join("\n");
        assert!(!all.contains("… and"), "{all}");
        assert_eq!(all.matches("trial_started.f").count(), 5);
    }

    #[test]
    fn checks_with_the_same_observation_share_one_headline() {
        let check = |name: &str| CheckResult {
            name: name.into(),
            level: Level::Must,
            variant: "checks".into(),
            status: Status::Failed,
            expected: "retried".into(),
            observed: "the event was lost".into(),
            details: Vec::new(),
            relay_tail: Some("started\n".into()),
            duration: std::time::Duration::ZERO,
        };
        let outcome = RunOutcome {
            checks: vec![check("upstream.429"), check("upstream.5xx")],
            ..RunOutcome::default()
        };
        let text = render_root_causes(&outcome, false, Some(3), true).join("\n");
        assert_eq!(text.matches("the event was lost").count(), 1, "{text}");
        assert!(text.contains("✗ checks upstream.429, upstream.5xx [MUST]"), "{text}");
        assert!(text.contains("hint: the contract: retry a 429"), "{text}");
    }
}
