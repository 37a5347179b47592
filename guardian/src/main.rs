//! kill-target's guardian. A program starts it on its first `killOnExit()`,
//! in a session of its own, with nothing of the program's open but one end
//! of a socket pair. Over it the program sends the pidfds of the processes
//! it arms. When the program ends, however it ends, the guardian kills each
//! of them that is still alive, escalates where asked, and exits.
//!
//! It never learns a pid and never polls: the program's end is EOF on the
//! socket (only the program held the other end, close-on-exec) or the
//! program's own pidfd turning readable; a held process's exit is its
//! pidfd turning readable, and it is let go at once.

#![deny(clippy::expect_used, clippy::unwrap_used, clippy::panic)]

mod held;
mod sys;

use std::process::ExitCode;

use held::Held;
use nix::sys::resource::{getrlimit, setrlimit, Resource};

fn main() -> ExitCode {
  sys::close_inherited();
  // Keep no directory of the program's busy (an unmount, a removal).
  let _ = std::env::set_current_dir("/");
  raise_descriptor_limit();
  // stdio is /dev/null: a failure is told by the exit status, which the
  // program, the parent, reads when it reaps us and starts another.
  let Ok(mut held) = Held::new(sys::take_socket()) else {
    return ExitCode::FAILURE;
  };
  // A guardian that cannot go on (no memory for a message) while the
  // program lives exits, and the program starts another and tells it
  // everything; one whose program has ended kills, whatever failed.
  if held.until_the_program_ends().is_err() && !held.program_ended() {
    return ExitCode::FAILURE;
  }
  held.kill_all();
  ExitCode::SUCCESS
}

/// Every held process is a descriptor here. The soft limit is the program's
/// (Node raises its own to the hard one, other hosts may not); past it the
/// kernel drops a descriptor sent with `SCM_RIGHTS`, and the process it held
/// would not be killed. So take the hard limit, which no process needs a
/// privilege to reach.
fn raise_descriptor_limit() {
  if let Ok((_, hard)) = getrlimit(Resource::RLIMIT_NOFILE) {
    let _ = setrlimit(Resource::RLIMIT_NOFILE, hard, hard);
  }
}
