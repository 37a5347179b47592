//! Stop a process and know it is gone: the kill signal, SIGCONT so a stopped
//! process can act on it, a grace period, then SIGKILL. Every signal goes
//! through the target, so with a pidfd none of them can reach a process that
//! took the number after this one was reaped.

use std::time::Duration;

use tokio::time::timeout;

use crate::errors::Failure;
use crate::signal::Signal;
use crate::target::Target;
use crate::wait::exited;

/// After SIGKILL the kernel still has to tear the process down; a process in
/// uninterruptible sleep cannot even begin. Wait at least this long for it.
const KILL_SETTLE: Duration = Duration::from_secs(1);

/// The grace period before SIGKILL when none is given, as in execa.
pub const DEFAULT_FORCE_KILL_AFTER: Duration = Duration::from_millis(5000);

pub struct Plan {
  pub kill_signal: Signal,
  /// `None`: never escalate, wait for as long as it takes.
  pub force_kill_after: Option<Duration>,
  pub group: bool,
}

impl Default for Plan {
  fn default() -> Self {
    Plan {
      kill_signal: Signal::SIGTERM,
      force_kill_after: Some(DEFAULT_FORCE_KILL_AFTER),
      group: false,
    }
  }
}

#[derive(Debug, Default, PartialEq, Eq)]
pub struct Outcome {
  /// The process was seen to exit (or was gone already).
  pub exited: bool,
  /// SIGKILL was sent because the grace period ran out.
  pub forced: bool,
  /// The signals that were delivered, in order.
  pub signals: Vec<String>,
}

pub async fn terminate(target: &Target, plan: Plan) -> Result<Outcome, Failure> {
  let mut signals = Vec::new();
  let mut send = |signal: Signal| -> Result<bool, Failure> {
    let delivered = match plan.group {
      true => target.signal_group(signal)?,
      false => target.signal(signal)?,
    };
    if delivered {
      signals.push(signal.name());
    }
    Ok(delivered)
  };

  if !send(plan.kill_signal)? {
    // Already reaped: nothing to stop.
    return Ok(Outcome {
      exited: true,
      forced: false,
      signals,
    });
  }
  if plan.kill_signal != Signal::SIGKILL && plan.kill_signal != Signal::SIGCONT {
    send(Signal::SIGCONT)?;
  }
  let (gone, forced) = match plan.force_kill_after {
    None => (exited(target).await.map(|()| true)?, false),
    Some(grace) => match timeout(grace, exited(target)).await {
      Ok(result) => (result.map(|()| true)?, false),
      Err(_grace_over) => {
        let forced = send(Signal::SIGKILL)?;
        let settled = timeout(grace.max(KILL_SETTLE), exited(target)).await;
        (
          settled.map_or(Ok(false), |result| result.map(|()| true))?,
          forced,
        )
      }
    },
  };
  Ok(Outcome {
    exited: gone,
    forced,
    signals,
  })
}

#[cfg(test)]
mod tests {
  use std::process::Command;

  use nix::unistd::Pid;

  use super::*;

  fn spawn(script: &str) -> (std::process::Child, Target) {
    let child = Command::new("sh").args(["-c", script]).spawn().unwrap();
    let target = Target::open(Pid::from_raw(child.id() as i32)).unwrap();
    (child, target)
  }

  fn plan(force_kill_after: Option<Duration>) -> Plan {
    Plan {
      force_kill_after,
      ..Plan::default()
    }
  }

  #[tokio::test]
  async fn a_process_that_ignores_sigterm_is_killed_after_the_grace_period() {
    let (mut child, target) = spawn("trap '' TERM; exec sleep 30");
    std::thread::sleep(Duration::from_millis(100));
    let outcome = terminate(&target, plan(Some(Duration::from_millis(100)))).await;
    assert_eq!(
      outcome,
      Ok(Outcome {
        exited: true,
        forced: true,
        signals: vec!["SIGTERM".into(), "SIGCONT".into(), "SIGKILL".into()],
      })
    );
    child.wait().unwrap();
  }

  #[tokio::test]
  async fn a_reaped_process_is_not_signalled_at_all() {
    let (mut child, target) = spawn("exit 0");
    child.wait().unwrap();
    let outcome = terminate(&target, plan(None)).await.unwrap();
    if target.race_free() {
      assert_eq!(
        outcome,
        Outcome {
          exited: true,
          forced: false,
          signals: vec![]
        }
      );
    }
  }
}
