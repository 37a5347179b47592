//! What the guardian holds, and what it does with it: the program's pidfd,
//! and each armed process's pidfd, by arming.

use std::collections::HashMap;
use std::io::{self, IoSlice, IoSliceMut};
use std::os::fd::{AsFd, AsRawFd, OwnedFd, RawFd};
use std::time::{Duration, Instant};

use kill_target_guardian::syscall::pidfd_send_signal;
use kill_target_guardian::{Message, Options, Reply};
use nix::errno::Errno;
use nix::poll::{poll, PollFd, PollFlags, PollTimeout};
use nix::sys::epoll::{Epoll, EpollCreateFlags, EpollEvent, EpollFlags, EpollTimeout};
use nix::sys::socket::{recvmsg, sendmsg, ControlMessageOwned, MsgFlags};

use crate::sys;

pub struct Held {
  epoll: Epoll,
  socket: OwnedFd,
  program: Option<OwnedFd>,
  armings: HashMap<u64, Options>,
  /// By the number of their pidfd, which is also their epoll key.
  processes: HashMap<RawFd, Process>,
}

struct Process {
  arming: u64,
  pidfd: OwnedFd,
}

/// Where an arming's options were lost (never, from a sound program):
/// kill outright.
const KILL: Options = Options {
  signal: libc::SIGKILL,
  force_kill_after_ms: 0,
  tree: false,
};

impl Held {
  pub fn new(socket: OwnedFd) -> io::Result<Self> {
    let epoll = Epoll::new(EpollCreateFlags::EPOLL_CLOEXEC)?;
    watch(&epoll, &socket)?;
    Ok(Held {
      epoll,
      socket,
      program: None,
      armings: HashMap::new(),
      processes: HashMap::new(),
    })
  }

  /// Takes messages and lets exited processes go until the program is gone.
  pub fn until_the_program_ends(&mut self) -> io::Result<()> {
    let mut events = [EpollEvent::empty(); 64];
    loop {
      let ready = match self.epoll.wait(&mut events, EpollTimeout::NONE) {
        Err(Errno::EINTR) => continue,
        ready => ready?,
      };
      for event in &events[..ready] {
        let fd = event.data() as RawFd;
        if fd == self.socket.as_raw_fd() {
          if !self.read_messages()? {
            return Ok(());
          }
        } else if self
          .program
          .as_ref()
          .is_some_and(|program| program.as_raw_fd() == fd)
        {
          // What it sent before it died counts.
          self.read_messages()?;
          return Ok(());
        } else {
          self.let_go(fd);
        }
      }
    }
  }

  /// Reads what is queued, answering each message. `false` at EOF: the
  /// program is gone.
  fn read_messages(&mut self) -> io::Result<bool> {
    loop {
      let mut record = [0u8; Message::SIZE];
      let mut space = nix::cmsg_space!([RawFd; 1]);
      let (bytes, fds) = {
        let mut iov = [IoSliceMut::new(&mut record)];
        let flags = MsgFlags::MSG_DONTWAIT | MsgFlags::MSG_CMSG_CLOEXEC;
        let received =
          match recvmsg::<()>(self.socket.as_raw_fd(), &mut iov, Some(&mut space), flags) {
            Err(Errno::EAGAIN) => return Ok(true),
            // ECONNRESET: the program's end was closed with an answer
            // still unread in it, as when the program dies inside a call.
            // The kernel reports that once, before what is queued here:
            // read on to the EOF, taking what it sent before it died.
            Err(Errno::EINTR | Errno::ECONNRESET) => continue,
            received => received?,
          };
        // Truncated (MSG_CTRUNC, which nix reports as ENOBUFS): the kernel
        // could not install the descriptor here, at this process's limit.
        // The message is refused for want of it, never taken as one that
        // came without.
        let fds: Result<Vec<OwnedFd>, Errno> = match received.cmsgs() {
          Ok(messages) => Ok(
            messages
              .filter_map(|message| match message {
                ControlMessageOwned::ScmRights(rights) => Some(rights),
                _ => None,
              })
              .flatten()
              .map(sys::received)
              .collect(),
          ),
          Err(_) => Err(Errno::EMFILE),
        };
        (received.bytes, fds)
      };
      if bytes == 0 && fds.as_ref().is_ok_and(Vec::is_empty) {
        return Ok(false);
      }
      let reply = match Message::decode(&record[..bytes]) {
        Some(message) => self.take(message, fds),
        // A record of another shape; its descriptors close with it.
        None => Err(Errno::EINVAL),
      };
      self.answer(reply)?;
    }
  }

  /// Whether the program has ended (its pidfd readable), for a guardian
  /// that can no longer read its socket. Only a readable pidfd says so: a
  /// guardian that kills while the program lives does the worse harm.
  pub fn program_ended(&self) -> bool {
    self.program.as_ref().is_some_and(|program| {
      let mut fds = [PollFd::new(program.as_fd(), PollFlags::POLLIN)];
      matches!(poll(&mut fds, PollTimeout::ZERO), Ok(ready) if ready > 0)
    })
  }

  /// Tells the program how its message went.
  fn answer(&self, reply: Result<(), Errno>) -> io::Result<()> {
    let reply = Reply(reply.map_err(|errno| errno as i32)).encode();
    loop {
      match sendmsg::<()>(
        self.socket.as_raw_fd(),
        &[IoSlice::new(&reply)],
        &[],
        MsgFlags::MSG_NOSIGNAL,
        None,
      ) {
        Err(Errno::EINTR) => continue,
        // The program is gone: its end, not the answer, decides now.
        Err(Errno::EPIPE | Errno::ECONNRESET) => return Ok(()),
        sent => return Ok(sent.map(drop)?),
      }
    }
  }

  /// Takes one message and the descriptor that came with it (`Err` when it
  /// could not be received); the result is the answer.
  fn take(&mut self, message: Message, fds: Result<Vec<OwnedFd>, Errno>) -> Result<(), Errno> {
    let fd = fds?.into_iter().next();
    match (message, fd) {
      (Message::Program, Some(pidfd)) => {
        watch(&self.epoll, &pidfd)?;
        self.program = Some(pidfd);
      }
      (Message::Hold { arming, options }, Some(pidfd)) => {
        // Stopped or killed, it would kill nobody after. The program leaves
        // the guardian out of every tree that holds it, but nothing here
        // rests on that.
        if pid_of(&pidfd) == Some(std::process::id() as libc::pid_t) {
          return Err(Errno::EINVAL);
        }
        watch(&self.epoll, &pidfd)?;
        self.armings.insert(arming, options);
        self
          .processes
          .insert(pidfd.as_raw_fd(), Process { arming, pidfd });
      }
      (Message::Program | Message::Hold { .. }, None) => return Err(Errno::EBADF),
      (Message::Update { arming, options }, _) => {
        if let Some(held) = self.armings.get_mut(&arming) {
          *held = options;
        }
      }
      (Message::Release { arming }, _) => {
        self.armings.remove(&arming);
        let epoll = &self.epoll;
        self
          .processes
          .retain(|_, process| match process.arming == arming {
            true => !unwatch(epoll, &process.pidfd),
            false => true,
          });
      }
    }
    Ok(())
  }

  /// A held process exited: its pidfd closes, and an arming with no
  /// process left goes too.
  fn let_go(&mut self, fd: RawFd) {
    let Some(process) = self.processes.remove(&fd) else {
      return;
    };
    unwatch(&self.epoll, &process.pidfd);
    if !self
      .processes
      .values()
      .any(|other| other.arming == process.arming)
    {
      self.armings.remove(&process.arming);
    }
  }

  /// The program is gone: every held process gets its arming's signal.
  /// Trees are frozen whole first. Then SIGCONT, so that a stopped process
  /// can act on the signal; then, where asked, SIGKILL for the survivors
  /// once their time is up.
  pub fn kill_all(mut self) {
    // Both stay readable from now on (EOF, an exited program): left in the
    // level-triggered set, every wait of the escalation would return at
    // once, and the guardian would spin until its last deadline.
    let _ = self.epoll.delete(&self.socket);
    if let Some(program) = self.program.take() {
      let _ = self.epoll.delete(program);
    }
    let options = |process: &Process| *self.armings.get(&process.arming).unwrap_or(&KILL);
    for process in self.processes.values() {
      if options(process).tree {
        let _ = pidfd_send_signal(process.pidfd.as_fd(), libc::SIGSTOP, 0);
      }
    }
    for process in self.processes.values() {
      let _ = pidfd_send_signal(process.pidfd.as_fd(), options(process).signal, 0);
    }
    let now = Instant::now();
    let mut deadlines = HashMap::new();
    for (&fd, process) in &self.processes {
      let Options {
        signal,
        force_kill_after_ms,
        ..
      } = options(process);
      // SIGKILL needs no SIGCONT, even in a frozen tree.
      if signal != libc::SIGKILL {
        let _ = pidfd_send_signal(process.pidfd.as_fd(), libc::SIGCONT, 0);
        if force_kill_after_ms > 0 {
          deadlines.insert(fd, now + Duration::from_millis(force_kill_after_ms.into()));
        }
      }
    }
    self.processes.retain(|fd, _| deadlines.contains_key(fd));
    self.escalate(deadlines);
  }

  /// Waits for each process until its deadline, then sends SIGKILL.
  fn escalate(mut self, mut deadlines: HashMap<RawFd, Instant>) {
    let mut events = [EpollEvent::empty(); 64];
    while let Some(&first) = deadlines.values().min() {
      let left = first.saturating_duration_since(Instant::now());
      // Whole milliseconds, rounded up: rounded down, the last one before a
      // deadline would be a string of zero-timeout waits, spinning.
      let ms = left.as_micros().div_ceil(1000).min(i32::MAX as u128) as i32;
      let timeout = EpollTimeout::try_from(ms).unwrap_or(EpollTimeout::ZERO);
      let ready = match self.epoll.wait(&mut events, timeout) {
        Ok(ready) => ready,
        Err(Errno::EINTR) => 0,
        // Without a way to wait, the deadlines come now.
        Err(_) => {
          deadlines
            .values_mut()
            .for_each(|deadline| *deadline = Instant::now());
          0
        }
      };
      for event in &events[..ready] {
        let fd = event.data() as RawFd;
        deadlines.remove(&fd);
        self.processes.remove(&fd);
      }
      let now = Instant::now();
      deadlines.retain(|fd, deadline| {
        if *deadline > now {
          return true;
        }
        if let Some(process) = self.processes.remove(fd) {
          let _ = pidfd_send_signal(process.pidfd.as_fd(), libc::SIGKILL, 0);
        }
        false
      });
    }
  }
}

/// Into the epoll set, keyed by its own number; level-triggered.
fn watch(epoll: &Epoll, fd: &OwnedFd) -> Result<(), Errno> {
  let event = EpollEvent::new(EpollFlags::EPOLLIN, fd.as_raw_fd() as u64);
  epoll.add(fd, event)
}

/// Out of the epoll set before the pidfd closes: the program still holds the
/// same open file, which would keep the registration, and its key, alive.
/// Always true, for `retain`.
fn unwatch(epoll: &Epoll, fd: &OwnedFd) -> bool {
  // Fails only for a descriptor not in the set, which is then not watched.
  let _ = epoll.delete(fd);
  true
}

/// The pid a pidfd holds, as the kernel shows it in `/proc/self/fdinfo`
/// (`Pid:`, -1 once reaped); `None` where it does not.
fn pid_of(pidfd: &OwnedFd) -> Option<libc::pid_t> {
  let info = std::fs::read_to_string(format!("/proc/self/fdinfo/{}", pidfd.as_raw_fd())).ok()?;
  let line = info.lines().find_map(|line| line.strip_prefix("Pid:"))?;
  line.trim().parse().ok()
}
