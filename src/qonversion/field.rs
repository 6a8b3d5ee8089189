//! [`Field`]: an optional JSON field that remembers whether it was absent or `null`.

use serde::{Deserialize, Deserializer, Serialize, Serializer};

/// A webhook field that may be absent, `null`, or carry a value.
///
/// Keeping absent and `null` apart is what makes parse → serialise give back the
/// same JSON value. Use with `#[serde(default, skip_serializing_if = "Field::is_absent")]`.
///
/// ```
/// use qc_harness::{Field, Fixture};
/// let event = &Fixture::built_in("trial_started.ios").unwrap().event;
/// assert!(matches!(event.custom_user_id, Field::Value(_)));
/// assert_eq!(event.custom_user_id.get().map(String::as_str), Some("usr_a5b864ba6de71915"));
/// ```
#[derive(Debug, Clone, PartialEq, Default)]
pub enum Field<T> {
    /// The key is not in the object.
    #[default]
    Absent,
    /// The key is present with value `null`.
    Null,
    /// The key has a value.
    Value(T),
}

impl<T> Field<T> {
    /// True when the key is not in the object.
    pub fn is_absent(&self) -> bool {
        matches!(self, Field::Absent)
    }

    /// The value, if there is one.
    pub fn get(&self) -> Option<&T> {
        match self {
            Field::Value(v) => Some(v),
            _ => None,
        }
    }

    /// A mutable reference to the value, if there is one.
    pub fn get_mut(&mut self) -> Option<&mut T> {
        match self {
            Field::Value(v) => Some(v),
            _ => None,
        }
    }
}

impl<T> From<Option<T>> for Field<T> {
    fn from(value: Option<T>) -> Self {
        value.map_or(Field::Null, Field::Value)
    }
}

impl<T: Serialize> Serialize for Field<T> {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        match self {
            Field::Value(v) => v.serialize(serializer),
            _ => serializer.serialize_none(),
        }
    }
}

impl<'de, T: Deserialize<'de>> Deserialize<'de> for Field<T> {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        Option::<T>::deserialize(deserializer).map(Field::from)
    }
}
