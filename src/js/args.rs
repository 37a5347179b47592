//! Checks JavaScript arguments before anything reaches the kernel, with the
//! rules and messages of Node's own validators (`validateInteger`,
//! `validateAbortSignal`, `convertToValidSignal` as `process.kill` applies it).

use std::ffi::CStr;
use std::time::Duration;

use napi::bindgen_prelude::{JsObjectValue, Object, Unknown, ValueType};
use napi::JsValue;
use nix::unistd::Pid;

use crate::errors::Failure;
use crate::ffi;
use crate::linux::signal::{Signal, MAX_SIGNAL};
use crate::linux::sys::PID_MAX;
use crate::operations::terminate::DEFAULT_FORCE_KILL_AFTER;

type Checked<T> = std::result::Result<T, Failure>;

/// A pid: an integer in 1..=4194304. 0 and negative numbers would make
/// `kill(2)` signal whole groups, so they never pass.
pub fn pid(value: &Unknown, name: &'static str) -> Checked<Pid> {
  integer(value, name, 1, PID_MAX.into()).map(|pid| Pid::from_raw(pid as i32))
}

/// A string, read as UTF-8 (a lone surrogate becomes U+FFFD).
pub fn string(value: &Unknown, name: &'static str) -> Checked<String> {
  match kind(value) {
    ValueType::String => Ok(string_of(value)),
    _ => Err(wrong_type(value, name, "of type string")),
  }
}

/// A signal name or number; `undefined` means `fallback`.
pub fn signal(value: &Unknown, name: &'static str, fallback: Signal) -> Checked<Signal> {
  // A number is read at once (the hot path: `signal(0)`); a failed read
  // costs only the call, and the type then says what else it is.
  if let Some(number) = ffi::number(value) {
    let (min, max) = (0, MAX_SIGNAL.into());
    let number = in_range(number, value, name, min, max)?;
    // Every number in range names a signal; one that did not would be out
    // of range all the same.
    return Signal::from_number(number as i32).ok_or_else(|| between(value, name, min, max));
  }
  match kind(value) {
    ValueType::Undefined => Ok(fallback),
    // Read into a buffer on the stack: a known name costs no allocation.
    ValueType::String => ffi::short_string(value, &mut [0; 32])
      .and_then(Signal::from_name)
      .ok_or_else(|| Failure::UnknownSignal(string_of(value))),
    _ => Err(wrong_type(value, name, "one of type string or number")),
  }
}

/// A signal that can end a process, for `terminate()`: not 0 (which sends
/// nothing) nor one that stops or continues it (SIGSTOP, SIGCONT, SIGTSTP,
/// SIGTTIN, SIGTTOU), which the escalation's SIGCONT would undo or which
/// would leave it stopped.
pub fn kill_signal(value: &Unknown, name: &'static str) -> Checked<Signal> {
  let signal = self::signal(value, name, Signal::SIGTERM)?;
  match signal.can_terminate() {
    true => Ok(signal),
    false => Err(Failure::CannotTerminate {
      name,
      signal: match kind(value) {
        ValueType::String => format!("'{}'", string_of(value)),
        _ => received_number(value),
      },
    }),
  }
}

/// Node's `validateInteger`: a number, an integer, within `min..=max`.
fn integer(value: &Unknown, name: &'static str, min: i64, max: i64) -> Checked<i64> {
  match ffi::number(value) {
    Some(number) => in_range(number, value, name, min, max),
    None => Err(wrong_type(value, name, "of type number")),
  }
}

/// The integer check and range check of `validateInteger`, for a number
/// already read from `value`.
fn in_range(number: f64, value: &Unknown, name: &'static str, min: i64, max: i64) -> Checked<i64> {
  if number.fract() != 0.0 || !number.is_finite() {
    return Err(Failure::OutOfRange {
      name,
      range: "an integer".to_owned(),
      received: received_number(value),
    });
  }
  if number < min as f64 || number > max as f64 {
    return Err(between(value, name, min, max));
  }
  Ok(number as i64)
}

/// Node's ERR_OUT_OF_RANGE for a number outside `min..=max`.
fn between(value: &Unknown, name: &'static str, min: i64, max: i64) -> Failure {
  Failure::OutOfRange {
    name,
    range: format!(">= {min} && <= {max}"),
    received: received_number(value),
  }
}

/// An options object, or `undefined` for none.
pub fn options<'env>(value: &Unknown<'env>) -> Checked<Option<Object<'env>>> {
  match kind(value) {
    ValueType::Undefined => Ok(None),
    _ => object(value, "options").map(Some),
  }
}

/// `killOnExit`'s argument: `false` (`None`), `true` or `undefined`
/// (`Some(None)`), or an options object.
pub fn switch_or_options<'env>(value: &Unknown<'env>) -> Checked<Option<Option<Object<'env>>>> {
  match kind(value) {
    ValueType::Boolean => Ok(bool_of(value).then_some(None)),
    ValueType::Undefined => Ok(Some(None)),
    ValueType::Object => object(value, "options").map(|options| Some(Some(options))),
    _ => Err(wrong_type(value, "options", "of type boolean or object")),
  }
}

/// An object (not `null`, not a function).
pub fn object<'env>(value: &Unknown<'env>, name: &'static str) -> Checked<Object<'env>> {
  match kind(value) {
    ValueType::Object => Ok(Object::from_raw(value.value().env, value.raw())),
    _ => Err(wrong_type(value, name, "of type object")),
  }
}

/// Reads a property: `None` when it is missing or `undefined`, `Thrown`
/// when its getter throws.
pub fn property<'env>(
  options: Option<&Object<'env>>,
  key: &CStr,
) -> Checked<Option<Unknown<'env>>> {
  let Some(options) = options else {
    return Ok(None);
  };
  let value = ffi::named_property(options, key).ok_or(Failure::Thrown)?;
  Ok((kind(&value) != ValueType::Undefined).then_some(value))
}

/// A delay in milliseconds: an integer from 0 to the longest delay
/// `setTimeout` honours, as Node's `timeout` options are.
pub fn millis(value: &Unknown, name: &'static str) -> Checked<Duration> {
  integer(value, name, 0, i32::MAX.into()).map(|ms| Duration::from_millis(ms as u64))
}

/// `forceKillAfterDelay`: milliseconds (default 5000), or `false` for never.
pub fn delay_or_never(value: Option<&Unknown>, name: &'static str) -> Checked<Option<Duration>> {
  match value {
    None => Ok(Some(DEFAULT_FORCE_KILL_AFTER)),
    Some(value) if kind(value) == ValueType::Boolean && !bool_of(value) => Ok(None),
    Some(value) if kind(value) == ValueType::Number => millis(value, name).map(Some),
    Some(value) => Err(wrong_type(value, name, "of type number or false")),
  }
}

/// A boolean option.
pub fn flag(value: Option<&Unknown>, name: &'static str) -> Checked<bool> {
  match value {
    None => Ok(false),
    Some(value) if kind(value) == ValueType::Boolean => Ok(bool_of(value)),
    Some(value) => Err(wrong_type(value, name, "of type boolean")),
  }
}

/// An AbortSignal: an object with an `aborted` property, as Node's
/// `validateAbortSignal` asks, and the EventTarget methods this package
/// listens with, so a look-alike fails here and not halfway through a call.
pub fn abort_signal<'env>(value: Option<Unknown<'env>>) -> Checked<Option<Object<'env>>> {
  let Some(value) = value else {
    return Ok(None);
  };
  let not_a_signal = || wrong_type(&value, "options.signal", "an instance of AbortSignal");
  let signal = object(&value, "options.signal").map_err(|_| not_a_signal())?;
  let method = |name| -> Checked<bool> {
    let method = property(Some(&signal), name)?;
    Ok(method.is_some_and(|m| kind(&m) == ValueType::Function))
  };
  let aborted = signal
    .has_named_property("aborted")
    .map_err(|_| Failure::Thrown)?;
  match aborted && method(c"addEventListener")? && method(c"removeEventListener")? {
    true => Ok(Some(signal)),
    false => Err(not_a_signal()),
  }
}

/// The value's JavaScript type; `Unknown` if even that cannot be read.
pub fn kind(value: &Unknown) -> ValueType {
  value.get_type().unwrap_or(ValueType::Unknown)
}

fn wrong_type(value: &Unknown, name: &'static str, expected: &'static str) -> Failure {
  Failure::ArgType {
    name,
    expected,
    received: received(value),
  }
}

fn bool_of(value: &Unknown) -> bool {
  value.coerce_to_bool().unwrap_or(false)
}

fn string_of(value: &Unknown) -> String {
  value
    .coerce_to_string()
    .and_then(|s| s.into_utf8())
    .and_then(|s| s.into_owned())
    .unwrap_or_default()
}

/// A number as JavaScript prints it (`1.5`, `NaN`, `1e+21`).
fn received_number(value: &Unknown) -> String {
  string_of(value)
}

/// `value.constructor.name`, when there is one.
fn constructor_name(value: &Unknown) -> Option<String> {
  let object = Object::from_raw(value.value().env, value.raw());
  let constructor: Unknown = object.get_named_property("constructor").ok()?;
  if kind(&constructor) != ValueType::Function {
    return None;
  }
  let constructor = Object::from_raw(constructor.value().env, constructor.raw());
  constructor
    .get_named_property::<String>("name")
    .ok()
    .filter(|name| !name.is_empty())
}

/// How Node's `ERR_INVALID_ARG_TYPE` describes the value it received.
fn received(value: &Unknown) -> String {
  match kind(value) {
    ValueType::Null => "null".to_owned(),
    ValueType::Undefined => "undefined".to_owned(),
    ValueType::Function => "function".to_owned(),
    ValueType::Object => match constructor_name(value) {
      Some(name) => format!("an instance of {name}"),
      None => "[Object: null prototype]".to_owned(),
    },
    ValueType::String => {
      let text = string_of(value);
      let shown: String = text.chars().take(25).collect();
      let ellipsis = if shown.len() < text.len() { "..." } else { "" };
      format!("type string ('{shown}'{ellipsis})")
    }
    ValueType::BigInt => format!("type bigint ({}n)", string_of(value)),
    ValueType::Symbol => "type symbol".to_owned(),
    ValueType::Number => format!("type number ({})", string_of(value)),
    ValueType::Boolean => format!("type boolean ({})", string_of(value)),
    _ => "a value of unknown type".to_owned(),
  }
}
