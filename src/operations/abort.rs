//! A caller's AbortSignal, heard through `addEventListener` and let go with
//! `removeEventListener` when the operation settles. The listener runs on
//! the signal's thread and tells the operation at once (`pending::deliver`).
//!
//! napi-rs's own `AbortSignal` is made for `AsyncTask`: it takes over the
//! signal's `onabort` property (replacing any handler the caller set there)
//! and keeps every callback for as long as the signal lives. One long-lived
//! signal shared by many waits needs listeners that come off as each settles.

use napi::bindgen_prelude::{
  Env, FnArgs, Function, FunctionRef, JsObjectValue, Object, ObjectRef, Result, Unknown,
};
use napi::JsValue;

use crate::event_loop::pending::{self, Event};

/// The listener on one signal. Dropped unsettled only when the thread goes
/// away, which frees the signal's reference with everything else.
pub struct AbortLink {
  signal: ObjectRef<false>,
  listener: Option<FunctionRef<(), ()>>,
}

pub enum State {
  /// `signal.aborted` was already true: the operation must not start.
  Aborted,
  /// The listener tells the operation when the signal aborts.
  Armed,
}

type Listener<'env> = Function<'env, (), ()>;

/// Listens to `signal` on behalf of operation `id`. A throw from the
/// caller's code is left pending, for the promise to reject with.
pub fn listen(env: &Env, signal: Object, id: u64) -> Result<(AbortLink, State)> {
  let aborted: Unknown = signal.get_named_property("aborted")?;
  if aborted.coerce_to_bool()? {
    let link = AbortLink {
      signal: signal.create_ref()?,
      listener: None,
    };
    return Ok((link, State::Aborted));
  }
  let listener = env.create_function_from_closure("onAbort", move |call| {
    pending::deliver(call.env, id, Event::Aborted);
    Ok(())
  })?;
  call(&signal, "addEventListener", listener)?;
  let link = AbortLink {
    signal: signal.create_ref()?,
    listener: Some(listener.create_ref()?),
  };
  Ok((link, State::Armed))
}

impl AbortLink {
  /// Takes the listener off the signal and returns the signal's `reason`,
  /// for the `cause` of an AbortError. The signal is let go even when the
  /// caller's `removeEventListener` throws; the throw is the error.
  pub fn unlink<'env>(self, env: &'env Env) -> Result<Unknown<'env>> {
    let signal = self.signal.get_value(env);
    self.signal.unref(env)?;
    let signal = signal?;
    if let Some(listener) = self.listener {
      call(&signal, "removeEventListener", listener.borrow_back(env)?)?;
    }
    signal.get_named_property("reason")
  }
}

/// `signal[method]('abort', listener)`.
fn call(signal: &Object, method: &str, listener: Listener) -> Result<()> {
  let method: Function<FnArgs<(&str, Listener)>, Unknown> = signal.get_named_property(method)?;
  method.apply(signal, ("abort", listener).into())?;
  Ok(())
}
