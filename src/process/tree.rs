//! A process's descendants, found race-free: each child is listed by
//! number in `/proc`, opened by pidfd, and only then confirmed. Its parent,
//! read after the pidfd is open (`PIDFD_GET_INFO` on Linux ≥ 6.13, its
//! `/proc` stat before), must be a process already held; that process's
//! pidfd must show it unreaped after the read (so the parent's pid still
//! named it), and so must the new one's (so a stat read by number was its
//! own). A stranger that took a listed pid fails the check and is let go.
//!
//! With `stop`, each member is stopped (SIGSTOP) as it is found, top down,
//! and the listing repeats until a pass finds nobody new: a stopped process
//! cannot fork, and while it is stopped its children are not reparented, so
//! the walk ends with the whole tree held and frozen. Except this process,
//! when the tree holds it (a walk from itself or an ancestor): stopped, it
//! would never wake to continue the others. It forks nothing meanwhile
//! from the thread that is walking.
//!
//! A member this process may not signal (another user's: EPERM) is listed
//! and walked through like any other, only never stopped; the caller
//! decides what to do about it. The kill-on-exit guardian is no member of
//! any tree (see `leave_out`).

use std::collections::hash_map::Entry;
use std::collections::{HashMap, HashSet};
use std::fs::File;
use std::io;
use std::os::unix::fs::{FileExt, MetadataExt};
use std::path::Path;
use std::sync::atomic::{AtomicI32, Ordering};

use nix::unistd::Pid;

use crate::errors::Failure;
use crate::linux::signal::Signal;
use crate::process::{self, Process};

/// The pid of the kill-on-exit guardian, 0 for none. It is the program's
/// child, so every tree that holds the program holds it too; but it is this
/// package's machinery, not the caller's process, and stopping or killing
/// it would leave the program unguarded (or, stopped by itself, freeze the
/// tree for ever). Set only while it is an unreaped child, so the number
/// names it and nobody else.
static LEFT_OUT: AtomicI32 = AtomicI32::new(0);

/// Leaves the guardian `pid` out of every walk; `None` before it is reaped.
/// Linux's alone: kill-on-exit uses it.
#[cfg(target_os = "linux")]
pub fn leave_out(pid: Option<Pid>) {
  LEFT_OUT.store(pid.map_or(0, Pid::as_raw), Ordering::Relaxed);
}

fn is_left_out(pid: Pid) -> bool {
  LEFT_OUT.load(Ordering::Relaxed) == pid.as_raw()
}

/// What a walk found below `root`.
pub struct Walk {
  /// The descendants, not `root` itself, parents before their children.
  /// With `stop`, each was sent SIGSTOP.
  pub members: Vec<Process>,
  /// With `stop`: whether `root` was unreaped and got its SIGSTOP.
  pub stopped_root: bool,
}

/// Finds the descendants of `root`; with `stop`, freezes them as it goes.
/// A failure leaves nothing stopped: what was stopped gets SIGCONT back.
pub fn walk(root: &Process, stop: bool) -> Result<Walk, Failure> {
  let mut walk = Walk {
    members: Vec::new(),
    stopped_root: false,
  };
  match find(root, stop, &mut walk) {
    Ok(()) => Ok(walk),
    Err(failure) => {
      if stop {
        for member in std::iter::once(root).chain(&walk.members) {
          // Best effort: the walk's own failure is the one to report.
          let _ = member.signal(Signal::SIGCONT);
        }
      }
      Err(failure)
    }
  }
}

fn find(root: &Process, stop: bool, walk: &mut Walk) -> Result<(), Failure> {
  walk.stopped_root = stop && freeze(root)?;
  // Without the freeze one pass is all a snapshot can be. With it, each
  // further pass lists every held process again: one that forked after
  // its listing, before its SIGSTOP, shows the child now.
  let mut listings = Listings::once();
  while grow(root, &mut walk.members, stop, &mut listings)? > 0 && stop {}
  Ok(())
}

/// One pass over `root` and the `members` already held below it, parents
/// before children: each child not yet held is confirmed and added (with
/// `stop`, stopped), and is listed in its turn. Returns how many were added.
pub fn grow(
  root: &Process,
  members: &mut Vec<Process>,
  stop: bool,
  listings: &mut Listings,
) -> Result<usize, Failure> {
  let before = members.len();
  let mut held: HashSet<Pid> = std::iter::once(root)
    .chain(members.iter())
    .map(Process::pid)
    .collect();
  let mut next = 0;
  while next <= members.len() {
    let parent = match next {
      0 => root.pid(),
      i => members[i - 1].pid(),
    };
    next += 1;
    for pid in listings.children_of(parent) {
      if held.contains(&pid) || is_left_out(pid) {
        continue;
      }
      let Some(child) = confirm(root, members, parent, pid)? else {
        continue;
      };
      if stop {
        freeze(&child)?;
      }
      held.insert(pid);
      // Files kept for an earlier holder of the pid show that one.
      listings.forget(pid);
      members.push(child);
    }
  }
  Ok(members.len() - before)
}

/// SIGSTOP, to anyone but this process. Whether it was delivered: not to
/// a member this process may not signal, which the walk goes on past.
fn freeze(process: &Process) -> Result<bool, Failure> {
  if process.is_this_process() {
    return Ok(false);
  }
  match process.signal(Signal::SIGSTOP) {
    Err(failure) if failure.is_denied() => Ok(false),
    sent => sent,
  }
}

/// The process `pid` names now, if it is a child of the held `parent`.
fn confirm(
  root: &Process,
  members: &[Process],
  parent: Pid,
  pid: Pid,
) -> Result<Option<Process>, Failure> {
  let child = match Process::open(pid) {
    Ok(child) => child,
    // Gone since the listing.
    Err(Failure::Sys {
      errno: nix::errno::Errno::ESRCH,
      ..
    }) => return Ok(None),
    Err(failure) => return Err(failure),
  };
  // A tree held by pidfd is walked by pidfd or not at all: a member held
  // by number (no descriptor left for it) would be a weaker guarantee,
  // given silently.
  if root.race_free() && !child.race_free() {
    return Err(Failure::Sys {
      syscall: "pidfd_open",
      errno: nix::errno::Errno::EMFILE,
      pid: pid.as_raw(),
    });
  }
  if child.parent() != Some(parent) {
    return Ok(None);
  }
  let Some(held) = std::iter::once(root)
    .chain(members.iter())
    .find(|held| held.pid() == parent)
  else {
    return Ok(None);
  };
  // Both unreaped after the read: the pids named them when it was made.
  if !held.exists()? || !child.exists()? {
    return Ok(None);
  }
  Ok(Some(child))
}

/// Where `grow` reads children. `once()` opens the `/proc` files anew each
/// time, as a walk done once should. `kept()`, for a walk repeated every
/// 100 ms (kill-on-exit's), keeps each process's task directory and its
/// main thread's `children` file open: a member of one thread then costs
/// two system calls a pass (an fstat and a pread) instead of two path
/// lookups, an open, reads and a close.
pub struct Listings {
  keep: bool,
  open: HashMap<Pid, Listing>,
}

/// A process's own `/proc` files, bound to it and not to its pid.
struct Listing {
  task: File,
  children: File,
}

impl Listings {
  pub fn once() -> Self {
    Listings {
      keep: false,
      open: HashMap::new(),
    }
  }

  /// Linux's alone: kill-on-exit uses it.
  #[cfg(target_os = "linux")]
  pub fn kept() -> Self {
    Listings {
      keep: true,
      ..Listings::once()
    }
  }

  /// Closes what was kept for `pid`: its process has exited.
  pub fn forget(&mut self, pid: Pid) {
    self.open.remove(&pid);
  }

  fn children_of(&mut self, pid: Pid) -> Vec<Pid> {
    match self.keep {
      true => self.read_kept(pid).unwrap_or_else(|| children_of(pid)),
      false => children_of(pid),
    }
  }

  /// `None` where the kept files cannot answer alone: a process of more
  /// than one thread, or files that would not open.
  fn read_kept(&mut self, pid: Pid) -> Option<Vec<Pid>> {
    let listing = match self.open.entry(pid) {
      Entry::Occupied(kept) => kept.into_mut(),
      Entry::Vacant(slot) => slot.insert(Listing {
        task: File::open(format!("/proc/{pid}/task")).ok()?,
        children: File::open(format!("/proc/{pid}/task/{pid}/children")).ok()?,
      }),
    };
    if listing.task.metadata().ok()?.nlink() != 3 {
      return None;
    }
    // `children` is a seq_file: a read at offset 0 lists afresh.
    let mut listed = Vec::with_capacity(64);
    let mut chunk = [0u8; 512];
    loop {
      match listing
        .children
        .read_at(&mut chunk, listed.len() as u64)
        .ok()?
      {
        0 => break,
        n => listed.extend_from_slice(&chunk[..n]),
      }
    }
    Some(parse_pids(std::str::from_utf8(&listed).ok()?))
  }
}

/// The children of `pid` by number: from each of its threads' `children`
/// file, or, where the kernel has none (`CONFIG_PROC_CHILDREN` off), from a
/// scan of every process's stat. Empty once `pid` is gone.
fn children_of(pid: Pid) -> Vec<Pid> {
  match threads_children(pid) {
    Ok(children) => children,
    Err(error) if error.kind() == io::ErrorKind::NotFound && has_no_children_files() => {
      scan_for_children(pid)
    }
    Err(_) => Vec::new(),
  }
}

fn threads_children(pid: Pid) -> io::Result<Vec<Pid>> {
  let task = format!("/proc/{pid}/task");
  // A task directory links once per thread, besides `.` and `..`: most
  // members have one thread, and one read then answers, not a listing and a
  // read per thread (half the system calls of a walk that kill-on-exit
  // repeats every 100 ms).
  if std::fs::metadata(&task)?.nlink() == 3 {
    return read_children(format!("{task}/{pid}/children"));
  }
  let mut children = Vec::new();
  for thread in std::fs::read_dir(&task)? {
    children.extend(read_children(thread?.path().join("children"))?);
  }
  Ok(children)
}

/// One thread's `children` file.
fn read_children(path: impl AsRef<Path>) -> io::Result<Vec<Pid>> {
  Ok(parse_pids(&std::fs::read_to_string(path)?))
}

fn parse_pids(listed: &str) -> Vec<Pid> {
  listed
    .split_whitespace()
    .filter_map(|n| n.parse().ok())
    .map(Pid::from_raw)
    .collect()
}

/// Whether this kernel lacks `/proc/<pid>/task/<tid>/children`.
fn has_no_children_files() -> bool {
  std::fs::metadata("/proc/self/task").is_ok()
    && std::fs::metadata("/proc/thread-self/children").is_err()
}

fn scan_for_children(parent: Pid) -> Vec<Pid> {
  let Ok(entries) = std::fs::read_dir("/proc") else {
    return Vec::new();
  };
  entries
    .filter_map(|entry| entry.ok()?.file_name().to_str()?.parse().ok())
    .map(Pid::from_raw)
    .filter(|&pid| process::parent_by_number(pid) == Some(parent))
    .collect()
}

#[cfg(test)]
mod tests {
  use super::*;

  /// Children this test spawned, which it alone reaps.
  struct Sleepers(Vec<std::process::Child>);

  impl Sleepers {
    fn start(count: usize) -> Self {
      let spawn = || {
        std::process::Command::new("sleep")
          .arg("60")
          .spawn()
          .unwrap()
      };
      Self((0..count).map(|_| spawn()).collect())
    }

    fn pids(&self) -> Vec<Pid> {
      self
        .0
        .iter()
        .map(|c| Pid::from_raw(c.id() as i32))
        .collect()
    }
  }

  impl Drop for Sleepers {
    fn drop(&mut self) {
      for child in &mut self.0 {
        let _ = child.kill();
        let _ = child.wait();
      }
    }
  }

  #[test]
  fn the_stat_scan_finds_the_children_the_children_files_list() {
    let sleepers = Sleepers::start(3);
    let me = nix::unistd::getpid();
    // Other tests spawn children of this process meanwhile: compare ours.
    let ours = |listed: Vec<Pid>| {
      let mut found: Vec<Pid> = listed
        .into_iter()
        .filter(|pid| sleepers.pids().contains(pid))
        .collect();
      found.sort();
      found
    };
    let mut expected = sleepers.pids();
    expected.sort();
    assert_eq!(ours(threads_children(me).unwrap()), expected);
    assert_eq!(ours(scan_for_children(me)), expected);
  }
}
