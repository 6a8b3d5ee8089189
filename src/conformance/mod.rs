//! The conformance run: variants, behaviour checks, comparison, the runner.
