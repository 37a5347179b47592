//! One probe, run at first use, decides which kernel features this process
//! uses; nothing else ever asks the kernel again (as Go's os package does).
//!
//! ENOSYS (old kernel), EPERM (seccomp filters of older container runtimes)
//! and EINVAL (a flag the kernel does not know) all mean "absent", so the
//! library falls back instead of failing.

use std::os::fd::AsFd;
use std::sync::OnceLock;

use nix::unistd::{getpid, Pid};

use crate::linux::sys;

/// Set to a non-empty value other than `0` to behave as though the kernel had
/// no pidfds: every target then uses `kill(2)`/`killpg(2)`.
pub const DISABLE_ENV: &str = "KILL_TARGET_DISABLE_PIDFD";

/// What the running kernel lets this process use.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Features {
  /// `pidfd_open` and `pidfd_send_signal` (Linux ≥ 5.3).
  pub pidfd: bool,
  /// `PIDFD_SIGNAL_PROCESS_GROUP` (Linux ≥ 6.9).
  pub group_signal: bool,
  /// `PIDFD_INFO_EXIT` (Linux ≥ 6.15).
  pub exit_info: bool,
  /// `PIDFD_GET_INFO`, with the parent (Linux ≥ 6.13).
  pub pidfd_info: bool,
  /// pidfs (Linux ≥ 6.9): each process's pidfds have an inode of its own.
  pub pidfs: bool,
}

/// The features of this process, probed once. A probe that could not get a
/// descriptor decides nothing: that call goes by pid, and the next one asks
/// again.
pub fn features() -> Features {
  static FEATURES: OnceLock<Features> = OnceLock::new();
  if let Some(decided) = FEATURES.get() {
    return *decided;
  }
  if disabled_by(std::env::var_os(DISABLE_ENV).as_deref()) {
    return *FEATURES.get_or_init(Features::default);
  }
  match probe_kernel() {
    Some(decided) => *FEATURES.get_or_init(|| decided),
    None => Features::default(),
  }
}

fn disabled_by(value: Option<&std::ffi::OsStr>) -> bool {
  value.is_some_and(|v| !v.is_empty() && v != "0")
}

/// `None` when this process is out of descriptors and cannot tell.
fn probe_kernel() -> Option<Features> {
  let own = match sys::pidfd_open(getpid()) {
    Ok(own) => own,
    Err(error) if sys::out_of_descriptors(&error) => return None,
    Err(_absent) => return Some(Features::default()),
  };
  if sys::pidfd_send_signal(own.as_fd(), 0, 0).is_err() {
    return Some(Features::default());
  }
  let group_signal = group_flag_understood(&sys::pidfd_send_signal(
    own.as_fd(),
    0,
    sys::SIGNAL_PROCESS_GROUP,
  ));
  let pidfd_info = sys::pidfd_parent(own.as_fd()).is_ok();
  let own_inode = inode(own.as_fd());
  // Give its descriptor back first: the exit check needs one of its own.
  drop(own);

  // Exit information exists only for a reaped process, so make one of our
  // own: fork a child that exits at once, reap it, ask its pidfd. This child
  // is the only process the package ever reaps, and it is its own. Its
  // pidfd also tells pidfs: an inode of its own, not the one all pidfds
  // shared before 6.9.
  let (exit_info, pidfs) = sys::fork_exiting_child().map_or((false, false), |child: Pid| {
    let pidfd = sys::pidfd_open(child);
    // Reap the child we forked. ECHILD would mean another waiter in this
    // process took it first, which leaves the answers the same.
    while nix::sys::wait::waitpid(child, None) == Err(nix::errno::Errno::EINTR) {}
    let Ok(fd) = pidfd else {
      return (false, false);
    };
    let exit_info = matches!(sys::pidfd_exit_status(fd.as_fd()), Ok(Some(_)));
    let pidfs = own_inode.is_some() && inode(fd.as_fd()) != own_inode;
    (exit_info, pidfs)
  });

  Some(Features {
    pidfd: true,
    group_signal,
    exit_info,
    pidfd_info,
    pidfs,
  })
}

fn inode(fd: std::os::fd::BorrowedFd<'_>) -> Option<u64> {
  nix::sys::stat::fstat(fd).ok().map(|stat| stat.st_ino)
}

/// The outcome of signal 0 to our own group with `PIDFD_SIGNAL_PROCESS_GROUP`.
/// ESRCH says only that we lead no group: the kernel understood the flag.
/// EINVAL (before 6.9) or a filter's EPERM mean the flag is absent.
fn group_flag_understood(outcome: &std::io::Result<()>) -> bool {
  match outcome {
    Ok(()) => true,
    Err(error) => error.raw_os_error() == Some(libc::ESRCH),
  }
}

#[cfg(test)]
mod tests {
  use super::*;

  #[test]
  fn the_override_needs_a_value_other_than_zero() {
    assert!(!disabled_by(None));
    assert!(!disabled_by(Some("".as_ref())));
    assert!(!disabled_by(Some("0".as_ref())));
    assert!(disabled_by(Some("1".as_ref())));
    assert!(disabled_by(Some("yes".as_ref())));
  }

  #[test]
  fn only_esrch_or_success_means_the_group_flag_is_understood() {
    let failing = |errno| Err(std::io::Error::from_raw_os_error(errno));
    assert!(group_flag_understood(&Ok(())));
    assert!(group_flag_understood(&failing(libc::ESRCH)));
    assert!(!group_flag_understood(&failing(libc::EINVAL)));
    assert!(!group_flag_understood(&failing(libc::EPERM)));
    assert!(!group_flag_understood(&failing(libc::ENOSYS)));
  }
}
