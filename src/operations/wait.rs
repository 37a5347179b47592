//! `waitForExit()`: resolves `true` when the target's process exits, `false`
//! when its time limit runs out first. It never reaps: it watches the
//! target's pidfd (or, without one, polls the pid), so it works for any
//! process and leaves Node's children to Node.

use std::rc::Rc;
use std::time::Duration;

use napi::bindgen_prelude::Env;

use crate::errors::Failure;
use crate::event_loop::pending::{self, Event, Operation};
use crate::event_loop::reactor::Timer;
use crate::operations::promise::Promise;
use crate::operations::target::Target;

struct Wait {
  promise: Option<Promise>,
  target: Rc<Target>,
  /// The time limit; cancelled when dropped.
  _limit: Option<Timer>,
}

/// Starts operation `id`: settles `promise` once the process exits, `limit`
/// passes, the target is closed or the AbortSignal fires.
pub fn start(env: &Env, id: u64, target: Rc<Target>, promise: Promise, limit: Option<Duration>) {
  // Asked now, so that a process already gone answers even `timeout: 0`.
  match target.has_exited() {
    Ok(true) => return promise.resolve(env, true),
    Err(failure) => return promise.reject(env, failure, &[]),
    Ok(false) => {}
  }
  match target.watch_exit(env, id) {
    Ok(false) => return promise.resolve(env, true),
    Err(failure) => return promise.reject(env, failure, &[]),
    Ok(true) => {}
  }
  let limit = match limit
    .map(|limit| {
      Timer::new(env, limit, move |env| {
        pending::deliver(env, id, Event::Timer)
      })
    })
    .transpose()
  {
    Ok(limit) => limit,
    Err(error) => {
      target.unwatch_exit(id);
      return promise.reject(
        env,
        Failure::sys("uv_timer_start", error, target.pid()),
        &[],
      );
    }
  };
  let wait = Wait {
    promise: Some(promise),
    target,
    _limit: limit,
  };
  pending::insert(id, Box::new(wait));
}

impl Operation for Wait {
  fn on(&mut self, env: &Env, id: u64, event: Event) -> bool {
    self.target.unwatch_exit(id);
    // Settled once: an operation is dropped once it returns true.
    let Some(promise) = self.promise.take() else {
      return true;
    };
    match event {
      Event::Exited { .. } => promise.resolve(env, true),
      // libuv runs due timers before it polls: after a blocked turn the
      // limit can fire while the exit sits unread. The pidfd has the answer.
      Event::Timer => match self.target.has_exited() {
        Ok(exited) => promise.resolve(env, exited),
        Err(failure) => promise.reject(env, failure, &[]),
      },
      Event::Closed => {
        let pid = self.target.pid().as_raw();
        promise.reject(env, Failure::ClosedWhileWaiting { pid }, &[]);
      }
      Event::Aborted => promise.reject(env, Failure::Aborted, &[]),
    }
    true
  }
}
