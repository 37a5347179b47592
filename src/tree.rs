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

use std::collections::hash_map::Entry;
use std::collections::{HashMap, HashSet};
use std::fs::File;
use std::io;
use std::os::unix::fs::{FileExt, MetadataExt};
use std::path::Path;

use nix::unistd::Pid;

use crate::errors::Failure;
use crate::process::{self, Process};
use crate::signal::Signal;

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
      if held.contains(&pid) {
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

/// SIGSTOP, to anyone but this process. Whether it was delivered.
fn freeze(process: &Process) -> Result<bool, Failure> {
  match process.is_this_process() {
    true => Ok(false),
    false => process.signal(Signal::SIGSTOP),
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
  if child.parent() != Some(parent) {
    return Ok(None);
  }
  let held = std::iter::once(root)
    .chain(members.iter())
    .find(|held| held.pid() == parent)
    .expect("only held processes are listed");
  // Both unreaped after the read: the pids named them when it was made.
  if !held.signal(Signal::EXISTS)? || !child.signal(Signal::EXISTS)? {
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
