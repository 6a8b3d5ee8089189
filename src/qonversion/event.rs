//! [`WebhookEvent`]: one Qonversion webhook body, typed, keeping unknown fields.

use serde::{Deserialize, Serialize};
use serde_json::{Map, Number, Value};

use super::field::Field;

/// One Qonversion webhook event (`qonversion-webhook.md`, "Body").
///
/// Every documented field is typed; anything else is kept in `extra`, and absent
/// versus `null` is kept apart, so parsing then serialising gives back the same JSON value.
///
/// ```
/// use qc_harness::WebhookEvent;
/// let body = serde_json::json!({"event_name": "trial_started", "time": null, "x_new": 1});
/// let event: WebhookEvent = serde_json::from_value(body.clone()).unwrap();
/// assert_eq!(event.event_name, "trial_started");
/// assert_eq!(serde_json::to_value(&event).unwrap(), body);
/// ```
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
pub struct WebhookEvent {
    /// Machine name of the event, e.g. `subscription_renewed`.
    pub event_name: String,
    /// Qonversion user id (`QON_…`).
    #[serde(default, skip_serializing_if = "Field::is_absent")]
    pub user_id: Field<String>,
    /// The app's own user id: the CleverTap identity. May be `""`.
    #[serde(default, skip_serializing_if = "Field::is_absent")]
    pub custom_user_id: Field<String>,
    /// Id from the SDK's identify(); often `""`.
    #[serde(default, skip_serializing_if = "Field::is_absent")]
    pub identity_id: Field<String>,
    /// IDFA / AAID.
    #[serde(default, skip_serializing_if = "Field::is_absent")]
    pub advertiser_id: Field<String>,
    /// Store event time (unix seconds), or detection time; may be `null`.
    #[serde(default, skip_serializing_if = "Field::is_absent")]
    pub time: Field<i64>,
    /// When Qonversion generated the event (unix seconds).
    #[serde(default, skip_serializing_if = "Field::is_absent")]
    pub created_at: Field<i64>,
    /// Store product id.
    #[serde(default, skip_serializing_if = "Field::is_absent")]
    pub product_id: Field<String>,
    /// Revenue, absent on events without value.
    #[serde(default, skip_serializing_if = "Field::is_absent")]
    pub revenue: Field<Revenue>,
    /// The gross price.
    #[serde(default, skip_serializing_if = "Field::is_absent")]
    pub price: Field<Price>,
    /// The store transaction.
    #[serde(default, skip_serializing_if = "Field::is_absent")]
    pub transaction: Field<Transaction>,
    /// User properties (`_q_custom_user_id`, `_q_email`, custom keys).
    #[serde(default, skip_serializing_if = "Field::is_absent")]
    pub properties: Field<Map<String, Value>>,
    /// IDFV / Android id.
    #[serde(default, skip_serializing_if = "Field::is_absent")]
    pub device_id: Field<String>,
    /// App version.
    #[serde(default, skip_serializing_if = "Field::is_absent")]
    pub app_version: Field<String>,
    /// Qonversion SDK version.
    #[serde(default, skip_serializing_if = "Field::is_absent")]
    pub sdk_version: Field<String>,
    /// `"production"` or `"sandbox"`.
    #[serde(default, skip_serializing_if = "Field::is_absent")]
    pub environment: Field<String>,
    /// `"iOS"` or `"Android"`.
    #[serde(default, skip_serializing_if = "Field::is_absent")]
    pub platform: Field<String>,
    /// The user's IP address.
    #[serde(default, skip_serializing_if = "Field::is_absent")]
    pub ip: Field<String>,
    /// ISO 3166 alpha-2 country.
    #[serde(default, skip_serializing_if = "Field::is_absent")]
    pub country: Field<String>,
    /// The device locale.
    #[serde(default, skip_serializing_if = "Field::is_absent")]
    pub locale: Field<String>,
    /// Previous product (product-change events).
    #[serde(default, skip_serializing_if = "Field::is_absent")]
    pub old_product_id: Field<String>,
    /// New product (product-change events).
    #[serde(default, skip_serializing_if = "Field::is_absent")]
    pub new_product_id: Field<String>,
    /// iOS group id / Google base plan id.
    #[serde(default, skip_serializing_if = "Field::is_absent")]
    pub subscription_group: Field<String>,
    /// When the user installed the app (unix seconds).
    #[serde(default, skip_serializing_if = "Field::is_absent")]
    pub user_install_date: Field<i64>,
    /// Qonversion project name.
    #[serde(default, skip_serializing_if = "Field::is_absent")]
    pub project_name: Field<String>,
    /// Store app id.
    #[serde(default, skip_serializing_if = "Field::is_absent")]
    pub app_id: Field<String>,
    /// 1 except for consumables.
    #[serde(default, skip_serializing_if = "Field::is_absent")]
    pub quantity: Field<i64>,
    /// How many times the subscription renewed.
    #[serde(default, skip_serializing_if = "Field::is_absent")]
    pub subscription_renew_count: Field<i64>,
    /// The user's entitlements.
    #[serde(default, skip_serializing_if = "Field::is_absent")]
    pub entitlements: Field<Vec<Value>>,
    /// Apple Search Ads attribution.
    #[serde(default, skip_serializing_if = "Field::is_absent")]
    pub asa_attribution: Field<Value>,
    /// Fields this version does not know; kept as they came.
    #[serde(flatten)]
    pub extra: Map<String, Value>,
}

/// The `revenue` object.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
pub struct Revenue {
    /// Amount in the user's currency.
    #[serde(default, skip_serializing_if = "Field::is_absent")]
    pub value: Field<Number>,
    /// Amount in USD.
    #[serde(default, skip_serializing_if = "Field::is_absent")]
    pub value_usd: Field<Number>,
    /// ISO 4217 currency of `value`.
    #[serde(default, skip_serializing_if = "Field::is_absent")]
    pub currency: Field<String>,
    /// 1 when `value` is net of store commission, else 0.
    #[serde(default, skip_serializing_if = "Field::is_absent")]
    pub is_proceed: Field<i64>,
    /// The developer's share in percent (70 or 85).
    #[serde(default, skip_serializing_if = "Field::is_absent")]
    pub proceeds_rate: Field<Number>,
    /// Unknown fields.
    #[serde(flatten)]
    pub extra: Map<String, Value>,
}

/// The `price` object: always the gross price.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
pub struct Price {
    /// Gross amount in the user's currency.
    #[serde(default, skip_serializing_if = "Field::is_absent")]
    pub value: Field<Number>,
    /// Gross amount in USD.
    #[serde(default, skip_serializing_if = "Field::is_absent")]
    pub value_usd: Field<Number>,
    /// ISO 4217 currency of `value`.
    #[serde(default, skip_serializing_if = "Field::is_absent")]
    pub currency: Field<String>,
    /// Unknown fields.
    #[serde(flatten)]
    pub extra: Map<String, Value>,
}

/// The `transaction` object.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
pub struct Transaction {
    /// Store transaction id (older payloads send numbers).
    #[serde(default, skip_serializing_if = "Field::is_absent")]
    pub transaction_id: Field<TransactionId>,
    /// The first transaction of the subscription.
    #[serde(default, skip_serializing_if = "Field::is_absent")]
    pub original_transaction_id: Field<TransactionId>,
    /// Expiry (unix seconds).
    #[serde(default, skip_serializing_if = "Field::is_absent")]
    pub expires: Field<i64>,
    /// End of the grace period, if any.
    #[serde(default, skip_serializing_if = "Field::is_absent")]
    pub grace_period_expires: Field<i64>,
    /// When the store made the transaction.
    #[serde(default, skip_serializing_if = "Field::is_absent")]
    pub transaction_date: Field<i64>,
    /// Promotional offer id.
    #[serde(default, skip_serializing_if = "Field::is_absent")]
    pub promo_offer_id: Field<String>,
    /// Unknown fields.
    #[serde(flatten)]
    pub extra: Map<String, Value>,
}

/// A transaction id: a string, or a number in older payloads.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(untagged)]
pub enum TransactionId {
    /// The usual form.
    Text(String),
    /// Older payloads.
    Number(Number),
}

impl TransactionId {
    /// The id as a string, whatever its JSON type.
    pub fn as_text(&self) -> String {
        match self {
            TransactionId::Text(s) => s.clone(),
            TransactionId::Number(n) => match n.as_f64() {
                // Integral floats (`5e14`, `500000000000000.0`) are written as integers.
                Some(f) if n.is_f64() && f.fract() == 0.0 && f.abs() < 9.0e15 => format!("{}", f as i64),
                _ => n.to_string(),
            },
        }
    }
}

impl WebhookEvent {
    /// Parses a webhook body; the error names `origin` and the JSON path.
    pub fn from_json(bytes: &[u8], origin: impl AsRef<std::path::Path>) -> crate::Result<Self> {
        let event: Self = crate::json_input::parse(bytes, origin.as_ref())?;
        Ok(event)
    }

    /// The event as a JSON value (the webhook body).
    pub fn to_value(&self) -> Value {
        serde_json::to_value(self).expect("a WebhookEvent always serialises")
    }

    /// True when the event is from the production environment.
    pub fn is_production(&self) -> bool {
        self.environment.get().is_some_and(|e| e == "production")
    }
}
