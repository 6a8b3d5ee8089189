//! Attributes the records a relay uploads to property cases by content, not by arrival order.
//!
//! Every case is closed by a *marker* webhook. A relay that uploads from several background
//! workers may upload the marker's record before the case's own, so the case does not end
//! where the marker's record is: it ends when the marker's record has arrived **and** the
//! case's own record has (a record carrying the case's identity, or its delivery's unique
//! `user_id`), when the rules forward the event. A relay seen uploading a case's record
//! after the marker's is given time for such stragglers ([`Stragglers`]).

use std::time::Duration;

use serde_json::Value;

use crate::clevertap::JournalEntry;

/// Every marker's `custom_user_id` starts with this; no generated case uses it.
pub const MARKER_PREFIX: &str = "qc-marker-";

/// The longest wait for a case's own record after the marker's arrived.
pub const MAX_STRAGGLER_WAIT: Duration = Duration::from_secs(1);

/// The shortest wait for a case's own record after the marker's arrived.
pub const MIN_STRAGGLER_WAIT: Duration = Duration::from_millis(50);

/// How a case's records are told apart from the marker's and from other cases'.
#[derive(Debug, Clone, PartialEq)]
pub struct CaseKey {
    /// The marker's token (its identity); `None` when no event kind is enabled.
    pub marker: Option<String>,
    /// The identity the rules give the case's record; `None` when the event is not forwarded.
    pub identity: Option<String>,
    /// The unique `user_id` the case was delivered with.
    pub delivery: String,
}

impl CaseKey {
    /// Whether `record` is the case's own: it has the case's identity, or carries its delivery's `user_id`.
    pub fn owns(&self, record: &Value) -> bool {
        let identity = match record.get("identity") {
            Some(Value::String(s)) => Some(s.clone()),
            Some(Value::Number(n)) => Some(n.to_string()),
            _ => None,
        };
        let quoted = format!("\"{}\"", self.delivery);
        (self.identity.is_some() && identity == self.identity) || record.to_string().contains(&quoted)
    }
}

/// Whether `record` is a marker's (any case's).
pub fn is_marker_record(record: &Value) -> bool {
    record.to_string().contains(MARKER_PREFIX)
}

/// What the fake CleverTap holds for one case at one moment.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Gathered {
    /// Every record that is not a marker's, in arrival order.
    pub records: Vec<Value>,
    /// When this case's marker record arrived (since the fake's start or last reset).
    pub marker_at: Option<Duration>,
    /// When the case's own record first arrived.
    pub own_at: Option<Duration>,
    /// An upload CleverTap refused: its status and answer.
    pub refused: Option<String>,
    /// The last request number looked at (0 when there was none).
    pub last_seq: u64,
}

impl Gathered {
    /// Sorts the requests (those after the case's cursor) into the case's records and the markers.
    pub fn from_requests(requests: &[JournalEntry], key: &CaseKey) -> Gathered {
        let mut out = Gathered::default();
        for request in requests {
            out.last_seq = out.last_seq.max(request.seq);
            if request.status != 200 && out.refused.is_none() {
                out.refused = Some(format!(
                    "CleverTap refused an upload with {}: {}",
                    request.status, request.response
                ));
            }
            for record in &request.records {
                if is_marker_record(record) {
                    let own_marker = key.marker.as_deref().is_some_and(|m| record.to_string().contains(m));
                    if own_marker && out.marker_at.is_none() {
                        out.marker_at = Some(request.offset);
                    }
                    continue;
                }
                if out.own_at.is_none() && key.owns(record) {
                    out.own_at = Some(request.offset);
                }
                out.records.push(record.clone());
            }
        }
        out
    }

    /// The marker's record is in (or there is no marker).
    pub fn marker_done(&self, key: &CaseKey) -> bool {
        key.marker.is_none() || self.marker_at.is_some()
    }

    /// The case's own record is in, or the rules forward nothing for it.
    pub fn own_done(&self, key: &CaseKey) -> bool {
        key.identity.is_none() || self.own_at.is_some()
    }

    /// How long after the marker's record the case's own record came (zero when before).
    pub fn lag(&self) -> Duration {
        match (self.marker_at, self.own_at) {
            (Some(marker), Some(own)) => own.saturating_sub(marker),
            _ => Duration::ZERO,
        }
    }
}

/// What the run has learnt about a relay's stragglers: how late after the marker's record a
/// case's own record has come. Sets how long a case waits for its own record, and how long
/// it lets late extra records come in, once the marker's record is in.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct Stragglers {
    longest_lag: Duration,
}

impl Stragglers {
    /// Notes one case's lag (see [`Gathered::lag`]).
    pub fn observe(&mut self, lag: Duration) {
        self.longest_lag = self.longest_lag.max(lag);
    }

    /// How long to wait for a missing own record once the marker's record is in.
    ///
    /// ```
    /// use std::time::Duration;
    /// use qc_harness::props::matching::{Stragglers, MIN_STRAGGLER_WAIT, MAX_STRAGGLER_WAIT};
    /// let mut s = Stragglers::default();
    /// assert_eq!(s.own_record_wait(), MIN_STRAGGLER_WAIT);
    /// s.observe(Duration::from_millis(40));
    /// assert_eq!(s.own_record_wait(), Duration::from_millis(210));
    /// s.observe(Duration::from_secs(9));
    /// assert_eq!(s.own_record_wait(), MAX_STRAGGLER_WAIT);
    /// ```
    pub fn own_record_wait(&self) -> Duration {
        (self.longest_lag * 4 + MIN_STRAGGLER_WAIT).min(MAX_STRAGGLER_WAIT)
    }

    /// How long to let late records come in once the case looks complete: none for a relay
    /// never seen uploading after a marker, else twice its longest lag.
    pub fn settle(&self) -> Duration {
        (self.longest_lag * 2).min(MAX_STRAGGLER_WAIT)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn key(identity: Option<&str>) -> CaseKey {
        CaseKey {
            marker: Some("qc-marker-1-2".into()),
            identity: identity.map(String::from),
            delivery: "qc-prop-1-1".into(),
        }
    }

    #[test]
    fn a_case_owns_records_with_its_identity_or_its_delivery_user_id() {
        let k = key(Some("u1"));
        assert!(k.owns(&json!({"identity": "u1"})));
        assert!(!k.owns(&json!({"identity": "u2"})));
        assert!(
            k.owns(&json!({"identity": "qc-prop-1-1"})),
            "a wrong identity from user_id is still the case's"
        );
        assert!(!k.owns(&json!({"identity": "qc-prop-1-12"})), "another delivery's user id");
        assert!(!key(None).owns(&json!({"identity": "u1"})));
        let numeric = CaseKey { identity: Some("42".into()), ..key(None) };
        assert!(numeric.owns(&json!({"identity": 42})));
    }

    #[test]
    fn markers_are_told_apart_from_case_records() {
        assert!(is_marker_record(&json!({"identity": "qc-marker-9-1", "evtData": {}})));
        assert!(!is_marker_record(&json!({"identity": "u1", "evtData": {"product_id": "qc-prop-9-1"}})));
    }

    #[test]
    fn stragglers_widen_the_waits_up_to_a_cap() {
        let mut s = Stragglers::default();
        assert_eq!(s.settle(), Duration::ZERO);
        s.observe(Duration::from_millis(3));
        assert_eq!(s.settle(), Duration::from_millis(6));
        s.observe(Duration::from_millis(1));
        assert_eq!(s.settle(), Duration::from_millis(6), "the longest lag counts");
        s.observe(Duration::from_secs(5));
        assert_eq!(s.settle(), MAX_STRAGGLER_WAIT);
    }

    fn request(seq: u64, at_ms: u64, records: Vec<serde_json::Value>, status: u16) -> JournalEntry {
        JournalEntry {
            seq,
            received_at: std::time::SystemTime::UNIX_EPOCH,
            offset: Duration::from_millis(at_ms),
            answered_after: Duration::ZERO,
            method: "POST".into(),
            host: None,
            path: "/1/upload".into(),
            query: None,
            headers: Default::default(),
            body: String::new(),
            records,
            outcomes: Vec::new(),
            status,
            response: "{}".into(),
            fault: None,
            in_flight: 1,
            dry_run: false,
        }
    }

    #[test]
    fn a_case_record_that_overtook_nothing_or_came_after_its_marker_is_the_cases() {
        let k = key(Some("u1"));
        let (marker, own) = (json!({"identity": "qc-marker-1-2"}), json!({"identity": "u1"}));
        // The marker's record first, the case's own 4 ms later (parallel workers).
        let late = [request(7, 10, vec![marker.clone()], 200), request(8, 14, vec![own.clone()], 200)];
        let gathered = Gathered::from_requests(&late, &k);
        assert_eq!(gathered.records, vec![own.clone()], "the marker's record is not the case's");
        assert!(gathered.marker_done(&k) && gathered.own_done(&k));
        assert_eq!((gathered.lag(), gathered.last_seq), (Duration::from_millis(4), 8));
        // Only the marker's so far: the case waits for its own record.
        let early = Gathered::from_requests(&late[..1], &k);
        assert!(early.marker_done(&k) && !early.own_done(&k) && early.records.is_empty());
        // In order: no lag.
        let in_order = [request(1, 3, vec![own], 200), request(2, 5, vec![marker], 200)];
        assert_eq!(Gathered::from_requests(&in_order, &k).lag(), Duration::ZERO);
    }

    #[test]
    fn another_markers_record_does_not_end_the_case_and_a_refusal_is_reported() {
        let k = key(None);
        let other_marker = [request(1, 1, vec![json!({"identity": "qc-marker-1-1"})], 200)];
        let gathered = Gathered::from_requests(&other_marker, &k);
        assert!(!gathered.marker_done(&k) && gathered.records.is_empty());
        assert!(gathered.own_done(&k), "nothing is forwarded: no own record to wait for");
        let refused = [request(1, 1, vec![json!({"identity": "u1"})], 401)];
        assert!(Gathered::from_requests(&refused, &k).refused.unwrap().contains("401"));
    }
}
