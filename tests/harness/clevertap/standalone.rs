//! `qc-harness clevertap`: the built binary, driven over HTTP.
