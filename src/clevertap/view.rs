//! [`View`]: a JSON value that borrows its strings from the request body.
//!
//! Checking a 1000-record upload through `serde_json::Value` spends most of its time
//! allocating (a `String` per key and value, a map node per field) and then freeing it all.
//! A `View` borrows every string without escapes and keeps object fields in one `Vec`. Since
//! the streaming pass (`validate/stream.rs`) it is the slow path: only records that pass cannot
//! prove valid, bodies it cannot vouch for, and journal reads build one; records become
//! `Value`s only when echoed or read from the journal.

use std::borrow::Cow;
use std::fmt;

use serde::de::{Deserialize, Deserializer, MapAccess, SeqAccess, Visitor};
use serde_json::{Map, Number, Value};

/// A borrowed JSON value. Objects keep their fields in order; with a repeated key the last wins.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum View<'a> {
    Null,
    Bool(bool),
    Number(Number),
    Str(Cow<'a, str>),
    Array(Vec<View<'a>>),
    Object(Vec<(Cow<'a, str>, View<'a>)>),
}

impl<'a> View<'a> {
    /// The field `key` of an object (the last one when repeated).
    pub(crate) fn get(&self, key: &str) -> Option<&View<'a>> {
        match self {
            View::Object(fields) => fields.iter().rev().find(|(k, _)| k == key).map(|(_, v)| v),
            _ => None,
        }
    }

    pub(crate) fn as_str(&self) -> Option<&str> {
        match self {
            View::Str(s) => Some(s),
            _ => None,
        }
    }

    pub(crate) fn is_null(&self) -> bool {
        matches!(self, View::Null)
    }

    pub(crate) fn is_object(&self) -> bool {
        matches!(self, View::Object(_))
    }

    /// The owned `serde_json::Value`.
    pub(crate) fn to_value(&self) -> Value {
        match self {
            View::Null => Value::Null,
            View::Bool(b) => Value::Bool(*b),
            View::Number(n) => Value::Number(n.clone()),
            View::Str(s) => Value::String(s.to_string()),
            View::Array(items) => Value::Array(items.iter().map(View::to_value).collect()),
            View::Object(fields) => {
                let map: Map<String, Value> =
                    fields.iter().map(|(k, v)| (k.to_string(), v.to_value())).collect();
                Value::Object(map)
            }
        }
    }

    /// A view of an owned value (borrowing its strings).
    pub(crate) fn of(value: &'a Value) -> View<'a> {
        match value {
            Value::Null => View::Null,
            Value::Bool(b) => View::Bool(*b),
            Value::Number(n) => View::Number(n.clone()),
            Value::String(s) => View::Str(Cow::Borrowed(s)),
            Value::Array(items) => View::Array(items.iter().map(View::of).collect()),
            Value::Object(map) => {
                View::Object(map.iter().map(|(k, v)| (Cow::Borrowed(k.as_str()), View::of(v))).collect())
            }
        }
    }
}

/// A string that borrows from the input when it has no escapes.
struct Text<'a>(Cow<'a, str>);

impl<'de> Deserialize<'de> for Text<'de> {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct TextVisitor;
        impl<'de> Visitor<'de> for TextVisitor {
            type Value = Text<'de>;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a string")
            }
            fn visit_borrowed_str<E>(self, s: &'de str) -> Result<Text<'de>, E> {
                Ok(Text(Cow::Borrowed(s)))
            }
            fn visit_str<E>(self, s: &str) -> Result<Text<'de>, E> {
                Ok(Text(Cow::Owned(s.to_string())))
            }
            fn visit_string<E>(self, s: String) -> Result<Text<'de>, E> {
                Ok(Text(Cow::Owned(s)))
            }
        }
        deserializer.deserialize_str(TextVisitor)
    }
}

/// Fields an object is expected to have when the parser cannot say (serde_json never does).
const FIELDS_HINT: usize = 8;

struct ViewVisitor;

impl<'de> Visitor<'de> for ViewVisitor {
    type Value = View<'de>;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("any JSON value")
    }
    fn visit_unit<E>(self) -> Result<View<'de>, E> {
        Ok(View::Null)
    }
    fn visit_bool<E>(self, b: bool) -> Result<View<'de>, E> {
        Ok(View::Bool(b))
    }
    fn visit_i64<E>(self, n: i64) -> Result<View<'de>, E> {
        Ok(View::Number(n.into()))
    }
    fn visit_u64<E>(self, n: u64) -> Result<View<'de>, E> {
        Ok(View::Number(n.into()))
    }
    fn visit_f64<E>(self, n: f64) -> Result<View<'de>, E> {
        Ok(Number::from_f64(n).map_or(View::Null, View::Number))
    }
    fn visit_borrowed_str<E>(self, s: &'de str) -> Result<View<'de>, E> {
        Ok(View::Str(Cow::Borrowed(s)))
    }
    fn visit_str<E>(self, s: &str) -> Result<View<'de>, E> {
        Ok(View::Str(Cow::Owned(s.to_string())))
    }
    fn visit_string<E>(self, s: String) -> Result<View<'de>, E> {
        Ok(View::Str(Cow::Owned(s)))
    }
    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<View<'de>, A::Error> {
        let mut items = Vec::with_capacity(seq.size_hint().unwrap_or(0));
        while let Some(item) = seq.next_element()? {
            items.push(item);
        }
        Ok(View::Array(items))
    }
    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<View<'de>, A::Error> {
        // Records and their evtData have a handful of fields: one allocation, not three regrowths.
        let mut fields = Vec::with_capacity(map.size_hint().unwrap_or(FIELDS_HINT));
        while let Some((Text(key), value)) = map.next_entry::<Text<'de>, View<'de>>()? {
            fields.push((key, value));
        }
        Ok(View::Object(fields))
    }
}

impl<'de> Deserialize<'de> for View<'de> {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        deserializer.deserialize_any(ViewVisitor)
    }
}
