//! The system calls nix does not wrap, each wrapped once, and the few N-API
//! calls napi-rs has no safe form for (a promise settled through a channel
//! shared by all promises, a pending exception taken to reject one). Every
//! `unsafe` in the crate lives in this file.
//!
//! glibc has no `pidfd_send_signal` wrapper and only recent glibc has
//! `pidfd_open`, so both go through `libc::syscall`. Variadic arguments are
//! passed as `c_long` so the C ABI promotes them the same way on every
//! architecture. On other systems the pidfd calls fail with ENOSYS, which the
//! probe reads as "no pidfds here".

#![allow(unsafe_code)]

use std::io;
#[cfg(target_os = "linux")]
use std::os::fd::FromRawFd;
use std::os::fd::{AsFd, AsRawFd, BorrowedFd, OwnedFd, RawFd};

#[cfg(target_os = "linux")]
use libc::c_long;
use libc::{c_int, c_uint};
use napi::bindgen_prelude::{Env, Object, Unknown};
use napi::threadsafe_function::ThreadsafeFunctionHandle;
use napi::JsValue;
use nix::unistd::Pid;
use tokio::io::unix::AsyncFd;
use tokio::io::Interest;
use tokio::sync::OnceCell;

/// `PIDFD_SIGNAL_PROCESS_GROUP`: signal the group whose id is the pidfd's pid.
#[cfg(target_os = "linux")]
pub const SIGNAL_PROCESS_GROUP: c_uint = libc::PIDFD_SIGNAL_PROCESS_GROUP;
#[cfg(not(target_os = "linux"))]
pub const SIGNAL_PROCESS_GROUP: c_uint = 1 << 2;

#[cfg(target_os = "linux")]
/// `pidfd_open(2)` (Linux ≥ 5.3): a close-on-exec descriptor bound to the
/// process `pid` names now, for that process's whole life.
pub fn pidfd_open(pid: Pid) -> io::Result<OwnedFd> {
  // SAFETY: pidfd_open takes two integers and touches no memory of ours.
  let fd = unsafe { libc::syscall(libc::SYS_pidfd_open, pid.as_raw() as c_long, 0 as c_long) };
  if fd < 0 {
    return Err(io::Error::last_os_error());
  }
  // SAFETY: a non-negative return is a new descriptor that nothing else owns;
  // descriptors fit in c_int.
  Ok(unsafe { OwnedFd::from_raw_fd(fd as c_int) })
}

#[cfg(target_os = "linux")]
/// `pidfd_send_signal(2)` with a null siginfo, which makes the kernel fill in
/// the same siginfo `kill(2)` would. `flags` is 0 or one `PIDFD_SIGNAL_*` scope.
pub fn pidfd_send_signal(pidfd: BorrowedFd<'_>, signal: c_int, flags: c_uint) -> io::Result<()> {
  // SAFETY: the descriptor is borrowed for the call, the siginfo pointer is
  // null (allowed) and the rest are integers.
  let rc = unsafe {
    libc::syscall(
      libc::SYS_pidfd_send_signal,
      pidfd.as_raw_fd() as c_long,
      signal as c_long,
      std::ptr::null::<libc::siginfo_t>(),
      flags as c_long,
    )
  };
  if rc < 0 {
    return Err(io::Error::last_os_error());
  }
  Ok(())
}

#[cfg(target_os = "linux")]
/// The wait status (`waitpid(2)` encoding) of a process that has been reaped,
/// read with `ioctl(PIDFD_GET_INFO)` and `PIDFD_INFO_EXIT` (Linux ≥ 6.15).
/// `Ok(None)` while the process has not been reaped yet.
pub fn pidfd_exit_status(pidfd: BorrowedFd<'_>) -> io::Result<Option<c_int>> {
  // SAFETY: pidfd_info is plain integers, for which all-zero is valid.
  let mut info: libc::pidfd_info = unsafe { std::mem::zeroed() };
  info.mask = libc::PIDFD_INFO_EXIT as u64;
  // SAFETY: PIDFD_GET_INFO reads and writes at most size_of::<pidfd_info>()
  // bytes (the size is encoded in the request) of the struct we own.
  let rc = unsafe { libc::ioctl(pidfd.as_raw_fd(), libc::PIDFD_GET_INFO, &mut info) };
  if rc < 0 {
    return Err(io::Error::last_os_error());
  }
  Ok((info.mask & libc::PIDFD_INFO_EXIT as u64 != 0).then_some(info.exit_code))
}

/// A pidfd and, once a wait asks for it, its registration in the async
/// runtime's epoll set. The one descriptor serves signals and waits alike.
pub struct Pidfd {
  // Declared before `fd`, so it is dropped (taken out of the epoll set)
  // before the descriptor closes.
  readiness: OnceCell<AsyncFd<RawFd>>,
  fd: OwnedFd,
}

impl Pidfd {
  pub fn new(fd: OwnedFd) -> Self {
    Pidfd {
      readiness: OnceCell::new(),
      fd,
    }
  }

  /// The descriptor in the runtime's epoll set, registered at the first
  /// call. Must run inside the runtime.
  pub async fn readiness(&self) -> io::Result<&AsyncFd<RawFd>> {
    let register = || async {
      // SAFETY: the registration lives in `self.readiness`, which is dropped
      // before `self.fd`, and `self.fd` is never closed or replaced before:
      // the number names the same open pidfd for the registration's life.
      let registered =
        unsafe { AsyncFd::register_with_interest(self.fd.as_raw_fd(), Interest::READABLE) };
      registered.map_err(io::Error::from)
    };
    self.readiness.get_or_try_init(register).await
  }
}

impl AsFd for Pidfd {
  fn as_fd(&self) -> BorrowedFd<'_> {
    self.fd.as_fd()
  }
}

/// `kill(2)` to one process. nix's `kill` takes only the signals its `Signal`
/// enum names, which leaves out the real-time ones, so the number goes
/// through as it is. `pid` must be positive: 0 and -1 address whole groups.
pub fn kill(pid: Pid, signal: c_int) -> io::Result<()> {
  assert!(pid.as_raw() > 0, "kill needs one process, not {pid}");
  // SAFETY: kill takes two integers and touches no memory of ours.
  check(unsafe { libc::kill(pid.as_raw(), signal) })
}

/// `killpg(3)` to the process group `pgid` (positive, for the same reason).
pub fn killpg(pgid: Pid, signal: c_int) -> io::Result<()> {
  assert!(pgid.as_raw() > 0, "killpg needs one group, not {pgid}");
  // SAFETY: killpg takes two integers and touches no memory of ours.
  check(unsafe { libc::killpg(pgid.as_raw(), signal) })
}

fn check(rc: c_int) -> io::Result<()> {
  if rc < 0 {
    return Err(io::Error::last_os_error());
  }
  Ok(())
}

/// EMFILE or ENFILE: this process, or the system, has no descriptor to give.
/// Callers fall back rather than fail.
pub fn out_of_descriptors(error: &io::Error) -> bool {
  matches!(error.raw_os_error(), Some(libc::EMFILE | libc::ENFILE))
}

/// Forks a child that exits at once, for the capability probe. The child runs
/// nothing but `_exit`, which is async-signal-safe, so forking a multithreaded
/// process is sound. The caller owns the child and must reap it.
pub fn fork_exiting_child() -> io::Result<Pid> {
  // SAFETY: the child branch calls only `_exit(2)`.
  match unsafe { libc::fork() } {
    -1 => Err(io::Error::last_os_error()),
    // SAFETY: `_exit` is always safe to call; it does not return.
    0 => unsafe { libc::_exit(0) },
    child => Ok(Pid::from_raw(child)),
  }
}

/// A promise's resolver, settled once by [`settle`] on the JavaScript thread
/// of the env that made it.
pub struct Deferred(napi::sys::napi_deferred);

// SAFETY: the handle is only carried across threads; it is used solely by
// `settle`, which runs on its env's JavaScript thread.
unsafe impl Send for Deferred {}

/// A new pending promise and its resolver.
pub fn create_promise<'env>(env: &'env Env) -> napi::Result<(Deferred, Object<'env>)> {
  let (mut deferred, mut promise) = (std::ptr::null_mut(), std::ptr::null_mut());
  // SAFETY: a live env on its own thread (an `&Env` exists only there) and
  // two out-pointers we own.
  let status = unsafe { napi::sys::napi_create_promise(env.raw(), &mut deferred, &mut promise) };
  napi_status(status)?;
  Ok((Deferred(deferred), Object::from_raw(env.raw(), promise)))
}

/// Resolves (`Ok`) or rejects (`Err`) the promise of `deferred`, which must
/// come from `env`, the env of the thread this runs on.
pub fn settle(env: &Env, deferred: Deferred, value: Result<Unknown, Unknown>) -> napi::Result<()> {
  // SAFETY: `deferred` is unsettled (settling consumes it), belongs to `env`
  // and we are on `env`'s thread; the value is a live handle of `env`.
  let status = unsafe {
    match value {
      Ok(value) => napi::sys::napi_resolve_deferred(env.raw(), deferred.0, value.raw()),
      Err(reason) => napi::sys::napi_reject_deferred(env.raw(), deferred.0, reason.raw()),
    }
  };
  napi_status(status)
}

/// The exception JavaScript code left pending, cleared so a promise can
/// reject with it; `None` when none is pending. napi-rs leaves a throwing
/// getter's or method's exception pending; it propagates from a method that
/// returns, but a promise must take it before anything else runs.
pub fn take_exception(env: &Env) -> napi::Result<Option<Unknown<'_>>> {
  let mut pending = false;
  // SAFETY: a live env on its own thread and an out-pointer we own.
  napi_status(unsafe { napi::sys::napi_is_exception_pending(env.raw(), &mut pending) })?;
  if !pending {
    return Ok(None);
  }
  let mut exception = std::ptr::null_mut();
  // SAFETY: as above; an exception is pending, so one is returned.
  let status = unsafe { napi::sys::napi_get_and_clear_last_exception(env.raw(), &mut exception) };
  napi_status(status)?;
  // SAFETY: a live handle of `env`, just returned by N-API.
  Ok(Some(unsafe {
    Unknown::from_raw_unchecked(env.raw(), exception)
  }))
}

/// Makes the event loop wait for `channel` (`hold`), or stop waiting for it.
/// napi-rs's own `refer`/`unref` need the function by `&mut`, which a channel
/// shared with the runtime's tasks cannot lend.
pub fn hold_event_loop(
  env: &Env,
  channel: &ThreadsafeFunctionHandle,
  hold: bool,
) -> napi::Result<()> {
  channel.with_read_aborted(|aborted| {
    if aborted {
      return Ok(());
    }
    let raw = channel.get_raw();
    // SAFETY: the function is not aborted (checked under its lock), so it is
    // alive, and `env` is its env on its own thread.
    let status = unsafe {
      match hold {
        true => napi::sys::napi_ref_threadsafe_function(env.raw(), raw),
        false => napi::sys::napi_unref_threadsafe_function(env.raw(), raw),
      }
    };
    napi_status(status)
  })
}

/// The text of a JavaScript string, copied into `buffer` without
/// allocating; `None` if it is not a string, not UTF-8 on a character
/// boundary, or does not fit with room to spare (then it may be cut short).
pub fn short_string<'b>(value: &Unknown, buffer: &'b mut [u8]) -> Option<&'b str> {
  let mut length = 0;
  // SAFETY: N-API writes at most `buffer.len()` bytes (the text and a NUL)
  // into the buffer we own, and the length into `length`; `value` is a live
  // handle of its env, on that env's thread.
  let status = unsafe {
    napi::sys::napi_get_value_string_utf8(
      value.value().env,
      value.raw(),
      buffer.as_mut_ptr().cast(),
      buffer.len(),
      &mut length,
    )
  };
  if status != napi::sys::Status::napi_ok || length + 1 >= buffer.len() {
    return None;
  }
  std::str::from_utf8(&buffer[..length]).ok()
}

fn napi_status(status: napi::sys::napi_status) -> napi::Result<()> {
  match status {
    napi::sys::Status::napi_ok => Ok(()),
    status => Err(napi::Error::from_status(napi::Status::from(status))),
  }
}

#[cfg(not(target_os = "linux"))]
pub use no_pidfd::*;

#[cfg(not(target_os = "linux"))]
mod no_pidfd {
  use super::*;

  fn enosys<T>() -> io::Result<T> {
    Err(io::Error::from_raw_os_error(libc::ENOSYS))
  }

  pub fn pidfd_open(_: Pid) -> io::Result<OwnedFd> {
    enosys()
  }

  pub fn pidfd_send_signal(_: BorrowedFd<'_>, _: c_int, _: c_uint) -> io::Result<()> {
    enosys()
  }

  pub fn pidfd_exit_status(_: BorrowedFd<'_>) -> io::Result<Option<c_int>> {
    enosys()
  }
}
