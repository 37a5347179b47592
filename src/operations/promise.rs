//! The promise of a `waitForExit()` or `terminate()` call: made on the
//! calling thread, settled there by the operation (no channel), with the
//! caller's AbortSignal listened to meanwhile and a failure rejected as its
//! Node-shaped error.

use std::rc::Rc;

use napi::bindgen_prelude::{Env, JsObjectValue, Object, PromiseRaw, Result, ToNapiValue, Unknown};
use napi::JsValue;

use crate::errors::{self, Failure};
use crate::ffi::{self, Deferred};
use crate::operations::abort::{self, AbortLink, State};
use crate::operations::target::Target;

/// What a method checked before starting: the target, the AbortSignal from
/// its options and the method's own options `P`; or why it cannot start.
pub type Request<'env, P> = std::result::Result<(Rc<Target>, Option<Object<'env>>, P), Failure>;

/// A pending promise and the listener on its AbortSignal.
pub struct Promise {
  deferred: Deferred,
  /// Boxed: most calls have no AbortSignal, and every pending one pays for
  /// this field.
  abort: Option<Box<AbortLink>>,
}

/// A started call: the promise to return and, unless it settled at once (a
/// bad request, an AbortSignal that had already fired), what the operation
/// `id` needs to go on.
pub type Started<'env, T, P> = (PromiseRaw<'env, T>, Option<(Promise, Rc<Target>, P)>);

pub fn start<'env, T, P>(
  env: &'env Env,
  id: u64,
  request: Request<'env, P>,
) -> Result<Started<'env, T, P>> {
  // While the caller's exception is pending, N-API makes no promise: take it
  // first.
  let (target, signal, options) = match request {
    Ok(request) => request,
    Err(Failure::Thrown) => {
      let thrown = errors::thrown(env, Failure::Thrown.into_napi(env));
      return rejected(env, thrown);
    }
    Err(failure) => {
      let error = failure.to_js(env)?;
      return rejected(env, error);
    }
  };
  let link = match signal.map(|signal| abort::listen(env, signal, id)) {
    None => None,
    Some(Ok((link, State::Armed))) => Some(Box::new(link)),
    Some(Ok((link, State::Aborted))) => {
      let (deferred, promise) = ffi::create_promise(env)?;
      let pending = Promise {
        deferred,
        abort: Some(Box::new(link)),
      };
      pending.reject(env, Failure::Aborted, &[]);
      return Ok((PromiseRaw::new(env.raw(), promise.raw()), None));
    }
    Some(Err(error)) => {
      let thrown = errors::thrown(env, error);
      return rejected(env, thrown);
    }
  };
  let (deferred, promise) = ffi::create_promise(env)?;
  let pending = Promise {
    deferred,
    abort: link,
  };
  Ok((
    PromiseRaw::new(env.raw(), promise.raw()),
    Some((pending, target, options)),
  ))
}

/// A promise already resolved with `undefined`.
pub fn resolved(env: &Env) -> Result<PromiseRaw<'_, ()>> {
  let (deferred, promise) = ffi::create_promise(env)?;
  let _ = ffi::settle(
    env,
    deferred,
    ().into_unknown(env).map_err(|e| errors::thrown(env, e)),
  );
  Ok(PromiseRaw::new(env.raw(), promise.raw()))
}

fn rejected<'env, T, P>(env: &'env Env, error: Unknown<'env>) -> Result<Started<'env, T, P>> {
  let (deferred, promise) = ffi::create_promise(env)?;
  // Only a dying environment refuses a settle; nothing is left to tell.
  let _ = ffi::settle(env, deferred, Err(error));
  Ok((PromiseRaw::new(env.raw(), promise.raw()), None))
}

impl Promise {
  pub fn resolve(self, env: &Env, value: impl ToNapiValue) {
    let Promise { deferred, abort } = self;
    let settled = unlink(env, abort).and_then(|_reason| {
      value
        .into_unknown(env)
        .map_err(|error| errors::thrown(env, error))
    });
    // Only a dying environment refuses a settle; nothing is left to tell.
    let _ = ffi::settle(env, deferred, settled);
  }

  /// Rejects with `failure`'s error; an AbortError gets the signal's reason
  /// as its `cause`, and `signals` (those already delivered) is listed on
  /// the error when there are any.
  pub fn reject(self, env: &Env, failure: Failure, signals: &[String]) {
    let Promise { deferred, abort } = self;
    let error = match unlink(env, abort) {
      Ok(reason) => {
        shaped(env, &failure, reason, signals).unwrap_or_else(|error| errors::thrown(env, error))
      }
      Err(thrown) => thrown,
    };
    let _ = ffi::settle(env, deferred, Err(error));
  }
}

/// Lets go of the AbortSignal: its reason, or what the caller's
/// `removeEventListener` threw.
fn unlink<'env>(
  env: &'env Env,
  link: Option<Box<AbortLink>>,
) -> std::result::Result<Option<Unknown<'env>>, Unknown<'env>> {
  link
    .map(|link| link.unlink(env))
    .transpose()
    .map_err(|error| errors::thrown(env, error))
}

fn shaped<'env>(
  env: &'env Env,
  failure: &Failure,
  reason: Option<Unknown<'env>>,
  signals: &[String],
) -> Result<Unknown<'env>> {
  let mut error = failure.to_js(env)?.coerce_to_object()?;
  if let (Failure::Aborted, Some(reason)) = (failure, reason) {
    error.set_named_property("cause", reason)?;
  }
  if !signals.is_empty() {
    error.set_named_property("signals", signals.to_vec())?;
  }
  Ok(error.to_unknown())
}
