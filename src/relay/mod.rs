//! Reaching the system under test: a command, a running URL, or a JSON-lines process.

pub mod spec;

pub use spec::{RelaySpec, RelayTarget};
