//! What a program and its guardian say to each other, defined once for both.
//!
//! They share a `SOCK_SEQPACKET` socket pair, so each message is one record
//! of `Message::SIZE` bytes, and a pidfd that comes with it (`SCM_RIGHTS`)
//! arrives with that record and no other. Only the program speaks, but for
//! one byte: the guardian's `READY` once it holds the program.

/// Where the guardian finds its end of the socket; it closes every other
/// descriptor above stdio.
pub const SOCKET_FD: i32 = 3;

/// The guardian's one word: it holds the program's pidfd and listens.
pub const READY: u8 = b'!';

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
  fn a_record_of_another_size_or_kind_is_refused() {
    assert_eq!(Message::decode(&[1; 23]), None);
    assert_eq!(Message::decode(&[9; Message::SIZE]), None);
  }
}
