//! The one integration test binary. Each module owns one part of the harness.

mod adding_a_check;
mod broken_relays;
mod cancellation;
mod clevertap;
mod cli_polish;
mod conformance;
mod correct_relays;
mod dev;
mod driver;
mod examples;
mod fake_process;
mod first_hour;
mod fixtures;
mod flags;
mod leaks;
mod map_cli;
mod mapping_rules;
mod parity;
mod partition;
mod props;
mod redaction;
mod reference_relay;
mod send;
mod sender;
mod snapshot_files;
mod snapshots_cli;
