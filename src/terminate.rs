//! `terminate()`: the kill signal, SIGCONT so a stopped process can act on
//! it, a grace period, then SIGKILL. The first signals go out in the call
//! itself; the rest is an operation driven by the target's exit and its
//! timers. Every signal goes through the target, so with a pidfd none of
//! them can reach a process that took the number after this one was reaped.

use std::rc::Rc;
use std::time::Duration;

use napi::bindgen_prelude::Env;

use crate::errors::Failure;
use crate::ops::{self, Event, Operation};
use crate::promise::Promise;
use crate::reactor::Timer;
use crate::signal::Signal;
use crate::target::Target;
use crate::TerminateResult;

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

/// What the promise resolves with: the outcome, or nothing at all
/// (`[Symbol.asyncDispose]`).
#[derive(Clone, Copy)]
pub enum Answer {
  Outcome,
  Nothing,
}

struct Terminate {
  promise: Option<Promise>,
  target: Rc<Target>,
  group: bool,
  answer: Answer,
  /// The grace period, until SIGKILL has gone out; then `None`.
  grace: Option<Duration>,
  timer: Option<Timer>,
  signals: Vec<String>,
  forced: bool,
}

/// Starts operation `id`: signals now, then settles `promise` once the
/// process is gone (or SIGKILL could not end it), the target is closed or
/// the AbortSignal fires.
pub fn start(env: &Env, id: u64, target: Rc<Target>, promise: Promise, plan: Plan, answer: Answer) {
  let mut run = Terminate {
    promise: Some(promise),
    target,
    group: plan.group,
    answer,
    grace: plan.force_kill_after,
    timer: None,
    signals: Vec::new(),
    forced: false,
  };
  let started = run.send(plan.kill_signal).and_then(|delivered| {
    if !delivered {
      // Already reaped: nothing to stop.
      return Ok(false);
    }
    if plan.kill_signal != Signal::SIGKILL {
      run.send(Signal::SIGCONT)?;
    }
    run.target.clone().watch_exit(env, id)
  });
  let waiting = started.and_then(|waiting| {
    if let (true, Some(grace)) = (waiting, run.grace) {
      run.arm(env, id, grace)?;
    }
    Ok(waiting)
  });
  match waiting {
    Ok(true) => ops::insert(id, Box::new(run)),
    Ok(false) => run.finish(env, id, Ok(true)),
    Err(failure) => run.finish(env, id, Err(failure)),
  }
}

impl Terminate {
  /// Sends `signal` through the target; lists it when delivered.
  fn send(&mut self, signal: Signal) -> Result<bool, Failure> {
    let delivered = match self.group {
      true => self.target.signal_group(signal)?,
      false => self.target.signal(signal)?,
    };
    if delivered {
      self.signals.push(signal.name());
    }
    Ok(delivered)
  }

  fn arm(&mut self, env: &Env, id: u64, after: Duration) -> Result<(), Failure> {
    let timer = Timer::new(env, after, move |env| ops::deliver(env, id, Event::Timer));
    self.timer = Some(timer.map_err(|e| Failure::sys("uv_timer_start", e, self.target.pid()))?);
    Ok(())
  }

  /// Settles: `Ok(exited)` resolves, a failure rejects listing the signals
  /// already delivered.
  fn finish(&mut self, env: &Env, id: u64, outcome: Result<bool, Failure>) {
    self.target.unwatch_exit(id);
    self.timer = None;
    let promise = self.promise.take().expect("a termination settles once");
    let signals = std::mem::take(&mut self.signals);
    match (outcome, self.answer) {
      (Ok(_), Answer::Nothing) => promise.resolve(env, ()),
      (Ok(exited), Answer::Outcome) => promise.resolve(
        env,
        TerminateResult {
          exited,
          forced: self.forced,
          signals,
        },
      ),
      (Err(failure), _) => promise.reject(env, failure, &signals),
    }
  }
}

impl Operation for Terminate {
  fn on(&mut self, env: &Env, id: u64, event: Event) -> bool {
    let outcome = match event {
      Event::Exited => Ok(true),
      Event::Timer => match self.grace.take() {
        Some(grace) => {
          let killed = self.send(Signal::SIGKILL).and_then(|delivered| {
            self.forced = delivered;
            self.arm(env, id, grace.max(KILL_SETTLE))
          });
          match killed {
            Ok(()) => return false,
            Err(failure) => Err(failure),
          }
        }
        // SIGKILL went out a while ago and the process is still there.
        None => Ok(false),
      },
      Event::Closed => Err(Failure::ClosedWhileWaiting {
        pid: self.target.pid().as_raw(),
      }),
      Event::Aborted => Err(Failure::Aborted),
    };
    self.finish(env, id, outcome);
    true
  }
}
