//! The `KillTarget` class as JavaScript gets it, defined by hand at load.
//!
//! napi-rs declares the class (`index.d.ts` and `index.js` come from the
//! `#[napi]` items in `kill_target`), but its generated glue costs as much as a
//! system call on every method: a borrow scope in an `Arc`, a global
//! `Mutex<HashMap>` locked twice, then the type-tag check. Here one callback
//! serves every method: it unwraps `this`, checks that the pointer is one
//! this thread wrapped (so a foreign receiver is a `TypeError`, never a
//! crash; see `ffi::unwrap`) and calls the Rust method. Each instance is one
//! `napi_wrap` of a `Box<KillTarget>`, with no reference or finalizer
//! closure of its own. The methods take `&self` and
//! keep their state in `RefCell`s, borrowed only across no JavaScript.

use std::cell::{Cell, RefCell};
use std::ffi::CStr;

use napi::bindgen_prelude::{Env, Function, JsObjectValue, Object, Result, ToNapiValue, Unknown};
use napi::JsValue;

use super::kill_target::KillTarget;
use crate::errors::Failure;
use crate::ffi::{self, CallbackInfo, Member, Persistent, RawEnv, RawValue};

/// A method or getter: the receiver, its one argument, its result.
type Method = fn(&Env, &KillTarget, Unknown) -> Result<RawValue>;

/// A static method that opens a target.
type Factory = fn(&Env, Unknown) -> Result<KillTarget>;

thread_local! {
  /// The constructor, for factories to make instances with.
  static CONSTRUCTOR: RefCell<Option<Persistent>> = const { RefCell::new(None) };
  /// The native value a factory hands to the constructor it is calling.
  static HANDED_OVER: Cell<Option<Box<KillTarget>>> = const { Cell::new(None) };
}

fn value(env: &Env, value: impl ToNapiValue) -> Result<RawValue> {
  Ok(value.into_unknown(env)?.raw())
}

/// Where a member is found on the prototype.
enum Key {
  Name(&'static CStr),
  /// `Symbol[name]`, where the host has it (`Symbol.dispose`).
  WellKnown(&'static str),
  /// `Symbol.for(name)`.
  Registered(&'static str),
}

/// The prototype: key, whether it is a getter, and the Rust behind it.
static MEMBERS: [(Key, bool, Method); 16] = [
  (Key::Name(c"pid"), true, |env, this, _| {
    value(env, this.pid())
  }),
  (Key::Name(c"raceFree"), true, |env, this, _| {
    value(env, this.race_free())
  }),
  (Key::Name(c"id"), true, |env, this, _| {
    value(env, this.id(env)?)
  }),
  (Key::Name(c"closed"), true, |env, this, _| {
    value(env, this.closed())
  }),
  (Key::Name(c"signal"), false, |env, this, arg| {
    value(env, this.signal(env, arg)?)
  }),
  (Key::Name(c"signalGroup"), false, |env, this, arg| {
    value(env, this.signal_group(env, arg)?)
  }),
  (Key::Name(c"isAlive"), false, |env, this, _| {
    value(env, this.is_alive(env)?)
  }),
  (Key::Name(c"exitStatus"), false, |env, this, _| {
    value(env, this.exit_status(env)?)
  }),
  (Key::Name(c"waitForExit"), false, |env, this, arg| {
    Ok(this.wait_for_exit(env, arg)?.raw())
  }),
  (Key::Name(c"terminate"), false, |env, this, arg| {
    Ok(this.terminate(env, arg)?.raw())
  }),
  (Key::Name(c"killOnExit"), false, |env, this, arg| {
    this.kill_on_exit(env, arg)?;
    value(env, ())
  }),
  (Key::Name(c"descendants"), false, |env, this, _| {
    let found = this.descendants(env)?;
    let instances = found.into_iter().map(|native| instance(env.raw(), native));
    ffi::array(env, instances.collect::<Result<Vec<_>>>()?)
  }),
  (Key::Name(c"close"), false, |env, this, _| {
    this.close(env);
    value(env, ())
  }),
  (
    Key::Registered("nodejs.util.inspect.custom"),
    false,
    |env, this, _| value(env, this.inspect()),
  ),
  (Key::WellKnown("dispose"), false, |env, this, _| {
    this.dispose(env);
    value(env, ())
  }),
  (Key::WellKnown("asyncDispose"), false, |env, this, _| {
    Ok(this.async_dispose(env)?.raw())
  }),
];

static FACTORIES: [(&CStr, Factory); 3] = [
  (c"fromChildProcess", |env, arg| {
    KillTarget::from_child_process(*env, arg)
  }),
  (c"fromPid", |env, arg| KillTarget::from_pid(*env, arg)),
  (c"fromId", |env, arg| KillTarget::from_id(*env, arg)),
];

/// Defines the class and exports it in place of napi-rs's declaration.
pub fn define(env: &Env, exports: &mut Object) -> Result<()> {
  // `Symbol` is a function: read its properties as an object's.
  let symbols: Unknown = env.get_global()?.get_named_property("Symbol")?;
  let symbols = Object::from_raw(env.raw(), symbols.raw());
  let symbol_for: Function<&str, Unknown> = symbols.get_named_property("for")?;
  let mut members = Vec::with_capacity(MEMBERS.len());
  for (key, getter, method) in &MEMBERS {
    let name = match key {
      Key::Name(name) => Ok(*name),
      Key::Registered(name) => Err(symbol_for.apply(symbols, *name)?.raw()),
      Key::WellKnown(name) => {
        let symbol: Unknown = symbols.get_named_property(name)?;
        match symbol.get_type()? {
          napi::ValueType::Symbol => Err(symbol.raw()),
          // An older host without it: the member is left out.
          _ => continue,
        }
      }
    };
    members.push(Member {
      name,
      getter: *getter,
      callback: call_method,
      data: method,
    });
  }
  let statics: Vec<_> = (FACTORIES.iter())
    .map(|(name, factory)| Member {
      name: Ok(*name),
      getter: false,
      callback: call_factory,
      data: factory,
    })
    .collect();
  let class = ffi::define_class(env, c"KillTarget", construct, &members, &statics)?;
  CONSTRUCTOR.with(|slot| -> Result<()> {
    *slot.borrow_mut() = Some(Persistent::new(env.raw(), class)?);
    Ok(())
  })?;
  exports.set_named_property("KillTarget", Object::from_raw(env.raw(), class))
}

/// Runs an entry point's body; what it fails with is thrown. A panic (none
/// is known to be reachable) becomes an exception too: unwinding into V8
/// would abort the process.
fn entry(raw: RawEnv, body: impl FnOnce() -> Result<RawValue>) -> RawValue {
  let outcome = std::panic::catch_unwind(std::panic::AssertUnwindSafe(body)).unwrap_or_else(|_| {
    Err(napi::Error::from_reason(
      "kill-target: an internal error (a panic)",
    ))
  });
  outcome.unwrap_or_else(|error| ffi::throw(raw, error))
}

/// Every method and getter: unwrap `this`, check its tag, call.
extern "C" fn call_method(raw: RawEnv, info: CallbackInfo) -> RawValue {
  entry(raw, || {
    let env = Env::from_raw(raw);
    let call = ffi::call_info::<Method>(&env, info)?;
    match ffi::unwrap::<KillTarget>(raw, call.this) {
      Some(this) => (call.data)(&env, this, call.arg),
      None => Err(Failure::InvalidThis.into_napi(&env)),
    }
  })
}

/// Every factory: open the target, then make the instance that holds it.
extern "C" fn call_factory(raw: RawEnv, info: CallbackInfo) -> RawValue {
  entry(raw, || {
    let env = Env::from_raw(raw);
    let call = ffi::call_info::<Factory>(&env, info)?;
    instance(raw, (call.data)(&env, call.arg)?)
  })
}

/// A new JavaScript object holding `native`: the constructor, called with
/// `native` handed over, wraps it.
fn instance(raw: RawEnv, native: KillTarget) -> Result<RawValue> {
  let constructor = CONSTRUCTOR.with(|slot| match slot.borrow().as_ref() {
    Some(constructor) => constructor.get(raw),
    None => Err(napi::Error::from_reason(
      "KillTarget is not defined on this thread",
    )),
  })?;
  HANDED_OVER.set(Some(Box::new(native)));
  let instance = ffi::new_instance(raw, constructor);
  // Still here only if the constructor never ran.
  drop(HANDED_OVER.take());
  instance
}

/// The constructor: wraps what a factory handed over; from anywhere else
/// (`new KillTarget()`), a `TypeError`.
extern "C" fn construct(raw: RawEnv, info: CallbackInfo) -> RawValue {
  entry(raw, || {
    let env = Env::from_raw(raw);
    let call = ffi::call_info::<()>(&env, info)?;
    match HANDED_OVER.take() {
      Some(native) => ffi::wrap(raw, call.this, native).map(|()| call.this),
      None => Err(Failure::IllegalConstructor.into_napi(&env)),
    }
  })
}
