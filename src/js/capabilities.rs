//! `capabilities()`: what this process found, and how it waits.

use napi_derive::napi;

use crate::event_loop::host;
use crate::kill_on_exit;
use crate::linux::probe;

/// Which kernel features this process uses, decided by one probe at first
/// use, and which loop serves its waits. Set `KILL_TARGET_DISABLE_PIDFD=1`
/// to run as though there were no pidfds, `KILL_TARGET_WAIT_THREAD=1` to
/// serve waits from a helper thread under Node too.
#[napi(object)]
pub struct Capabilities {
  /// `pidfd_open` / `pidfd_send_signal` (Linux ≥ 5.3): targets are race-free.
  pub pidfd: bool,
  /// `PIDFD_SIGNAL_PROCESS_GROUP` (Linux ≥ 6.9): `signalGroup` is race-free
  /// and still reaches the group after its leader has been reaped.
  pub group_signal: bool,
  /// `PIDFD_INFO_EXIT` (Linux ≥ 6.15): `exitStatus()` can answer.
  pub exit_info: bool,
  /// `PIDFD_GET_INFO` (Linux ≥ 6.13): `fromChildProcess` asks the pidfd for
  /// its parent.
  pub pidfd_info: bool,
  /// pidfs (Linux ≥ 6.9): every process's pidfds have an inode of its own,
  /// and `target.id` is of the pidfs kind, which names one process ever.
  pub pidfs: bool,
  /// `'libuv'`: waits are pidfds in the JavaScript thread's own event loop
  /// (Node, Electron). `'thread'`: a helper thread watches them (Bun, Deno).
  /// `'timer'`: the portable backend polls each waited-on pid on the
  /// runtime's own timers.
  #[napi(ts_type = "'libuv' | 'thread' | 'timer'")]
  pub wait_path: String,
  /// `target.killOnExit()` can keep its guarantee: there are pidfds, and
  /// the guardian executable shipped beside the addon is there to start.
  pub kill_on_exit: bool,
  /// Which implementation loaded: `'native'`, this addon, or `'portable'`,
  /// the JavaScript backend that holds every process by its pid, where no
  /// binding exists for the platform.
  #[napi(ts_type = "'native' | 'portable'")]
  pub backend: String,
}

/// The kernel features in use. The probe runs once, at the first call of
/// anything in this package; only a probe that found the process out of
/// descriptors runs again at the next call.
#[napi]
pub fn capabilities() -> Capabilities {
  let found = probe::features();
  Capabilities {
    pidfd: found.pidfd,
    group_signal: found.group_signal,
    exit_info: found.exit_info,
    pidfd_info: found.pidfd_info,
    pidfs: found.pidfs,
    wait_path: host::wait_path().name().to_owned(),
    kill_on_exit: kill_on_exit::supported().is_ok(),
    backend: "native".to_owned(),
  }
}
