//! Tests: broken relays.
