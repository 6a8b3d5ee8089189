//! Money: amounts, currencies, rates, and the `price` / `revenue` objects built from them.
//!
//! `price` and `revenue` mostly agree (revenue follows from the price), but about one case
//! in three has its own `revenue` amount and one in three its own `revenue` currency, so a
//! relay that reads `price` where mapping.md says `revenue` (or the other way) is caught.
//! Shrinking goes to the agreeing form first.

use proptest::prelude::*;
use proptest::sample::select;
use serde_json::{Map, Number};

use super::optional;
use super::simplest_first;
use crate::qonversion::event::{Price, Revenue};
use crate::qonversion::field::Field;

/// Currencies with their USD rate; JPY and KRW have no minor unit, BHD has three decimals.
const CURRENCIES: [(&str, f64); 7] = [
    ("USD", 1.0),
    ("EUR", 1.08),
    ("JPY", 0.0067),
    ("TRY", 0.031),
    ("GBP", 1.27),
    ("KRW", 0.00075),
    ("BHD", 2.65),
];

fn number(value: f64) -> Number {
    Number::from_f64(value).unwrap_or_else(|| Number::from(0))
}

/// A gross amount: round, 0, tiny, huge, or with many decimals.
pub fn amount() -> impl Strategy<Value = f64> {
    choice![
        8 => (100u64..50_000).prop_map(|cents| cents as f64 / 100.0),
        2 => 0.0f64..1_000.0,
        1 => (1_000_000u64..1_000_000_000_000).prop_map(|n| n as f64),
        1 => (1u64..1_000).prop_map(|n| n as f64 * 1e-9),
        1 => Just(0.0),
    ]
}

/// What a webhook says about money: gross, currency, rate, `is_proceed`, and which objects it has.
#[derive(Debug, Clone)]
pub(super) struct Money {
    gross: f64,
    currency: (&'static str, f64),
    rate: Field<u32>,
    is_proceed: Field<i64>,
    pub(super) negative: bool,
    has_price: bool,
    has_revenue: bool,
    currency_in_revenue: bool,
    usd: bool,
    /// The gross amount `revenue` is based on, when it differs from the price's.
    revenue_gross: Option<f64>,
    /// The currency of `revenue`, when it differs from the price's.
    revenue_currency: Option<(&'static str, f64)>,
}

/// Currencies without a minor unit carry whole amounts.
fn in_minor_units(amount: f64, currency: (&str, f64)) -> f64 {
    if currency.1 < 0.01 { amount.round() } else { amount }
}

/// What sets `revenue` apart from `price`: nothing (the shrink target), its own amount, its own currency.
fn revenue_apart() -> impl Strategy<Value = (Option<f64>, Option<(&'static str, f64)>)> {
    let own_amount = choice![2 => Just(None), 1 => amount().prop_map(Some)];
    let own_currency = choice![2 => Just(None), 1 => select(CURRENCIES.to_vec()).prop_map(Some)];
    (own_amount, own_currency)
}

pub(super) fn money() -> impl Strategy<Value = Money> {
    (
        amount(),
        select(CURRENCIES.to_vec()),
        optional(select(vec![70u32, 85])),
        optional(0i64..=1),
        any::<bool>(),
        prop_oneof![1 => Just((true, false)), 1 => Just((false, true)), 3 => Just((true, true))],
        prop_oneof![Just(true), Just(false)],
        prop_oneof![1 => Just(false), 3 => Just(true)],
        revenue_apart(),
    )
        .prop_map(
            |(gross, currency, rate, is_proceed, negative, (has_price, has_revenue), in_rev, usd, apart)| {
                let gross = in_minor_units(gross, currency);
                let (revenue_gross, revenue_currency) = apart;
                let revenue_currency = revenue_currency.filter(|c| c.0 != currency.0);
                // A currency of its own is only seen when revenue names one.
                let currency_in_revenue = in_rev || revenue_currency.is_some();
                Money {
                    gross,
                    currency,
                    rate,
                    is_proceed,
                    negative,
                    has_price,
                    has_revenue,
                    currency_in_revenue,
                    usd,
                    revenue_gross,
                    revenue_currency,
                }
            },
        )
}

impl Money {
    fn usd(&self, value: f64, currency: (&str, f64)) -> Field<Number> {
        if self.usd { Field::Value(number(value * currency.1)) } else { Field::Absent }
    }

    pub(super) fn price(&self, sign: f64) -> Field<Price> {
        if !self.has_price {
            return Field::Absent;
        }
        let value = sign * self.gross;
        Field::Value(Price {
            value: Field::Value(number(value)),
            value_usd: self.usd(value, self.currency),
            currency: Field::Value(self.currency.0.to_string()),
            extra: Map::new(),
        })
    }

    pub(super) fn revenue(&self, sign: f64) -> Field<Revenue> {
        if !self.has_revenue {
            return Field::Absent;
        }
        let rate = self.rate.get().copied().unwrap_or(70) as f64;
        let net = self.is_proceed.get() == Some(&1);
        let in_currency = self.revenue_currency.unwrap_or(self.currency);
        let gross = in_minor_units(self.revenue_gross.unwrap_or(self.gross), in_currency);
        let value = sign * if net { gross * rate / 100.0 } else { gross };
        let currency = if self.currency_in_revenue || !self.has_price {
            Field::Value(in_currency.0.to_string())
        } else {
            Field::Absent
        };
        Field::Value(Revenue {
            value: Field::Value(number(value)),
            value_usd: self.usd(value, in_currency),
            currency,
            is_proceed: self.is_proceed.clone(),
            proceeds_rate: self.rate.clone().map_value(Number::from),
            extra: Map::new(),
        })
    }
}

trait MapValue<T> {
    fn map_value<U>(self, f: impl FnOnce(T) -> U) -> Field<U>;
}

impl<T> MapValue<T> for Field<T> {
    fn map_value<U>(self, f: impl FnOnce(T) -> U) -> Field<U> {
        match self {
            Field::Absent => Field::Absent,
            Field::Null => Field::Null,
            Field::Value(v) => Field::Value(f(v)),
        }
    }
}
