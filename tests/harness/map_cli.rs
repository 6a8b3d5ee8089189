//! Tests: map cli.
