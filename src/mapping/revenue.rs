//! The revenue rules of the reference mapping (`mapping.md`, "Revenue").

use serde_json::Number;

use crate::qonversion::event::WebhookEvent;

/// Proceeds rate used when the webhook has none (percent).
pub const DEFAULT_PROCEEDS_RATE: f64 = 70.0;

/// Decimals the reference rounds revenue to, so that it never sends float noise.
pub const REVENUE_DECIMALS: i32 = 6;

/// The amount and currency that go into `evtData`.
#[derive(Debug, Clone, PartialEq)]
pub struct RevenueValue {
    /// `revenue`: proceeds or gross, negative for refunds, rounded.
    pub amount: f64,
    /// `currency`, when the webhook names one.
    pub currency: Option<String>,
}

/// Whether the webhook has a `price` or `revenue` object with a value.
pub fn has_value(event: &WebhookEvent) -> bool {
    let price = event.price.get().and_then(|p| p.value.get()).is_some();
    let revenue = event.revenue.get().and_then(|r| r.value.get()).is_some();
    price || revenue
}

/// The gross amount: `price.value`, else `revenue.value` when `is_proceed` is 0 (or absent).
pub fn gross(event: &WebhookEvent) -> Option<f64> {
    if let Some(v) = event.price.get().and_then(|p| p.value.get()) {
        return Some(number(v));
    }
    let revenue = event.revenue.get()?;
    let is_proceed = revenue.is_proceed.get().copied().unwrap_or(0);
    if is_proceed == 1 { None } else { revenue.value.get().map(number) }
}

/// The proceeds: `revenue.value` when `is_proceed` is 1, else gross × rate / 100.
pub fn proceeds(event: &WebhookEvent) -> Option<f64> {
    let revenue = event.revenue.get();
    if let Some(r) = revenue.filter(|r| r.is_proceed.get() == Some(&1)) {
        return r.value.get().map(number);
    }
    let rate = revenue.and_then(|r| r.proceeds_rate.get()).map(number).unwrap_or(DEFAULT_PROCEEDS_RATE);
    gross(event).map(|g| g * rate / 100.0)
}

/// The currency: `revenue.currency`, else `price.currency`; empty counts as absent.
pub fn currency(event: &WebhookEvent) -> Option<String> {
    let from_revenue = event.revenue.get().and_then(|r| r.currency.get());
    let from_price = event.price.get().and_then(|p| p.currency.get());
    [from_revenue, from_price].into_iter().flatten().find(|c| !c.is_empty()).cloned()
}

/// The revenue to send: proceeds when `send_proceeds`, else gross; negative for refunds.
///
/// ```
/// use qc_harness::{WebhookEvent, mapping::revenue::revenue_value};
/// let event: WebhookEvent = serde_json::from_value(serde_json::json!({
///     "event_name": "subscription_renewed",
///     "price": {"value": 1499.99, "currency": "TRY"},
///     "revenue": {"value": 1499.99, "currency": "TRY", "is_proceed": 0, "proceeds_rate": 70}
/// })).unwrap();
/// let v = revenue_value(&event, true, false).unwrap();
/// assert_eq!((v.amount, v.currency.as_deref()), (1049.993, Some("TRY")));
/// ```
pub fn revenue_value(event: &WebhookEvent, send_proceeds: bool, is_refund: bool) -> Option<RevenueValue> {
    let amount = if send_proceeds { proceeds(event) } else { gross(event) }?;
    let amount = if is_refund { -amount.abs() } else { amount };
    Some(RevenueValue { amount: round(amount), currency: currency(event) })
}

/// Rounds to [`REVENUE_DECIMALS`] decimals.
pub fn round(amount: f64) -> f64 {
    let scale = 10f64.powi(REVENUE_DECIMALS);
    if !(amount * scale).is_finite() {
        return amount;
    }
    let rounded = (amount * scale).round() / scale;
    if rounded == 0.0 { 0.0 } else { rounded }
}

/// Whether `observed` equals `expected` within the mapping's tolerance,
/// `1e-6 × max(1, |expected|)`.
pub fn within_tolerance(expected: f64, observed: f64) -> bool {
    (expected - observed).abs() <= 1e-6 * expected.abs().max(1.0)
}

fn number(n: &Number) -> f64 {
    n.as_f64().unwrap_or(0.0)
}
