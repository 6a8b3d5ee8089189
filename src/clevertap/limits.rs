//! Process-wide settings that keep the fake alive under load and quiet under odd requests.
//! Both are opt-in (the CLI calls them): a library never changes them behind its user's back.
//!
//! - [`raise_open_file_limit`]: the fake's front survives running out of file descriptors
//!   (it backs off and retries, and reports itself dead only after a while), but a higher
//!   limit keeps it from getting there (macOS starts at 256).
//! - [`quiet_request_panics`]: wiremock panics in a connection's task when a request body
//!   is cut off or badly chunked. The front reads every body itself now, so this is only a
//!   guard for what it forwards; the connection is dropped either way.

/// Raises the soft limit on open files to the hard limit (at most 65,536; macOS caps it at
/// `OPEN_MAX`, 10,240). Returns the soft limit in force afterwards, `None` if it is unknown.
pub fn raise_open_file_limit() -> Option<u64> {
    use nix::sys::resource::{Resource, getrlimit, setrlimit};
    const WANTED: u64 = 65_536;
    let (soft, hard) = getrlimit(Resource::RLIMIT_NOFILE).ok()?;
    let target = hard.min(WANTED);
    if soft >= target {
        return Some(soft);
    }
    for candidate in [target, 10_240.min(target)] {
        if setrlimit(Resource::RLIMIT_NOFILE, candidate, hard).is_ok() {
            tracing::debug!("open file limit raised from {soft} to {candidate}");
            return Some(candidate);
        }
    }
    Some(soft)
}

/// Installs a panic hook that turns panics raised inside wiremock's request handling into
/// one debug log line; every other panic goes to the previous hook unchanged.
pub fn quiet_request_panics() {
    let previous = std::panic::take_hook();
    std::panic::set_hook(Box::new(move |info| {
        let in_wiremock = info.location().is_some_and(|l| is_wiremock_file(l.file()));
        if in_wiremock {
            tracing::debug!("the fake CleverTap dropped a malformed request: {info}");
        } else {
            previous(info);
        }
    }));
}

/// A source path inside the wiremock crate (`.../wiremock-0.6.5/src/request.rs`).
fn is_wiremock_file(file: &str) -> bool {
    file.split(['/', '\\']).any(|part| part.starts_with("wiremock-"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn recognises_wiremock_sources_only() {
        assert!(is_wiremock_file("/root/.cargo/registry/src/index/wiremock-0.6.5/src/request.rs"));
        assert!(!is_wiremock_file("src/clevertap/server.rs"));
        assert!(!is_wiremock_file("/x/my-wiremock-helpers/src/lib.rs"));
    }

    #[test]
    fn the_open_file_limit_never_goes_down() {
        let before = nix::sys::resource::getrlimit(nix::sys::resource::Resource::RLIMIT_NOFILE).unwrap().0;
        let after = raise_open_file_limit().unwrap();
        assert!(after >= before, "{before} -> {after}");
    }
}
