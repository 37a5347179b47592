//! `killOnExit()`: the program's side of the guardian.
//!
//! Every arming is kept here as well as in the guardian, each process with
//! a pidfd of its own, for three jobs of one keeper thread (started with
//! the first arming; none before):
//! - a process that exits is let go, here (the guardian does so by itself);
//! - a guardian that dies while the program lives is reaped and replaced,
//!   and told everything again, within a second;
//! - every `WALK_EVERY` while a tree is armed, the armed trees are walked
//!   (`tree::grow`, race-free) and each new member is handed over, so the
//!   guardian already holds every member that has lived that long when the
//!   program dies with the tree's root (Ctrl-C), after which the root's
//!   children are reparented and no walk could reach them.

use std::collections::HashMap;
use std::os::fd::{AsFd, AsRawFd, BorrowedFd, RawFd};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{Duration, Instant};

use kill_target_guardian::Message;
pub use kill_target_guardian::Options;
use nix::errno::Errno;
use nix::sys::epoll::{Epoll, EpollCreateFlags, EpollEvent, EpollFlags, EpollTimeout};
use nix::sys::eventfd::{EfdFlags, EventFd};

use crate::errors::Failure;
use crate::guardian::{self, Guardian};
use crate::process::Process;
use crate::tree;

/// How often armed trees are walked: the window in which a new member that
/// dies with the program can be missed (the README states it).
pub const WALK_EVERY: Duration = Duration::from_millis(100);

/// A guardian that cannot be replaced is tried again this often.
const RETRY_EVERY: Duration = Duration::from_secs(1);

/// One per process: the guardian serves every thread and worker.
static KEEPER: Mutex<Option<Keeper>> = Mutex::new(None);

struct Keeper {
  /// `None` between a guardian's death and its replacement.
  guardian: Option<Guardian>,
  armings: HashMap<u64, Arming>,
  /// The arming of each held process, by its pidfd's number (its epoll key).
  by_fd: HashMap<RawFd, u64>,
  epoll: Arc<Epoll>,
  /// The `/proc` files of the armed trees' members, kept open between walks.
  listings: tree::Listings,
  /// Wakes the keeper thread from an untimed wait: a tree was armed.
  nudge: Arc<EventFd>,
  last: u64,
}

struct Arming {
  options: Options,
  /// The process armed; once it has exited, a member in its place.
  root: Process,
  /// With `tree`: every descendant held so far.
  members: Vec<Process>,
}

/// Whether `killOnExit()` can keep its guarantee here, and if not, why.
pub fn supported() -> Result<(), String> {
  if !crate::probe::features().pidfd {
    return Err("this process has no pidfds (capabilities().pidfd is false)".to_owned());
  }
  let path = guardian::executable()?;
  match guardian::is_executable(&path) {
    true => Ok(()),
    false => Err(format!("no guardian executable at {}", path.display())),
  }
}

/// Arms `process` (a handle of its own is kept). Returns the arming's id.
/// The first arming starts the guardian and the keeper thread.
pub fn arm(process: &Process, options: Options) -> Result<u64, Failure> {
  let pidfd = process.pidfd().ok_or_else(|| {
    Failure::KillOnExitUnsupported("this target is held by pid, not by pidfd".to_owned())
  })?;
  let held = process.try_clone()?;
  let mut locked = keeper()?;
  let keeper = locked.as_mut().expect("keeper() makes it");
  keeper.last += 1;
  let id = keeper.last;
  hand_over(keeper.guardian.as_ref(), id, options, pidfd);
  // The keeper's own copy: the target's may close before the arming ends.
  let own = held.pidfd().expect("a clone of a pidfd target has a pidfd");
  hold(&keeper.epoll, &mut keeper.by_fd, id, own)
    .map_err(|e| sys_failure("epoll_ctl", e, process))?;
  keeper.armings.insert(
    id,
    Arming {
      options,
      root: held,
      members: Vec::new(),
    },
  );
  if options.tree {
    keeper
      .nudge
      .write(1)
      .map_err(|e| sys_failure("write", e, process))?;
  }
  Ok(id)
}

/// New options for an arming. `false` if the arming is gone: its processes
/// have all exited.
pub fn update(id: u64, options: Options) -> bool {
  let mut keeper = lock();
  let Some(keeper) = keeper.as_mut() else {
    return false;
  };
  let Some(arming) = keeper.armings.get_mut(&id) else {
    return false;
  };
  arming.options = options;
  if let Some(guardian) = &keeper.guardian {
    let _ = guardian.send(
      Message::Update {
        arming: id,
        options,
      },
      None,
    );
  }
  if options.tree {
    let _ = keeper.nudge.write(1);
  }
  true
}

/// Disarms: the guardian lets the arming's processes go.
pub fn disarm(id: u64) {
  let mut keeper = lock();
  let Some(keeper) = keeper.as_mut() else {
    return;
  };
  if let Some(guardian) = &keeper.guardian {
    let _ = guardian.send(Message::Release { arming: id }, None);
  }
  if let Some(arming) = keeper.armings.remove(&id) {
    for process in std::iter::once(&arming.root).chain(&arming.members) {
      keeper.unhold(process);
    }
  }
}

fn lock() -> MutexGuard<'static, Option<Keeper>> {
  // A panic elsewhere cannot leave the maps half-changed in a way that
  // matters more than losing every arming would.
  KEEPER
    .lock()
    .unwrap_or_else(|poisoned| poisoned.into_inner())
}

/// The keeper, started on first use: guardian, epoll set, thread.
fn keeper() -> Result<MutexGuard<'static, Option<Keeper>>, Failure> {
  let mut keeper = lock();
  if keeper.is_none() {
    supported().map_err(Failure::KillOnExitUnsupported)?;
    let path = guardian::executable().map_err(Failure::KillOnExitUnsupported)?;
    let guardian = Guardian::start(&path).map_err(Failure::KillOnExitUnsupported)?;
    let unsupported = |what: &str, errno: Errno| {
      Failure::KillOnExitUnsupported(format!("{what}: {}", errno.desc()))
    };
    let epoll = Arc::new(
      Epoll::new(EpollCreateFlags::EPOLL_CLOEXEC).map_err(|e| unsupported("epoll_create1", e))?,
    );
    let nudge = Arc::new(
      EventFd::from_flags(EfdFlags::EFD_CLOEXEC | EfdFlags::EFD_NONBLOCK)
        .map_err(|e| unsupported("eventfd", e))?,
    );
    watch(&epoll, guardian.pidfd()).map_err(|e| unsupported("epoll_ctl", e))?;
    watch(&epoll, nudge.as_fd()).map_err(|e| unsupported("epoll_ctl", e))?;
    let thread = (Arc::clone(&epoll), Arc::clone(&nudge));
    std::thread::Builder::new()
      .name("kill-target keeper".to_owned())
      .spawn(move || run(&thread.0, &thread.1))
      .map_err(|e| unsupported("a thread", Errno::from_raw(e.raw_os_error().unwrap_or(0))))?;
    *keeper = Some(Keeper {
      guardian: Some(guardian),
      armings: HashMap::new(),
      by_fd: HashMap::new(),
      listings: tree::Listings::kept(),
      epoll,
      nudge,
      last: 0,
    });
  }
  Ok(keeper)
}

fn watch(epoll: &Epoll, fd: BorrowedFd) -> Result<(), Errno> {
  epoll.add(
    fd,
    EpollEvent::new(EpollFlags::EPOLLIN, fd.as_raw_fd() as u64),
  )
}

fn sys_failure(syscall: &'static str, errno: Errno, process: &Process) -> Failure {
  Failure::Sys {
    syscall,
    errno,
    pid: process.pid().as_raw(),
  }
}

/// Gives the guardian a pidfd to hold for arming `id`. A guardian that has
/// just died fails this; the keeper replaces it and tells it everything.
fn hand_over(guardian: Option<&Guardian>, id: u64, options: Options, pidfd: BorrowedFd) {
  if let Some(guardian) = guardian {
    let _ = guardian.send(
      Message::Hold {
        arming: id,
        options,
      },
      Some(pidfd),
    );
  }
}

/// Watches a held process's pidfd here too, to let it go once it exits.
fn hold(
  epoll: &Epoll,
  by_fd: &mut HashMap<RawFd, u64>,
  id: u64,
  pidfd: BorrowedFd,
) -> Result<(), Errno> {
  watch(epoll, pidfd)?;
  by_fd.insert(pidfd.as_raw_fd(), id);
  Ok(())
}

impl Keeper {
  /// Out of the epoll set before its descriptor closes: the target's own
  /// pidfd may share the open file, which would keep the entry alive.
  fn unhold(&mut self, process: &Process) {
    let pidfd = process.pidfd().expect("armed processes are held by pidfd");
    let _ = self.epoll.delete(pidfd);
    self.by_fd.remove(&pidfd.as_raw_fd());
    self.listings.forget(process.pid());
  }

  fn walks_trees(&self) -> bool {
    self.armings.values().any(|arming| arming.options.tree)
  }

  /// A held process's pidfd turned readable: it has exited. Let it go,
  /// once its pidfd confirms it (an event can outlive its descriptor
  /// within one batch, and the number be reused).
  fn exited(&mut self, fd: RawFd) {
    let Some(&id) = self.by_fd.get(&fd) else {
      return;
    };
    let Some(arming) = self.armings.get_mut(&id) else {
      return;
    };
    let is_fd = |process: &Process| process.pidfd().map(|pidfd| pidfd.as_raw_fd()) == Some(fd);
    let gone = if is_fd(&arming.root) {
      if !arming.root.has_exited().unwrap_or(true) {
        return;
      }
      match arming.members.is_empty() {
        true => self.armings.remove(&id).map(|arming| arming.root),
        // A member stands in for it: `tree::grow` lists the children of
        // every process held, whichever is the root.
        false => Some(std::mem::replace(
          &mut arming.root,
          arming.members.remove(0),
        )),
      }
    } else {
      let Some(at) = arming.members.iter().position(is_fd) else {
        return;
      };
      if !arming.members[at].has_exited().unwrap_or(true) {
        return;
      }
      Some(arming.members.remove(at))
    };
    if let Some(process) = gone {
      self.unhold(&process);
    }
  }

  /// Each armed tree, one pass: new members are held and handed over.
  fn walk(&mut self) {
    let mut found = Vec::new();
    let listings = &mut self.listings;
    for (&id, arming) in self
      .armings
      .iter_mut()
      .filter(|(_, arming)| arming.options.tree)
    {
      let before = arming.members.len();
      // A failed pass (no descriptors left) is tried again next time.
      let _ = tree::grow(&arming.root, &mut arming.members, false, listings);
      found.extend((before..arming.members.len()).map(|at| (id, at)));
    }
    for (id, at) in found {
      let arming = &self.armings[&id];
      let member = &arming.members[at];
      let pidfd = member.pidfd().expect("walked members are held by pidfd");
      hand_over(self.guardian.as_ref(), id, arming.options, pidfd);
      // Unwatched, it stays held until its arming goes.
      let _ = hold(&self.epoll, &mut self.by_fd, id, pidfd);
    }
  }

  /// The guardian died: collect it, start another and tell it everything.
  fn replace_guardian(&mut self) {
    if let Some(dead) = self.guardian.take() {
      let _ = self.epoll.delete(dead.pidfd());
      dead.reap();
    }
    let Ok(path) = guardian::executable() else {
      return;
    };
    let Ok(guardian) = Guardian::start(&path) else {
      return;
    };
    if watch(&self.epoll, guardian.pidfd()).is_err() {
      return;
    }
    for (&id, arming) in &self.armings {
      for process in std::iter::once(&arming.root).chain(&arming.members) {
        let pidfd = process.pidfd().expect("armed processes are held by pidfd");
        hand_over(Some(&guardian), id, arming.options, pidfd);
      }
    }
    self.guardian = Some(guardian);
  }
}

/// The keeper thread: waits on the armed pidfds, the guardian's and the
/// nudge; wakes to walk trees when one is armed, or to retry a guardian.
fn run(epoll: &Epoll, nudge: &EventFd) {
  let mut events = [EpollEvent::empty(); 64];
  let mut next_walk = Instant::now();
  loop {
    let timeout = {
      let keeper = lock();
      let keeper = keeper.as_ref().expect("the keeper runs once it is made");
      if keeper.guardian.is_none() {
        Some(RETRY_EVERY)
      } else if keeper.walks_trees() {
        Some(next_walk.saturating_duration_since(Instant::now()))
      } else {
        None
      }
    };
    // Whole milliseconds, rounded up: rounded down, the last one before a
    // walk would be a string of zero-timeout waits, spinning.
    let timeout = timeout.map_or(EpollTimeout::NONE, |limit| {
      let ms = Duration::from_millis(limit.as_micros().div_ceil(1000) as u64);
      EpollTimeout::try_from(ms).unwrap_or(EpollTimeout::NONE)
    });
    let ready = match epoll.wait(&mut events, timeout) {
      Ok(ready) => ready,
      Err(Errno::EINTR) => continue,
      // Nothing to do but wait again, a little later.
      Err(_) => {
        std::thread::sleep(WALK_EVERY);
        0
      }
    };
    let mut keeper = lock();
    let keeper = keeper.as_mut().expect("the keeper runs once it is made");
    for event in &events[..ready] {
      let fd = event.data() as RawFd;
      let guardian = keeper.guardian.as_ref();
      if fd == nudge.as_fd().as_raw_fd() {
        let _ = nudge.read();
      } else if guardian.is_some_and(|g| g.pidfd().as_raw_fd() == fd && g.has_exited()) {
        keeper.replace_guardian();
      } else {
        keeper.exited(fd);
      }
    }
    if keeper.guardian.is_none() {
      keeper.replace_guardian();
    }
    if keeper.walks_trees() && Instant::now() >= next_walk {
      keeper.walk();
      next_walk = Instant::now() + WALK_EVERY;
    }
  }
}

/// The options the guardian gets from `killOnExit(options)`'s.
pub fn options(signal: i32, force_kill_after: Option<Duration>, tree: bool) -> Options {
  Options {
    signal,
    force_kill_after_ms: force_kill_after.map_or(0, |delay| {
      delay.as_millis().clamp(1, u32::MAX as u128) as u32
    }),
    tree,
  }
}
