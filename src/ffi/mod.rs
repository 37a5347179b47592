//! The N-API (`node_api`) and libuv (`libuv`) calls napi-rs has no form
//! for, each `unsafe` block of that kind in one of these two files. The
//! system calls live in `linux::sys`.

mod libuv;
mod node_api;

pub use libuv::*;
pub use node_api::*;
