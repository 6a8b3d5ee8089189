//! The suite's own leak check: when the test binary exits, no relay it started (directly or
//! through a `qc-harness` child process) may still be running.
//!
//! Before `main`, the binary puts [`SUITE_ENV`] into its own environment, so every process
//! it starts, and their relays, inherit it. At exit (an `atexit` handler, after the last
//! test) it looks for live processes that carry it; if any is left it prints them, kills
//! them and fails the run with exit code 101. Linux only (it reads `/proc`).

/// Set to the test binary's pid in its environment and so in every descendant's.
pub const SUITE_ENV: &str = "QC_HARNESS_TEST_SUITE";

#[cfg(target_os = "linux")]
#[used]
#[unsafe(link_section = ".init_array")]
static REGISTER: extern "C" fn() = register;

#[cfg(target_os = "linux")]
extern "C" fn register() {
    // SAFETY: this runs before `main`, while the process has one thread.
    unsafe { std::env::set_var(SUITE_ENV, std::process::id().to_string()) };
    // SAFETY: `check_at_exit` is a plain function that lives as long as the program.
    unsafe { libc::atexit(check_at_exit) };
}

#[cfg(target_os = "linux")]
extern "C" fn check_at_exit() {
    // A child killed on drop (`kill_on_drop`) is signalled but not waited for: give the
    // processes being killed a moment to die before counting them as left behind.
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(2);
    let mut left = leftovers();
    while !left.is_empty() && std::time::Instant::now() < deadline {
        std::thread::sleep(std::time::Duration::from_millis(20));
        left = leftovers();
    }
    if left.is_empty() {
        return;
    }
    eprintln!("\nleak check: {} process(es) started by the test suite are still running:", left.len());
    for (pid, command) in &left {
        eprintln!("  pid {pid}: {command}");
        let _ = nix::sys::signal::kill(nix::unistd::Pid::from_raw(*pid), nix::sys::signal::Signal::SIGKILL);
    }
    // SAFETY: ends the process at once, as the failed check demands.
    unsafe { libc::_exit(101) };
}

/// Live processes (zombies excluded) other than this one that carry [`SUITE_ENV`] with this
/// binary's pid, with their command lines.
pub fn leftovers() -> Vec<(i32, String)> {
    let me = std::process::id() as i32;
    let wanted = format!("{SUITE_ENV}={me}");
    let Ok(entries) = std::fs::read_dir("/proc") else { return Vec::new() };
    entries
        .filter_map(|entry| entry.ok()?.file_name().to_str()?.parse::<i32>().ok())
        .filter(|pid| *pid != me)
        .filter(|pid| {
            let environ = std::fs::read(format!("/proc/{pid}/environ")).unwrap_or_default();
            environ.split(|b| *b == 0).any(|var| var == wanted.as_bytes())
        })
        .filter(|pid| alive(*pid))
        .map(|pid| (pid, command_line(pid)))
        .collect()
}

fn alive(pid: i32) -> bool {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).unwrap_or_default();
    let state = stat.rfind(')').and_then(|i| stat[i + 1..].split_whitespace().next()).unwrap_or("Z");
    state != "Z" && state != "X"
}

fn command_line(pid: i32) -> String {
    let raw = std::fs::read(format!("/proc/{pid}/cmdline")).unwrap_or_default();
    String::from_utf8_lossy(&raw).replace('\0', " ").trim().to_string()
}

#[test]
fn the_suite_marks_its_descendants_so_the_exit_check_can_find_them() {
    let mut child = std::process::Command::new("sleep").arg("30").spawn().unwrap();
    // Until the child has exec'd, /proc shows the environment block this binary started with
    // (without the marker, which was set later): wait for the exec, not a fixed time.
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
    let mut found = false;
    while !found && std::time::Instant::now() < deadline {
        found = leftovers().iter().any(|(pid, _)| *pid == child.id() as i32);
        if !found {
            std::thread::sleep(std::time::Duration::from_millis(5));
        }
    }
    child.kill().unwrap();
    child.wait().unwrap();
    assert!(found, "a child of the suite is not found by the leak check: {:?}", leftovers());
    assert!(!leftovers().iter().any(|(pid, _)| *pid == child.id() as i32), "a reaped child still counts");
}
