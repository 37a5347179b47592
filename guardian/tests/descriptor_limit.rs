//! The guardian takes the hard descriptor limit whatever soft limit the
//! program left it: each armed process is one descriptor there.

use std::fs;
use std::os::fd::AsRawFd;
use std::os::unix::net::UnixStream;
use std::process::Command;
use std::thread::sleep;
use std::time::{Duration, Instant};

use nix::fcntl::{fcntl, FcntlArg, FdFlag};
use nix::sys::resource::{getrlimit, Resource};

/// The soft and hard "Max open files" of a process, from `/proc/<pid>/limits`.
fn open_files_limits(pid: u32) -> Option<(String, String)> {
  let limits = fs::read_to_string(format!("/proc/{pid}/limits")).ok()?;
  let line = limits.lines().find(|l| l.starts_with("Max open files"))?;
  let mut columns = line["Max open files".len()..].split_whitespace();
  Some((columns.next()?.into(), columns.next()?.into()))
}

#[test]
fn a_lowered_soft_limit_is_raised_to_the_hard_one() {
  let (_, hard) = getrlimit(Resource::RLIMIT_NOFILE).unwrap();
  assert!(hard > 64, "the hard limit leaves nothing to raise");
  let (program, guardian_end) = UnixStream::pair().unwrap();
  // The guardian finds its end at descriptor 3; the shell puts it there.
  fcntl(&guardian_end, FcntlArg::F_SETFD(FdFlag::empty())).unwrap();
  let mut guardian = Command::new("sh")
    .arg("-c")
    .arg(format!(
      "ulimit -Sn 64 && exec \"$0\" 3<&{}",
      guardian_end.as_raw_fd()
    ))
    .arg(env!("CARGO_BIN_EXE_kill-target-guardian"))
    .spawn()
    .unwrap();
  drop(guardian_end);

  // Until its exec the pid is the shell's, whose limits are not the point.
  let deadline = Instant::now() + Duration::from_secs(10);
  let exe = fs::canonicalize(env!("CARGO_BIN_EXE_kill-target-guardian")).unwrap();
  while fs::read_link(format!("/proc/{}/exe", guardian.id())).ok() != Some(exe.clone()) {
    assert!(Instant::now() < deadline, "the guardian never started");
    sleep(Duration::from_millis(5));
  }
  // It raises its limit first thing; give it the moment that takes.
  let expected = Some((hard.to_string(), hard.to_string()));
  let mut seen = open_files_limits(guardian.id());
  while seen != expected && Instant::now() < deadline {
    sleep(Duration::from_millis(5));
    seen = open_files_limits(guardian.id());
  }
  // EOF on the socket is the program's end: the guardian exits by itself.
  drop(program);
  let status = guardian.wait().unwrap();
  assert_eq!(seen, expected);
  assert!(status.success(), "{status}");
}
