//! Tests: sender.
