//! The pending operations of a JavaScript thread (`waitForExit`,
//! `terminate`), by id. An operation hears of its target's exit, of a
//! `close()`, of its timer and of its AbortSignal as events, on that thread,
//! and says when it is over. The table owns every pending operation, and an
//! operation owns what it needs (its target, its timer, its promise), so a
//! thread's teardown ends them all by dropping the table.

use std::cell::RefCell;
use std::collections::HashMap;

use napi::bindgen_prelude::Env;

pub enum Event {
  /// The process of a target the operation watches has exited.
  Exited { pid: nix::unistd::Pid },
  /// The target was closed.
  Closed,
  /// The operation's timer ran out.
  Timer,
  /// The operation's AbortSignal fired.
  Aborted,
}

pub trait Operation {
  /// Handles `event`; `true` once the operation is over, its promise settled.
  fn on(&mut self, env: &Env, id: u64, event: Event) -> bool;
}

thread_local! {
  static PENDING: RefCell<HashMap<u64, Box<dyn Operation>>> = RefCell::new(HashMap::new());
  static NEXT_ID: std::cell::Cell<u64> = const { std::cell::Cell::new(1) };
}

/// An id no operation of this thread has had.
pub fn next_id() -> u64 {
  NEXT_ID.with(|next| next.replace(next.get() + 1))
}

pub fn insert(id: u64, operation: Box<dyn Operation>) {
  PENDING.with(|pending| pending.borrow_mut().insert(id, operation));
}

/// Gives `event` to operation `id`, if it is still pending. The operation is
/// out of the table while it runs: it may run JavaScript, which may start or
/// end other operations.
pub fn deliver(env: &Env, id: u64, event: Event) {
  let Some(mut operation) = PENDING.with(|pending| pending.borrow_mut().remove(&id)) else {
    return;
  };
  if !operation.on(env, id, event) {
    insert(id, operation);
  }
}

/// Ends every pending operation unsettled: the thread is going away.
pub fn drop_all() {
  let pending = PENDING.with(|pending| std::mem::take(&mut *pending.borrow_mut()));
  drop(pending);
}
