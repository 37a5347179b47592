//! The thread path's helper threads, for hosts whose libuv is not Node's
//! (Bun's `uv_*` functions abort, Deno's `uv_poll` starts a thread per poll
//! and checks every 10 ms). One thread waits on an epoll set of pidfds, one
//! keeps the timers; each started at its first use, so a host that never
//! waits has neither. An event is a key, sent to the JavaScript thread that
//! asked for it through that thread's one threadsafe function, where
//! `reactor` runs its callback.

use std::collections::{BinaryHeap, HashMap};
use std::io;
use std::sync::mpsc::{self, RecvTimeoutError, Sender};
use std::sync::{Arc, Mutex, MutexGuard, OnceLock, PoisonError};
use std::time::{Duration, Instant};

use napi::bindgen_prelude::Env;
use napi::threadsafe_function::{ThreadsafeFunction, ThreadsafeFunctionCallMode};
use napi::Status;

use crate::ffi::{self, RawEnv};

/// A JavaScript thread's receiver of keys. Weak: it holds the event loop
/// only while `hold_event_loop` says so.
pub type Channel = ThreadsafeFunction<u64, (), (), Status, false, true>;

/// Where each pending key's event goes.
fn routes() -> &'static Mutex<HashMap<u64, Arc<Channel>>> {
  static ROUTES: OnceLock<Mutex<HashMap<u64, Arc<Channel>>>> = OnceLock::new();
  ROUTES.get_or_init(Default::default)
}

/// The routes, whatever a panic elsewhere left them: a map of keys is
/// whole after any single operation on it.
fn locked_routes() -> MutexGuard<'static, HashMap<u64, Arc<Channel>>> {
  routes().lock().unwrap_or_else(PoisonError::into_inner)
}

fn route(key: u64, channel: Arc<Channel>) {
  locked_routes().insert(key, channel);
}

fn deliver(key: u64) {
  let channel = locked_routes().remove(&key);
  if let Some(channel) = channel {
    // Refused only while the JavaScript thread is going away.
    let _ = channel.call(key, ThreadsafeFunctionCallMode::NonBlocking);
  }
}

/// The threadsafe function of `env`'s thread, calling `dispatch(env, key)`.
pub fn channel(env: &Env, dispatch: fn(&Env, u64)) -> napi::Result<Channel> {
  let function = env.create_function_from_closure::<(), (), _>("dispatch", |_| Ok(()))?;
  function
    .build_threadsafe_function::<u64>()
    .weak::<true>()
    .callee_handled::<false>()
    .build_callback(move |call| {
      dispatch(&call.env, call.value);
      Ok(())
    })
}

/// Makes the event loop wait for `channel` (`hold`), or stop waiting for it.
pub fn hold_event_loop(env: RawEnv, channel: &Channel, hold: bool) {
  ffi::hold_threadsafe_function(env, &channel.handle, hold);
}

/// Reports `key` once, after `delay`.
pub fn after(delay: Duration, key: u64, channel: Arc<Channel>) -> io::Result<()> {
  static TIMERS: Mutex<Option<Sender<(Instant, u64)>>> = Mutex::new(None);
  let mut timers = TIMERS.lock().unwrap_or_else(PoisonError::into_inner);
  let timers = match &mut *timers {
    Some(timers) => timers,
    // Started with the first timer; a thread that cannot start (EAGAIN at
    // the process's limit) is this call's error, and the next one tries.
    empty => {
      let (sender, receiver) = mpsc::channel();
      std::thread::Builder::new()
        .name("kill-target-timers".into())
        .spawn(move || keep_timers(receiver))?;
      empty.insert(sender)
    }
  };
  route(key, channel);
  let deadline = Instant::now() + delay;
  timers.send((deadline, key)).map_err(io::Error::other)
}

/// Forgets `key`: a timer that fires later reports nothing.
pub fn cancel(key: u64) {
  locked_routes().remove(&key);
}

fn keep_timers(receiver: mpsc::Receiver<(Instant, u64)>) {
  let mut due: BinaryHeap<std::cmp::Reverse<(Instant, u64)>> = BinaryHeap::new();
  loop {
    let now = Instant::now();
    while let Some(std::cmp::Reverse((deadline, key))) = due.peek().copied() {
      if deadline > now {
        break;
      }
      due.pop();
      deliver(key);
    }
    let next = match due.peek() {
      Some(std::cmp::Reverse((deadline, _))) => {
        receiver.recv_timeout(deadline.saturating_duration_since(now))
      }
      None => receiver.recv().map_err(|_| RecvTimeoutError::Disconnected),
    };
    match next {
      Ok(timer) => due.push(std::cmp::Reverse(timer)),
      Err(RecvTimeoutError::Timeout) => {}
      Err(RecvTimeoutError::Disconnected) => return,
    }
  }
}

#[cfg(target_os = "linux")]
pub use readiness::{unwatch, watch};

#[cfg(target_os = "linux")]
mod readiness {
  use std::os::fd::BorrowedFd;

  use nix::errno::Errno;
  use nix::sys::epoll::{Epoll, EpollCreateFlags, EpollEvent, EpollFlags, EpollTimeout};

  use super::*;

  fn epoll() -> io::Result<&'static Epoll> {
    static EPOLL: OnceLock<Result<Epoll, Errno>> = OnceLock::new();
    let epoll = EPOLL.get_or_init(|| {
      let epoll = Epoll::new(EpollCreateFlags::EPOLL_CLOEXEC)?;
      std::thread::Builder::new()
        .name("kill-target-exits".into())
        .spawn(wait_for_exits)
        .map_err(|_| Errno::EAGAIN)?;
      Ok(epoll)
    });
    epoll
      .as_ref()
      .map_err(|errno| io::Error::from_raw_os_error(*errno as i32))
  }

  fn wait_for_exits() {
    // Started only once the set is made.
    let Ok(epoll) = epoll() else {
      return;
    };
    let mut events = [EpollEvent::empty(); 64];
    loop {
      match epoll.wait(&mut events, EpollTimeout::NONE) {
        Ok(n) => events[..n].iter().for_each(|event| deliver(event.data())),
        Err(Errno::EINTR) => {}
        Err(_) => return,
      }
    }
  }

  /// Reports `key` once, when `fd` turns readable. One-shot: after it
  /// fires, the descriptor stays in the set, disabled, until watched again
  /// or taken out.
  pub fn watch(fd: BorrowedFd, key: u64, channel: Arc<Channel>) -> io::Result<()> {
    route(key, channel);
    let mut event = EpollEvent::new(EpollFlags::EPOLLIN | EpollFlags::EPOLLONESHOT, key);
    let epoll = epoll()?;
    match epoll.add(fd, event) {
      Err(Errno::EEXIST) => epoll.modify(fd, &mut event),
      added => added,
    }
    .map_err(io::Error::from)
  }

  /// Takes `fd` out of the set; an event already collected for `key` is
  /// dropped.
  pub fn unwatch(fd: BorrowedFd, key: u64) {
    cancel(key);
    if let Ok(epoll) = epoll() {
      // ENOENT: not in the set. Nothing else can fail for an open descriptor.
      let _ = epoll.delete(fd);
    }
  }
}

/// Elsewhere there are no pidfds, so nothing is ever watched.
#[cfg(not(target_os = "linux"))]
pub fn watch(_fd: std::os::fd::BorrowedFd, _key: u64, _channel: Arc<Channel>) -> io::Result<()> {
  Err(io::Error::from_raw_os_error(libc::ENOSYS))
}

#[cfg(not(target_os = "linux"))]
pub fn unwatch(_fd: std::os::fd::BorrowedFd, key: u64) {
  cancel(key);
}
