//! Tests: driver.
