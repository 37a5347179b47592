//! What a call leaves pending on its JavaScript thread: a target's waits
//! (`target`), `waitForExit()` (`wait`), `terminate()` and its escalation
//! (`terminate`), each settled through a promise (`promise`) that an
//! AbortSignal may end (`abort`).

pub mod abort;
pub mod promise;
pub mod target;
pub mod terminate;
pub mod wait;
