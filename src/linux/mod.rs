//! What this crate asks of the kernel: the system calls nix does not wrap,
//! each wrapped once (`sys`, where every `unsafe` system call lives), the
//! one probe that decides which of them this process uses (`probe`), and
//! signal names and numbers as Node spells them (`signal`). Other Unixes
//! build too: their pidfd calls answer ENOSYS, and the probe says so.

pub mod probe;
pub mod signal;
pub mod sys;
