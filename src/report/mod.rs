//! Reports of a conformance run: human, matrix, JUnit, JSON.
