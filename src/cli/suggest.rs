//! "did you mean ...?" for names typed on the command line (fixtures, events, checks, variants).

/// The closest candidate to `input`, when it is close enough to be a typo.
///
/// Close enough: an edit distance of at most a third of the input's length (at least 1), or
/// one name containing the other.
pub fn closest<'a>(input: &str, candidates: impl IntoIterator<Item = &'a str>) -> Option<&'a str> {
    let input_lower = input.to_ascii_lowercase();
    let limit = (input.chars().count() / 3).max(1);
    candidates
        .into_iter()
        .map(|c| (distance(&input_lower, &c.to_ascii_lowercase()), c))
        .filter(|(d, c)| *d <= limit || (input.len() >= 4 && c.contains(input)))
        .min_by_key(|(d, _)| *d)
        .map(|(_, c)| c)
}

/// `; did you mean `x`?` or nothing.
pub fn did_you_mean<'a>(input: &str, candidates: impl IntoIterator<Item = &'a str>) -> String {
    closest(input, candidates).map_or(String::new(), |c| format!("; did you mean `{c}`?"))
}

/// Levenshtein distance over characters.
fn distance(a: &str, b: &str) -> usize {
    let b: Vec<char> = b.chars().collect();
    let mut row: Vec<usize> = (0..=b.len()).collect();
    for (i, ca) in a.chars().enumerate() {
        let mut previous = row[0];
        row[0] = i + 1;
        for (j, cb) in b.iter().enumerate() {
            let substitution = previous + usize::from(ca != *cb);
            previous = row[j + 1];
            row[j + 1] = substitution.min(row[j] + 1).min(previous + 1);
        }
    }
    row[b.len()]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_typo_gets_the_nearest_name_and_nonsense_gets_none() {
        let names = ["trial_started", "trial_converted", "subscription_renewed"];
        assert_eq!(closest("trial_startd", names), Some("trial_started"));
        assert_eq!(closest("subscription_renwed", names), Some("subscription_renewed"));
        assert_eq!(closest("zzz", names), None);
        assert_eq!(did_you_mean("upstream.492", ["upstream.429"]), "; did you mean `upstream.429`?");
    }
}
