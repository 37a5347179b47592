//! Turns a job on a target into a JavaScript promise: the job runs on the
//! runtime, stops when the caller's AbortSignal fires or the target is
//! closed, and a failure rejects with its Node-shaped error.
//!
//! Every promise settles through one threadsafe function per JavaScript
//! thread. napi-rs's own futures make one per promise (each with a libuv
//! handle, a queue and a cleanup hook): thousands of pending waits would
//! each hold one, and libuv scans all of them at every wake-up.

use std::cell::RefCell;
use std::future::{ready, Future};
use std::pin::Pin;
use std::sync::Arc;

use napi::bindgen_prelude::{Env, JsObjectValue, Object, PromiseRaw, Result, ToNapiValue, Unknown};
use napi::threadsafe_function::{ThreadsafeFunction, ThreadsafeFunctionCallMode};
use napi::{JsValue, Status};

use crate::abort::{self, AbortLink, State};
use crate::errors::{self, Failure};
use crate::sys;
use crate::target::Target;
use crate::wait::until_stopped;

type Job<T> = Pin<Box<dyn Future<Output = std::result::Result<T, Failure>> + Send>>;

/// What a method checked before starting: the target, the AbortSignal from
/// its options and the method's own options `P`; or why it cannot start.
pub type Request<'env, P> = std::result::Result<(Arc<Target>, Option<Object<'env>>, P), Failure>;

/// Work for the JavaScript thread: settle one promise.
type Settle = Box<dyn FnOnce(&Env) + Send>;

/// Weak: it holds the event loop only while a promise is pending (`hold`).
type Channel = ThreadsafeFunction<Settle, (), (), Status, false, true>;

thread_local! {
  /// This JavaScript thread's channel and how many of its promises are pending.
  static CHANNEL: RefCell<Option<(Arc<Channel>, usize)>> = const { RefCell::new(None) };
}

pub fn spawn<'env, P, T, V, Fut>(
  env: &'env Env,
  request: Request<'env, P>,
  job: impl FnOnce(Arc<Target>, P) -> Fut,
  finish: impl FnOnce(T) -> V + Send + 'static,
) -> Result<PromiseRaw<'env, V>>
where
  T: Send + 'static,
  V: ToNapiValue,
  Fut: Future<Output = std::result::Result<T, Failure>> + Send + 'static,
{
  // First: while the caller's exception is pending, N-API makes no promise.
  let started = start(env, request, job);
  let (deferred, promise) = sys::create_promise(env)?;
  let promise = PromiseRaw::new(env.raw(), promise.raw());
  let (link, work) = match started {
    Ok(started) => started,
    Err(thrown) => {
      sys::settle(env, deferred, Err(thrown))?;
      return Ok(promise);
    }
  };
  let channel = hold(env)?;
  napi::bindgen_prelude::spawn(async move {
    let outcome = work.await;
    let settle: Settle = Box::new(move |env| {
      let value = settled_value(env, link, outcome, finish);
      // Only a dying environment refuses a settle; nothing is left to tell.
      let _ = sys::settle(env, deferred, value);
      let _ = release(env);
    });
    // Closing: the environment is going away with the promise.
    let _ = channel.call(settle, ThreadsafeFunctionCallMode::NonBlocking);
  });
  Ok(promise)
}

/// The job, stopped by the AbortSignal or `close()`, and the listener on the
/// signal; or, when the caller's code threw while the call read its options
/// or listened to its signal, what it threw: nothing starts.
fn start<'env, P, T, Fut>(
  env: &'env Env,
  request: Request<'env, P>,
  job: impl FnOnce(Arc<Target>, P) -> Fut,
) -> std::result::Result<(Option<AbortLink>, Job<T>), Unknown<'env>>
where
  T: Send + 'static,
  Fut: Future<Output = std::result::Result<T, Failure>> + Send + 'static,
{
  let (target, signal, options) = match request {
    Ok(request) => request,
    Err(failure @ Failure::Thrown) => return Err(errors::thrown(env, failure.into_napi(env))),
    Err(failure) => return Ok((None, Box::pin(ready(Err(failure))))),
  };
  let (link, state) = match signal.map(|signal| abort::listen(env, signal)) {
    Some(Ok((link, state))) => (Some(link), Some(state)),
    Some(Err(error)) => return Err(errors::thrown(env, error)),
    None => (None, None),
  };
  let closed = target.closed();
  let pid = target.pid().as_raw();
  // The job in a box of its own: moved into `until_stopped` inline, it
  // would be stored twice in that future (as argument and as local), and
  // a pending wait would carry both copies.
  let run = |fired| -> Job<T> {
    let work = Box::pin(job(target, options));
    Box::pin(until_stopped(work, fired, closed, pid))
  };
  let work = match state {
    Some(State::Aborted) => Box::pin(ready(Err(Failure::Aborted))),
    Some(State::Armed(fired)) => run(Some(fired)),
    None => run(None),
  };
  Ok((link, work))
}

/// What the promise settles with: `Ok` resolves, `Err` rejects.
fn settled_value<'env, T, V: ToNapiValue>(
  env: &'env Env,
  link: Option<AbortLink>,
  outcome: std::result::Result<T, Failure>,
  finish: impl FnOnce(T) -> V,
) -> std::result::Result<Unknown<'env>, Unknown<'env>> {
  let rejection = |error| errors::thrown(env, error);
  let reason = link
    .map(|link| link.unlink(env))
    .transpose()
    .map_err(rejection)?;
  match outcome {
    Ok(value) => finish(value).into_unknown(env).map_err(rejection),
    Err(failure) => {
      let error = failure.to_js(env).map_err(rejection)?;
      if let (Failure::Aborted, Some(reason)) = (&failure, reason) {
        let mut error = error.coerce_to_object().map_err(rejection)?;
        error
          .set_named_property("cause", reason)
          .map_err(rejection)?;
      }
      Err(error)
    }
  }
}

/// Counts one more pending promise on this thread, holding the event loop
/// from the first; makes the channel at the first use.
fn hold(env: &Env) -> Result<Arc<Channel>> {
  CHANNEL.with(|cell| {
    let mut slot = cell.borrow_mut();
    let (channel, pending) = match slot.as_mut() {
      Some(made) => made,
      None => slot.insert((Arc::new(make_channel(env)?), 0)),
    };
    if *pending == 0 {
      sys::hold_event_loop(env, &channel.handle, true)?;
    }
    *pending += 1;
    Ok(channel.clone())
  })
}

/// One promise fewer; the event loop is let go with the last.
fn release(env: &Env) -> Result<()> {
  CHANNEL.with(|cell| match cell.borrow_mut().as_mut() {
    Some((channel, pending)) => {
      *pending -= 1;
      match *pending {
        0 => sys::hold_event_loop(env, &channel.handle, false),
        _ => Ok(()),
      }
    }
    None => Ok(()),
  })
}

fn make_channel(env: &Env) -> Result<Channel> {
  let function = env.create_function_from_closure::<(), (), _>("settle", |_| Ok(()))?;
  function
    .build_threadsafe_function::<Settle>()
    .weak::<true>()
    .callee_handled::<false>()
    .build_callback(|call| {
      (call.value)(&call.env);
      Ok(())
    })
}
