//! Waiting for a process to exit without reaping it. With a pidfd the wait is
//! the descriptor's readiness in the runtime's one epoll set, so any number of
//! waits cost no threads and no timers; without one it polls, backing off.

use std::future::Future;
use std::time::Duration;

use nix::errno::Errno;
use tokio::sync::{oneshot, watch};

use crate::errors::Failure;
use crate::target::Target;

/// The slowest the pid fallback polls; it starts at 1 ms and doubles.
const MAX_POLL_INTERVAL: Duration = Duration::from_millis(100);

/// Resolves once the process has exited (a zombie counts).
pub async fn exited(target: &Target) -> Result<(), Failure> {
  let watch = match target.exit_watch().await {
    Some(Ok(watch)) => watch,
    // No pidfd, or the user's limit on epoll watches is reached: poll.
    None
    | Some(Err(Failure::Sys {
      errno: Errno::ENOSPC,
      ..
    })) => return poll_until_exited(target).await,
    Some(Err(failure)) => return Err(failure),
  };
  let ready = watch.readable().await;
  // Exit is for ever: keep the readiness so every later wait returns at once.
  ready
    .map_err(|e| Failure::sys("epoll_wait", e, target.pid()))?
    .retain_ready();
  Ok(())
}

/// `true` once the process has exited, `false` if `limit` passes first.
pub async fn exited_within(target: &Target, limit: Option<Duration>) -> Result<bool, Failure> {
  match limit {
    None => exited(target).await.map(|()| true),
    Some(limit) => match tokio::time::timeout(limit, exited(target)).await {
      Ok(result) => result.map(|()| true),
      Err(_elapsed) => Ok(false),
    },
  }
}

async fn poll_until_exited(target: &Target) -> Result<(), Failure> {
  let mut pause = Duration::from_millis(1);
  while !target.has_exited()? {
    tokio::time::sleep(pause).await;
    pause = (pause * 2).min(MAX_POLL_INTERVAL);
  }
  Ok(())
}

/// Runs `work` until it finishes, the caller's AbortSignal fires or the
/// target is closed, whichever comes first.
pub async fn until_stopped<T>(
  work: impl Future<Output = Result<T, Failure>>,
  abort: Option<oneshot::Receiver<()>>,
  mut closed: watch::Receiver<bool>,
  pid: i32,
) -> Result<T, Failure> {
  let aborted = async {
    // No signal, or its listener is gone: it can never fire.
    let fired = match abort {
      Some(fired) => fired.await.is_ok(),
      None => false,
    };
    if !fired {
      std::future::pending::<()>().await;
    }
  };
  tokio::select! {
    done = work => done,
    () = aborted => Err(Failure::Aborted),
    Ok(_) = closed.wait_for(|closed| *closed) => Err(Failure::ClosedWhileWaiting { pid }),
  }
}

#[cfg(test)]
mod tests {
  use std::process::{Child, Command};

  use nix::unistd::Pid;

  use super::*;
  use crate::signal::Signal;

  fn sleeper() -> (Child, Target) {
    let child = Command::new("sleep").arg("30").spawn().unwrap();
    let target = Target::open(Pid::from_raw(child.id() as i32)).unwrap();
    (child, target)
  }

  #[tokio::test]
  async fn a_wait_ends_with_the_exit_or_the_time_limit() {
    let (mut child, target) = sleeper();
    assert_eq!(
      exited_within(&target, Some(Duration::from_millis(20))).await,
      Ok(false)
    );
    target.signal(Signal::SIGKILL).unwrap();
    assert_eq!(exited_within(&target, None).await, Ok(true));
    // Nothing was reaped: the child is ours to wait for.
    assert!(child.wait().is_ok());
    assert_eq!(exited_within(&target, Some(Duration::ZERO)).await, Ok(true));
  }

  #[tokio::test]
  async fn closing_or_aborting_stops_a_wait() {
    let (mut child, target) = sleeper();
    let pid = target.pid().as_raw();
    let closing = until_stopped(exited(&target), None, target.closed(), pid);
    target.close();
    assert_eq!(closing.await, Err(Failure::ClosedWhileWaiting { pid }));

    let (abort, fired) = oneshot::channel();
    let aborting = until_stopped(exited(&target), Some(fired), watch::channel(false).1, pid);
    abort.send(()).unwrap();
    assert_eq!(aborting.await, Err(Failure::Aborted));
    child.kill().unwrap();
    child.wait().unwrap();
  }
}
