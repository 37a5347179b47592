//! Where a JavaScript thread hears that a pidfd turned readable or a time
//! limit ran out. Every callback runs on the thread that asked, so waits
//! settle their promises directly, without a channel.
//!
//! Two sources, one chosen per process by `host`:
//! - **libuv** (Node, Electron): a `uv_poll_t` on the pidfd and `uv_timer_t`s
//!   in the loop of the thread itself, as libuv's own process handles are.
//!   No thread, no threadsafe function.
//! - **thread** (Bun, Deno, or `KILL_TARGET_WAIT_THREAD=1`): one helper
//!   thread watches pidfds in an epoll set, another keeps the timers, and
//!   each event crosses to the JavaScript thread through one threadsafe
//!   function per thread.
//!
//! Either way, an active source keeps the event loop alive, and a thread's
//! teardown (a worker's `terminate()`, the end of the program) closes all of
//! its sources through an env cleanup hook and drops every callback unrun.

use std::cell::RefCell;
use std::collections::HashMap;
use std::io;
use std::os::fd::{AsRawFd, BorrowedFd};
use std::rc::{Rc, Weak};
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use napi::bindgen_prelude::Env;

use crate::event_loop::host::{self, WaitPath};
use crate::event_loop::threads::{self, Channel};
use crate::ffi::{self, AsyncContext, RawEnv, UvHandle};

/// A descriptor watched for readability; stopped and removed on drop.
pub struct Readable {
  key: u64,
}

/// A one-shot timer; cancelled on drop.
pub struct Timer {
  key: u64,
}

/// Who hears that a watched descriptor is readable: held weakly, so a
/// source keeps nothing alive (a target owns its own source).
pub trait Ready {
  fn ready(self: Rc<Self>, env: &Env);
}

type OnReady = Weak<dyn Ready>;
type OnFire = Box<dyn FnOnce(&Env)>;

/// What a thread's loop holds for one key.
enum Source {
  Poll {
    handle: UvHandle,
    on_ready: OnReady,
  },
  Watch {
    on_ready: OnReady,
    started: bool,
  },
  /// The uv handle is held to be closed on removal; the helper's timers
  /// need none.
  Timer {
    _handle: Option<UvHandle>,
    on_fire: Option<OnFire>,
  },
}

enum Backend {
  Uv {
    uv_loop: *mut std::ffi::c_void,
    context: AsyncContext,
  },
  Thread {
    channel: std::sync::Arc<Channel>,
    holding: usize,
  },
}

struct Loop {
  env: RawEnv,
  backend: Backend,
  sources: HashMap<u64, Source>,
}

thread_local! {
  static LOOP: RefCell<Option<Loop>> = const { RefCell::new(None) };
}

/// The call that failed when a descriptor could not be watched, as errors
/// name it.
pub fn watch_syscall() -> &'static str {
  match host::wait_path() {
    WaitPath::Libuv => "uv_poll_start",
    WaitPath::Thread => "epoll_ctl",
  }
}

/// Keys are unique in the process: the helper threads serve every thread.
fn next_key() -> u64 {
  static NEXT: AtomicU64 = AtomicU64::new(1);
  NEXT.fetch_add(1, Ordering::Relaxed)
}

/// Runs `f` on this thread's loop, made at the first use.
fn with_loop<R>(env: &Env, f: impl FnOnce(&mut Loop) -> io::Result<R>) -> io::Result<R> {
  LOOP.with(|cell| {
    let mut slot = cell.try_borrow_mut().map_err(|_| busy())?;
    let lp = match &mut *slot {
      Some(lp) => lp,
      empty => empty.insert(Loop::new(env).map_err(io::Error::other)?),
    };
    f(lp)
  })
}

fn busy() -> io::Error {
  io::Error::from_raw_os_error(libc::EBUSY)
}

impl Loop {
  fn new(env: &Env) -> napi::Result<Loop> {
    let backend = match host::wait_path() {
      WaitPath::Libuv => Backend::Uv {
        uv_loop: {
          ffi::listen_to_handles(on_uv_event);
          ffi::uv_loop(env)?
        },
        context: AsyncContext::new(env, "KillTarget")?,
      },
      WaitPath::Thread => Backend::Thread {
        channel: std::sync::Arc::new(threads::channel(env, dispatch)?),
        holding: 0,
      },
    };
    env.add_env_cleanup_hook((), |()| teardown())?;
    Ok(Loop {
      env: env.raw(),
      backend,
      sources: HashMap::new(),
    })
  }

  /// Thread path: the threadsafe function holds the event loop while any
  /// source is active, as libuv's active handles do on the other path.
  fn hold(&mut self, more: bool) {
    if let Backend::Thread { channel, holding } = &mut self.backend {
      let before = *holding;
      *holding = if more {
        before + 1
      } else {
        before.saturating_sub(1)
      };
      if (before == 0) != (*holding == 0) {
        threads::hold_event_loop(self.env, channel, *holding > 0);
      }
    }
  }
}

impl Readable {
  /// Watches `fd`, which must stay open until this is dropped. Tells
  /// `on_ready` each time the descriptor is readable while started.
  pub fn new(env: &Env, fd: BorrowedFd, on_ready: OnReady) -> io::Result<Readable> {
    let key = next_key();
    with_loop(env, |lp| {
      let source = match &lp.backend {
        Backend::Uv { uv_loop, .. } => Source::Poll {
          handle: UvHandle::poll(*uv_loop, fd.as_raw_fd(), key)?,
          on_ready,
        },
        Backend::Thread { .. } => Source::Watch {
          on_ready,
          started: false,
        },
      };
      lp.sources.insert(key, source);
      Ok(Readable { key })
    })
  }

  /// Starts reporting; idempotent. `fd` is the descriptor it was made for.
  pub fn start(&self, env: &Env, fd: BorrowedFd) -> io::Result<()> {
    with_loop(env, |lp| {
      let route = match &lp.backend {
        Backend::Thread { channel, .. } => Some(channel.clone()),
        Backend::Uv { .. } => None,
      };
      let newly = match lp.sources.get_mut(&self.key) {
        Some(Source::Poll { handle, .. }) => handle.poll_start().map(|()| false)?,
        Some(Source::Watch { started, .. }) if !*started => {
          // A watch source is made only on the thread path, which has one.
          let route = route.ok_or_else(|| io::Error::from_raw_os_error(libc::EINVAL))?;
          threads::watch(fd, self.key, route)?;
          *started = true;
          true
        }
        _ => false,
      };
      if newly {
        lp.hold(true);
      }
      Ok(())
    })
  }

  /// Stops reporting, so this source no longer holds the event loop. Its
  /// owner calls this before closing `fd`.
  pub fn stop(&self, fd: BorrowedFd) {
    let _ = LOOP.with(|cell| {
      let mut slot = cell.try_borrow_mut().ok()?;
      let lp = slot.as_mut()?;
      match lp.sources.get_mut(&self.key)? {
        Source::Poll { handle, .. } => handle.poll_stop(),
        Source::Watch { started, .. } => {
          threads::unwatch(fd, self.key);
          if std::mem::take(started) {
            lp.hold(false);
          }
        }
        _ => {}
      }
      Some(())
    });
  }
}

impl Drop for Readable {
  fn drop(&mut self) {
    remove(self.key);
  }
}

impl Timer {
  /// Calls `on_fire` once, after `delay`, unless dropped first.
  pub fn new(
    env: &Env,
    delay: Duration,
    on_fire: impl FnOnce(&Env) + 'static,
  ) -> io::Result<Timer> {
    let key = next_key();
    let on_fire: Option<OnFire> = Some(Box::new(on_fire));
    with_loop(env, |lp| {
      let ms = delay.as_millis().min(u64::MAX.into()) as u64;
      let handle = match &lp.backend {
        Backend::Uv { uv_loop, .. } => Some(UvHandle::timer(*uv_loop, ms, key)?),
        Backend::Thread { channel, .. } => {
          threads::after(delay, key, channel.clone())?;
          None
        }
      };
      lp.sources.insert(
        key,
        Source::Timer {
          _handle: handle,
          on_fire,
        },
      );
      lp.hold(true);
      Ok(Timer { key })
    })
  }
}

impl Drop for Timer {
  fn drop(&mut self) {
    remove(self.key);
  }
}

/// Forgets a source: closes its handle, or its route on the helper threads.
/// Its callback is dropped outside the loop's borrow, as dropping it may
/// drop targets, whose own sources come back here.
fn remove(key: u64) {
  let removed = LOOP.with(|cell| {
    let mut slot = cell.try_borrow_mut().ok()?;
    let lp = slot.as_mut()?;
    let source = lp.sources.remove(&key)?;
    let holding = match &source {
      Source::Poll { .. } => false,
      Source::Watch { started, .. } => *started,
      Source::Timer { on_fire, .. } => on_fire.is_some(),
    };
    threads::cancel(key);
    if holding {
      lp.hold(false);
    }
    Some(source)
  });
  drop(removed);
}

/// An event from libuv, on this thread, outside any JavaScript scope.
fn on_uv_event(key: u64) {
  let entered = LOOP.with(|cell| {
    let slot = cell.try_borrow().ok()?;
    match slot.as_ref()? {
      Loop {
        env,
        backend: Backend::Uv { context, .. },
        ..
      } => Some((*env, *context)),
      _ => None,
    }
  });
  if let Some((env, context)) = entered {
    context.enter(env, |env| dispatch(env, key));
  }
}

/// Runs the callback of `key`, if it is still wanted, with no borrow held:
/// callbacks run JavaScript, which may start or stop other sources.
fn dispatch(env: &Env, key: u64) {
  enum Run {
    Ready(OnReady),
    Fire(OnFire),
  }
  let run = LOOP.with(|cell| {
    let mut slot = cell.try_borrow_mut().ok()?;
    let lp = slot.as_mut()?;
    let run = match lp.sources.get_mut(&key)? {
      Source::Poll { on_ready, .. } => Run::Ready(on_ready.clone()),
      Source::Watch { on_ready, started } => {
        // The helper's registration is one-shot: it has fired.
        let ready = on_ready.clone();
        if std::mem::take(started) {
          lp.hold(false);
        }
        Run::Ready(ready)
      }
      Source::Timer { on_fire, .. } => {
        let fire = on_fire.take()?;
        lp.hold(false);
        Run::Fire(fire)
      }
    };
    Some(run)
  });
  match run {
    Some(Run::Ready(on_ready)) => {
      if let Some(listener) = on_ready.upgrade() {
        listener.ready(env)
      }
    }
    Some(Run::Fire(on_fire)) => on_fire(env),
    None => {}
  }
}

/// The env is going away: close every source and drop every callback
/// unrun. libuv frees a closed handle only in a later loop iteration, and a
/// worker's loop may not run again before it is closed (which fails while
/// any handle is still open): one non-blocking iteration finishes them.
fn teardown() {
  let Some(lp) = LOOP.with(|cell| cell.borrow_mut().take()) else {
    return;
  };
  // The operations first: they hold targets, whose sources are below.
  crate::event_loop::pending::drop_all();
  let uv_loop = match &lp.backend {
    Backend::Uv { uv_loop, .. } => Some(*uv_loop),
    Backend::Thread { .. } => None,
  };
  // A watched pidfd leaves the helper's epoll set when its target closes it.
  for (key, source) in lp.sources {
    threads::cancel(key);
    drop(source);
  }
  if let Some(uv_loop) = uv_loop {
    ffi::uv_run_once_nowait(uv_loop);
  }
}
