//! Relay selection flags shared by `run` and `prop`.
