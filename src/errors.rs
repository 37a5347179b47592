//! Every failure the library reports, and the one place that turns it into a
//! JavaScript error shaped the way Node shapes its own: TypeError/RangeError
//! with Node's `code` for bad arguments, and `Error` with `code`, `errno`
//! (negative, as libuv reports it) and `syscall` for a failed system call.

use napi::bindgen_prelude::{
  Env, JsError, JsObjectValue, JsRangeError, JsTypeError, Result, Status, Unknown,
};
use napi::JsValue;
use nix::errno::Errno;

use crate::ffi;

#[derive(Debug, PartialEq)]
pub enum Failure {
  /// A value of the wrong JavaScript type (`ERR_INVALID_ARG_TYPE`).
  ArgType {
    name: &'static str,
    expected: &'static str,
    received: String,
  },
  /// A number outside what the argument accepts (`ERR_OUT_OF_RANGE`).
  OutOfRange {
    name: &'static str,
    range: String,
    received: String,
  },
  /// A signal name Node does not know (`ERR_UNKNOWN_SIGNAL`).
  UnknownSignal(String),
  /// A child process object without a pid: its spawn failed.
  NotSpawned,
  /// `new KillTarget()`: targets come from the factories.
  IllegalConstructor,
  /// A method called on something that is not a `KillTarget`.
  InvalidThis,
  /// A `killSignal` that cannot end a process (0, or a stop/continue signal).
  CannotTerminate { name: &'static str, signal: String },
  /// A child process that has exited: Node has reported it, or its pid has
  /// already been reaped and given to a process that is not our child.
  AlreadyExited { pid: i32 },
  /// A system call failed.
  Sys {
    syscall: &'static str,
    errno: Errno,
    pid: i32,
  },
  /// Signals the kernel refused (EPERM) to some processes of a tree or a
  /// group, each named: every other member got them.
  Denied {
    syscall: &'static str,
    pids: Vec<i32>,
  },
  /// A string given as an id that is not one (`ERR_INVALID_ARG_VALUE`).
  InvalidId { received: String },
  /// An id whose process is gone, whoever has its pid now, or that is of
  /// another boot.
  NoSuchId { id: String },
  /// A process whose id was never read, and can no longer be made: its
  /// start time, all that named it, went when it was reaped.
  IdUnknown { pid: i32 },
  /// An id of the pidfs kind where this process has no pidfs to check it.
  NeedsPidfs,
  /// A group signal to a process that leads no process group.
  NotGroupLeader { pid: i32 },
  /// A call on a target after `close()`.
  Closed,
  /// `close()` ran while this operation waited.
  ClosedWhileWaiting { pid: i32 },
  /// The operation's AbortSignal fired.
  Aborted,
  /// `killOnExit()` cannot keep its guarantee here, for the reason given.
  KillOnExitUnsupported(String),
  /// The caller's own code, run by this call (a getter on an argument, an
  /// AbortSignal's `addEventListener`), threw. Its exception is pending: a
  /// method lets it propagate, a promise rejects with it.
  Thrown,
}

#[derive(Debug, PartialEq, Eq)]
pub enum Class {
  Error,
  TypeError,
  RangeError,
}

/// What a JavaScript error for a failure looks like, before it exists.
#[derive(Debug, PartialEq, Eq)]
pub struct Shape {
  pub class: Class,
  pub name: Option<&'static str>,
  pub code: String,
  pub message: String,
  /// `errno` and `syscall` of a failed system call.
  pub syscall: Option<(i32, &'static str)>,
  /// The processes a signal was refused to, where some others got it.
  pub pids: Vec<i32>,
}

impl Failure {
  /// A failed system call, from the error std or tokio reported.
  pub fn sys(syscall: &'static str, error: std::io::Error, pid: nix::unistd::Pid) -> Self {
    Failure::Sys {
      syscall,
      errno: Errno::from_raw(error.raw_os_error().unwrap_or(libc::EIO)),
      pid: pid.as_raw(),
    }
  }

  /// The kernel refused a signal: the process is another user's.
  pub fn is_denied(&self) -> bool {
    matches!(
      self,
      Failure::Sys {
        errno: Errno::EPERM,
        ..
      }
    )
  }

  /// `None` for `Thrown`: that error is the caller's, not one shaped here.
  pub fn shape(&self) -> Option<Shape> {
    let plain = |class, code: &str, message: String| Shape {
      class,
      name: None,
      code: code.to_owned(),
      message,
      syscall: None,
      pids: Vec::new(),
    };
    Some(match self {
      Failure::Thrown => return None,
      Failure::ArgType {
        name,
        expected,
        received,
      } => plain(
        Class::TypeError,
        "ERR_INVALID_ARG_TYPE",
        format!("The \"{name}\" argument must be {expected}. Received {received}"),
      ),
      Failure::OutOfRange {
        name,
        range,
        received,
      } => plain(
        Class::RangeError,
        "ERR_OUT_OF_RANGE",
        format!("The value of \"{name}\" is out of range. It must be {range}. Received {received}"),
      ),
      Failure::UnknownSignal(name) => plain(
        Class::TypeError,
        "ERR_UNKNOWN_SIGNAL",
        format!("Unknown signal: {name}"),
      ),
      Failure::NotSpawned => plain(
        Class::TypeError,
        "ERR_INVALID_ARG_VALUE",
        "The \"child\" argument has no pid: the child process failed to spawn".to_owned(),
      ),
      Failure::IllegalConstructor => plain(
        Class::TypeError,
        "ERR_ILLEGAL_CONSTRUCTOR",
        "Illegal constructor: use KillTarget.fromChildProcess() or KillTarget.fromPid()".to_owned(),
      ),
      Failure::InvalidThis => plain(
        Class::TypeError,
        "ERR_INVALID_THIS",
        "Value of \"this\" must be of type KillTarget".to_owned(),
      ),
      Failure::CannotTerminate { name, signal } => plain(
        Class::TypeError,
        "ERR_INVALID_ARG_VALUE",
        format!("The argument '{name}' cannot end a process. Received {signal}"),
      ),
      Failure::AlreadyExited { pid } => Shape {
        syscall: None,
        ..plain(
          Class::Error,
          "ESRCH",
          format!("Child process {pid} has already exited: its pid may belong to another process now"),
        )
      },
      Failure::Sys {
        syscall,
        errno,
        pid,
      } => Shape {
        syscall: Some((-(*errno as i32), syscall)),
        ..plain(
          Class::Error,
          &format!("{errno:?}"),
          format!("{syscall} {errno:?}: {} (pid {pid})", errno.desc()),
        )
      },
      Failure::Denied { syscall, pids } => {
        let listed: Vec<String> = pids.iter().map(i32::to_string).collect();
        let (noun, listed) = match listed.len() {
          1 => ("pid", listed.join("")),
          _ => ("pids", listed.join(", ")),
        };
        Shape {
          syscall: Some((-libc::EPERM, syscall)),
          pids: pids.clone(),
          ..plain(
            Class::Error,
            "EPERM",
            format!(
              "{syscall} EPERM: {} ({noun} {listed})",
              Errno::EPERM.desc()
            ),
          )
        }
      }
      Failure::InvalidId { received } => plain(
        Class::TypeError,
        "ERR_INVALID_ARG_VALUE",
        format!(
          "The argument 'id' is not a process id (pidfs:PID:INODE:BOOT or starttime:PID:TICKS:BOOT). Received {}",
          quoted(received)
        ),
      ),
      Failure::NoSuchId { id } => plain(
        Class::Error,
        "ESRCH",
        format!("No process has the id {id}: it is gone, whoever has its pid now"),
      ),
      Failure::IdUnknown { pid } => plain(
        Class::Error,
        "ESRCH",
        format!(
          "Process {pid} was reaped before its id was read, and without pidfs (Linux ≥ 6.9) its id cannot be made after"
        ),
      ),
      Failure::NeedsPidfs => plain(
        Class::TypeError,
        "ERR_FEATURE_UNAVAILABLE_ON_PLATFORM",
        "An id of the pidfs kind needs pidfs (Linux ≥ 6.9), which this process does not have: capabilities().pidfs is false".to_owned(),
      ),
      Failure::NotGroupLeader { pid } => plain(
        Class::Error,
        "ERR_NOT_GROUP_LEADER",
        format!(
          "Process {pid} does not lead a process group; spawn it with `detached: true` to give it one"
        ),
      ),
      Failure::Closed => plain(
        Class::Error,
        "ERR_USE_AFTER_CLOSE",
        "This KillTarget is closed".to_owned(),
      ),
      Failure::ClosedWhileWaiting { pid } => plain(
        Class::Error,
        "ERR_USE_AFTER_CLOSE",
        format!("The KillTarget for process {pid} was closed while waiting for it to exit"),
      ),
      Failure::KillOnExitUnsupported(reason) => plain(
        Class::Error,
        "ERR_KILL_ON_EXIT_UNSUPPORTED",
        format!("killOnExit() cannot keep its guarantee here: {reason}"),
      ),
      Failure::Aborted => Shape {
        name: Some("AbortError"),
        ..plain(
          Class::Error,
          "ABORT_ERR",
          "The operation was aborted".to_owned(),
        )
      },
    })
  }

  /// The JavaScript error: built from its shape, or for `Thrown` the
  /// caller's exception, taken while it is pending.
  pub fn to_js<'env>(&self, env: &'env Env) -> Result<Unknown<'env>> {
    let Some(shape) = self.shape() else {
      return Ok(thrown(
        env,
        napi::Error::from_reason("no exception is pending"),
      ));
    };
    let error = napi::Error::new(shape.code, shape.message);
    let value = match shape.class {
      Class::Error => JsError::from(error).into_unknown(*env),
      Class::TypeError => JsTypeError::from(error).into_unknown(*env),
      Class::RangeError => JsRangeError::from(error).into_unknown(*env),
    };
    let mut object = value.coerce_to_object()?;
    if let Some(name) = shape.name {
      object.set_named_property("name", name)?;
    }
    if let Some((errno, syscall)) = shape.syscall {
      object.set_named_property("errno", errno)?;
      object.set_named_property("syscall", syscall)?;
    }
    if !shape.pids.is_empty() {
      object.set_named_property("pids", shape.pids)?;
    }
    Ok(object.to_unknown())
  }

  /// The failure as a `napi::Error` that carries the JavaScript object itself,
  /// so napi-rs throws exactly that object; for `Thrown`, one that tells
  /// napi-rs to let the pending exception propagate.
  pub fn into_napi(self, env: &Env) -> napi::Error {
    if self == Failure::Thrown {
      return napi::Error::new(Status::PendingException, "the caller's code threw");
    }
    match self.to_js(env) {
      Ok(value) => napi::Error::from(value),
      Err(error) => error,
    }
  }
}

/// A string as Node's messages quote it: on one line, cut short as
/// `util.inspect` cuts long ones.
fn quoted(text: &str) -> String {
  const SHOWN: usize = 100;
  let shown: String = (text.chars().take(SHOWN))
    .flat_map(|c| match c.is_control() {
      true => c.escape_debug().collect(),
      false => vec![c],
    })
    .collect();
  let more = text.chars().count().saturating_sub(SHOWN);
  match more {
    0 => format!("'{shown}'"),
    _ => format!("'{shown}'... {more} more characters"),
  }
}

/// What a failed N-API call means as a rejection: the exception the
/// caller's code left pending, or else the call's own error.
pub fn thrown(env: &Env, error: napi::Error) -> Unknown<'_> {
  match ffi::take_exception(env) {
    Ok(Some(exception)) => exception,
    _ => JsError::from(error).into_unknown(*env),
  }
}

#[cfg(test)]
mod tests {
  use super::*;

  #[test]
  fn syscall_failures_carry_node_style_errno_and_code() {
    let shape = Failure::Sys {
      syscall: "pidfd_send_signal",
      errno: Errno::EPERM,
      pid: 42,
    }
    .shape()
    .unwrap();
    assert_eq!(shape.class, Class::Error);
    assert_eq!(shape.code, "EPERM");
    assert_eq!(shape.syscall, Some((-1, "pidfd_send_signal")));
    assert_eq!(
      shape.message,
      "pidfd_send_signal EPERM: Operation not permitted (pid 42)"
    );
  }

  #[test]
  fn argument_failures_use_node_classes_and_codes() {
    let cases = [
      (
        Failure::ArgType {
          name: "pid",
          expected: "of type number",
          received: "type string ('1')".into(),
        },
        Class::TypeError,
        "ERR_INVALID_ARG_TYPE",
      ),
      (
        Failure::OutOfRange {
          name: "pid",
          range: "an integer".into(),
          received: "1.5".into(),
        },
        Class::RangeError,
        "ERR_OUT_OF_RANGE",
      ),
      (
        Failure::UnknownSignal("SIGFOO".into()),
        Class::TypeError,
        "ERR_UNKNOWN_SIGNAL",
      ),
      (
        Failure::NotSpawned,
        Class::TypeError,
        "ERR_INVALID_ARG_VALUE",
      ),
    ];
    for (failure, class, code) in cases {
      let shape = failure.shape().unwrap();
      assert_eq!((shape.class, shape.code.as_str()), (class, code));
      assert_eq!(shape.syscall, None);
    }
  }

  #[test]
  fn node_message_formats() {
    let message = |f: Failure| f.shape().unwrap().message;
    assert_eq!(
      message(Failure::OutOfRange {
        name: "pid",
        range: ">= 1 && <= 4194304".into(),
        received: "0".into()
      }),
      "The value of \"pid\" is out of range. It must be >= 1 && <= 4194304. Received 0"
    );
    assert_eq!(
      message(Failure::UnknownSignal("sigterm".into())),
      "Unknown signal: sigterm"
    );
  }

  #[test]
  fn an_invalid_id_is_quoted_and_cut_short() {
    let shape = |received: String| Failure::InvalidId { received }.shape().unwrap();
    let short = shape("x".into());
    assert_eq!(
      (short.class, short.code.as_str()),
      (Class::TypeError, "ERR_INVALID_ARG_VALUE")
    );
    assert!(short.message.ends_with("Received 'x'"));
    assert!(shape("é".repeat(130))
      .message
      .ends_with("'... 30 more characters"));
  }

  #[test]
  fn aborts_look_like_node_abort_errors() {
    let shape = Failure::Aborted.shape().unwrap();
    assert_eq!(shape.name, Some("AbortError"));
    assert_eq!(shape.code, "ABORT_ERR");
  }

  #[test]
  fn what_the_caller_threw_is_not_reshaped() {
    assert_eq!(Failure::Thrown.shape(), None);
  }
}
