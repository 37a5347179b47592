//! The system calls nix does not wrap, each wrapped once. Every `unsafe`
//! system call of the crate lives in this file; the N-API and libuv calls
//! live in `crate::ffi`. `pidfd_send_signal` is the guardian crate's, shared.
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

/// The highest pid Linux can hand out (`PID_MAX_LIMIT` on 64-bit).
pub const PID_MAX: i32 = 4_194_304;

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

/// `pidfd_send_signal(2)`, wrapped once for this crate and the guardian.
#[cfg(target_os = "linux")]
pub use kill_target_guardian::syscall::pidfd_send_signal;

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

#[cfg(target_os = "linux")]
/// The parent of the pidfd's process, from `ioctl(PIDFD_GET_INFO)` (Linux ≥
/// 6.13); ENOTTY or EINVAL before.
pub fn pidfd_parent(pidfd: BorrowedFd<'_>) -> io::Result<Pid> {
  // SAFETY: pidfd_info is plain integers, for which all-zero is valid.
  let mut info: libc::pidfd_info = unsafe { std::mem::zeroed() };
  info.mask = libc::PIDFD_INFO_PID as u64;
  // SAFETY: as in `pidfd_exit_status`.
  let rc = unsafe { libc::ioctl(pidfd.as_raw_fd(), libc::PIDFD_GET_INFO, &mut info) };
  if rc < 0 {
    return Err(io::Error::last_os_error());
  }
  Ok(Pid::from_raw(info.ppid as i32))
}

/// A process to ask `waitid` about: by its pidfd (Linux ≥ 5.4), or by number.
pub enum Child<'fd> {
  #[cfg_attr(not(target_os = "linux"), allow(dead_code))]
  Pidfd(BorrowedFd<'fd>),
  Pid(Pid),
}

/// Whether the process is a child of this one: `waitid(WEXITED | WNOHANG |
/// WNOWAIT)`, which reaps nothing and leaves its exit for whoever waits;
/// ECHILD means it is not our child.
pub fn is_child(child: Child) -> io::Result<bool> {
  let (idtype, id) = match child {
    #[cfg(target_os = "linux")]
    Child::Pidfd(fd) => (libc::P_PIDFD, fd.as_raw_fd() as libc::id_t),
    #[cfg(not(target_os = "linux"))]
    Child::Pidfd(_) => return Err(io::Error::from_raw_os_error(libc::EINVAL)),
    Child::Pid(pid) => (libc::P_PID, pid.as_raw() as libc::id_t),
  };
  // SAFETY: siginfo_t is plain data, for which all-zero is valid.
  let mut info: libc::siginfo_t = unsafe { std::mem::zeroed() };
  let flags = libc::WEXITED | libc::WNOHANG | libc::WNOWAIT;
  loop {
    // SAFETY: the kernel writes at most one siginfo_t into ours; WNOWAIT
    // leaves the child unreaped.
    match check(unsafe { libc::waitid(idtype, id, &mut info, flags) }) {
      Ok(()) => return Ok(true),
      Err(error) if error.raw_os_error() == Some(libc::ECHILD) => return Ok(false),
      Err(error) if error.raw_os_error() == Some(libc::EINTR) => continue,
      Err(error) => return Err(error),
    }
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

/// The file this code was loaded from (the addon's `.node`), by `dladdr(3)`.
/// Linux's alone: kill-on-exit uses it.
#[cfg(target_os = "linux")]
pub fn own_file() -> Option<std::path::PathBuf> {
  use std::os::unix::ffi::OsStrExt;
  // SAFETY: Dl_info is pointers and integers, for which all-zero is valid.
  let mut info: libc::Dl_info = unsafe { std::mem::zeroed() };
  // SAFETY: dladdr only looks the address up in the loader's tables and
  // fills in `info`, which we own.
  let found = unsafe { libc::dladdr(own_file as *const libc::c_void, &mut info) };
  if found == 0 || info.dli_fname.is_null() {
    return None;
  }
  // SAFETY: a NUL-terminated name the loader keeps while the object is
  // loaded, and an addon is never unloaded before the process ends.
  let name = unsafe { std::ffi::CStr::from_ptr(info.dli_fname) };
  Some(std::ffi::OsStr::from_bytes(name.to_bytes()).into())
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

  pub fn pidfd_parent(_: BorrowedFd<'_>) -> io::Result<Pid> {
    enosys()
  }
}
