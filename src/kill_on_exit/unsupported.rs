//! `killOnExit()` where there are no pidfds to hand a guardian (systems
//! other than Linux): it says so, and never arms anything.

pub use kill_target_guardian::Options;

use crate::errors::Failure;
use crate::process::Process;

pub fn supported() -> Result<(), String> {
  Err("pidfds are Linux's; this system has none".to_owned())
}

pub fn arm(_: &Process, _: Options) -> Result<u64, Failure> {
  Err(Failure::KillOnExitUnsupported(supported().unwrap_err()))
}

pub fn update(_: u64, _: Options) -> Result<Option<u64>, Failure> {
  Ok(None)
}

pub fn disarm(_: u64) {}

pub fn options(signal: i32, _: Option<std::time::Duration>, tree: bool) -> Options {
  Options {
    signal,
    force_kill_after_ms: 0,
    tree,
  }
}
