//! What JavaScript sees: the `KillTarget` class (declared in
//! `kill_target` for napi-rs's typings, defined by hand in `class` for
//! speed), `capabilities()`, and the checks every argument passes before
//! anything reaches the kernel (`args`).

mod args;
pub mod capabilities;
mod class;
pub mod kill_target;

use napi::bindgen_prelude::{Env, Object, Result};
use napi_derive::napi;

use crate::event_loop::host;

/// Decides the wait path and defines the class users get (see `class`).
#[napi(module_exports)]
pub fn define(mut exports: Object, env: Env) -> Result<()> {
  host::decide(&env);
  class::define(&env, &mut exports)
}
