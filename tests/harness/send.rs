//! Tests: send.
