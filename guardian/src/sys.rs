//! The guardian's own system calls that nix does not wrap, each once; with
//! the library's `syscall` (the one the addon shares), every `unsafe` block
//! of the guardian.

#![allow(unsafe_code)]

use std::os::fd::{FromRawFd, OwnedFd, RawFd};

use kill_target_guardian::SOCKET_FD;

/// The guardian's end of the socket, which the program placed at `SOCKET_FD`.
pub fn take_socket() -> OwnedFd {
  // SAFETY: the program's spawn put the socket there for this process alone,
  // and nothing else in it claims the descriptor.
  unsafe { OwnedFd::from_raw_fd(SOCKET_FD) }
}

/// Closes every descriptor above the socket: whatever the program left open
/// without close-on-exec (listening sockets, pipes) must not outlive it here.
/// `close_range(2)` (Linux ≥ 5.9), else each one `/proc/self/fd` lists.
pub fn close_inherited() {
  let first = (SOCKET_FD + 1) as libc::c_long;
  // SAFETY: close_range takes integers; the descriptors it closes are
  // inherited ones that nothing in this process owns.
  let rc = unsafe {
    libc::syscall(
      libc::SYS_close_range,
      first,
      libc::c_long::from(u32::MAX),
      0,
    )
  };
  if rc == 0 {
    return;
  }
  let Ok(listed) = std::fs::read_dir("/proc/self/fd") else {
    return;
  };
  let inherited: Vec<RawFd> = listed
    .filter_map(|entry| entry.ok()?.file_name().to_str()?.parse().ok())
    .filter(|&fd| fd > SOCKET_FD)
    .collect();
  // The listing's own descriptor was closed with it; closing it again
  // (EBADF) is harmless.
  for fd in inherited {
    // SAFETY: inherited descriptors, owned by nothing in this process.
    unsafe { libc::close(fd) };
  }
}

/// A descriptor that came with a message (`SCM_RIGHTS`), now ours alone.
pub fn received(fd: RawFd) -> OwnedFd {
  // SAFETY: the kernel installed it in this process for this message;
  // nothing else holds it.
  unsafe { OwnedFd::from_raw_fd(fd) }
}
