//! kill-target: signal exactly the process you mean.
//!
//! The crate in layers, each a folder that imports only from those below it
//! (`layers`, below, checks it); ARCHITECTURE.md has the map and the
//! invariants:
//! - `js`            what JavaScript sees: the `KillTarget` class, its
//!   arguments, `capabilities()`
//! - `kill_on_exit`  armed processes, kept by a thread, and the link to the
//!   guardian process (the `guardian/` crate) that kills them
//! - `operations`    what a call leaves pending on its thread: waits,
//!   terminations, their promises and AbortSignals
//! - `event_loop`    readiness and timers on the thread that asked: libuv's
//!   loop, or helper threads
//! - `process`       one process by pidfd or pid, its tree, its durable id
//! - `errors`        every failure and its Node-shaped JavaScript error
//! - `linux`         the system calls, the one probe, signal names (`unsafe`)
//! - `ffi`           the N-API and libuv calls napi-rs has no form for
//!   (`unsafe`)

#![deny(clippy::all)]
#![deny(unsafe_code)]
// A panic must never cross into N-API or libuv (an abort), nor kill the
// keeper thread: failures are values. What remains is allowed one by one,
// each with the reason it cannot fire.
#![deny(clippy::expect_used, clippy::unwrap_used, clippy::panic)]

mod errors;
mod event_loop;
mod ffi;
pub mod js;
mod kill_on_exit;
mod linux;
mod operations;
mod process;

/// The layers, lowest first: a module may import from its own folder and
/// from any layer below its own, never from one beside or above it.
#[cfg(test)]
const LAYERS: &[&[&str]] = &[
  &["linux", "ffi"],
  &["errors"],
  &["process"],
  &["event_loop"],
  &["operations", "kill_on_exit"],
  &["js"],
];

#[cfg(test)]
mod layers {
  use std::path::Path;

  fn layer(module: &str) -> Option<usize> {
    super::LAYERS
      .iter()
      .position(|layer| layer.contains(&module))
  }

  /// Every `crate::<module>` path in `text`, outside comments.
  fn imports(text: &str) -> Vec<&str> {
    text
      .lines()
      .filter(|line| !line.trim_start().starts_with("//"))
      .flat_map(|line| {
        line
          .match_indices("crate::")
          .map(move |(at, found)| &line[at + found.len()..])
      })
      .map(|rest| {
        rest
          .split(|c: char| !c.is_ascii_alphanumeric() && c != '_')
          .next()
          .unwrap_or("")
      })
      .collect()
  }

  #[test]
  fn no_module_imports_one_beside_or_above_it() {
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let mut seen = Vec::new();
    for folder in std::fs::read_dir(&src).unwrap() {
      let folder = folder.unwrap().path();
      let module = folder.file_stem().unwrap().to_str().unwrap().to_owned();
      if module == "lib" {
        continue;
      }
      let own = layer(&module).unwrap_or_else(|| panic!("src/{module} is in no layer"));
      let files: Vec<_> = match folder.is_dir() {
        true => std::fs::read_dir(&folder)
          .unwrap()
          .map(|f| f.unwrap().path())
          .collect(),
        false => vec![folder.clone()],
      };
      for file in files {
        let text = std::fs::read_to_string(&file).unwrap();
        for import in imports(&text) {
          let below = layer(import).is_some_and(|other| other < own);
          assert!(
            import == module || below,
            "{} imports crate::{import}, which is not below {module}",
            file.display()
          );
        }
      }
      seen.push(module);
    }
    seen.sort();
    let mut named: Vec<_> = super::LAYERS.concat();
    named.sort();
    assert_eq!(
      seen, named,
      "every layer is a folder of src/ and every folder a layer"
    );
  }
}
