//! A process that JavaScript holds, and who waits for its exit: the
//! pending operations of its JavaScript thread, by id. Their readiness
//! source (the pidfd in the loop, or a polling timer without one) runs only
//! while someone waits.

use std::cell::RefCell;
use std::ops::Deref;
use std::rc::{Rc, Weak};
use std::time::Duration;

use napi::bindgen_prelude::Env;
use nix::unistd::Pid;

use crate::errors::Failure;
use crate::event_loop::pending::{self, Event};
use crate::event_loop::reactor::{self, Readable, Timer};
use crate::linux::sys;
use crate::process::Process;

/// The pid fallback polls for an exit every 1 ms at first, doubling to this.
const MAX_POLL_INTERVAL: Duration = Duration::from_millis(100);

pub struct Target {
  // Before `process`: a source on the descriptor is closed before it.
  exit: RefCell<ExitWatch>,
  process: Process,
}

#[derive(Default)]
struct ExitWatch {
  /// The pending operations to tell of the exit, by id.
  waiters: Waiters,
  source: Option<Source>,
  exited: bool,
}

/// Operation ids, the first held inline: nearly every target has one
/// waiter at a time, and ten thousand waiting targets should not each carry
/// a list on the heap.
#[derive(Default)]
struct Waiters {
  first: Option<u64>,
  more: Vec<u64>,
}

impl Waiters {
  fn push(&mut self, op: u64) {
    match self.first {
      None => self.first = Some(op),
      Some(_) => self.more.push(op),
    }
  }

  fn remove(&mut self, op: u64) {
    self.more.retain(|&waiter| waiter != op);
    if self.first == Some(op) {
      self.first = self.more.pop();
    }
  }

  fn is_empty(&self) -> bool {
    self.first.is_none()
  }
}

impl IntoIterator for Waiters {
  type Item = u64;
  type IntoIter = std::iter::Chain<std::option::IntoIter<u64>, std::vec::IntoIter<u64>>;

  fn into_iter(self) -> Self::IntoIter {
    self.first.into_iter().chain(self.more)
  }
}

enum Source {
  Readable(Readable),
  /// Without a pidfd: the timer of the next look, held to be cancelled.
  Polling(#[allow(dead_code)] Timer),
}

impl From<Process> for Target {
  fn from(process: Process) -> Self {
    Target {
      exit: RefCell::default(),
      process,
    }
  }
}

/// Everything a `Process` does, a `Target` does.
impl Deref for Target {
  type Target = Process;

  fn deref(&self) -> &Process {
    &self.process
  }
}

impl Target {
  pub fn open(pid: Pid) -> Result<Self, Failure> {
    Process::open(pid).map(Target::from)
  }

  pub fn open_child(pid: Pid) -> Result<Self, Failure> {
    Process::open_child(pid).map(Target::from)
  }

  /// True once the process has exited, as a wait here saw or the kernel says now.
  pub fn has_exited(&self) -> Result<bool, Failure> {
    if self.exit.borrow().exited {
      return Ok(true);
    }
    self.process.has_exited()
  }

  /// Adds the operation `op` to those told of the exit (`Event::Exited`),
  /// or of `close()` first (`Event::Closed`). `Ok(false)` if the exit has
  /// been seen already: then nothing is added. An exit not yet seen is
  /// reported from the loop, never within this call, so a `close()` in the
  /// same tick always comes first.
  pub fn watch_exit(self: &Rc<Self>, env: &Env, op: u64) -> Result<bool, Failure> {
    let mut watch = self.exit.borrow_mut();
    if watch.exited {
      return Ok(false);
    }
    match &watch.source {
      Some(Source::Readable(readable)) => self.start(env, readable)?,
      Some(Source::Polling(_)) => {}
      None => watch.source = Some(self.make_source(env)?),
    }
    watch.waiters.push(op);
    Ok(true)
  }

  /// Takes `op` off the list; the source stops with the last one, so that
  /// it no longer holds the event loop.
  pub fn unwatch_exit(&self, op: u64) {
    let mut watch = self.exit.borrow_mut();
    watch.waiters.remove(op);
    if watch.waiters.is_empty() {
      match &watch.source {
        Some(Source::Readable(readable)) => {
          // A readable source is made only for a target with a pidfd.
          if let Some(fd) = self.pidfd() {
            readable.stop(fd)
          }
        }
        Some(Source::Polling(_)) => watch.source = None,
        None => {}
      }
    }
  }

  /// Tells every waiting operation that the target was closed. The source
  /// goes with them.
  pub fn close(&self, env: &Env) {
    for op in self.take_waiters() {
      pending::deliver(env, op, Event::Closed);
    }
  }

  fn start(&self, env: &Env, readable: &Readable) -> Result<(), Failure> {
    let Some(fd) = self.pidfd() else {
      return Err(Failure::sys(
        reactor::watch_syscall(),
        std::io::Error::from_raw_os_error(libc::EBADF),
        self.pid(),
      ));
    };
    readable
      .start(env, fd)
      .map_err(|e| Failure::sys(reactor::watch_syscall(), e, self.pid()))
  }

  /// The pidfd in the loop, started; without a pidfd, or where the loop can
  /// take no more (no descriptor for the helper's epoll set, or the user's
  /// limit on epoll watches reached), a polling timer.
  fn make_source(self: &Rc<Self>, env: &Env) -> Result<Source, Failure> {
    let target = Rc::downgrade(self);
    let Some(fd) = self.pidfd() else {
      return self.poll_after(env, target, Duration::from_millis(1));
    };
    let started = Readable::new(env, fd, target.clone()).and_then(|readable| {
      readable.start(env, fd)?;
      Ok(readable)
    });
    match started {
      Ok(readable) => Ok(Source::Readable(readable)),
      Err(error)
        if sys::out_of_descriptors(&error) || error.raw_os_error() == Some(libc::ENOSPC) =>
      {
        self.poll_after(env, target, Duration::from_millis(1))
      }
      Err(error) => Err(Failure::sys(reactor::watch_syscall(), error, self.pid())),
    }
  }

  /// Look again after `pause`, backing off.
  fn poll_after(
    &self,
    env: &Env,
    target: Weak<Target>,
    pause: Duration,
  ) -> Result<Source, Failure> {
    let timer = Timer::new(env, pause, move |env| {
      let Some(target) = target.upgrade() else {
        return;
      };
      match target.has_exited() {
        Ok(false) => {
          let next = (pause * 2).min(MAX_POLL_INTERVAL);
          let source = target.poll_after(env, Rc::downgrade(&target), next);
          // A timer that cannot start leaves the waits to their own limits.
          target.exit.borrow_mut().source = source.ok();
        }
        // Gone, or unknowable: either way, nothing will change.
        _ => exited(&Rc::downgrade(&target), env),
      }
    });
    timer
      .map(Source::Polling)
      .map_err(|e| Failure::sys("uv_timer_start", e, self.pid()))
  }

  fn take_waiters(&self) -> Waiters {
    let mut watch = self.exit.borrow_mut();
    if let (Some(Source::Readable(readable)), Some(fd)) = (&watch.source, self.pidfd()) {
      readable.stop(fd);
    }
    watch.source = None;
    std::mem::take(&mut watch.waiters)
  }
}

impl reactor::Ready for Target {
  fn ready(self: Rc<Self>, env: &Env) {
    exited(&Rc::downgrade(&self), env)
  }
}

/// The source saw the exit: every waiter hears of it, and it is kept, so
/// later waits answer at once.
fn exited(target: &Weak<Target>, env: &Env) {
  let Some(target) = target.upgrade() else {
    return;
  };
  let waiters = target.take_waiters();
  target.exit.borrow_mut().exited = true;
  for op in waiters {
    pending::deliver(env, op, Event::Exited { pid: target.pid() });
  }
}

impl Drop for Target {
  fn drop(&mut self) {
    // Out of the helper's epoll set before the descriptor closes.
    drop(self.take_waiters());
  }
}
