//! The guardian process (the `guardian/` crate) as the program sees it:
//! where its executable is, how it is started, and the socket to it.
//!
//! It is started with `posix_spawn`, not through Node's `child_process`, so
//! that it starts the same way under every host, and so that it is our own
//! child: we reap it (`waitid` on its pidfd), and nothing else does, since
//! libuv waits only for the pids of its own process handles.

use std::ffi::CString;
use std::io::{IoSlice, IoSliceMut};
use std::os::fd::{AsFd, AsRawFd, BorrowedFd, OwnedFd};
use std::os::unix::ffi::OsStrExt;
use std::path::{Path, PathBuf};

use kill_target_guardian::{Message, READY, SOCKET_FD};
use nix::errno::Errno;
use nix::fcntl::{open, OFlag};
use nix::poll::{poll, PollFd, PollFlags, PollTimeout};
use nix::spawn::{posix_spawn, PosixSpawnAttr, PosixSpawnFileActions, PosixSpawnFlags};
use nix::sys::signal::SigSet;
use nix::sys::socket::{
  recvmsg, sendmsg, socketpair, AddressFamily, ControlMessage, MsgFlags, SockFlag, SockType,
};
use nix::sys::stat::Mode;
use nix::sys::wait::{waitid, Id, WaitPidFlag, WaitStatus};
use nix::unistd::getpid;

use crate::process::Process;
use crate::signal::Signal;
use crate::sys;

/// Names the executable in place of the one beside the addon.
pub const PATH_ENV: &str = "KILL_TARGET_GUARDIAN";

/// How long a new guardian has to say `READY`: it only closes descriptors
/// and reads one message, but an emulator (qemu) starts it slowly.
const START_TIMEOUT_MS: u16 = 5000;

pub struct Guardian {
  socket: OwnedFd,
  process: Process,
}

/// The executable: `$KILL_TARGET_GUARDIAN`, or else the one shipped beside
/// the addon, `kill-target-guardian.<platform>` for `kill-target.<platform>.node`.
pub fn executable() -> Result<PathBuf, String> {
  if let Some(path) = std::env::var_os(PATH_ENV).filter(|path| !path.is_empty()) {
    return Ok(path.into());
  }
  let addon = sys::own_file().ok_or("the addon cannot tell where it was loaded from")?;
  let name = addon
    .file_name()
    .map(OsStrExt::as_bytes)
    .unwrap_or_default();
  let platform = name
    .strip_prefix(b"kill-target.")
    .and_then(|rest| rest.strip_suffix(b".node"))
    .ok_or_else(|| format!("{} is not a kill-target addon", addon.display()))?;
  let mut guardian = b"kill-target-guardian.".to_vec();
  guardian.extend_from_slice(platform);
  Ok(addon.with_file_name(std::ffi::OsStr::from_bytes(&guardian)))
}

/// Whether `path` is a file this process may execute.
pub fn is_executable(path: &Path) -> bool {
  nix::unistd::access(path, nix::unistd::AccessFlags::X_OK).is_ok() && path.is_file()
}

impl Guardian {
  /// Starts a guardian in a session of its own, its stdio on `/dev/null`
  /// and one end of a socket pair at `SOCKET_FD`, hands it this program's
  /// pidfd and waits for its `READY`.
  pub fn start(path: &Path) -> Result<Guardian, String> {
    let failed = |what: &str, errno: Errno| format!("{what} {}: {}", path.display(), errno.desc());
    let (ours, theirs) = socketpair(
      AddressFamily::Unix,
      SockType::SeqPacket,
      None,
      SockFlag::SOCK_CLOEXEC,
    )
    .map_err(|e| failed("socketpair for", e))?;
    let pid = spawn(path, &theirs).map_err(|e| failed("cannot start", e))?;
    drop(theirs);
    // Our unreaped child: its pid cannot name anyone else yet.
    let process = Process::open(pid).map_err(|_| failed("cannot hold", Errno::ESRCH))?;
    let guardian = Guardian {
      socket: ours,
      process,
    };
    match guardian.hand_over() {
      Ok(()) => Ok(guardian),
      Err(errno) => {
        let _ = guardian.process.signal(Signal::SIGKILL);
        let status = guardian.reap();
        Err(format!(
          "{} did not start ({}; {status})",
          path.display(),
          errno.desc()
        ))
      }
    }
  }

  /// Sends the program's pidfd and waits for the answer.
  fn hand_over(&self) -> Result<(), Errno> {
    let own =
      sys::pidfd_open(getpid()).map_err(|e| Errno::from_raw(e.raw_os_error().unwrap_or(0)))?;
    self.send(Message::Program, Some(own.as_fd()))?;
    let mut fds = [PollFd::new(self.socket.as_fd(), PollFlags::POLLIN)];
    if poll(&mut fds, PollTimeout::from(START_TIMEOUT_MS))? == 0 {
      return Err(Errno::ETIMEDOUT);
    }
    let mut answer = [0u8; 1];
    let mut iov = [IoSliceMut::new(&mut answer)];
    let received = recvmsg::<()>(
      self.socket.as_raw_fd(),
      &mut iov,
      None,
      MsgFlags::MSG_DONTWAIT,
    )?;
    match (received.bytes, answer[0]) {
      (1, READY) => Ok(()),
      _ => Err(Errno::ECONNRESET),
    }
  }

  /// One message, with the pidfd it carries. A guardian that has died
  /// fails this with EPIPE (never SIGPIPE); the keeper replaces it.
  pub fn send(&self, message: Message, pidfd: Option<BorrowedFd>) -> Result<(), Errno> {
    let record = message.encode();
    let fds = pidfd.map(|fd| [fd.as_raw_fd()]);
    let rights: Vec<ControlMessage> = fds
      .iter()
      .map(|fds| ControlMessage::ScmRights(fds))
      .collect();
    loop {
      match sendmsg::<()>(
        self.socket.as_raw_fd(),
        &[IoSlice::new(&record)],
        &rights,
        MsgFlags::MSG_NOSIGNAL,
        None,
      ) {
        Err(Errno::EINTR) => continue,
        sent => return sent.map(drop),
      }
    }
  }

  /// Its pidfd: readable once it has exited.
  pub fn pidfd(&self) -> BorrowedFd<'_> {
    self.process.pidfd().expect("a guardian is held by pidfd")
  }

  pub fn has_exited(&self) -> bool {
    self.process.has_exited().unwrap_or(true)
  }

  /// Collects the exit of the guardian, which has exited or been killed,
  /// and says how it ended.
  pub fn reap(&self) -> String {
    loop {
      match waitid(Id::PIDFd(self.pidfd()), WaitPidFlag::WEXITED) {
        Err(Errno::EINTR) => continue,
        Ok(WaitStatus::Exited(_, code)) => return format!("exit code {code}"),
        Ok(WaitStatus::Signaled(_, signal, _)) => return format!("killed by {signal}"),
        Ok(other) => return format!("{other:?}"),
        Err(errno) => return errno.desc().to_owned(),
      }
    }
  }
}

/// `posix_spawn`s the guardian: a new session, so that signals for the
/// program's group (Ctrl-C) miss it; an empty signal mask and default
/// dispositions, whatever the program's; no environment; `/dev/null` for
/// stdio, so that it holds no pipe of the program's; `socket` at
/// `SOCKET_FD`. Other descriptors the program left inheritable it closes
/// itself, first thing.
fn spawn(path: &Path, socket: &OwnedFd) -> Result<nix::unistd::Pid, Errno> {
  let null = open("/dev/null", OFlag::O_RDWR | OFlag::O_CLOEXEC, Mode::empty())?;
  // dup2 onto itself would keep close-on-exec: a copy (numbered above
  // SOCKET_FD, which the socket holds) goes instead.
  let moved = match socket.as_raw_fd() == SOCKET_FD {
    true => Some(
      socket
        .try_clone()
        .map_err(|e| Errno::from_raw(e.raw_os_error().unwrap_or(0)))?,
    ),
    false => None,
  };
  let socket = moved.as_ref().unwrap_or(socket).as_raw_fd();
  let mut actions = PosixSpawnFileActions::init()?;
  for stdio in 0..3 {
    actions.add_dup2(null.as_raw_fd(), stdio)?;
  }
  actions.add_dup2(socket, SOCKET_FD)?;
  let mut attributes = PosixSpawnAttr::init()?;
  let setsid = PosixSpawnFlags::from_bits_retain(libc::POSIX_SPAWN_SETSID as libc::c_int);
  attributes.set_flags(
    setsid | PosixSpawnFlags::POSIX_SPAWN_SETSIGMASK | PosixSpawnFlags::POSIX_SPAWN_SETSIGDEF,
  )?;
  attributes.set_sigmask(&SigSet::empty())?;
  attributes.set_sigdefault(&SigSet::all())?;
  let program = CString::new(path.as_os_str().as_bytes()).map_err(|_| Errno::EINVAL)?;
  posix_spawn(
    program.as_c_str(),
    &actions,
    &attributes,
    &[c"kill-target-guardian"],
    &[] as &[&std::ffi::CStr],
  )
}
