//! Tests: clevertap.
