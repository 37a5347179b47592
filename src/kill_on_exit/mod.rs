//! `killOnExit()`. The armings are kept by a thread of this process
//! (`keeper`), which hands each process's pidfd to the guardian, a small
//! process of its own (the `guardian/` crate) started and spoken to through
//! `link`. Elsewhere than Linux there are no pidfds to hand over, and
//! `unsupported` says so.

#[cfg(target_os = "linux")]
mod keeper;
#[cfg(target_os = "linux")]
mod link;
#[cfg(not(target_os = "linux"))]
mod unsupported;

#[cfg(target_os = "linux")]
pub use keeper::{arm, disarm, options, supported, update, Options};
#[cfg(not(target_os = "linux"))]
pub use unsupported::{arm, disarm, options, supported, update, Options};
