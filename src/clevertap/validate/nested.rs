//! Event properties under the account's Nested Objects feature: objects and arrays up to
//! [`MAX_NESTING_LEVEL`] levels deep (the root key is level 0; each object, or array of
//! objects, adds one level). Keys and scalar values follow the flat rules at every level.
//! **Decision** (docs silent): an array may hold scalars or objects, not arrays.

use super::{MAX_NESTING_LEVEL, check_key, check_scalar};
use crate::clevertap::view::View;

/// Checks `value`, the value of `key` at nesting `level`.
pub(super) fn check_value(key: &str, value: &View, level: usize) -> Result<(), String> {
    match value {
        View::Object(fields) => check_object(key, fields, level),
        View::Array(items) => items.iter().try_for_each(|item| check_item(key, item, level)),
        _ => check_scalar(key, value),
    }
}

fn check_item(key: &str, item: &View, level: usize) -> Result<(), String> {
    match item {
        View::Array(_) => {
            Err(format!("Invalid event structure: '{key}' holds an array of arrays (nested objects)"))
        }
        View::Object(fields) => check_object(key, fields, level),
        _ => check_scalar(key, item),
    }
}

fn check_object(key: &str, fields: &[(std::borrow::Cow<'_, str>, View)], level: usize) -> Result<(), String> {
    let inner = level + 1;
    for (child, value) in fields {
        if inner > MAX_NESTING_LEVEL {
            return Err(format!(
                "Invalid event structure: '{key}.{child}' is nested deeper than {MAX_NESTING_LEVEL} levels"
            ));
        }
        check_key(child)?;
        check_value(child, value, inner)?;
    }
    Ok(())
}
