//! The system call both crates make, wrapped once: the guardian signals
//! through it, and so does the addon (which re-exports it). Linux's alone.

#![allow(unsafe_code)]

use std::io;
use std::os::fd::{AsRawFd, BorrowedFd};

/// `pidfd_send_signal(2)` with a null siginfo, which makes the kernel fill in
/// the same siginfo `kill(2)` would. `flags` is 0 or one `PIDFD_SIGNAL_*` scope.
pub fn pidfd_send_signal(
  pidfd: BorrowedFd<'_>,
  signal: libc::c_int,
  flags: libc::c_uint,
) -> io::Result<()> {
  // SAFETY: the descriptor is borrowed for the call, the siginfo pointer is
  // null (allowed) and the rest are integers.
  let rc = unsafe {
    libc::syscall(
      libc::SYS_pidfd_send_signal,
      pidfd.as_raw_fd() as libc::c_long,
      signal as libc::c_long,
      std::ptr::null::<libc::siginfo_t>(),
      flags as libc::c_long,
    )
  };
  if rc < 0 {
    return Err(io::Error::last_os_error());
  }
  Ok(())
}
