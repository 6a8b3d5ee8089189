//! proptest strategies for [`WebhookEvent`] and [`Settings`].
//!
//! Generated events cover every event kind, both platforms and environments, currencies
//! with and without a minor unit, revenue edge values (0, tiny, huge, many decimals,
//! refunds of either sign), `is_proceed` 0/1, rates 70/85, unicode, long and empty user
//! ids with and without the `_q_custom_user_id` fallback, `time: null`, numeric
//! transaction ids, missing optional fields, extra unknown fields, unknown event names
//! and `subscription_downgraded`.
//!
//! Shrinking leads to small, readable events: every optional field shrinks to absent
//! first, every choice shrinks to its first (plainest) alternative, amounts shrink to
//! round values and settings shrink to the defaults.
//!
//! ```
//! use proptest::strategy::{Strategy, ValueTree};
//! use proptest::test_runner::TestRunner;
//! let mut runner = TestRunner::deterministic();
//! let (event, settings) = qc_harness::strategies::case().new_tree(&mut runner).unwrap().current();
//! // Generated settings are valid settings files; events survive a JSON round trip.
//! let reread = qc_harness::Settings::from_json(settings.to_json_pretty().as_bytes(), "s.json").unwrap();
//! assert_eq!(reread, settings);
//! assert_eq!(serde_json::from_value::<qc_harness::WebhookEvent>(event.to_value()).unwrap(), event);
//! ```

use std::collections::BTreeMap;

use proptest::collection::btree_map;
use proptest::option;
use proptest::prelude::*;
use proptest::sample::select;
use proptest::string::{RegexGeneratorStrategy, string_regex};
use serde_json::{Map, Number, Value, json};

use super::simplest_first::simplest_first;
use crate::mapping::{EventSettings, Settings};
use crate::qonversion::catalogue::EVENT_KINDS;
use crate::qonversion::event::{Transaction, TransactionId, WebhookEvent};
use crate::qonversion::field::Field;

/// A weighted choice that shrinks to its first option first (see [`simplest_first`]).
macro_rules! choice {
    ($($weight:expr => $strategy:expr),+ $(,)?) => {
        simplest_first(vec![$(($weight, $strategy.boxed())),+])
    };
}

mod money;

pub use money::amount;
use money::money;

/// Event names that are not in the catalogue (a relay must not forward them).
pub const UNKNOWN_EVENT_NAMES: [&str; 5] =
    ["subscription_paused", "trial_reactivated", "Trial_Started", "", "in_app_purchase "];

/// Fields of a typical day: unix seconds between 2017 and 2033 (shrinks to 1700000000).
fn timestamp() -> impl Strategy<Value = i64> {
    choice![1 => Just(1_700_000_000i64), 1 => 1_500_000_000i64..2_000_000_000]
}

/// Absent (the shrink target), sometimes `null`, mostly a value.
fn field<T: std::fmt::Debug + Clone + 'static>(
    value: impl Strategy<Value = T> + 'static,
) -> BoxedStrategy<Field<T>> {
    choice![1 => Just(Field::Absent), 1 => Just(Field::Null), 8 => value.prop_map(Field::Value)].boxed()
}

/// Absent or a value, never `null` (fields Qonversion always types).
fn optional<T: std::fmt::Debug + Clone + 'static>(
    value: impl Strategy<Value = T> + 'static,
) -> BoxedStrategy<Field<T>> {
    choice![1 => Just(Field::Absent), 4 => value.prop_map(Field::Value)].boxed()
}

/// A user id: plain, empty, unicode or long (up to CleverTap's 120-character identity limit:
/// a longer one is rejected with 523 whatever the relay does, so it tests no mapping rule).
pub fn user_id() -> impl Strategy<Value = String> {
    choice![
        8 => re("u[0-9]{1,3}"),
        2 => re("[\\p{Greek}\\p{Cyrillic}\\p{Han}é ü😀-]{1,12}"),
        1 => re("[a-z0-9]{100,120}"),
        1 => Just(String::new()),
    ]
}

/// An event name: a known kind (shrinks to `trial_started`), `subscription_downgraded`, or unknown.
pub fn event_name() -> impl Strategy<Value = String> {
    let known: Vec<String> = EVENT_KINDS.iter().map(|k| k.name.to_string()).collect();
    let unknown: Vec<String> = UNKNOWN_EVENT_NAMES.iter().map(|n| n.to_string()).collect();
    choice![
        16 => select(known),
        2 => Just("subscription_downgraded".to_string()),
        2 => select(unknown),
    ]
}

fn transaction_id() -> impl Strategy<Value = TransactionId> {
    prop_oneof![
        re("[0-9]{6,16}").prop_map(TransactionId::Text),
        re("GPA\\.[0-9]{4}-[0-9]{4}").prop_map(TransactionId::Text),
        (1u64..1_000_000_000_000_000).prop_map(|n| TransactionId::Number(Number::from(n))),
    ]
}

fn transaction() -> impl Strategy<Value = Transaction> {
    (optional(transaction_id()), optional(transaction_id()), field(timestamp()), field(timestamp())).prop_map(
        |(transaction_id, original_transaction_id, expires, grace_period_expires)| Transaction {
            transaction_id,
            original_transaction_id,
            expires,
            grace_period_expires,
            ..Transaction::default()
        },
    )
}

/// User properties: maybe the `_q_custom_user_id` fallback (string or number), maybe others.
fn properties() -> impl Strategy<Value = Map<String, Value>> {
    let fallback = prop_oneof![
        3 => user_id().prop_map(Value::String),
        1 => (1u64..1_000_000).prop_map(Value::from),
    ];
    (option::of(fallback), option::of(re("[a-z]{1,8}@example\\.com")), option::of(re("[a-z]{1,10}")))
        .prop_map(|(custom, email, plan)| {
            let mut map = Map::new();
            custom.map(|v| map.insert("_q_custom_user_id".into(), v));
            email.map(|v| map.insert("_q_email".into(), Value::String(v)));
            plan.map(|v| map.insert("plan".into(), Value::String(v)));
            map
        })
}

/// Extra unknown top-level fields (Qonversion adds fields over time).
fn extra_fields() -> impl Strategy<Value = Map<String, Value>> {
    let key = select(vec!["x_new_field", "campaign", "store", "is_family_share"]);
    let value = prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::from),
        (0i64..1000).prop_map(Value::from),
        re("[a-z]{0,8}").prop_map(Value::from),
        Just(json!({"nested": [1, "two"]})),
    ];
    btree_map(key, value, 0..3).prop_map(|m| m.into_iter().map(|(k, v)| (k.to_string(), v)).collect())
}

fn text(pattern: &'static str) -> BoxedStrategy<Field<String>> {
    field(re(pattern))
}

/// A string strategy from a regular expression, compiled once (a `&str` strategy
/// recompiles its pattern for every generated value).
fn re(pattern: &str) -> RegexGeneratorStrategy<String> {
    string_regex(pattern).expect("the strategies' patterns are valid")
}

/// The identity and environment part of an event.
#[derive(Debug, Clone)]
struct Who {
    custom_user_id: Field<String>,
    properties: Field<Map<String, Value>>,
    environment: Field<String>,
    platform: Field<String>,
    user_id: Field<String>,
    time: Field<i64>,
    created_at: Field<i64>,
}

fn who() -> impl Strategy<Value = Who> {
    let environment =
        choice![8 => Just("production"), 4 => Just("sandbox"), 1 => Just("staging")].prop_map(String::from);
    (
        optional(properties()),
        field(user_id()),
        optional(environment),
        optional(select(vec!["iOS", "Android"]).prop_map(String::from)),
        optional(re("QON_[0-9a-f]{8}")),
        field(timestamp()),
        optional(timestamp()),
    )
        .prop_map(|(properties, custom_user_id, environment, platform, user_id, time, created_at)| Who {
            custom_user_id,
            properties,
            environment,
            platform,
            user_id,
            time,
            created_at,
        })
}

/// Device, product and store details (all optional).
#[derive(Debug, Clone)]
struct Details {
    product_id: Field<String>,
    quantity: Field<i64>,
    transaction: Field<Transaction>,
    ip: Field<String>,
    country: Field<String>,
    app_version: Field<String>,
    device_id: Field<String>,
    products: (Field<String>, Field<String>),
    extra: Map<String, Value>,
}

fn details() -> impl Strategy<Value = Details> {
    (
        text("(com\\.app\\.)?(monthly|yearly|coins_[0-9]{2})"),
        optional(0i64..=5),
        optional(transaction()),
        text("(10|192)\\.[0-9]{1,3}\\.[0-9]{1,3}\\.[0-9]{1,3}"),
        text("(US|DE|JP|TR|BR|)"),
        text("[1-9]\\.[0-9]{1,2}(\\.[0-9])?"),
        text("[0-9A-F]{8}-[0-9A-F]{4}"),
        (optional(re("(monthly|yearly)")), optional(re("(monthly|yearly|weekly)"))),
        extra_fields(),
    )
        .prop_map(
            |(product_id, quantity, transaction, ip, country, app_version, device_id, products, extra)| {
                Details {
                    product_id,
                    quantity,
                    transaction,
                    ip,
                    country,
                    app_version,
                    device_id,
                    products,
                    extra,
                }
            },
        )
}

/// A Qonversion webhook event.
pub fn webhook_event() -> impl Strategy<Value = WebhookEvent> {
    (event_name(), who(), details(), optional(money()), optional(re("[0-9]\\.[0-9]{1,2}\\.[0-9]"))).prop_map(
        |(event_name, who, details, money, sdk_version)| {
            let refund = event_name.contains("refunded");
            let (price, revenue) = match money.get() {
                Some(m) => {
                    let sign = if refund && m.negative { -1.0 } else { 1.0 };
                    (m.price(sign), m.revenue(sign))
                }
                None => (Field::Absent, Field::Absent),
            };
            WebhookEvent {
                event_name,
                user_id: who.user_id,
                custom_user_id: who.custom_user_id,
                time: who.time,
                created_at: who.created_at,
                product_id: details.product_id,
                revenue,
                price,
                transaction: details.transaction,
                properties: who.properties,
                device_id: details.device_id,
                app_version: details.app_version,
                sdk_version,
                environment: who.environment,
                platform: who.platform,
                ip: details.ip,
                country: details.country,
                old_product_id: details.products.0,
                new_product_id: details.products.1,
                quantity: details.quantity,
                extra: details.extra,
                ..WebhookEvent::default()
            }
        },
    )
}

/// A custom CleverTap event name: plain, empty (falls back to the machine name), unicode, or long.
pub fn custom_name() -> impl Strategy<Value = String> {
    choice![
        6 => re("Custom [A-Z][a-z]{2,8}"),
        // Never blank: the reference keeps a whitespace-only name, which CleverTap rejects (509).
        2 => re("[\\p{Greek}\\p{Han}éü][\\p{Greek}\\p{Han}é ü]{0,11}"),
        1 => re("[A-Za-z][A-Za-z ]{59,119}"),
        1 => Just(String::new()),
    ]
}

fn event_settings() -> impl Strategy<Value = EventSettings> {
    (option::of(any::<bool>()), option::of(any::<bool>()), option::of(custom_name()))
        .prop_map(|(enabled, send_revenue, name)| EventSettings { enabled, send_revenue, name })
}

/// True first (the default of `send_revenue` / `send_proceeds`), so shrinking goes to the defaults.
fn default_true() -> impl Strategy<Value = bool> {
    prop_oneof![3 => Just(true), 1 => Just(false)]
}

/// Integration settings: every switch, per-event overrides and custom names; shrinks to the defaults.
pub fn settings() -> impl Strategy<Value = Settings> {
    let names: Vec<&'static str> = EVENT_KINDS.iter().map(|k| k.name).collect();
    (
        default_true(),
        default_true(),
        prop_oneof![2 => Just(false), 1 => Just(true)],
        btree_map(select(names), event_settings(), 0..5),
    )
        .prop_map(|(send_revenue, send_proceeds, send_sandbox, events)| Settings {
            send_revenue,
            send_proceeds,
            send_sandbox,
            events: events.into_iter().map(|(k, v)| (k.to_string(), v)).collect::<BTreeMap<_, _>>(),
        })
}

/// One property-test case: an event and the settings it is mapped under.
///
/// The settings shrink first, towards the defaults, so that a shrunk case shows its
/// conditions in the event (`"environment": "production"`) rather than in odd settings.
pub fn case() -> impl Strategy<Value = (WebhookEvent, Settings)> {
    (settings(), webhook_event()).prop_map(|(settings, event)| (event, settings))
}

/// A case whose settings come from a fixed list (relays that read their settings at start-up);
/// shrinks towards the first settings of the list.
pub fn case_with_settings(pool: Vec<Settings>) -> impl Strategy<Value = (WebhookEvent, Settings)> {
    let count = pool.len().max(1);
    (webhook_event(), 0..count).prop_map(move |(event, i)| (event, pool.get(i).cloned().unwrap_or_default()))
}
