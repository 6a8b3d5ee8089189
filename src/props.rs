//! Property tests of relay mappings: proptest strategies and properties.
