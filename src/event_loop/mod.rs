//! Readiness and timers on the JavaScript thread that asked. Under Node the
//! pidfds are polled in libuv's own loop; elsewhere (Bun, Deno) helper
//! threads watch them and post back (`host` decides, once). `reactor` is
//! the one interface to both; `threads` the helper threads; `pending` the
//! table of each thread's operations that the events are delivered to.

pub mod host;
pub mod pending;
pub mod reactor;
pub mod threads;
