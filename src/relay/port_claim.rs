//! Claims on relay ports, shared by every qc-harness process of a user on one machine.
//!
//! [`super::port::free_port`] picks a random port below the kernel's ephemeral range that is
//! free at that moment; the relay binds it a little later. Two harness processes (parallel
//! test binaries under nextest, CI shards on one machine) could pick the same port in that
//! window: one relay then fails to bind ("address already in use"), or, worse, the harness
//! probes the other harness's relay and takes it for its own. A claim closes that window: an
//! exclusive `flock` on `/tmp/qc-harness-ports-<uid>/<port>`, held for the relay's lifetime
//! and released by the kernel when the holder exits, however it exits. A port another harness
//! has claimed is skipped. The directory is under `/tmp` whatever `TMPDIR` says, so that harness
//! processes with different temporary directories still see each other's claims; where `/tmp`
//! is not writable, the temporary directory is used instead.
//!
//! The lock files stay (empty, at most one per port of the range): removing a file that
//! another process may be about to lock would let two processes hold "the same" port.

use std::fs::{File, OpenOptions, TryLockError};
use std::path::{Path, PathBuf};

/// A port claimed for one relay; the claim ends when this is dropped.
#[derive(Debug)]
pub(crate) struct PortClaim {
    port: u16,
    /// The locked file; `None` where claims cannot be made (the directory is not writable):
    /// then ports are only as safe as the bind check and the ownership check make them.
    _lock: Option<File>,
}

impl PortClaim {
    /// The claimed port.
    pub(crate) fn port(&self) -> u16 {
        self.port
    }
}

/// Claims `port`, or `None` when another harness process holds it.
pub(crate) fn claim(port: u16) -> Option<PortClaim> {
    let Some(dir) = claims_dir() else { return Some(PortClaim { port, _lock: None }) };
    let file = match open_options().open(dir.join(port.to_string())) {
        Ok(file) => file,
        Err(e) => {
            tracing::debug!("cannot claim port {port} in {}: {e}", dir.display());
            return Some(PortClaim { port, _lock: None });
        }
    };
    match file.try_lock() {
        Ok(()) => Some(PortClaim { port, _lock: Some(file) }),
        Err(TryLockError::WouldBlock) => None,
        Err(TryLockError::Error(e)) => {
            tracing::debug!("cannot lock the claim on port {port}: {e}");
            Some(PortClaim { port, _lock: None })
        }
    }
}

/// Lock files are opened for writing (which `flock` does not need everywhere, but some systems
/// do), never truncated, never written, and never through a symbolic link.
fn open_options() -> OpenOptions {
    let mut options = OpenOptions::new();
    options.create(true).truncate(false).write(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::custom_flags(&mut options, libc::O_NOFOLLOW);
    options
}

/// `/tmp/qc-harness-ports-<uid>` (else the same under the temporary directory), created on
/// first use; `None` when neither can be, or when what is there is not a directory of this
/// user (`/tmp` is shared: another user's folder could hold locks on every port).
fn claims_dir() -> Option<&'static Path> {
    static DIR: std::sync::OnceLock<Option<PathBuf>> = std::sync::OnceLock::new();
    DIR.get_or_init(|| {
        let name = format!("qc-harness-ports-{}", user_id());
        let roots = [PathBuf::from("/tmp"), std::env::temp_dir()];
        let dir = roots.iter().map(|root| root.join(&name)).find(|dir| usable(dir));
        if dir.is_none() {
            tracing::debug!("no port claims: cannot create {name} in /tmp or the temporary directory");
        }
        dir
    })
    .as_deref()
}

/// Creates `dir` if needed; whether it is a real directory (not a link) owned by this user.
fn usable(dir: &Path) -> bool {
    if std::fs::create_dir_all(dir).is_err() {
        return false;
    }
    let Ok(metadata) = std::fs::symlink_metadata(dir) else { return false };
    #[cfg(unix)]
    {
        use std::os::unix::fs::MetadataExt;
        metadata.is_dir() && metadata.uid() == user_id()
    }
    #[cfg(not(unix))]
    {
        metadata.is_dir()
    }
}

#[cfg(unix)]
fn user_id() -> u32 {
    // SAFETY: getuid has no preconditions and cannot fail.
    unsafe { libc::getuid() }
}

#[cfg(not(unix))]
fn user_id() -> u32 {
    0
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_claimed_port_cannot_be_claimed_again_until_the_claim_is_dropped() {
        // A port outside the relay range, so that no relay of a parallel test wants it.
        let port = 1;
        let first = claim(port).expect("a free claim");
        assert_eq!(first.port(), port);
        assert!(first._lock.is_some(), "claims work here: {:?}", claims_dir());
        // `flock` locks belong to the open file: a second open, as another process makes,
        // is refused while the first is held.
        assert!(claim(port).is_none(), "the port was claimed twice");
        drop(first);
        assert!(claim(port).is_some(), "the claim outlived its owner");
    }

    #[test]
    #[cfg(unix)]
    fn a_linked_folder_is_not_used_for_claims() {
        let tmp = tempfile::tempdir().unwrap();
        let real = tmp.path().join("real");
        let link = tmp.path().join("link");
        std::fs::create_dir(&real).unwrap();
        std::os::unix::fs::symlink(&real, &link).unwrap();
        assert!(usable(&real));
        assert!(usable(&tmp.path().join("new")), "a missing folder is created");
        assert!(!usable(&link), "a symbolic link in /tmp could point anywhere");
    }

    #[test]
    fn a_port_another_process_holds_is_not_claimed_until_that_process_exits() {
        let port = 2; // not the port of the test above: tests run side by side
        let Some(dir) = claims_dir() else { panic!("no claims folder") };
        // util-linux `flock --no-fork FILE CMD` takes the same flock(2) lock in another process,
        // which then becomes CMD (without --no-fork, a child would keep the lock after a kill).
        let Ok(mut holder) = std::process::Command::new("flock")
            .arg("--no-fork")
            .arg(dir.join(port.to_string()))
            .args(["sleep", "30"])
            .spawn()
        else {
            return; // no `flock` command here
        };
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(5);
        while claim(port).is_some() {
            assert!(std::time::Instant::now() < deadline, "the other process never took its lock");
            std::thread::sleep(std::time::Duration::from_millis(10));
        }
        holder.kill().unwrap();
        holder.wait().unwrap();
        assert!(claim(port).is_some(), "the claim of an exited process still holds");
    }
}
