//! One process, as plain data any thread can hold: by pidfd where the kernel
//! has them, by pid where it does not (`handle`); its descendants, found
//! race-free (`tree`); its durable name (`identity`). Nothing here waits or
//! knows of JavaScript.

mod handle;
pub mod identity;
pub mod tree;

pub use handle::{parent_by_number, ExitStatus, Process};
