//! `qc-harness snapshots`: review pending `.snap.new` files without re-running the suite.

use super::output::outln;
use std::io::{BufRead, IsTerminal, Write};
use std::path::{Path, PathBuf};

use clap::{Args, Subcommand};

use super::Output;
use crate::error::{Error, Result, exit_code};
use crate::report::human::diff_lines;
use crate::snapshot::{parse, remove_if_exists};

/// Review pending snapshots (`.snap.new`): list, show as a diff, accept or reject.
///
/// A run writes `<fixture>@<variant>.snap.new` for a passing case whose records are new or
/// differ from the accepted `.snap`. Accepting renames it over the `.snap`; rejecting deletes it.
/// The files are insta's, so `cargo insta review` works on them too. Without an action:
/// the interactive review on a terminal, else the list.
///
/// Examples:
///   qc-harness snapshots                         # review one by one (a accept, r reject, s skip, q quit)
///   qc-harness snapshots list
///   qc-harness snapshots show trial_started.ios@default
///   qc-harness snapshots accept trial_started.ios@default
///   qc-harness snapshots accept --all
///   qc-harness snapshots reject --all
#[derive(Debug, Args)]
#[command(verbatim_doc_comment)]
pub struct SnapshotsArgs {
    #[command(subcommand)]
    action: Option<Action>,
    /// The snapshot store.
    #[arg(long, value_name = "DIR", default_value = "snapshots", global = true)]
    snapshots: PathBuf,
}

#[derive(Debug, Subcommand)]
enum Action {
    /// List the pending snapshots: new, or changed with the count of lines.
    List,
    /// Show pending snapshots as a diff against the accepted ones (all when no NAME).
    Show {
        /// `<fixture>@<variant>` names (or paths), as listed.
        names: Vec<String>,
    },
    /// Accept pending snapshots: each `.snap.new` replaces its `.snap`.
    Accept(Selection),
    /// Reject pending snapshots: each `.snap.new` is deleted.
    Reject(Selection),
    /// Review pending snapshots one at a time, reading a/r/s/q answers from standard input.
    Review,
}

#[derive(Debug, Args)]
struct Selection {
    /// `<fixture>@<variant>` names (or paths), as listed.
    #[arg(required_unless_present = "all")]
    names: Vec<String>,
    /// Every pending snapshot.
    #[arg(long, conflicts_with = "names")]
    all: bool,
}

/// One `.snap.new` file and its accepted counterpart.
struct Pending {
    name: String,
    new: PathBuf,
    accepted: PathBuf,
}

pub fn execute(args: SnapshotsArgs, out: &Output) -> Result<i32> {
    let dir = &args.snapshots;
    if !dir.is_dir() {
        return Err(Error::Usage(format!(
            "no snapshot store at {} (a green `qc-harness run --accept` starts one; --snapshots DIR names another)",
            dir.display()
        )));
    }
    let pending = pending(dir)?;
    let action =
        args.action.unwrap_or(if std::io::stdin().is_terminal() { Action::Review } else { Action::List });
    match action {
        Action::List => list(&pending, out)?,
        Action::Show { names } => {
            for p in select(&pending, &names, names.is_empty())? {
                outln!("{}", show(p, out.color)?.join("\n"));
            }
        }
        Action::Accept(sel) => {
            let chosen = select(&pending, &sel.names, sel.all)?;
            chosen.iter().try_for_each(|p| accept(p))?;
            out.line(&format!("accepted {} snapshot(s)", chosen.len()));
        }
        Action::Reject(sel) => {
            let chosen = select(&pending, &sel.names, sel.all)?;
            chosen.iter().try_for_each(|p| reject(p))?;
            out.line(&format!("rejected {} snapshot(s)", chosen.len()));
        }
        Action::Review => review(&pending, out)?,
    }
    Ok(exit_code::SUCCESS)
}

/// The `.snap.new` files of `dir`, by name.
fn pending(dir: &Path) -> Result<Vec<Pending>> {
    let entries = std::fs::read_dir(dir).map_err(|e| Error::io(dir, e))?;
    let mut found = Vec::new();
    for entry in entries {
        let path = entry.map_err(|e| Error::io(dir, e))?.path();
        let file = path.file_name().map(|f| f.to_string_lossy().to_string()).unwrap_or_default();
        if let Some(name) = file.strip_suffix(".snap.new") {
            found.push(Pending {
                name: name.to_string(),
                accepted: dir.join(format!("{name}.snap")),
                new: path,
            });
        }
    }
    found.sort_by(|a, b| a.name.cmp(&b.name));
    Ok(found)
}

fn select<'a>(pending: &'a [Pending], names: &[String], all: bool) -> Result<Vec<&'a Pending>> {
    if all {
        return Ok(pending.iter().collect());
    }
    names
        .iter()
        .map(|typed| {
            let file =
                Path::new(typed).file_name().map_or(typed.clone(), |f| f.to_string_lossy().to_string());
            let name = file.trim_end_matches(".new").trim_end_matches(".snap");
            pending.iter().find(|p| p.name == name).ok_or_else(|| {
                let hint = super::suggest::did_you_mean(name, pending.iter().map(|p| p.name.as_str()));
                Error::Usage(format!(
                    "no pending snapshot `{name}`{hint} (`qc-harness snapshots list` lists them)"
                ))
            })
        })
        .collect()
}

fn list(pending: &[Pending], out: &Output) -> Result<()> {
    if pending.is_empty() {
        out.line("no pending snapshots");
        return Ok(());
    }
    for p in pending {
        let state = match read_accepted(p)? {
            None => "new".to_string(),
            Some(old) => {
                let new = read_new(p)?;
                let changed = diff_lines(&old, &new, false).iter().filter(|l| !l.starts_with("  ")).count();
                format!("changed ({changed} line(s))")
            }
        };
        outln!("{:<64} {state}", p.name);
    }
    out.line(&format!("{} pending: `qc-harness snapshots show NAME`, `accept`, `reject`", pending.len()));
    Ok(())
}

fn show(p: &Pending, color: bool) -> Result<Vec<String>> {
    let new = read_new(p)?;
    let mut lines = match read_accepted(p)? {
        None => vec![format!("{} (new): +++ new", p.name)],
        Some(_) => vec![format!("{}: --- accepted  +++ new", p.name)],
    };
    let old = read_accepted(p)?.unwrap_or_default();
    lines.extend(diff_lines(&old, &new, color));
    Ok(lines)
}

fn read_new(p: &Pending) -> Result<String> {
    let text = std::fs::read_to_string(&p.new).map_err(|e| Error::io(&p.new, e))?;
    parse(&text)
        .ok_or_else(|| Error::invalid(&p.new, ".", "not a snapshot file (expected insta's `---` header)"))
}

fn read_accepted(p: &Pending) -> Result<Option<String>> {
    match std::fs::read_to_string(&p.accepted) {
        Ok(text) => Ok(Some(parse(&text).ok_or_else(|| {
            Error::invalid(&p.accepted, ".", "not a snapshot file (expected insta's `---` header)")
        })?)),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
        Err(e) => Err(Error::io(&p.accepted, e)),
    }
}

/// Refuses a symlink: a snapshot store is plain files, and accepting must not write elsewhere.
fn refuse_symlink(path: &Path) -> Result<()> {
    if std::fs::symlink_metadata(path).is_ok_and(|m| m.file_type().is_symlink()) {
        return Err(Error::invalid(path, ".", "is a symlink; refusing to write a snapshot through it"));
    }
    Ok(())
}

fn accept(p: &Pending) -> Result<()> {
    refuse_symlink(&p.new)?;
    refuse_symlink(&p.accepted)?;
    std::fs::rename(&p.new, &p.accepted).map_err(|e| Error::io(&p.accepted, e))
}

fn reject(p: &Pending) -> Result<()> {
    remove_if_exists(&p.new)
}

/// One pending snapshot at a time: its diff, then a/r/s/q from standard input.
fn review(pending: &[Pending], out: &Output) -> Result<()> {
    if pending.is_empty() {
        out.line("no pending snapshots");
        return Ok(());
    }
    let (mut accepted, mut rejected, mut skipped) = (0, 0, 0);
    let mut input = std::io::stdin().lock();
    for (i, p) in pending.iter().enumerate() {
        outln!("{}", show(p, out.color)?.join("\n"));
        print!("[{}/{}] {}: a accept, r reject, s skip, q quit > ", i + 1, pending.len(), p.name);
        std::io::stdout().flush().map_err(|e| Error::io("<stdout>", e))?;
        let mut answer = String::new();
        let read = input.read_line(&mut answer).map_err(|e| Error::io("<stdin>", e))?;
        match answer.trim() {
            _ if read == 0 => break,
            "q" | "quit" => break,
            "a" | "accept" => {
                accept(p)?;
                accepted += 1;
            }
            "r" | "reject" => {
                reject(p)?;
                rejected += 1;
            }
            _ => skipped += 1,
        }
    }
    outln!();
    out.line(&format!("{accepted} accepted, {rejected} rejected, {skipped} skipped"));
    Ok(())
}
