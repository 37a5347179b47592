//! Which loop serves this process's waits, decided once, at load, by the
//! host rather than by whether a symbol resolves: Bun exports `uv_*`
//! functions that abort the process, and Deno's `uv_poll` is a polyfill
//! that starts a thread per poll and checks every 10 ms.

use std::sync::OnceLock;

use napi::bindgen_prelude::{Env, JsObjectValue};

use crate::ffi;

/// Set to a non-empty value other than `0` to serve waits from a helper
/// thread even under Node (the path Bun and Deno take).
pub const THREAD_ENV: &str = "KILL_TARGET_WAIT_THREAD";

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum WaitPath {
  /// Node's own libuv loop, on each JavaScript thread.
  Libuv,
  /// A helper thread, and a threadsafe function back to each JavaScript thread.
  Thread,
}

impl WaitPath {
  pub fn name(self) -> &'static str {
    match self {
      WaitPath::Libuv => "libuv",
      WaitPath::Thread => "thread",
    }
  }
}

static PATH: OnceLock<WaitPath> = OnceLock::new();

/// Decides the path at the first load of the addon in this process.
pub fn decide(env: &Env) {
  PATH.get_or_init(|| {
    let forced = std::env::var_os(THREAD_ENV).is_some_and(|v| !v.is_empty() && v != "0");
    match !forced && is_node(env) && ffi::has_libuv() && ffi::uv_loop(env).is_ok() {
      true => WaitPath::Libuv,
      false => WaitPath::Thread,
    }
  });
}

/// The path decided at load; the helper thread if nothing was decided.
pub fn wait_path() -> WaitPath {
  PATH.get().copied().unwrap_or(WaitPath::Thread)
}

/// Node or a host built on it (Electron): neither Bun nor Deno, which both
/// announce themselves by a global of their name.
fn is_node(env: &Env) -> bool {
  let Ok(global) = env.get_global() else {
    return false;
  };
  let has = |name| global.has_named_property(name).unwrap_or(true);
  !has("Bun") && !has("Deno")
}
