//! A process's durable name: making and checking ids.
//!
//! An id is four fields separated by colons:
//!
//! - `pidfs:<pid>:<inode>:<boot>` (Linux ≥ 6.9): every pidfd of a process
//!   has the same inode, and no other process of the boot has it. This id
//!   names one process and no other, ever.
//! - `starttime:<pid>:<ticks>:<boot>` (older kernels, or no pidfds): the
//!   start time from `/proc/<pid>/stat`, in clock ticks. A pid reused within
//!   the same tick has the same, so this kind can name a newcomer.
//!
//! `<pid>` and the middle field are decimal integers without leading zeros,
//! and `<boot>` is `/proc/sys/kernel/random/boot_id` as 32 lowercase hex
//! digits. The prefixes keep the two kinds from ever being equal, and a
//! string is an id only in exactly this form, so one process has one id of
//! each kind.

use std::io;
use std::os::fd::BorrowedFd;
use std::sync::OnceLock;

use nix::errno::Errno;
use nix::unistd::Pid;

use super::Process;
use crate::errors::Failure;
use crate::linux::probe;
use crate::linux::signal::Signal;
use crate::linux::sys::PID_MAX;

const BOOT_ID: &str = "/proc/sys/kernel/random/boot_id";

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Kind {
  /// The pidfs inode: unique among the processes of a boot.
  Pidfs,
  /// The start time in clock ticks: shared by processes started in one tick.
  StartTime,
}

impl Kind {
  fn prefix(self) -> &'static str {
    match self {
      Kind::Pidfs => "pidfs",
      Kind::StartTime => "starttime",
    }
  }
}

#[derive(Debug, PartialEq, Eq)]
pub struct Id<'a> {
  pub kind: Kind,
  pub pid: Pid,
  /// The inode or the start time, as `kind` says.
  pub stamp: u64,
  pub boot: &'a str,
}

impl std::fmt::Display for Id<'_> {
  fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
    let Id {
      kind,
      pid,
      stamp,
      boot,
    } = self;
    write!(f, "{}:{pid}:{stamp}:{boot}", kind.prefix())
  }
}

impl<'a> Id<'a> {
  /// The id `text` spells, or `None` when it is not exactly one.
  pub fn parse(text: &'a str) -> Option<Self> {
    let mut fields = text.split(':');
    let kind = match fields.next()? {
      "pidfs" => Kind::Pidfs,
      "starttime" => Kind::StartTime,
      _ => return None,
    };
    let pid = decimal(fields.next()?).filter(|pid| (1..=PID_MAX as u64).contains(pid))?;
    let stamp = decimal(fields.next()?)?;
    let boot = fields.next().filter(|boot| is_boot(boot))?;
    if fields.next().is_some() {
      return None;
    }
    Some(Id {
      kind,
      pid: Pid::from_raw(pid as i32),
      stamp,
      boot,
    })
  }
}

/// A decimal integer as `Display` prints it: digits only, no leading zero.
fn decimal(field: &str) -> Option<u64> {
  let canonical = field.bytes().all(|b| b.is_ascii_digit()) && !field.starts_with('0');
  match field {
    "0" => Some(0),
    _ if canonical => field.parse().ok(),
    _ => None,
  }
}

fn is_boot(field: &str) -> bool {
  field.len() == 32
    && field
      .bytes()
      .all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f'))
}

/// This boot, read once per process. `boot_id` is a UUID with dashes.
fn boot() -> io::Result<&'static str> {
  static BOOT: OnceLock<String> = OnceLock::new();
  if let Some(boot) = BOOT.get() {
    return Ok(boot);
  }
  let read = std::fs::read_to_string(BOOT_ID)?;
  let boot = parse_boot_id(&read).ok_or_else(|| io::Error::from_raw_os_error(libc::EIO))?;
  Ok(BOOT.get_or_init(|| boot))
}

fn parse_boot_id(text: &str) -> Option<String> {
  let boot: String = text.trim().chars().filter(|&c| c != '-').collect();
  let boot = boot.to_ascii_lowercase();
  is_boot(&boot).then_some(boot)
}

/// The id of the process `target` holds. Of the pidfs kind wherever the
/// kernel gives pidfds their own inodes and the target has one; else of the
/// start-time kind, read while the target still shows the process unreaped
/// (so the number still named it), or `IdUnknown` once it has been reaped.
pub fn of(target: &Process) -> Result<String, Failure> {
  let pid = target.pid();
  let boot = boot().map_err(|e| Failure::sys("open", e, pid))?;
  let (kind, stamp) = match target.pidfd() {
    Some(fd) if target.features().pidfs => (Kind::Pidfs, inode(fd, pid)?),
    _ => match start_time(pid)? {
      Some(ticks) if target.signal(Signal::EXISTS)? => (Kind::StartTime, ticks),
      _ => return Err(Failure::IdUnknown { pid: pid.as_raw() }),
    },
  };
  Ok(
    Id {
      kind,
      pid,
      stamp,
      boot,
    }
    .to_string(),
  )
}

/// Opens the process `text` names: the pid first, then the check of the
/// process the target now holds against the id, so nothing can come in
/// between. `NoSuchId` when that process is not the one named (it is gone,
/// whoever has the pid now), or the id is of another boot.
pub fn open(text: &str) -> Result<(Process, Kind), Failure> {
  let id = Id::parse(text).ok_or_else(|| Failure::InvalidId {
    received: text.to_owned(),
  })?;
  let gone = || Failure::NoSuchId {
    id: text.to_owned(),
  };
  if id.boot != boot().map_err(|e| Failure::sys("open", e, id.pid))? {
    return Err(gone());
  }
  // Before 6.9 every pidfd has the same inode: it could match any process.
  if id.kind == Kind::Pidfs && !probe::features().pidfs {
    return Err(Failure::NeedsPidfs);
  }
  let target = Process::open(id.pid).map_err(|failure| match failure {
    Failure::Sys {
      errno: Errno::ESRCH,
      ..
    } => gone(),
    other => other,
  })?;
  let named = match id.kind {
    Kind::Pidfs => match target.pidfd() {
      Some(fd) => inode(fd, id.pid)? == id.stamp,
      // The probe found pidfs, so the open fell back for want of a descriptor.
      None => {
        let error = io::Error::from_raw_os_error(libc::EMFILE);
        return Err(Failure::sys("pidfd_open", error, id.pid));
      }
    },
    // The start time is read by number: the target must still hold the
    // process after the read, so that the number named it then.
    Kind::StartTime => start_time(id.pid)? == Some(id.stamp) && target.signal(Signal::EXISTS)?,
  };
  match named {
    true => Ok((target, id.kind)),
    false => Err(gone()),
  }
}

fn inode(fd: BorrowedFd<'_>, pid: Pid) -> Result<u64, Failure> {
  match nix::sys::stat::fstat(fd) {
    Ok(stat) => Ok(stat.st_ino),
    Err(errno) => Err(Failure::Sys {
      syscall: "fstat",
      errno,
      pid: pid.as_raw(),
    }),
  }
}

/// Field 22 of `/proc/<pid>/stat`, of whichever process has `pid` now;
/// `None` when nobody has it.
fn start_time(pid: Pid) -> Result<Option<u64>, Failure> {
  match std::fs::read_to_string(format!("/proc/{pid}/stat")) {
    Ok(stat) => Ok(parse_start_time(&stat)),
    Err(error) if matches!(error.raw_os_error(), Some(libc::ENOENT | libc::ESRCH)) => Ok(None),
    Err(error) => Err(Failure::sys("open", error, pid)),
  }
}

/// The fields after the command name (which may hold spaces and
/// parentheses) start at field 3, the state: the start time is the 20th.
fn parse_start_time(stat: &str) -> Option<u64> {
  let after_name = &stat[stat.rfind(')')? + 1..];
  after_name.split_whitespace().nth(19)?.parse().ok()
}

#[cfg(test)]
mod tests {
  use super::*;

  const BOOT: &str = "c3c1894ed77d46738b4e5b8574739c04";

  #[test]
  fn prints_and_parses_both_kinds() {
    for (kind, text) in [
      (Kind::Pidfs, format!("pidfs:4107:8821:{BOOT}")),
      (Kind::StartTime, format!("starttime:4107:372934:{BOOT}")),
    ] {
      let id = Id::parse(&text).unwrap();
      assert_eq!(id.kind, kind);
      assert_eq!(id.pid, Pid::from_raw(4107));
      assert_eq!(id.to_string(), text);
    }
  }

  #[test]
  fn the_kinds_never_spell_the_same_id() {
    let pidfs = Id {
      kind: Kind::Pidfs,
      pid: Pid::from_raw(7),
      stamp: 9,
      boot: BOOT,
    };
    let printed = pidfs.to_string();
    let start_time = Id {
      kind: Kind::StartTime,
      ..Id::parse(&printed).unwrap()
    };
    assert_ne!(pidfs.to_string(), start_time.to_string());
  }

  #[test]
  fn only_the_exact_form_is_an_id() {
    let refused = [
      String::new(),
      "pidfs".into(),
      format!("pidfs:1:2:{BOOT}:"),
      format!(":pidfs:1:2:{BOOT}"),
      format!("PIDFS:1:2:{BOOT}"),
      format!("pidfd:1:2:{BOOT}"),
      format!("pidfs:0:2:{BOOT}"),
      format!("pidfs:4194305:2:{BOOT}"),
      format!("pidfs:01:2:{BOOT}"),
      format!("pidfs:+1:2:{BOOT}"),
      format!("pidfs:-1:2:{BOOT}"),
      format!("pidfs: 1:2:{BOOT}"),
      format!("pidfs:1:02:{BOOT}"),
      format!("pidfs:1::{BOOT}"),
      format!("pidfs:1:18446744073709551616:{BOOT}"),
      format!("pidfs:1:2:{}", BOOT.to_uppercase()),
      format!("pidfs:1:2:{}", &BOOT[1..]),
      format!("pidfs:1:2:{BOOT}0"),
      "pidfs:1:2:c3c1894e-d77d-4673-8b4e-5b8574739c04".into(),
      format!("pidfs:1:2:{BOOT}\n"),
      format!("pidfs:１:2:{BOOT}"),
    ];
    for text in refused {
      assert_eq!(Id::parse(&text), None, "{text:?}");
    }
    let edges = [
      format!("pidfs:1:0:{BOOT}"),
      format!("pidfs:4194304:18446744073709551615:{BOOT}"),
    ];
    for text in edges {
      assert_eq!(Id::parse(&text).map(|id| id.to_string()), Some(text));
    }
  }

  #[test]
  fn reads_boot_id_without_dashes() {
    let read = parse_boot_id("C3C1894E-d77d-4673-8b4e-5b8574739c04\n");
    assert_eq!(read.as_deref(), Some(BOOT));
    assert_eq!(parse_boot_id("not a uuid"), None);
  }

  #[test]
  fn reads_the_start_time_after_the_command_name() {
    let stat = "12 (a) b (c)) S 1 12 12 0 -1 4194560 100 0 0 0 0 0 0 0 20 0 1 0 372934 2 3";
    assert_eq!(parse_start_time(stat), Some(372934));
    assert_eq!(parse_start_time("12 (x) S 1 2"), None);
    let own = std::fs::read_to_string("/proc/self/stat").unwrap();
    assert!(parse_start_time(&own).is_some());
  }

  #[test]
  fn this_process_has_an_id_that_opens_it() {
    let target = Process::open(nix::unistd::getpid()).unwrap();
    let id = of(&target).unwrap();
    let kind = match probe::features().pidfs && target.pidfd().is_some() {
      true => Kind::Pidfs,
      false => Kind::StartTime,
    };
    assert_eq!(Id::parse(&id).unwrap().kind, kind);
    let (opened, opened_kind) = open(&id).unwrap();
    assert_eq!((opened.pid(), opened_kind), (target.pid(), kind));
    assert_eq!(of(&opened).unwrap(), id);
  }

  #[test]
  fn an_id_of_a_reaped_child_opens_nothing() {
    let mut child = std::process::Command::new("true").spawn().unwrap();
    let target = Process::open(Pid::from_raw(child.id() as i32)).unwrap();
    let id = of(&target).unwrap();
    child.wait().unwrap();
    assert_eq!(
      open(&id).map(|(t, _)| t.pid()),
      Err(Failure::NoSuchId { id: id.clone() })
    );
    let other_boot = format!("{}{}", &id[..id.len() - 32], "0".repeat(32));
    assert_eq!(
      open(&other_boot).map(|(t, _)| t.pid()),
      Err(Failure::NoSuchId { id: other_boot })
    );
  }
}
