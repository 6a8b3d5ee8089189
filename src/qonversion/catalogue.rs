//! The event catalogue: the 17 machine names Qonversion sends (`qonversion-webhook.md`).

/// One kind of Qonversion event.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct EventKind {
    /// Machine name, as in `event_name`.
    pub name: &'static str,
    /// Name shown in Qonversion's dashboard.
    pub display_name: &'static str,
    /// Default of the per-event `send_revenue` switch.
    pub carries_revenue: bool,
    /// Whether an integration may forward it (`subscription_downgraded` may not).
    pub forwardable: bool,
    /// Refund events carry negative revenue.
    pub is_refund: bool,
}

const fn kind(name: &'static str, display_name: &'static str, carries_revenue: bool) -> EventKind {
    EventKind { name, display_name, carries_revenue, forwardable: true, is_refund: false }
}

const fn refund(name: &'static str, display_name: &'static str) -> EventKind {
    EventKind { name, display_name, carries_revenue: true, forwardable: true, is_refund: true }
}

/// Every event kind, in the order of Qonversion's documentation.
pub const EVENT_KINDS: [EventKind; 17] = [
    kind("trial_started", "Trial Started", false),
    kind("trial_converted", "Trial Converted", true),
    kind("trial_canceled", "Trial Canceled", false),
    kind("trial_billing_retry_entered", "Trial Billing Retry", false),
    kind("trial_still_active", "Trial still active (2 days after start)", false),
    kind("trial_expired", "Trial Expired", false),
    kind("subscription_started", "Subscription Started", true),
    kind("subscription_renewed", "Subscription Renewed", true),
    kind("subscription_upgraded", "Subscription Upgraded", true),
    refund("subscription_refunded", "Subscription Refunded"),
    kind("subscription_canceled", "Subscription Canceled", false),
    kind("subscription_billing_retry_entered", "Subscription Billing Retry", false),
    kind("subscription_expired", "Subscription Expired", false),
    kind("subscription_product_changed", "Subscription Product Changed", false),
    EventKind {
        name: "subscription_downgraded",
        display_name: "Subscription Downgraded",
        carries_revenue: false,
        forwardable: false,
        is_refund: false,
    },
    kind("in_app_purchase", "In-App Purchase", true),
    refund("in_app_refunded", "In-App Refunded"),
];

/// Looks up an event kind by machine name.
///
/// ```
/// let kind = qc_harness::qonversion::catalogue::event_kind("trial_converted").unwrap();
/// assert!(kind.carries_revenue);
/// assert!(qc_harness::qonversion::catalogue::event_kind("nope").is_none());
/// ```
pub fn event_kind(name: &str) -> Option<&'static EventKind> {
    EVENT_KINDS.iter().find(|k| k.name == name)
}
