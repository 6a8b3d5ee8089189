//! Reaching the system under test: a command, a running URL, or a JSON-lines process.

pub mod lines;
pub mod spec;

pub use lines::LinesRelay;
pub use spec::{RelaySpec, RelayTarget};
