//! The N-API calls napi-rs has no form for: a class defined by hand (its
//! callbacks and wraps), promises settled directly, a callback scope for
//! work that starts in libuv, a threadsafe function's hold on the loop.

#![allow(unsafe_code)]

use std::any::TypeId;
use std::cell::RefCell;
use std::collections::HashMap;
use std::ffi::{c_void, CStr};
use std::ptr;

use napi::bindgen_prelude::{Env, JsError, Object, Unknown};
use napi::sys;
use napi::JsValue;

pub use sys::{napi_callback_info as CallbackInfo, napi_env as RawEnv, napi_value as RawValue};

/// What N-API gives a native callback: the receiver, the first argument
/// (`undefined` when absent) and the data the function was defined with.
pub struct Call<'env, D: 'static> {
  pub this: RawValue,
  pub arg: Unknown<'env>,
  pub data: &'static D,
}

/// `napi_get_cb_info` for one argument, in a callback that [`define_class`]
/// registered with a `Member<D>`, whose data is a `&'static D`.
pub fn call_info<'env, D>(env: &'env Env, info: CallbackInfo) -> napi::Result<Call<'env, D>> {
  let (mut argc, mut arg, mut this, mut data) =
    (1, ptr::null_mut(), ptr::null_mut(), ptr::null_mut());
  // SAFETY: `info` is the callback info N-API passed to the running callback
  // on this thread; the out-pointers are ours and room is given for one
  // argument (N-API fills a missing one with `undefined`).
  let status =
    unsafe { sys::napi_get_cb_info(env.raw(), info, &mut argc, &mut arg, &mut this, &mut data) };
  check(status)?;
  Ok(Call {
    this,
    // SAFETY: a live value of `env`, valid for this callback.
    arg: unsafe { Unknown::from_raw_unchecked(env.raw(), arg) },
    // SAFETY: the data of a `Member<D>`: a `&'static D`, never null.
    data: unsafe { &*data.cast::<D>() },
  })
}

thread_local! {
  /// Every native value this thread has wrapped and not yet finalized, by
  /// address, with its type: the proof that a pointer `napi_unwrap` returns
  /// is one of ours before it is read. It does what a type tag does
  /// (`napi_check_object_type_tag`) for a hash lookup instead of a second
  /// private-symbol lookup, which costs as much as the unwrap itself, and
  /// spares the tag's stamp at construction.
  static WRAPPED: RefCell<HashMap<usize, TypeId, AddressHash>> = RefCell::new(HashMap::default());
}

/// Hashes an address for `WRAPPED`, which is looked up on every call: a
/// multiply and a fold instead of SipHash, whose resistance to chosen keys
/// nothing needs here (the keys are our own allocations).
#[derive(Default)]
struct AddressHasher(u64);

impl std::hash::Hasher for AddressHasher {
  fn finish(&self) -> u64 {
    self.0
  }

  fn write(&mut self, bytes: &[u8]) {
    for &byte in bytes {
      self.write_u64(u64::from(byte) ^ self.0.rotate_left(8));
    }
  }

  fn write_usize(&mut self, address: usize) {
    self.write_u64(address as u64);
  }

  fn write_u64(&mut self, value: u64) {
    // Allocations are 16-byte aligned: fold the high half down so the low
    // bits, which pick the bucket, vary.
    let mixed = value.wrapping_mul(0x9e37_79b9_7f4a_7c15);
    self.0 = mixed ^ (mixed >> 32);
  }
}

type AddressHash = std::hash::BuildHasherDefault<AddressHasher>;

/// The native value wrapped in `this`, if [`wrap`] wrapped it as a `T`.
/// Anything else (a plain object, another class's instance, another
/// addon's) is `None`, so a foreign receiver can never be read as a `T`.
pub fn unwrap<'a, T: 'static>(env: RawEnv, this: RawValue) -> Option<&'a T> {
  let mut native = ptr::null_mut();
  // SAFETY: a live env and value on this thread; the out-pointer is ours.
  let status = unsafe { sys::napi_unwrap(env, this, &mut native) };
  if status != sys::Status::napi_ok {
    return None;
  }
  let ours =
    WRAPPED.with(|wrapped| wrapped.borrow().get(&(native as usize)) == Some(&TypeId::of::<T>()));
  // SAFETY: the address is a live `Box<T>` that `wrap` gave N-API: it was
  // recorded as a `T` then, and the finalizer forgets it before freeing it,
  // which cannot have happened while `this`, its object, is reachable.
  ours.then(|| unsafe { &*native.cast::<T>() })
}

/// Wraps `native` in the fresh object `this`; the object's finalizer drops
/// it. On failure `native` is dropped here.
pub fn wrap<T: 'static>(env: RawEnv, this: RawValue, native: Box<T>) -> napi::Result<()> {
  unsafe extern "C" fn finalize<T>(_env: RawEnv, data: *mut c_void, _hint: *mut c_void) {
    // At a thread's very end the record may be gone already: nothing to do.
    let _ = WRAPPED.try_with(|wrapped| wrapped.borrow_mut().remove(&(data as usize)));
    // SAFETY: `data` is the `Box<T>` that `wrap` gave N-API, finalized once.
    drop(unsafe { Box::from_raw(data.cast::<T>()) });
  }
  let native = Box::into_raw(native);
  // SAFETY: `this` is a live object of `env` with no wrap yet; no reference
  // is asked for (the last argument), which saves one per instance.
  let status = unsafe {
    sys::napi_wrap(
      env,
      this,
      native.cast(),
      Some(finalize::<T>),
      ptr::null_mut(),
      ptr::null_mut(),
    )
  };
  if let Err(error) = check(status) {
    // SAFETY: N-API did not take the box: it is still only ours.
    drop(unsafe { Box::from_raw(native) });
    return Err(error);
  }
  WRAPPED.with(|wrapped| {
    wrapped
      .borrow_mut()
      .insert(native as usize, TypeId::of::<T>())
  });
  Ok(())
}

/// A native callback N-API can call.
pub type Callback = unsafe extern "C" fn(RawEnv, CallbackInfo) -> RawValue;

/// One entry of a class: a method or a getter, by name or by symbol, and
/// the data its callback receives (see [`call_info`]).
pub struct Member<D: 'static> {
  pub name: Result<&'static CStr, RawValue>,
  pub getter: bool,
  pub callback: Callback,
  pub data: &'static D,
}

impl<D> Member<D> {
  fn descriptor(&self, attributes: sys::napi_property_attributes) -> sys::napi_property_descriptor {
    let (utf8name, name) = match self.name {
      Ok(text) => (text.as_ptr(), ptr::null_mut()),
      Err(symbol) => (ptr::null(), symbol),
    };
    let callback = Some(self.callback);
    sys::napi_property_descriptor {
      utf8name,
      name,
      method: if self.getter { None } else { callback },
      getter: if self.getter { callback } else { None },
      setter: None,
      value: ptr::null_mut(),
      attributes,
      data: (self.data as *const D).cast_mut().cast(),
    }
  }
}

/// `napi_define_class`: the constructor, its prototype's members and its
/// static ones.
pub fn define_class<M, S>(
  env: &Env,
  name: &CStr,
  constructor: Callback,
  members: &[Member<M>],
  statics: &[Member<S>],
) -> napi::Result<RawValue> {
  // As a JavaScript class's own: methods writable and configurable,
  // accessors configurable, neither enumerable.
  use sys::PropertyAttributes::{configurable, static_, writable};
  let attributes = |getter: bool| {
    if getter {
      configurable
    } else {
      writable | configurable
    }
  };
  let descriptors: Vec<_> = (members.iter())
    .map(|m| m.descriptor(attributes(m.getter)))
    .chain(
      statics
        .iter()
        .map(|m| m.descriptor(attributes(m.getter) | static_)),
    )
    .collect();
  let mut class = ptr::null_mut();
  // SAFETY: a live env on its thread; every name is NUL-terminated or a live
  // symbol, and the descriptors outlive the call.
  let status = unsafe {
    sys::napi_define_class(
      env.raw(),
      name.as_ptr(),
      -1,
      Some(constructor),
      // The constructor's data, read as a `&'static ()`: dangling is valid.
      ptr::NonNull::<()>::dangling().as_ptr().cast(),
      descriptors.len(),
      descriptors.as_ptr(),
      &mut class,
    )
  };
  check(status)?;
  Ok(class)
}

/// `new constructor()`, with no arguments.
pub fn new_instance(env: RawEnv, constructor: RawValue) -> napi::Result<RawValue> {
  let mut instance = ptr::null_mut();
  // SAFETY: a live env and constructor on this thread, no arguments.
  check(unsafe { sys::napi_new_instance(env, constructor, 0, ptr::null(), &mut instance) })?;
  Ok(instance)
}

/// A JavaScript array of `items`.
pub fn array(env: &Env, items: Vec<RawValue>) -> napi::Result<RawValue> {
  let mut array = ptr::null_mut();
  // SAFETY: a live env on its thread; every item is a live value of it.
  unsafe {
    check(sys::napi_create_array_with_length(
      env.raw(),
      items.len(),
      &mut array,
    ))?;
    for (i, item) in items.into_iter().enumerate() {
      check(sys::napi_set_element(env.raw(), array, i as u32, item))?;
    }
  }
  Ok(array)
}

/// A strong reference that keeps a value alive across calls.
pub struct Persistent(sys::napi_ref);

impl Persistent {
  pub fn new(env: RawEnv, value: RawValue) -> napi::Result<Self> {
    let mut reference = ptr::null_mut();
    // SAFETY: a live env and value on this thread.
    check(unsafe { sys::napi_create_reference(env, value, 1, &mut reference) })?;
    Ok(Persistent(reference))
  }

  pub fn get(&self, env: RawEnv) -> napi::Result<RawValue> {
    let mut value = ptr::null_mut();
    // SAFETY: the reference belongs to `env`, which is alive on this thread.
    check(unsafe { sys::napi_get_reference_value(env, self.0, &mut value) })?;
    Ok(value)
  }
}

/// Throws `error` into `env` for the running callback to return with.
pub fn throw(env: RawEnv, error: napi::Error) -> RawValue {
  // SAFETY: a live env on its own thread, inside a callback.
  unsafe { JsError::from(error).throw_into(env) };
  ptr::null_mut()
}

/// A promise's resolver, settled once, on its env's thread.
pub struct Deferred(sys::napi_deferred);

/// A new pending promise and its resolver.
pub fn create_promise<'env>(env: &'env Env) -> napi::Result<(Deferred, Object<'env>)> {
  let (mut deferred, mut promise) = (ptr::null_mut(), ptr::null_mut());
  // SAFETY: a live env on its own thread (an `&Env` exists only there) and
  // two out-pointers we own.
  check(unsafe { sys::napi_create_promise(env.raw(), &mut deferred, &mut promise) })?;
  Ok((Deferred(deferred), Object::from_raw(env.raw(), promise)))
}

/// Resolves (`Ok`) or rejects (`Err`) the promise of `deferred`, which must
/// come from `env`, the env of the thread this runs on.
pub fn settle(env: &Env, deferred: Deferred, value: Result<Unknown, Unknown>) -> napi::Result<()> {
  // SAFETY: `deferred` is unsettled (settling consumes it), belongs to `env`
  // and we are on `env`'s thread; the value is a live handle of `env`.
  let status = unsafe {
    match value {
      Ok(value) => sys::napi_resolve_deferred(env.raw(), deferred.0, value.raw()),
      Err(reason) => sys::napi_reject_deferred(env.raw(), deferred.0, reason.raw()),
    }
  };
  check(status)
}

/// The exception JavaScript code left pending, cleared so a promise can
/// reject with it; `None` when none is pending. napi-rs leaves a throwing
/// getter's or method's exception pending; it propagates from a method that
/// returns, but a promise must take it before anything else runs.
pub fn take_exception(env: &Env) -> napi::Result<Option<Unknown<'_>>> {
  let mut pending = false;
  // SAFETY: a live env on its own thread and an out-pointer we own.
  check(unsafe { sys::napi_is_exception_pending(env.raw(), &mut pending) })?;
  if !pending {
    return Ok(None);
  }
  let mut exception = ptr::null_mut();
  // SAFETY: as above; an exception is pending, so one is returned.
  check(unsafe { sys::napi_get_and_clear_last_exception(env.raw(), &mut exception) })?;
  // SAFETY: a live handle of `env`, just returned by N-API.
  Ok(Some(unsafe {
    Unknown::from_raw_unchecked(env.raw(), exception)
  }))
}

/// `object[key]`, the key a C string: napi-rs's reader copies a `&str`
/// into a new `CString` on every read, and options are read on every call.
/// `None` when a getter threw: the exception stays pending.
pub fn named_property<'env>(object: &Object<'env>, key: &CStr) -> Option<Unknown<'env>> {
  let env = object.value().env;
  let mut value = ptr::null_mut();
  // SAFETY: a live object of `env` on its thread, a NUL-terminated key, and
  // an out-pointer of ours.
  let status = unsafe { sys::napi_get_named_property(env, object.raw(), key.as_ptr(), &mut value) };
  // SAFETY: a live handle of `env`, just returned by N-API.
  (status == sys::Status::napi_ok).then(|| unsafe { Unknown::from_raw_unchecked(env, value) })
}

/// The value of a number primitive; `None` for anything else, which costs
/// no more than the call (napi-rs's reader formats an error for it).
pub fn number(value: &Unknown) -> Option<f64> {
  let mut number = 0.0;
  // SAFETY: N-API writes the double into our local; `value` is a live
  // handle of its env, on that env's thread.
  let status = unsafe { sys::napi_get_value_double(value.value().env, value.raw(), &mut number) };
  (status == sys::Status::napi_ok).then_some(number)
}

/// The text of a JavaScript string, copied into `buffer` without
/// allocating; `None` if it is not a string, not UTF-8 on a character
/// boundary, or does not fit with room to spare (then it may be cut short).
pub fn short_string<'b>(value: &Unknown, buffer: &'b mut [u8]) -> Option<&'b str> {
  let mut length = 0;
  // SAFETY: N-API writes at most `buffer.len()` bytes (the text and a NUL)
  // into the buffer we own, and the length into `length`; `value` is a live
  // handle of its env, on that env's thread.
  let status = unsafe {
    sys::napi_get_value_string_utf8(
      value.value().env,
      value.raw(),
      buffer.as_mut_ptr().cast(),
      buffer.len(),
      &mut length,
    )
  };
  if status != sys::Status::napi_ok || length + 1 >= buffer.len() {
    return None;
  }
  std::str::from_utf8(&buffer[..length]).ok()
}

/// An async context for callbacks that start in libuv rather than in
/// JavaScript, so that Node runs the microtasks (promise reactions) they
/// queue, and async hooks see them, as for any of its own callbacks.
#[derive(Clone, Copy)]
pub struct AsyncContext(sys::napi_async_context);

impl AsyncContext {
  pub fn new(env: &Env, name: &str) -> napi::Result<Self> {
    let name = env.create_string(name)?;
    let mut context = ptr::null_mut();
    // SAFETY: a live env on its thread, a live string, no resource object.
    check(unsafe { sys::napi_async_init(env.raw(), ptr::null_mut(), name.raw(), &mut context) })?;
    Ok(AsyncContext(context))
  }

  /// Runs `work` inside a handle scope and this context's callback scope.
  /// Closing the callback scope runs the microtasks `work` queued.
  pub fn enter(&self, env: RawEnv, work: impl FnOnce(&Env)) {
    let (mut handles, mut scope) = (ptr::null_mut(), ptr::null_mut());
    // SAFETY: a live env, on its own thread, entered from a libuv callback
    // where no scope is open; each scope opened here is closed below, in
    // reverse order, and nothing escapes them but what `work` stores in
    // references of its own.
    unsafe {
      if sys::napi_open_handle_scope(env, &mut handles) != sys::Status::napi_ok {
        return;
      }
      let resource = {
        let mut object = ptr::null_mut();
        sys::napi_create_object(env, &mut object);
        object
      };
      let opened =
        sys::napi_open_callback_scope(env, resource, self.0, &mut scope) == sys::Status::napi_ok;
      work(&Env::from_raw(env));
      if opened {
        sys::napi_close_callback_scope(env, scope);
      }
      sys::napi_close_handle_scope(env, handles);
    }
  }
}

/// Makes the event loop wait for a threadsafe function (`hold`), or stop
/// waiting for it. napi-rs's own `refer`/`unref` need the function by
/// `&mut`, which one shared with the helper threads cannot lend.
pub fn hold_threadsafe_function(
  env: RawEnv,
  handle: &napi::threadsafe_function::ThreadsafeFunctionHandle,
  hold: bool,
) {
  handle.with_read_aborted(|aborted| {
    if aborted {
      return;
    }
    // SAFETY: the function is not aborted (checked under its lock), so it is
    // alive, and `env` is its env, on its own thread.
    unsafe {
      match hold {
        true => sys::napi_ref_threadsafe_function(env, handle.get_raw()),
        false => sys::napi_unref_threadsafe_function(env, handle.get_raw()),
      };
    }
  });
}

fn check(status: sys::napi_status) -> napi::Result<()> {
  match status {
    sys::Status::napi_ok => Ok(()),
    status => Err(napi::Error::from_status(napi::Status::from(status))),
  }
}
