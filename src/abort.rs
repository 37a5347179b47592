//! A caller's AbortSignal, heard through `addEventListener` and let go with
//! `removeEventListener` when the operation settles.
//!
//! napi-rs's own `AbortSignal` is made for `AsyncTask`: it takes over the
//! signal's `onabort` property (replacing any handler the caller set there)
//! and keeps every callback for as long as the signal lives. One long-lived
//! signal shared by many waits needs listeners that come off as each settles.

use std::cell::Cell;

use napi::bindgen_prelude::{
  Env, FnArgs, Function, FunctionRef, JsObjectValue, Object, ObjectRef, Result, Unknown,
};
use napi::JsValue;
use tokio::sync::oneshot;

/// The listener on one signal, held on the JavaScript thread.
pub struct AbortLink {
  signal: ObjectRef,
  listener: Option<FunctionRef<(), ()>>,
}

pub enum State {
  /// `signal.aborted` was already true: the operation must not start.
  Aborted,
  /// The receiver fires when the signal aborts.
  Armed(oneshot::Receiver<()>),
}

type Listener<'env> = Function<'env, (), ()>;

pub fn listen(env: &Env, signal: Object) -> Result<(AbortLink, State)> {
  let aborted: Unknown = signal.get_named_property("aborted")?;
  if aborted.coerce_to_bool()? {
    let link = AbortLink {
      signal: signal.create_ref()?,
      listener: None,
    };
    return Ok((link, State::Aborted));
  }
  let (fire, fired) = oneshot::channel();
  let fire = Cell::new(Some(fire));
  let listener = env.create_function_from_closure("onAbort", move |_| {
    if let Some(fire) = fire.take() {
      // The receiver is gone only if the operation already settled.
      let _ = fire.send(());
    }
    Ok(())
  })?;
  call(&signal, "addEventListener", listener)?;
  let link = AbortLink {
    signal: signal.create_ref()?,
    listener: Some(listener.create_ref()?),
  };
  Ok((link, State::Armed(fired)))
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

/// `signal[method]('abort', listener)`. A throw is left pending, for the
/// promise to reject with.
fn call(signal: &Object, method: &str, listener: Listener) -> Result<()> {
  let method: Function<FnArgs<(&str, Listener)>, Unknown> = signal.get_named_property(method)?;
  method.apply(signal, ("abort", listener).into())?;
  Ok(())
}
