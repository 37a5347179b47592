//! The system calls nix does not wrap, each wrapped once. Every `unsafe` in
//! the crate lives in this file.
//!
//! glibc has no `pidfd_send_signal` wrapper and only recent glibc has
//! `pidfd_open`, so both go through `libc::syscall`. Variadic arguments are
//! passed as `c_long` so the C ABI promotes them the same way on every
//! architecture. On other systems the pidfd calls fail with ENOSYS, which the
//! probe reads as "no pidfds here".

#![allow(unsafe_code)]

use std::io;
#[cfg(target_os = "linux")]
use std::os::fd::{AsRawFd, FromRawFd};
use std::os::fd::{BorrowedFd, OwnedFd};

#[cfg(target_os = "linux")]
use libc::c_long;
use libc::{c_int, c_uint};
use nix::unistd::Pid;
use tokio::io::unix::AsyncFd;
use tokio::io::Interest;

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

/// Registers a descriptor for readiness with the async runtime's epoll set.
/// Must run inside the runtime.
pub fn watch_readable(fd: OwnedFd) -> io::Result<AsyncFd<OwnedFd>> {
  // SAFETY: the AsyncFd takes ownership of `fd`, so the descriptor stays
  // open and refers to the same file for the AsyncFd's whole life.
  Ok(unsafe { AsyncFd::register_with_interest(fd, Interest::READABLE) }?)
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
