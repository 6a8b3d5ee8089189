//! `--set PATH=VALUE` overrides of webhook fields.
