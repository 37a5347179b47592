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

use kill_target_guardian::{Message, Reply, SOCKET_FD};
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
use nix::unistd::{getpid, Pid};

use crate::linux::sys;
use crate::process::tree;

/// Names the executable in place of the one beside the addon.
pub const PATH_ENV: &str = "KILL_TARGET_GUARDIAN";

/// How long the guardian has to answer a message. A new one only closes
/// descriptors before it reads its first, but an emulator (qemu) starts it
/// slowly; one that takes longer is taken for dead and replaced.
const ANSWER_TIMEOUT_MS: u16 = 5000;

/// Why a message did not reach the guardian's hold.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Unheard {
  /// The guardian is gone, or does not answer: it must be replaced.
  Gone(Errno),
  /// It answered that it could not take what came with the message
  /// (`EMFILE`: the descriptor; `EINVAL`: a pidfd of itself).
  Refused(Errno),
}

pub struct Guardian {
  socket: OwnedFd,
  pid: Pid,
  pidfd: OwnedFd,
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
    // Our unreaped child: its pid cannot name anyone else yet, so a kill
    // and a reap by number reach it and nobody else.
    let pidfd = match sys::pidfd_open(pid) {
      Ok(pidfd) => pidfd,
      Err(error) => {
        let errno = Errno::from_raw(error.raw_os_error().unwrap_or(libc::EIO));
        let _ = sys::kill(pid, libc::SIGKILL);
        let _ = waitid(Id::Pid(pid), WaitPidFlag::WEXITED);
        return Err(failed("cannot hold", errno));
      }
    };
    let guardian = Guardian {
      socket: ours,
      pid,
      pidfd,
    };
    match guardian.hand_over() {
      Ok(()) => Ok(guardian),
      Err(errno) => {
        guardian.kill();
        let status = guardian.reap();
        Err(format!(
          "{} did not start ({}; {status})",
          path.display(),
          errno.desc()
        ))
      }
    }
  }

  /// For a guardian that does not answer.
  pub fn kill(&self) {
    let _ = sys::pidfd_send_signal(self.pidfd.as_fd(), libc::SIGKILL, 0);
  }

  /// Sends the program's pidfd and waits for the answer.
  fn hand_over(&self) -> Result<(), Errno> {
    let own =
      sys::pidfd_open(getpid()).map_err(|e| Errno::from_raw(e.raw_os_error().unwrap_or(0)))?;
    self
      .call(Message::Program, Some(own.as_fd()))
      .map_err(|(Unheard::Gone(errno) | Unheard::Refused(errno))| errno)?;
    tree::leave_out(Some(self.pid));
    Ok(())
  }

  /// One message, with the pidfd it carries, and the guardian's answer:
  /// `Ok` once it holds what was sent. A guardian that has died fails this
  /// with EPIPE (never SIGPIPE), ECONNRESET or, silent, ETIMEDOUT.
  pub fn call(&self, message: Message, pidfd: Option<BorrowedFd>) -> Result<(), Unheard> {
    self.send(message, pidfd).map_err(Unheard::Gone)?;
    let answer = self.answer().map_err(Unheard::Gone)?;
    answer
      .0
      .map_err(|errno| Unheard::Refused(Errno::from_raw(errno)))
  }

  fn send(&self, message: Message, pidfd: Option<BorrowedFd>) -> Result<(), Errno> {
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

  /// The reply to the message just sent: calls are made one at a time,
  /// under the keeper's lock, so the next record is its answer.
  fn answer(&self) -> Result<Reply, Errno> {
    let mut fds = [PollFd::new(self.socket.as_fd(), PollFlags::POLLIN)];
    loop {
      match poll(&mut fds, PollTimeout::from(ANSWER_TIMEOUT_MS)) {
        Err(Errno::EINTR) => continue,
        Ok(0) => return Err(Errno::ETIMEDOUT),
        ready => ready?,
      };
      let mut record = [0u8; Reply::SIZE];
      let mut iov = [IoSliceMut::new(&mut record)];
      let received = match recvmsg::<()>(
        self.socket.as_raw_fd(),
        &mut iov,
        None,
        MsgFlags::MSG_DONTWAIT,
      ) {
        Err(Errno::EINTR | Errno::EAGAIN) => continue,
        received => received?,
      };
      let bytes = received.bytes;
      return Reply::decode(&record[..bytes]).ok_or(Errno::ECONNRESET);
    }
  }

  /// Its pidfd: readable once it has exited.
  pub fn pidfd(&self) -> BorrowedFd<'_> {
    self.pidfd.as_fd()
  }

  /// Whether its pidfd says it has exited.
  pub fn has_exited(&self) -> bool {
    let mut fds = [PollFd::new(self.pidfd.as_fd(), PollFlags::POLLIN)];
    !matches!(poll(&mut fds, PollTimeout::ZERO), Ok(0))
  }

  /// Collects the exit of the guardian, which has exited or been killed,
  /// and says how it ended.
  pub fn reap(&self) -> String {
    // Its pid is free for anyone once it is reaped: no tree leaves it out.
    tree::leave_out(None);
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
