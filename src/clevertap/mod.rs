//! The receiving side: the fake CleverTap Upload API.
