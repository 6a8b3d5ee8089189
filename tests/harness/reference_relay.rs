//! Tests: reference relay.
