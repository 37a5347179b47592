//! What a program and its guardian say to each other, defined once for both.
//!
//! They share a `SOCK_SEQPACKET` socket pair, so each message is one record
//! of `Message::SIZE` bytes, and a pidfd that comes with it (`SCM_RIGHTS`)
//! arrives with that record and no other. The program speaks; the guardian
//! answers each message with a `Reply`, so that the program's call returns
//! only once the guardian holds what it was given, or knows why not.

#![deny(clippy::expect_used, clippy::unwrap_used, clippy::panic)]

#[cfg(target_os = "linux")]
pub mod syscall;

/// Where the guardian finds its end of the socket; it closes every other
/// descriptor above stdio.
pub const SOCKET_FD: i32 = 3;

/// The guardian's answer to one message: `Ok` once it holds what the
/// message gave it (the program's pidfd, a process's), or the errno of what
/// it could not do (a descriptor it could not take: `EMFILE`; a process it
/// will not hold: `EINVAL`, for itself).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Reply(pub Result<(), i32>);

impl Reply {
  pub const SIZE: usize = 4;

  /// 0 for `Ok`, else the errno, as an `i32` in the machine's byte order.
  pub fn encode(self) -> [u8; Self::SIZE] {
    self.0.err().unwrap_or(0).to_ne_bytes()
  }

  /// `None` for a record of another size, or a negative errno.
  pub fn decode(bytes: &[u8]) -> Option<Self> {
    match i32::from_ne_bytes(bytes.try_into().ok()?) {
      0 => Some(Reply(Ok(()))),
      errno if errno > 0 => Some(Reply(Err(errno))),
      _ => None,
    }
  }
}

/// How the processes of one arming are to be killed.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Options {
  /// The signal number sent first.
  pub signal: i32,
  /// Milliseconds until SIGKILL for those still alive; 0 for never.
  pub force_kill_after_ms: u32,
  /// The processes are a tree: freeze them all (SIGSTOP) before any
  /// signal, so that none forks or is reparented in between.
  pub tree: bool,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Message {
  /// The program's own pidfd comes with it: its exit is the cue. First.
  Program,
  /// A process to kill when the program ends (its pidfd comes with it), as
  /// one of the arming `arming`, with that arming's options.
  Hold { arming: u64, options: Options },
  /// New options for every process of `arming`.
  Update { arming: u64, options: Options },
  /// Let go of every process of `arming`.
  Release { arming: u64 },
}

const PROGRAM: u8 = 1;
const HOLD: u8 = 2;
const UPDATE: u8 = 3;
const RELEASE: u8 = 4;

impl Message {
  pub const SIZE: usize = 24;

  /// `kind, tree, 0, 0, signal: i32, force_kill_after_ms: u32, 0 × 4,
  /// arming: u64`, in the machine's byte order (both ends are one machine).
  pub fn encode(self) -> [u8; Self::SIZE] {
    let (kind, arming, options) = match self {
      Message::Program => (PROGRAM, 0, None),
      Message::Hold { arming, options } => (HOLD, arming, Some(options)),
      Message::Update { arming, options } => (UPDATE, arming, Some(options)),
      Message::Release { arming } => (RELEASE, arming, None),
    };
    let options = options.unwrap_or(Options {
      signal: 0,
      force_kill_after_ms: 0,
      tree: false,
    });
    let mut bytes = [0; Self::SIZE];
    bytes[0] = kind;
    bytes[1] = options.tree as u8;
    bytes[4..8].copy_from_slice(&options.signal.to_ne_bytes());
    bytes[8..12].copy_from_slice(&options.force_kill_after_ms.to_ne_bytes());
    bytes[16..24].copy_from_slice(&arming.to_ne_bytes());
    bytes
  }

  /// `None` for a record of another size or kind.
  pub fn decode(bytes: &[u8]) -> Option<Self> {
    let bytes: &[u8; Self::SIZE] = bytes.try_into().ok()?;
    let options = Options {
      signal: i32::from_ne_bytes(bytes[4..8].try_into().ok()?),
      force_kill_after_ms: u32::from_ne_bytes(bytes[8..12].try_into().ok()?),
      tree: bytes[1] != 0,
    };
    let arming = u64::from_ne_bytes(bytes[16..24].try_into().ok()?);
    match bytes[0] {
      PROGRAM => Some(Message::Program),
      HOLD => Some(Message::Hold { arming, options }),
      UPDATE => Some(Message::Update { arming, options }),
      RELEASE => Some(Message::Release { arming }),
      _ => None,
    }
  }
}

#[cfg(test)]
mod tests {
  use super::*;

  #[test]
  fn every_message_reads_back_as_written() {
    let options = Options {
      signal: 15,
      force_kill_after_ms: 5000,
      tree: true,
    };
    for message in [
      Message::Program,
      Message::Hold {
        arming: u64::MAX,
        options,
      },
      Message::Update { arming: 7, options },
      Message::Release { arming: 1 << 40 },
    ] {
      assert_eq!(Message::decode(&message.encode()), Some(message));
    }
  }

  #[test]
  fn replies_read_back_as_written() {
    for reply in [Reply(Ok(())), Reply(Err(libc::EMFILE))] {
      assert_eq!(Reply::decode(&reply.encode()), Some(reply));
    }
    assert_eq!(Reply::decode(&[0; 3]), None);
    assert_eq!(Reply::decode(&(-1i32).to_ne_bytes()), None);
  }

  #[test]
  fn a_record_of_another_size_or_kind_is_refused() {
    assert_eq!(Message::decode(&[1; 23]), None);
    assert_eq!(Message::decode(&[9; Message::SIZE]), None);
  }
}
