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
//!
//! The guardian kills with the credentials it started with, which may be
//! more than the program has by the time it arms (a server that drops
//! root). So it is handed only what the program may signal itself at the
//! moment it hands it over: `arm` refuses anything else with EPERM, and a
//! walk keeps another user's members to itself (walking on through them).
//! Each hand-over waits for the guardian's answer: an arming returns only
//! once the guardian holds its process.

use std::collections::{HashMap, HashSet};
use std::os::fd::{AsFd, AsRawFd, BorrowedFd, RawFd};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{Duration, Instant};

use kill_target_guardian::Message;
pub use kill_target_guardian::Options;
use nix::errno::Errno;
use nix::sys::epoll::{Epoll, EpollCreateFlags, EpollEvent, EpollFlags, EpollTimeout};
use nix::sys::eventfd::{EfdFlags, EventFd};
use nix::unistd::Pid;

use crate::errors::Failure;
use crate::kill_on_exit::link::{self, Guardian, Unheard};
use crate::linux::signal::Signal;
use crate::process::tree;
use crate::process::Process;

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
  /// `root` is a member standing in for the process armed.
  stand_in: bool,
  /// With `tree`: every descendant held so far.
  members: Vec<Process>,
  /// The members the program may not signal (by their pidfds' numbers):
  /// walked through, never handed over.
  foreign: HashSet<RawFd>,
}

/// Whether `killOnExit()` can keep its guarantee here, and if not, why.
pub fn supported() -> Result<(), String> {
  if !crate::linux::probe::features().pidfd {
    return Err("this process has no pidfds (capabilities().pidfd is false)".to_owned());
  }
  let path = link::executable()?;
  match link::is_executable(&path) {
    true => Ok(()),
    false => Err(format!("no guardian executable at {}", path.display())),
  }
}

/// Arms `process` (a handle of its own is kept). Returns the arming's id,
/// once the guardian holds the process. The first arming starts the
/// guardian and the keeper thread.
pub fn arm(process: &Process, options: Options) -> Result<u64, Failure> {
  if process.pidfd().is_none() {
    return Err(Failure::KillOnExitUnsupported(
      "this target is held by pid, not by pidfd".to_owned(),
    ));
  }
  // EPERM for another user's process: the guardian may be able to kill
  // what the program cannot, and must never do it for the program.
  process.signal(Signal::EXISTS)?;
  let held = process.try_clone()?;
  let mut locked = keeper()?;
  let keeper = locked.as_mut().ok_or_else(not_started)?;
  let id = keeper.add(options, held)?;
  let heard = keeper.ask(
    Message::Hold {
      arming: id,
      options,
    },
    &keeper.armings[&id].root,
  );
  if let Err(failure) = keeper.heard(heard, process.pid()) {
    keeper.forget(id);
    return Err(failure);
  }
  if options.tree {
    keeper
      .nudge
      .write(1)
      .map_err(|e| sys_failure("write", e, process))?;
  }
  Ok(id)
}

/// New options for an arming. Returns its id, which changes when a tree
/// becomes one process; `None` if the arming is gone (its processes have
/// all exited), or with `tree` dropped once the process armed has exited.
pub fn update(id: u64, options: Options) -> Result<Option<u64>, Failure> {
  let mut locked = lock();
  let Some(keeper) = locked.as_mut() else {
    return Ok(None);
  };
  let Some(arming) = keeper.armings.get_mut(&id) else {
    return Ok(None);
  };
  let was_tree = arming.options.tree;
  arming.options = options;
  if was_tree && !options.tree {
    return keeper.untree(id);
  }
  let heard = keeper.ask(
    Message::Update {
      arming: id,
      options,
    },
    &keeper.armings[&id].root,
  );
  keeper.heard(heard, process_pid(&keeper.armings, id))?;
  if options.tree {
    let _ = keeper.nudge.write(1);
  }
  Ok(Some(id))
}

/// Disarms: the guardian lets the arming's processes go.
pub fn disarm(id: u64) {
  let mut keeper = lock();
  let Some(keeper) = keeper.as_mut() else {
    return;
  };
  disarm_locked(keeper, id);
}

fn not_started() -> Failure {
  Failure::KillOnExitUnsupported("the keeper did not start".to_owned())
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
    let path = link::executable().map_err(Failure::KillOnExitUnsupported)?;
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
  /// A new arming of `root`, kept here (not yet told to the guardian).
  fn add(&mut self, options: Options, root: Process) -> Result<u64, Failure> {
    self.last += 1;
    let id = self.last;
    self.hold(id, &root)?;
    self.armings.insert(
      id,
      Arming {
        options,
        root,
        stand_in: false,
        members: Vec::new(),
        foreign: HashSet::new(),
      },
    );
    Ok(id)
  }

  /// Watches a held process's pidfd, to let it go once it exits.
  fn hold(&mut self, id: u64, process: &Process) -> Result<(), Failure> {
    let Some(pidfd) = process.pidfd() else {
      return Ok(());
    };
    hold(&self.epoll, &mut self.by_fd, id, pidfd).map_err(|e| sys_failure("epoll_ctl", e, process))
  }

  /// Out of the epoll set before its descriptor closes: the target's own
  /// pidfd may share the open file, which would keep the entry alive.
  fn unhold(&mut self, process: &Process) {
    if let Some(pidfd) = process.pidfd() {
      let _ = self.epoll.delete(pidfd);
      self.by_fd.remove(&pidfd.as_raw_fd());
    }
    self.listings.forget(process.pid());
  }

  /// Drops arming `id` here, and every descriptor it held.
  fn forget(&mut self, id: u64) {
    if let Some(arming) = self.armings.remove(&id) {
      for process in std::iter::once(&arming.root).chain(&arming.members) {
        self.unhold(process);
      }
    }
  }

  /// Tells the guardian `message`, about `process`: a `Hold` hands over its
  /// pidfd. A guardian that is gone is replaced first, and since the
  /// replacement is told everything kept here, the message with it: keep
  /// the change before telling it. `Ok(true)` when that happened.
  fn tell(&mut self, message: Message, process: &Process) -> Result<bool, Failure> {
    let heard = self.ask(message, process);
    self.heard(heard, process.pid())
  }

  /// `tell`'s first half, for a `process` borrowed from the keeper.
  fn ask(&self, message: Message, process: &Process) -> Result<(), Unheard> {
    let pidfd = match message {
      Message::Hold { .. } => process.pidfd(),
      _ => None,
    };
    match &self.guardian {
      Some(guardian) => guardian.call(message, pidfd),
      None => Err(Unheard::Gone(Errno::ESRCH)),
    }
  }

  /// `tell`'s second half.
  fn heard(&mut self, heard: Result<(), Unheard>, pid: Pid) -> Result<bool, Failure> {
    match heard {
      Ok(()) => Ok(false),
      Err(Unheard::Refused(errno)) => Err(Failure::Sys {
        syscall: "sendmsg",
        errno,
        pid: pid.as_raw(),
      }),
      Err(Unheard::Gone(_)) => self.replace_guardian().map(|()| true),
    }
  }

  /// `tree` dropped from arming `id`: the members are let go, here and by
  /// the guardian, and the process armed alone stays armed, under a new id
  /// (held under it before the old one is released, so that it is never
  /// unarmed in between). `None` when the process armed has exited.
  fn untree(&mut self, id: u64) -> Result<Option<u64>, Failure> {
    let Some(arming) = self.armings.get(&id) else {
      return Ok(None);
    };
    if arming.stand_in {
      disarm_locked(self, id);
      return Ok(None);
    }
    let held = arming.root.try_clone()?;
    let options = arming.options;
    let new = self.add(options, held)?;
    let old = self.armings.remove(&id);
    let message = Message::Hold {
      arming: new,
      options,
    };
    let heard = self.ask(message, &self.armings[&new].root);
    let told = self.heard(heard, process_pid(&self.armings, new));
    if let Some(old) = old {
      let released = self.tell(Message::Release { arming: id }, &old.root);
      for process in std::iter::once(&old.root).chain(&old.members) {
        self.unhold(process);
      }
      released?;
    }
    match told {
      Ok(_) => Ok(Some(new)),
      Err(failure) => {
        self.forget(new);
        Err(failure)
      }
    }
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
        false => {
          arming.stand_in = true;
          Some(std::mem::replace(
            &mut arming.root,
            arming.members.remove(0),
          ))
        }
      }
    } else {
      let Some(at) = arming.members.iter().position(is_fd) else {
        return;
      };
      if !arming.members[at].has_exited().unwrap_or(true) {
        return;
      }
      arming.foreign.remove(&fd);
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
      // A failed pass (no descriptors left) keeps what it found, and the
      // rest is tried again next time.
      let _ = tree::grow(&arming.root, &mut arming.members, false, listings);
      for member in &arming.members[before..] {
        // Another user's (EPERM), or one the kernel will not say we may
        // signal: walked through, not handed over. An exit is `Ok(false)`.
        if member.signal(Signal::EXISTS).is_err() {
          if let Some(pidfd) = member.pidfd() {
            arming.foreign.insert(pidfd.as_raw_fd());
          }
        }
      }
      found.extend((before..arming.members.len()).map(|at| (id, at)));
    }
    // Later members first: one the guardian refuses is dropped, to be
    // found again next pass, and the indices before it stay true.
    let mut replaced = false;
    for &(id, at) in found.iter().rev() {
      let Some(arming) = self.armings.get(&id) else {
        continue;
      };
      let member = &arming.members[at];
      let Some(pidfd) = member.pidfd() else {
        continue;
      };
      // Unwatched, it stays held until its arming goes.
      let _ = hold(&self.epoll, &mut self.by_fd, id, pidfd);
      // A replacement was told every member found so far.
      if arming.foreign.contains(&pidfd.as_raw_fd()) || replaced {
        continue;
      }
      let message = Message::Hold {
        arming: id,
        options: arming.options,
      };
      let heard = self.ask(message, member);
      let pid = member.pid();
      match self.heard(heard, pid) {
        Ok(told_all) => replaced = told_all,
        Err(_) => self.drop_member(id, at),
      }
    }
  }

  /// A member the guardian could not take: let go here too, so that the
  /// next pass finds it again.
  fn drop_member(&mut self, id: u64, at: usize) {
    let Some(arming) = self.armings.get_mut(&id) else {
      return;
    };
    if at < arming.members.len() {
      let member = arming.members.remove(at);
      self.unhold(&member);
    }
  }

  /// The guardian died or does not answer: collect it, start another and
  /// tell it everything. On failure there is none until the next try.
  fn replace_guardian(&mut self) -> Result<(), Failure> {
    if let Some(dead) = self.guardian.take() {
      let _ = self.epoll.delete(dead.pidfd());
      dead.kill();
      dead.reap();
    }
    let path = link::executable().map_err(Failure::KillOnExitUnsupported)?;
    let guardian = Guardian::start(&path).map_err(Failure::KillOnExitUnsupported)?;
    watch(&self.epoll, guardian.pidfd())
      .map_err(|e| Failure::KillOnExitUnsupported(format!("epoll_ctl: {}", e.desc())))?;
    for (&id, arming) in &self.armings {
      let processes = std::iter::once(&arming.root).chain(&arming.members);
      let held = processes.filter(|process| {
        process
          .pidfd()
          .is_some_and(|pidfd| !arming.foreign.contains(&pidfd.as_raw_fd()))
      });
      for process in held {
        let message = Message::Hold {
          arming: id,
          options: arming.options,
        };
        if let Err(unheard) = guardian.call(message, process.pidfd()) {
          let _ = self.epoll.delete(guardian.pidfd());
          guardian.kill();
          guardian.reap();
          let errno = match unheard {
            Unheard::Gone(errno) | Unheard::Refused(errno) => errno,
          };
          return Err(sys_failure("sendmsg", errno, process));
        }
      }
    }
    self.guardian = Some(guardian);
    Ok(())
  }
}

/// `disarm` for a caller that holds the lock. A guardian that cannot be
/// told has let go already: one that died is replaced without the arming,
/// and one that does not answer is killed first.
fn disarm_locked(keeper: &mut Keeper, id: u64) {
  if let Some(arming) = keeper.armings.get(&id) {
    let heard = keeper.ask(Message::Release { arming: id }, &arming.root);
    let _ = keeper.heard(heard, arming.root.pid());
  }
  keeper.forget(id);
}

/// The pid of arming `id`'s root, for an error's message.
fn process_pid(armings: &HashMap<u64, Arming>, id: u64) -> Pid {
  armings
    .get(&id)
    .map_or(Pid::from_raw(0), |arming| arming.root.pid())
}

/// The keeper thread: waits on the armed pidfds, the guardian's and the
/// nudge; wakes to walk trees when one is armed, or to retry a guardian.
fn run(epoll: &Epoll, nudge: &EventFd) {
  let mut events = [EpollEvent::empty(); 64];
  let mut next_walk = Instant::now();
  loop {
    let timeout = {
      let keeper = lock();
      // Made under the lock this thread waits on, before it can run.
      let Some(keeper) = keeper.as_ref() else {
        return;
      };
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
    let Some(keeper) = keeper.as_mut() else {
      return;
    };
    for event in &events[..ready] {
      let fd = event.data() as RawFd;
      let guardian = keeper.guardian.as_ref();
      if fd == nudge.as_fd().as_raw_fd() {
        let _ = nudge.read();
      } else if guardian.is_some_and(|g| g.pidfd().as_raw_fd() == fd && g.has_exited()) {
        // Failing, it is tried again in RETRY_EVERY.
        let _ = keeper.replace_guardian();
      } else {
        keeper.exited(fd);
      }
    }
    if keeper.guardian.is_none() {
      let _ = keeper.replace_guardian();
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
