//! Tests: mapping rules.
