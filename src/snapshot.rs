//! Snapshot files (insta format) and their redaction, in one place.
