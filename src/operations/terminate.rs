//! `terminate()`: the kill signal, SIGCONT so a stopped process can act on
//! it, a grace period, then SIGKILL. With `tree`, the same for every
//! descendant, frozen first so the tree cannot grow or lose track of its
//! members while it is signalled (see `process::tree`). The signals before the
//! grace period go out in the call itself; the rest is an operation driven
//! by the members' exits and its timers. Every signal goes through a target,
//! so with pidfds none of them can reach a process that took a member's
//! number after the member was reaped.

use std::collections::HashSet;
use std::rc::Rc;
use std::time::Duration;

use napi::bindgen_prelude::Env;
use napi_derive::napi;
use nix::unistd::Pid;

use crate::errors::Failure;
use crate::event_loop::pending::{self, Event, Operation};
use crate::event_loop::reactor::Timer;
use crate::linux::signal::Signal;
use crate::operations::promise::Promise;
use crate::operations::target::Target;
use crate::process::tree;

/// What `terminate()` did.
#[napi(object)]
pub struct TerminateResult {
  /// The process was seen to exit, or was already gone. False only when it
  /// outlived SIGKILL by the grace period again (uninterruptible sleep).
  pub exited: bool,
  /// SIGKILL was sent because the grace period ran out.
  pub forced: bool,
  /// The signals delivered, in order, e.g. `['SIGTERM', 'SIGCONT']`. A signal
  /// that found the process already reaped is not listed: a quick exit can
  /// leave out the SIGCONT. With `tree`, each is listed once if any member
  /// received it.
  pub signals: Vec<String>,
  /// How many processes received the kill signal: 1 or 0, or with `tree`
  /// the members of the tree that were still there.
  pub processes: u32,
}

/// After SIGKILL the kernel still has to tear the process down; a process in
/// uninterruptible sleep cannot even begin. Wait at least this long for it.
const KILL_SETTLE: Duration = Duration::from_secs(1);

/// The grace period before SIGKILL when none is given, as in execa.
pub const DEFAULT_FORCE_KILL_AFTER: Duration = Duration::from_millis(5000);

pub struct Plan {
  pub kill_signal: Signal,
  /// `None`: never escalate, wait for as long as it takes.
  pub force_kill_after: Option<Duration>,
  /// The root's signals go to its whole process group.
  pub group: bool,
  /// Every descendant of the root is a member too.
  pub tree: bool,
}

impl Default for Plan {
  fn default() -> Self {
    Plan {
      kill_signal: Signal::SIGTERM,
      force_kill_after: Some(DEFAULT_FORCE_KILL_AFTER),
      group: false,
      tree: false,
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

/// Which members a round of signals is for.
#[derive(Clone, Copy, PartialEq)]
enum Reach {
  /// Every member but this process.
  Others,
  /// This process, if it is a member.
  ThisProcess,
  /// The members not yet seen to exit, this process last.
  Survivors,
}

struct Terminate {
  promise: Option<Promise>,
  /// The root first, then its descendants with `tree`.
  members: Vec<Rc<Target>>,
  /// The members whose exit has not been seen.
  remaining: HashSet<Pid>,
  group: bool,
  answer: Answer,
  /// The grace period, until SIGKILL has gone out; then `None`.
  grace: Option<Duration>,
  timer: Option<Timer>,
  signals: Vec<String>,
  processes: u32,
  forced: bool,
  /// The members the kernel would not let us signal (another user's), and
  /// the call that said so: never waited for, named in the rejection.
  denied: Vec<Pid>,
  denied_by: &'static str,
}

/// Starts operation `id`: signals now, then settles `promise` once every
/// member is gone (or SIGKILL could not end one), the root's target is
/// closed or the AbortSignal fires.
pub fn start(env: &Env, id: u64, root: Rc<Target>, promise: Promise, plan: Plan, answer: Answer) {
  let mut run = Terminate {
    promise: Some(promise),
    members: vec![root],
    remaining: HashSet::new(),
    group: plan.group,
    answer,
    grace: plan.force_kill_after,
    timer: None,
    signals: Vec::new(),
    processes: 0,
    forced: false,
    denied: Vec::new(),
    denied_by: "",
  };
  let started = run.begin(env, id, &plan);
  match started {
    Ok(true) => pending::insert(id, Box::new(run)),
    Ok(false) => run.finish(env, id, Ok(true)),
    Err(failure) => run.finish(env, id, Err(failure)),
  }
}

impl Terminate {
  /// Freezes the tree, signals every member, watches them: `Ok(false)` if
  /// nobody is left to wait for.
  fn begin(&mut self, env: &Env, id: u64, plan: &Plan) -> Result<bool, Failure> {
    let stopped_root = match plan.tree {
      true => {
        let walk = tree::walk(&self.members[0], true)?;
        self.members.extend(
          walk
            .members
            .into_iter()
            .map(|member| Rc::new(member.into())),
        );
        walk.stopped_root
      }
      false => false,
    };
    let signalled = self.send_all(plan.kill_signal, Reach::Others);
    // Stopped ones act on it only once continued; with `tree` the walk
    // stopped them all, and nothing may stay stopped.
    let resumed = match plan.kill_signal != Signal::SIGKILL || plan.tree {
      true => self.send_all(Signal::SIGCONT, Reach::Others).map(drop),
      false => Ok(()),
    };
    // This process, when it is a member, last of all: once it has acted on
    // the signal it may signal nobody. It was never stopped.
    let own = self.send_all(plan.kill_signal, Reach::ThisProcess);
    let mut signalled = signalled?;
    resumed?;
    signalled.extend(own?);
    self.processes = signalled.len() as u32;
    if signalled.is_empty() && !stopped_root {
      // Already reaped, every one: nothing to stop.
      return Ok(false);
    }
    for member in self.members.clone() {
      if self.denied.contains(&member.pid()) {
        continue;
      }
      if member.watch_exit(env, id)? {
        self.remaining.insert(member.pid());
      }
    }
    if self.remaining.is_empty() {
      return Ok(false);
    }
    if let Some(grace) = self.grace {
      self.arm(env, id, grace)?;
    }
    Ok(true)
  }

  /// Sends `signal` to the members `reach` names, this process (if it is
  /// one) after all the others; lists it once if any received it. The
  /// members that did, or the first failure (after trying every member, so
  /// that none is left stopped). A member the kernel refuses (EPERM) is
  /// no failure of the others: it is kept in `denied`, and the rest go on.
  fn send_all(&mut self, signal: Signal, reach: Reach) -> Result<Vec<Pid>, Failure> {
    let mut delivered = Vec::new();
    let mut failed = None;
    let (others, own): (Vec<_>, Vec<_>) =
      (self.members.iter().enumerate()).partition(|(_, member)| !member.is_this_process());
    for (i, member) in others.into_iter().chain(own) {
      let reached = match reach {
        Reach::Others => !member.is_this_process(),
        Reach::ThisProcess => member.is_this_process(),
        Reach::Survivors => self.remaining.contains(&member.pid()),
      };
      if !reached {
        continue;
      }
      let sent = match (i, self.group) {
        (0, true) => member.signal_group(signal),
        _ => member.signal(signal),
      };
      match sent {
        Ok(true) => delivered.push(member.pid()),
        Ok(false) => {}
        Err(Failure::Sys {
          syscall,
          errno: nix::errno::Errno::EPERM,
          ..
        }) => {
          if !self.denied.contains(&member.pid()) {
            self.denied.push(member.pid());
            self.denied_by = syscall;
          }
        }
        Err(failure) => failed = failed.or(Some(failure)),
      }
    }
    let name = signal.name();
    // This process's round repeats the signal the others got: listed once.
    let listed = reach == Reach::ThisProcess && self.signals.contains(&name);
    if !delivered.is_empty() && !listed {
      self.signals.push(name);
    }
    match failed {
      Some(failure) => Err(failure),
      None => Ok(delivered),
    }
  }

  /// Drops from `remaining` the members whose exit is known but not yet
  /// delivered.
  fn forget_exited(&mut self) -> Result<(), Failure> {
    for member in &self.members {
      if self.remaining.contains(&member.pid()) && member.has_exited()? {
        self.remaining.remove(&member.pid());
      }
    }
    Ok(())
  }

  fn arm(&mut self, env: &Env, id: u64, after: Duration) -> Result<(), Failure> {
    let timer = Timer::new(env, after, move |env| {
      pending::deliver(env, id, Event::Timer)
    });
    let pid = self.members[0].pid();
    self.timer = Some(timer.map_err(|e| Failure::sys("uv_timer_start", e, pid))?);
    Ok(())
  }

  /// Settles: `Ok(exited)` resolves, a failure rejects listing the signals
  /// already delivered.
  fn finish(&mut self, env: &Env, id: u64, outcome: Result<bool, Failure>) {
    for member in &self.members {
      member.unwatch_exit(id);
    }
    self.timer = None;
    let Some(promise) = self.promise.take() else {
      return;
    };
    let signals = std::mem::take(&mut self.signals);
    // Every member that could be signalled is gone: now say who could not.
    let outcome = match outcome {
      Ok(_) if !self.denied.is_empty() => Err(self.refusal()),
      outcome => outcome,
    };
    match (outcome, self.answer) {
      (Ok(_), Answer::Nothing) => promise.resolve(env, ()),
      (Ok(exited), Answer::Outcome) => promise.resolve(
        env,
        TerminateResult {
          exited,
          forced: self.forced,
          signals,
          processes: self.processes,
        },
      ),
      (Err(failure), _) => promise.reject(env, failure, &signals),
    }
  }
}

impl Terminate {
  /// The rejection for `denied`: one process is the plain system call's
  /// error, as a signal to it alone would give.
  fn refusal(&self) -> Failure {
    match self.denied[..] {
      [pid] if self.members.len() == 1 => Failure::Sys {
        syscall: self.denied_by,
        errno: nix::errno::Errno::EPERM,
        pid: pid.as_raw(),
      },
      _ => Failure::Denied {
        syscall: self.denied_by,
        pids: self.denied.iter().map(|pid| pid.as_raw()).collect(),
      },
    }
  }
}

impl Operation for Terminate {
  fn on(&mut self, env: &Env, id: u64, event: Event) -> bool {
    let outcome = match event {
      Event::Exited { pid } => {
        self.remaining.remove(&pid);
        match self.remaining.is_empty() {
          true => Ok(true),
          false => return false,
        }
      }
      // libuv runs due timers before it polls: after a blocked turn an exit
      // can sit unread. The pidfds have the answer, so that nobody who has
      // exited is forced or reported alive.
      Event::Timer => match self.forget_exited() {
        Err(failure) => Err(failure),
        Ok(()) if self.remaining.is_empty() => Ok(true),
        Ok(()) => match self.grace.take() {
          Some(grace) => {
            let killed = self
              .send_all(Signal::SIGKILL, Reach::Survivors)
              .and_then(|delivered| {
                self.forced = !delivered.is_empty();
                self.arm(env, id, grace.max(KILL_SETTLE))
              });
            match killed {
              Ok(()) => return false,
              Err(failure) => Err(failure),
            }
          }
          // SIGKILL went out a while ago and a member is still there.
          None => Ok(false),
        },
      },
      Event::Closed => Err(Failure::ClosedWhileWaiting {
        pid: self.members[0].pid().as_raw(),
      }),
      Event::Aborted => Err(Failure::Aborted),
    };
    self.finish(env, id, outcome);
    true
  }
}
