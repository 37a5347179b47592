//! Signal names and numbers, with the rules of Node's `process.kill`: a name
//! must be spelled exactly as in `os.constants.signals`; a number is sent as
//! it is. nix's `Signal` knows the names; this file adds Node's aliases and
//! the real-time range nix does not model.

use std::str::FromStr;

use nix::sys::signal::Signal as NixSignal;

/// The highest signal number Linux accepts (`SIGRTMAX`).
pub const MAX_SIGNAL: i32 = 64;

/// First real-time signal as glibc numbers them (32 and 33 are glibc's own).
const SIGRTMIN: i32 = 34;

/// A signal number the kernel will accept: 0 (the existence probe) to 64.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Signal(i32);

impl Signal {
  /// Signal 0: checks that the process exists and sends nothing.
  pub const EXISTS: Signal = Signal(0);
  pub const SIGKILL: Signal = Signal(libc::SIGKILL);
  pub const SIGCONT: Signal = Signal(libc::SIGCONT);
  pub const SIGSTOP: Signal = Signal(libc::SIGSTOP);
  pub const SIGTERM: Signal = Signal(libc::SIGTERM);

  /// Parses a name exactly as `process.kill` does (case-sensitive).
  pub fn from_name(name: &str) -> Option<Self> {
    let known = match name {
      // Node's aliases, which nix spells only by their primary name.
      "SIGIOT" => Ok(NixSignal::SIGABRT),
      "SIGPOLL" => Ok(NixSignal::SIGIO),
      // A musl build of Node lists this old alias of SIGSYS; glibc's does not.
      #[cfg(target_env = "musl")]
      "SIGUNUSED" => Ok(NixSignal::SIGSYS),
      _ => NixSignal::from_str(name),
    };
    known.map(|signal| Signal(signal as i32)).ok()
  }

  /// Accepts 0..=64, the numbers `kill(2)` accepts on Linux.
  pub fn from_number(number: i32) -> Option<Self> {
    (0..=MAX_SIGNAL).contains(&number).then_some(Signal(number))
  }

  /// False for 0 and for the signals that stop or continue a process.
  pub fn can_terminate(self) -> bool {
    !matches!(
      self.0,
      0 | libc::SIGSTOP | libc::SIGCONT | libc::SIGTSTP | libc::SIGTTIN | libc::SIGTTOU
    )
  }

  pub fn number(self) -> i32 {
    self.0
  }

  /// The name Node uses (`SIGTERM`); real-time signals as `kill -l` spells
  /// them (`SIGRTMIN+2`); `SIG0` for the existence probe.
  pub fn name(self) -> String {
    Self::name_of(self.0)
  }

  /// The name of any signal number the kernel reports, as [`Signal::name`].
  pub fn name_of(number: i32) -> String {
    if let Ok(signal) = NixSignal::try_from(number) {
      return signal.as_str().to_owned();
    }
    match number {
      SIGRTMIN => "SIGRTMIN".to_owned(),
      MAX_SIGNAL => "SIGRTMAX".to_owned(),
      n if n > SIGRTMIN => format!("SIGRTMIN+{}", n - SIGRTMIN),
      n => format!("SIG{n}"),
    }
  }
}

#[cfg(test)]
mod tests {
  use super::*;

  #[test]
  fn names_are_case_sensitive_like_process_kill() {
    assert_eq!(Signal::from_name("SIGTERM"), Some(Signal(15)));
    assert_eq!(Signal::from_name("SIGKILL"), Some(Signal(9)));
    for bad in [
      "sigterm", "SIGFOO", "TERM", "", "SIGTERM ", "15", "SIGBREAK",
    ] {
      assert_eq!(Signal::from_name(bad), None, "{bad}");
    }
  }

  #[test]
  fn node_aliases_resolve() {
    assert_eq!(Signal::from_name("SIGIOT"), Some(Signal(libc::SIGABRT)));
    assert_eq!(Signal::from_name("SIGPOLL"), Some(Signal(libc::SIGIO)));
  }

  #[test]
  fn every_node_signal_name_parses() {
    // os.constants.signals on Linux, Node 20.
    let node = "SIGHUP SIGINT SIGQUIT SIGILL SIGTRAP SIGABRT SIGIOT SIGBUS SIGFPE SIGKILL SIGUSR1 \
      SIGSEGV SIGUSR2 SIGPIPE SIGALRM SIGTERM SIGCHLD SIGSTKFLT SIGCONT SIGSTOP SIGTSTP SIGTTIN \
      SIGTTOU SIGURG SIGXCPU SIGXFSZ SIGVTALRM SIGPROF SIGWINCH SIGIO SIGPOLL SIGPWR SIGSYS";
    for name in node.split_whitespace() {
      assert!(Signal::from_name(name).is_some(), "{name}");
    }
  }

  #[test]
  fn numbers_are_bounded_by_the_kernel_range() {
    assert_eq!(Signal::from_number(0), Some(Signal(0)));
    assert_eq!(Signal::from_number(64), Some(Signal(64)));
    assert_eq!(Signal::from_number(65), None);
    assert_eq!(Signal::from_number(-1), None);
  }

  #[test]
  fn only_signals_that_can_end_a_process_terminate() {
    for number in [
      0,
      libc::SIGSTOP,
      libc::SIGCONT,
      libc::SIGTSTP,
      libc::SIGTTIN,
      libc::SIGTTOU,
    ] {
      assert!(!Signal(number).can_terminate(), "{number}");
    }
    for number in [libc::SIGTERM, libc::SIGKILL, libc::SIGINT, libc::SIGHUP, 40] {
      assert!(Signal(number).can_terminate(), "{number}");
    }
  }

  #[test]
  fn names_round_trip() {
    assert_eq!(Signal::SIGTERM.name(), "SIGTERM");
    assert_eq!(Signal(34).name(), "SIGRTMIN");
    assert_eq!(Signal(36).name(), "SIGRTMIN+2");
    assert_eq!(Signal(64).name(), "SIGRTMAX");
    assert_eq!(Signal(32).name(), "SIG32");
    assert_eq!(Signal::name_of(9), "SIGKILL");
    assert_eq!(Signal::name_of(40), "SIGRTMIN+6");
  }
}
