//! Turns a job on a target into a JavaScript promise: the job runs on the
//! runtime, stops when the caller's AbortSignal fires or the target is
//! closed, and a failure rejects with its Node-shaped error.

use std::future::{ready, Future};
use std::pin::Pin;
use std::sync::Arc;

use napi::bindgen_prelude::{Env, JsObjectValue, Object, PromiseRaw, Result, ToNapiValue};
use napi::JsValue;

use crate::abort::{self, State};
use crate::errors::Failure;
use crate::target::Target;
use crate::wait::until_stopped;

type Job<T> = Pin<Box<dyn Future<Output = std::result::Result<T, Failure>> + Send>>;

/// What a method checked before starting: the target, the AbortSignal from
/// its options and the method's own options `P`; or why it cannot start.
pub type Request<'env, P> = std::result::Result<(Arc<Target>, Option<Object<'env>>, P), Failure>;

pub fn spawn<'env, P, T, V, Fut>(
  env: &'env Env,
  request: Request<'env, P>,
  job: impl FnOnce(Arc<Target>, P) -> Fut,
  finish: impl FnOnce(T) -> V + 'static,
) -> Result<PromiseRaw<'env, V>>
where
  T: Send + 'static,
  V: ToNapiValue,
  Fut: Future<Output = std::result::Result<T, Failure>> + Send + 'static,
{
  let (link, work): (_, Job<T>) = match request {
    Err(failure) => (None, Box::pin(ready(Err(failure)))),
    Ok((target, signal, options)) => {
      let (link, state) = match signal {
        Some(signal) => {
          abort::listen(env, signal).map(|(link, state)| (Some(link), Some(state)))?
        }
        None => (None, None),
      };
      let closed = target.closed();
      let pid = target.pid().as_raw();
      let run =
        |fired| -> Job<T> { Box::pin(until_stopped(job(target, options), fired, closed, pid)) };
      let work = match state {
        Some(State::Aborted) => Box::pin(ready(Err(Failure::Aborted))),
        Some(State::Armed(fired)) => run(Some(fired)),
        None => run(None),
      };
      (link, work)
    }
  };
  env.spawn_future_with_callback(async move { Ok(work.await) }, move |env, outcome| {
    let reason = link.map(|link| link.unlink(env)).transpose()?;
    match outcome {
      Ok(value) => Ok(finish(value)),
      Err(failure) => {
        let mut error = failure.to_js(env)?;
        if let (Failure::Aborted, Some(reason)) = (&failure, reason) {
          error.set_named_property("cause", reason)?;
        }
        Err(napi::Error::from(error.to_unknown()))
      }
    }
  })
}
