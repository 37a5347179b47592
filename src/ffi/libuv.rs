//! libuv's poll and timer handles, for waits in the loop that is already
//! running. libuv is never linked: its functions are looked up at run time
//! in the host process (`dlsym`), so the binary loads in hosts that lack
//! them, and `event_loop::host` decides whether to use them at all.

#![allow(unsafe_code)]

use std::ffi::{c_char, c_int, c_void, CStr};
use std::ptr;
use std::sync::OnceLock;

use napi::bindgen_prelude::Env;

/// `uv_handle_type` values this package uses, checked against the host's own
/// names for them before libuv is used at all (see [`Uv::resolve`]).
const UV_POLL: c_int = 8;
const UV_TIMER: c_int = 13;
const UV_READABLE: c_int = 1;
const UV_RUN_NOWAIT: c_int = 2;

type PollCb = unsafe extern "C" fn(*mut c_void, c_int, c_int);
type TimerCb = unsafe extern "C" fn(*mut c_void);
type CloseCb = unsafe extern "C" fn(*mut c_void);
type TypeName = unsafe extern "C" fn(c_int) -> *const c_char;
type HandleSize = unsafe extern "C" fn(c_int) -> usize;
type PollInit = unsafe extern "C" fn(*mut c_void, *mut c_void, c_int) -> c_int;
type PollStart = unsafe extern "C" fn(*mut c_void, c_int, PollCb) -> c_int;
type HandleOp = unsafe extern "C" fn(*mut c_void) -> c_int;
type TimerInit = unsafe extern "C" fn(*mut c_void, *mut c_void) -> c_int;
type TimerStart = unsafe extern "C" fn(*mut c_void, TimerCb, u64, u64) -> c_int;
type Close = unsafe extern "C" fn(*mut c_void, CloseCb);
type Run = unsafe extern "C" fn(*mut c_void, c_int) -> c_int;
type UpdateTime = unsafe extern "C" fn(*mut c_void);

/// The libuv functions this package calls, from the host process.
struct Uv {
  poll_init: PollInit,
  poll_start: PollStart,
  poll_stop: HandleOp,
  timer_init: TimerInit,
  timer_start: TimerStart,
  close: Close,
  run: Run,
  update_time: UpdateTime,
  /// Words in a handle of ours: enough for either kind.
  handle_words: usize,
}

impl Uv {
  /// Every function, or `None` if one is missing or the host's libuv does
  /// not number its handle types as this file does.
  fn resolve() -> Option<Uv> {
    fn symbol(name: &CStr) -> Option<*mut c_void> {
      // SAFETY: dlsym with a NUL-terminated name only looks the symbol up.
      let found = unsafe { libc::dlsym(libc::RTLD_DEFAULT, name.as_ptr()) };
      (!found.is_null()).then_some(found)
    }
    macro_rules! function {
      ($name:literal as $type:ty) => {
        // SAFETY: a function exported by libuv under this name has this
        // signature in every libuv 1.x (uv.h).
        unsafe { std::mem::transmute::<*mut c_void, $type>(symbol($name)?) }
      };
    }
    let type_name = function!(c"uv_handle_type_name" as TypeName);
    let named = |kind, expected: &CStr| {
      // SAFETY: libuv returns a static string, or NULL for an unknown type.
      let name = unsafe { type_name(kind) };
      // SAFETY: a non-null result is a NUL-terminated static string.
      !name.is_null() && unsafe { CStr::from_ptr(name) } == expected
    };
    if !named(UV_POLL, c"poll") || !named(UV_TIMER, c"timer") {
      return None;
    }
    let handle_size = function!(c"uv_handle_size" as HandleSize);
    Some(Uv {
      poll_init: function!(c"uv_poll_init" as PollInit),
      poll_start: function!(c"uv_poll_start" as PollStart),
      poll_stop: function!(c"uv_poll_stop" as HandleOp),
      timer_init: function!(c"uv_timer_init" as TimerInit),
      timer_start: function!(c"uv_timer_start" as TimerStart),
      close: function!(c"uv_close" as Close),
      run: function!(c"uv_run" as Run),
      update_time: function!(c"uv_update_time" as UpdateTime),
      // SAFETY: uv_handle_size takes any handle type and returns a size.
      handle_words: unsafe { handle_size(UV_POLL).max(handle_size(UV_TIMER)) }.div_ceil(8),
    })
  }
}

fn uv() -> Option<&'static Uv> {
  static UV: OnceLock<Option<Uv>> = OnceLock::new();
  UV.get_or_init(Uv::resolve).as_ref()
}

/// libuv, for a handle: one is made only where it resolved (`has_libuv`),
/// and an error rather than a panic says otherwise.
fn libuv() -> std::io::Result<&'static Uv> {
  uv().ok_or_else(|| std::io::Error::from(std::io::ErrorKind::Unsupported))
}

/// Whether the host exports a libuv this file can use.
pub fn has_libuv() -> bool {
  uv().is_some()
}

/// The libuv loop of `env`'s thread.
pub fn uv_loop(env: &Env) -> napi::Result<*mut c_void> {
  env.get_uv_event_loop().map(|uv_loop| uv_loop.cast())
}

/// One iteration of `uv_loop` that does not block: it finishes the handles
/// closed since the last one. Only for a loop that is not running now.
pub fn uv_run_once_nowait(uv_loop: *mut c_void) {
  if let Some(uv) = uv() {
    // SAFETY: a live loop of this thread, called from an env cleanup hook,
    // outside any libuv callback, so the loop is not running.
    unsafe { (uv.run)(uv_loop, UV_RUN_NOWAIT) };
  }
}

/// Where every handle reports its events: the key it was made with.
pub type OnKey = fn(u64);

static LISTENER: OnceLock<OnKey> = OnceLock::new();

/// Sets, once, the function that hears of every handle's events.
pub fn listen_to_handles(on_key: OnKey) {
  LISTENER.get_or_init(|| on_key);
}

/// A libuv handle (`uv_poll_t` or `uv_timer_t`), its memory ours until its
/// close callback. Every handle gets the size of the larger kind, so that
/// freeing needs to know nothing of it; its `data` field (the first of every
/// handle) holds its key.
pub struct UvHandle {
  raw: *mut c_void,
}

impl UvHandle {
  fn allocate(uv: &Uv, key: u64) -> UvHandle {
    // Handles hold pointers: 8-byte words keep them aligned.
    let mut memory = vec![0u64; uv.handle_words].into_boxed_slice();
    memory[0] = key;
    UvHandle {
      raw: Box::into_raw(memory).cast(),
    }
  }

  /// Tells the listener of an event on the handle.
  fn report(raw: *mut c_void) {
    // SAFETY: `raw` is one of our open handles, whose first word is its key.
    let key = unsafe { raw.cast::<u64>().read() };
    if let Some(on_key) = LISTENER.get() {
      // Called from libuv: a panic must not unwind into it (an abort). None
      // is known to be reachable; if one were, its event is lost.
      let _ = std::panic::catch_unwind(|| on_key(key));
    }
  }

  fn free(raw: *mut c_void) {
    // A handle exists only where libuv resolved; leaking it would still
    // beat a panic in libuv's callback.
    let Some(words) = uv().map(|uv| uv.handle_words) else {
      return;
    };
    // SAFETY: the allocation made in `allocate`, of `handle_words` words,
    // which libuv no longer uses (never initialized, or closed).
    drop(unsafe { Box::from_raw(ptr::slice_from_raw_parts_mut(raw.cast::<u64>(), words)) });
  }

  /// A `uv_poll_t` on `fd` in `uv_loop`, not started.
  pub fn poll(uv_loop: *mut c_void, fd: c_int, key: u64) -> std::io::Result<UvHandle> {
    let uv = libuv()?;
    let handle = UvHandle::allocate(uv, key);
    // SAFETY: a live loop of this thread and an unused handle of at least
    // the size libuv asked for; `fd` stays open until the handle is closed.
    match unsafe { (uv.poll_init)(uv_loop, handle.raw, fd) } {
      0 => Ok(handle),
      error => {
        UvHandle::free(handle.raw);
        std::mem::forget(handle);
        Err(std::io::Error::from_raw_os_error(-error))
      }
    }
  }

  /// Reports the key each time the descriptor is readable, until stopped.
  pub fn poll_start(&self) -> std::io::Result<()> {
    unsafe extern "C" fn ready(handle: *mut c_void, _status: c_int, _events: c_int) {
      UvHandle::report(handle)
    }
    let uv = libuv()?;
    // SAFETY: an initialized, unclosed poll handle of this thread's loop.
    uv_result(unsafe { (uv.poll_start)(self.raw, UV_READABLE, ready) })
  }

  pub fn poll_stop(&self) {
    let Some(uv) = uv() else {
      return;
    };
    // SAFETY: an initialized, unclosed poll handle; stopping one that is not
    // started is allowed.
    unsafe { (uv.poll_stop)(self.raw) };
  }

  /// A `uv_timer_t` that reports its key once, after `ms`.
  pub fn timer(uv_loop: *mut c_void, ms: u64, key: u64) -> std::io::Result<UvHandle> {
    unsafe extern "C" fn fired(handle: *mut c_void) {
      UvHandle::report(handle)
    }
    let uv = libuv()?;
    let handle = UvHandle::allocate(uv, key);
    // SAFETY: a live loop of this thread and an unused handle of the right
    // size, started once initialized; if starting fails, dropping the handle
    // closes it. The loop's clock is brought up to date first: libuv counts
    // from the time it cached when this loop iteration began, which may be
    // long past, and a time limit runs from the call that set it.
    unsafe {
      (uv.update_time)(uv_loop);
      (uv.timer_init)(uv_loop, handle.raw);
      uv_result((uv.timer_start)(handle.raw, fired, ms, 0))?;
    }
    Ok(handle)
  }
}

impl Drop for UvHandle {
  /// Closes the handle, which stops it; the memory goes in the close
  /// callback, as libuv may touch the handle until then.
  fn drop(&mut self) {
    unsafe extern "C" fn closed(raw: *mut c_void) {
      UvHandle::free(raw)
    }
    let Some(uv) = uv() else {
      return;
    };
    // SAFETY: an initialized handle of this thread's loop, closed once (we
    // are its only owner); after `uv_close` libuv calls back only `closed`.
    unsafe { (uv.close)(self.raw, closed) };
  }
}

fn uv_result(code: c_int) -> std::io::Result<()> {
  match code {
    0 => Ok(()),
    error => Err(std::io::Error::from_raw_os_error(-error)),
  }
}
