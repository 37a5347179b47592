//! One process, held by a pidfd where the kernel has them and by its bare pid
//! where it does not. Signals sent through the pidfd reach that process or
//! nobody: once it is reaped they fail with ESRCH, whoever has the number now.
//!
//! A `Process` is plain data (it can go to another thread); `Target` adds
//! the JavaScript thread's waits on it.

use std::io;
use std::os::fd::{AsFd, BorrowedFd, OwnedFd};
use std::sync::OnceLock;

use nix::errno::Errno;
use nix::poll::{poll, PollFd, PollFlags, PollTimeout};
use nix::unistd::{getpid, Pid};

use crate::errors::Failure;
use crate::linux::probe::{self, Features};
use crate::linux::signal::Signal;
use crate::linux::sys;

pub struct Process {
  pid: Pid,
  features: Features,
  pidfd: Option<OwnedFd>,
}

/// How a reaped process ended.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ExitStatus {
  Code(i32),
  /// The number of the signal that killed it.
  Signal(i32),
}

/// This process's pid, read once (getpid is a system call each time): the
/// probe's child, the one process that forks from here, never asks.
fn this_process() -> Pid {
  static THIS_PROCESS: OnceLock<Pid> = OnceLock::new();
  *THIS_PROCESS.get_or_init(getpid)
}

impl Process {
  /// Opens a handle on `pid`. Falls back to the bare pid when this process
  /// has no pidfds, or has run out of descriptors.
  pub fn open(pid: Pid) -> Result<Self, Failure> {
    let features = probe::features();
    let pidfd = match features.pidfd.then(|| sys::pidfd_open(pid)) {
      Some(Ok(fd)) => Some(fd),
      Some(Err(error)) if !sys::out_of_descriptors(&error) => {
        return Err(Failure::sys("pidfd_open", no_such_process(error), pid));
      }
      _ => {
        // No pidfd: refuse what pidfd_open would. kill(2) takes a pid that
        // names nobody (ESRCH), and also a thread's id, which signals the
        // thread's process: ESRCH too, as no process has that pid. EPERM
        // means the process exists but belongs to someone else: fine to hold.
        match sys::kill(pid, 0) {
          Err(error) if error.raw_os_error() == Some(libc::ESRCH) => {
            return Err(Failure::sys("kill", error, pid));
          }
          _ if thread_group(pid).is_some_and(|leader| leader != pid) => {
            let no_such_process = io::Error::from_raw_os_error(libc::ESRCH);
            return Err(Failure::sys("kill", no_such_process, pid));
          }
          _ => None,
        }
      }
    };
    Ok(Process {
      pid,
      features,
      pidfd,
    })
  }

  /// Opens a child of this process. If the process that has the pid now is
  /// not our child, the child was reaped and its pid reused: it has exited,
  /// and the process that has the number is not the one the caller means.
  ///
  /// Asked of the kernel after the pidfd is open, so of the very process it
  /// holds: its parent from `PIDFD_GET_INFO` (Linux ≥ 6.13), or else whether
  /// `waitid(WNOWAIT)` finds it among our children, which reaps nothing.
  pub fn open_child(pid: Pid) -> Result<Self, Failure> {
    let target = Self::open(pid)?;
    let ours = match target.pidfd() {
      Some(fd) if target.features.pidfd_info => {
        sys::pidfd_parent(fd).map(|parent| parent == this_process())
      }
      Some(fd) => sys::is_child(sys::Child::Pidfd(fd)),
      None => sys::is_child(sys::Child::Pid(pid)),
    };
    match ours {
      Ok(false) => Err(Failure::AlreadyExited { pid: pid.as_raw() }),
      // A kernel without `P_PIDFD` (5.3) asks by number, right after.
      Err(error) if error.raw_os_error() == Some(libc::EINVAL) => {
        match sys::is_child(sys::Child::Pid(pid)) {
          Ok(false) => Err(Failure::AlreadyExited { pid: pid.as_raw() }),
          _ => Ok(target),
        }
      }
      _ => Ok(target),
    }
  }

  pub fn pid(&self) -> Pid {
    self.pid
  }

  /// True for the process this code runs in: a tree rooted at it, or at
  /// one of its ancestors, holds it.
  pub fn is_this_process(&self) -> bool {
    self.pid == this_process()
  }

  /// True when signals go through a pidfd and can never reach a process
  /// that reused the number.
  pub fn race_free(&self) -> bool {
    self.pidfd.is_some()
  }

  /// The kernel features this target was opened with.
  pub fn features(&self) -> Features {
    self.features
  }

  pub fn pidfd(&self) -> Option<BorrowedFd<'_>> {
    self.pidfd.as_ref().map(AsFd::as_fd)
  }

  /// A second handle on the same process, with a descriptor of its own
  /// (close-on-exec), for a holder that outlives this one.
  /// Linux's alone: kill-on-exit uses it.
  #[cfg(target_os = "linux")]
  pub fn try_clone(&self) -> Result<Self, Failure> {
    let pidfd = match &self.pidfd {
      Some(fd) => Some(
        fd.try_clone()
          .map_err(|e| Failure::sys("fcntl", e, self.pid))?,
      ),
      None => None,
    };
    Ok(Process {
      pid: self.pid,
      features: self.features,
      pidfd,
    })
  }

  /// The parent of the process held, read now: from the pidfd where the
  /// kernel tells (Linux ≥ 6.13), or else by number from `/proc`, which
  /// names this process only while it is unreaped (the caller checks).
  pub fn parent(&self) -> Option<Pid> {
    match self.pidfd() {
      Some(fd) if self.features.pidfd_info => sys::pidfd_parent(fd).ok(),
      _ => parent_by_number(self.pid),
    }
  }

  /// Sends `signal`. `Ok(false)` when the process has already been reaped.
  pub fn signal(&self, signal: Signal) -> Result<bool, Failure> {
    let sent = match self.pidfd() {
      Some(fd) => {
        sys::pidfd_send_signal(fd, signal.number(), 0).map_err(|e| ("pidfd_send_signal", e))
      }
      None => sys::kill(self.pid, signal.number()).map_err(|e| ("kill", e)),
    };
    self.delivered(sent)
  }

  /// Whether the process is unreaped (a zombie is): signal 0, where EPERM
  /// too says it is there, only not ours to signal.
  pub fn exists(&self) -> Result<bool, Failure> {
    match self.signal(Signal::EXISTS) {
      Err(failure) if failure.is_denied() => Ok(true),
      exists => exists,
    }
  }

  /// Sends `signal` to the process group this process leads. `Ok(false)`
  /// when the group is gone; an error when the process is alive but leads no
  /// group, since a silent `false` would read as "already stopped".
  pub fn signal_group(&self, signal: Signal) -> Result<bool, Failure> {
    let sent = match self.pidfd() {
      Some(fd) if self.features.group_signal => {
        sys::pidfd_send_signal(fd, signal.number(), sys::SIGNAL_PROCESS_GROUP)
          .map_err(|e| ("pidfd_send_signal", e))
      }
      Some(_) if !self.by_number_reaches_our_group()? => return Ok(false),
      _ => sys::killpg(self.pid, signal.number()).map_err(|e| ("killpg", e)),
    };
    if self.delivered(sent)? {
      return Ok(true);
    }
    // No group with our pid as its id: either everyone is gone, or the
    // process is alive and never led one.
    match self.signal(Signal::EXISTS)? {
      true => Err(Failure::NotGroupLeader {
        pid: self.pid.as_raw(),
      }),
      false => Ok(false),
    }
  }

  /// Before 6.9 a group signal is `killpg(2)`, by number. The kernel keeps a
  /// group's id from reuse while its leader is unreaped, and while any
  /// member holds it. So the leader's pidfd decides: unreaped, the id is
  /// ours. Reaped, a live holder of the leader's pid is a newcomer, so our
  /// group is gone and nothing is sent. With nobody holding the pid the id
  /// goes to `killpg`, and that is by number: either our members still hold
  /// it, or our group is empty and the id may belong to a group that a
  /// newcomer took the pid for, led, and left by being reaped. The docs name
  /// that case: leader reaped, group empty.
  fn by_number_reaches_our_group(&self) -> Result<bool, Failure> {
    let no_such_process =
      |sent: io::Result<()>| matches!(sent, Err(e) if e.raw_os_error() == Some(libc::ESRCH));
    let Some(fd) = self.pidfd() else {
      return Ok(true);
    };
    // EPERM says the leader is there, only not ours to signal: killpg will
    // say so itself.
    if !no_such_process(sys::pidfd_send_signal(fd, 0, 0)) {
      return Ok(true);
    }
    Ok(no_such_process(sys::kill(self.pid, 0)))
  }

  fn delivered(&self, sent: Result<(), (&'static str, io::Error)>) -> Result<bool, Failure> {
    match sent {
      Ok(()) => Ok(true),
      Err((_, error)) if error.raw_os_error() == Some(libc::ESRCH) => Ok(false),
      Err((syscall, error)) => Err(Failure::sys(syscall, error, self.pid)),
    }
  }

  /// True once the process has exited; a zombie has exited.
  pub fn has_exited(&self) -> Result<bool, Failure> {
    match self.pidfd() {
      Some(fd) => {
        let mut fds = [PollFd::new(fd, PollFlags::POLLIN)];
        loop {
          // Node's SIGCHLD handler can interrupt even a zero-timeout poll.
          match poll(&mut fds, PollTimeout::ZERO) {
            Err(Errno::EINTR) => continue,
            Err(errno) => {
              return Err(Failure::Sys {
                syscall: "poll",
                errno,
                pid: self.pid.as_raw(),
              })
            }
            Ok(ready) => return Ok(ready > 0),
          }
        }
      }
      None => match sys::kill(self.pid, 0) {
        Err(error) if error.raw_os_error() == Some(libc::ESRCH) => Ok(true),
        _ => Ok(is_zombie(self.pid)),
      },
    }
  }

  /// How the process ended, once it has been reaped (by anyone), where the
  /// kernel keeps that (`PIDFD_INFO_EXIT`, Linux ≥ 6.15). `None` before the
  /// reap, and always where the kernel cannot tell.
  pub fn exit_status(&self) -> Result<Option<ExitStatus>, Failure> {
    let Some(fd) = self.pidfd().filter(|_| self.features.exit_info) else {
      return Ok(None);
    };
    let status = sys::pidfd_exit_status(fd).map_err(|e| Failure::sys("ioctl", e, self.pid))?;
    Ok(status.map(ExitStatus::from_wait_status))
  }
}

impl ExitStatus {
  fn from_wait_status(status: libc::c_int) -> Self {
    if libc::WIFSIGNALED(status) {
      ExitStatus::Signal(libc::WTERMSIG(status))
    } else {
      ExitStatus::Code(libc::WEXITSTATUS(status))
    }
  }
}

/// Whether `/proc` shows the process as a zombie: exited, not yet reaped.
/// Without `/proc` nothing can tell, so the answer is no.
fn is_zombie(pid: Pid) -> bool {
  proc_stat(pid).is_some_and(|stat| stat.zombie)
}

/// With flags 0 and a positive pid, pidfd_open's EINVAL (older kernels:
/// reaped, or not a thread-group leader) and ENOENT (newer ones: not a
/// leader) both mean no process has that pid, only perhaps a thread: ESRCH,
/// as for any pid that names no process.
fn no_such_process(error: io::Error) -> io::Error {
  match error.raw_os_error() {
    Some(libc::EINVAL | libc::ENOENT) => io::Error::from_raw_os_error(libc::ESRCH),
    _ => error,
  }
}

/// The parent of whichever process has `pid` now, from `/proc`.
pub fn parent_by_number(pid: Pid) -> Option<Pid> {
  proc_stat(pid).map(|stat| stat.parent)
}

/// What `/proc/<pid>/stat` says of a process. `None` without `/proc`, or once
/// the process is gone.
fn proc_stat(pid: Pid) -> Option<Stat> {
  parse_stat(&std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?)
}

/// The process a pid or thread id belongs to, from `/proc/<id>/status`
/// (which answers for thread ids too, though it does not list them). `None`
/// where `/proc` cannot tell.
fn thread_group(id: Pid) -> Option<Pid> {
  parse_tgid(&std::fs::read_to_string(format!("/proc/{id}/status")).ok()?)
}

fn parse_tgid(status: &str) -> Option<Pid> {
  let line = status.lines().find_map(|line| line.strip_prefix("Tgid:"))?;
  Some(Pid::from_raw(line.trim().parse().ok()?))
}

#[derive(Debug, PartialEq, Eq)]
struct Stat {
  zombie: bool,
  parent: Pid,
}

/// The state and parent fields follow the command name, which is in
/// parentheses and may itself hold spaces and parentheses: read after the
/// last `)`.
fn parse_stat(stat: &str) -> Option<Stat> {
  let mut fields = stat[stat.rfind(')')? + 1..].split_whitespace();
  let zombie = fields.next()? == "Z";
  let parent = Pid::from_raw(fields.next()?.parse().ok()?);
  Some(Stat { zombie, parent })
}

#[cfg(test)]
mod tests {
  use std::process::{Command, Stdio};

  use super::*;

  fn sleeper() -> std::process::Child {
    Command::new("sleep")
      .arg("30")
      .stdin(Stdio::null())
      .spawn()
      .unwrap()
  }

  // gettid(2) is Linux's: elsewhere a thread has no id in the pid space.
  #[cfg(target_os = "linux")]
  #[test]
  fn a_thread_id_names_no_process() {
    let (tid_tx, tid_rx) = std::sync::mpsc::channel();
    let (done_tx, done_rx) = std::sync::mpsc::channel::<()>();
    let thread = std::thread::spawn(move || {
      tid_tx.send(nix::unistd::gettid()).unwrap();
      done_rx.recv().ok();
    });
    let tid = tid_rx.recv().unwrap();
    let opened = Process::open(tid);
    done_tx.send(()).unwrap();
    thread.join().unwrap();
    let syscall = if probe::features().pidfd {
      "pidfd_open"
    } else {
      "kill"
    };
    match opened {
      Err(Failure::Sys {
        errno,
        syscall: made,
        ..
      }) => {
        assert_eq!((errno, made), (Errno::ESRCH, syscall))
      }
      other => panic!("expected ESRCH, got {:?}", other.map(|t| t.pid())),
    }
  }

  #[test]
  fn reads_the_thread_group_from_status() {
    let status =
      "Name:\tnode\nUmask:\t0022\nState:\tS (sleeping)\nTgid:\t4100\nNgid:\t0\nPid:\t4107\n";
    assert_eq!(parse_tgid(status), Some(Pid::from_raw(4100)));
    assert_eq!(parse_tgid("Name:\tx\n"), None);
  }

  #[test]
  fn reads_state_and_parent_after_the_command_name() {
    let stat = |zombie, parent| {
      Some(Stat {
        zombie,
        parent: Pid::from_raw(parent),
      })
    };
    assert_eq!(parse_stat("12 (a) b) Z 1 2"), stat(true, 1));
    assert_eq!(parse_stat("12 (sleep) S 40 2"), stat(false, 40));
    assert_eq!(parse_stat("garbage"), None);
    assert_eq!(parse_stat("12 (x) S"), None);
  }

  #[test]
  fn a_child_is_opened_only_while_its_pid_is_still_ours() {
    let mut child = sleeper();
    let target = Process::open_child(Pid::from_raw(child.id() as i32)).unwrap();
    assert!(target.signal(Signal::EXISTS).unwrap());
    // Our parent is alive and has a pid, but it is nobody's child of ours.
    let not_ours = Process::open_child(nix::unistd::getppid());
    assert_eq!(
      not_ours.map(|t| t.pid()),
      Err(Failure::AlreadyExited {
        pid: nix::unistd::getppid().as_raw()
      })
    );
    child.kill().unwrap();
    child.wait().unwrap();
  }

  #[test]
  fn decodes_wait_statuses() {
    assert_eq!(ExitStatus::from_wait_status(7 << 8), ExitStatus::Code(7));
    assert_eq!(
      ExitStatus::from_wait_status(libc::SIGKILL),
      ExitStatus::Signal(libc::SIGKILL)
    );
  }

  #[test]
  fn a_signal_after_the_reap_is_not_delivered() {
    let mut child = sleeper();
    let target = Process::open(Pid::from_raw(child.id() as i32)).unwrap();
    assert!(target.signal(Signal::EXISTS).unwrap());
    assert!(!target.has_exited().unwrap());
    assert!(target.signal(Signal::SIGKILL).unwrap());
    child.wait().unwrap();
    assert!(target.has_exited().unwrap());
    // Without a pidfd this holds only while nobody has taken the number,
    // which needs the pid counter to wrap around in between.
    assert!(!target.signal(Signal::SIGTERM).unwrap());
  }

  #[test]
  fn a_zombie_has_exited_but_can_still_be_signalled() {
    let mut child = sleeper();
    let target = Process::open(Pid::from_raw(child.id() as i32)).unwrap();
    target.signal(Signal::SIGKILL).unwrap();
    while !is_zombie(target.pid()) {
      std::thread::yield_now();
    }
    assert!(target.has_exited().unwrap());
    assert!(target.signal(Signal::EXISTS).unwrap());
    assert_eq!(target.exit_status().unwrap(), None);
    child.wait().unwrap();
    if target.features.exit_info {
      assert_eq!(
        target.exit_status().unwrap(),
        Some(ExitStatus::Signal(libc::SIGKILL))
      );
    }
  }

  #[test]
  fn a_process_that_leads_no_group_is_an_error_not_false() {
    let mut child = sleeper();
    let target = Process::open(Pid::from_raw(child.id() as i32)).unwrap();
    assert_eq!(
      target.signal_group(Signal::EXISTS),
      Err(Failure::NotGroupLeader {
        pid: target.pid().as_raw()
      })
    );
    child.kill().unwrap();
    child.wait().unwrap();
  }

  #[test]
  fn opening_a_pid_that_names_nobody_fails_with_esrch() {
    let mut child = sleeper();
    let pid = Pid::from_raw(child.id() as i32);
    child.kill().unwrap();
    child.wait().unwrap();
    match Process::open(pid) {
      Err(Failure::Sys { errno, .. }) => assert_eq!(errno, Errno::ESRCH),
      other => panic!("expected ESRCH, got {:?}", other.map(|t| t.pid())),
    }
  }
}
