//! Settings and the reference mapping: pure functions, no I/O.

pub mod record;
pub mod reference;
pub mod revenue;
pub mod settings;

pub use record::{EventRecord, upload_body};
pub use reference::{Skip, expected_records, map_event};
pub use settings::{EventSettings, Settings};
