//! The built-in reference relay (`qc-harness reference-relay`).
