//! The floor for benchmark/bench.mjs: each system call kill-target makes on
//! its hot paths, issued natively inside the same Node process as the code it
//! is compared with. Errors come back as `-errno` numbers, so nothing here
//! allocates or builds a JS error.
//!
//! From the least a call can cost upwards:
//! - `pidfdSignal0Loop(fd, n)`, `pidfdOpenCloseLoop(pid, n)`: the floor
//!   proper, the system call in a native loop, no JavaScript per call.
//! - `raw.*`: plain `extern "C"` N-API callbacks written against
//!   `napi::sys`, no napi-rs glue at all: `raw.pidfdSignal0(fd)` is one
//!   `napi_get_cb_info`, one `napi_get_value_int32`, the syscall and one
//!   `napi_get_boolean` — what one JavaScript → native crossing adds.
//! - `raw.RawTarget`: an N-API class (`napi_define_class` + `napi_wrap`)
//!   holding a pidfd, whose `signal(n)` adds only the `napi_unwrap` of `this`
//!   — the least a class-shaped `KillTarget#signal(0)` can cost; and
//!   `new RawTarget(pid)` + `close()`, the least a wrapped object holding a
//!   pidfd costs to make and close (`fromPid` + `close`).
//! - `signalAndWait(fds, signal)`: the kernel's time for N processes to take
//!   a signal and exit, seen on their pidfds from native code (`terminate()`
//!   of many at once).
//! - `armRoundTrip(fd, n)`: what arming for kill-on-exit cannot avoid:
//!   the permission check (`pidfd_send_signal(fd, 0)`), then the pidfd sent
//!   over a `SOCK_SEQPACKET` socket to another process and its answer read.
//! - free `#[napi]` functions (`pidfdSignal0(fd)`): the same, through the
//!   callback glue napi-rs generates.
//! - `FloorTarget`, a `#[napi]` class: what `KillTarget#signal(0)` must do at
//!   the minimum when written with napi-rs (unwrap `this`, read one number,
//!   one syscall, return a boolean).
//!
//! So `raw` → `#[napi]` is napi-rs's per-call cost, and `FloorTarget` →
//! `KillTarget` is kill-target's own. `raiseFileLimit` and `mallocInUse`
//! serve the many-targets measurement.

#![deny(clippy::all)]

use std::cell::Cell;
use std::ffi::{c_void, CStr};
use std::ptr;

use libc::{c_int, c_long};
use napi::bindgen_prelude::{sys, JsObjectValue, Object, Result};
use napi::JsValue;
use napi_derive::napi;

fn errno() -> i32 {
  std::io::Error::last_os_error()
    .raw_os_error()
    .unwrap_or(libc::EIO)
}

fn raw_pidfd_open(pid: i32) -> i32 {
  // SAFETY: integers only.
  let fd = unsafe { libc::syscall(libc::SYS_pidfd_open, pid as c_long, 0 as c_long) };
  if fd < 0 {
    -errno()
  } else {
    fd as i32
  }
}

fn raw_pidfd_send_signal(fd: i32, signal: i32) -> bool {
  // SAFETY: integers and a null siginfo, which the kernel allows.
  let rc = unsafe {
    libc::syscall(
      libc::SYS_pidfd_send_signal,
      fd as c_long,
      signal as c_long,
      std::ptr::null::<libc::siginfo_t>(),
      0 as c_long,
    )
  };
  rc == 0
}

/// An empty N-API function: the cost of crossing into native code.
#[napi]
pub fn noop() {}

/// `pidfd_open(pid, 0)`: the descriptor, or `-errno`.
#[napi]
pub fn pidfd_open(pid: i32) -> i32 {
  raw_pidfd_open(pid)
}

/// `close(fd)`: 0 or `-errno`.
#[napi]
pub fn close_fd(fd: i32) -> i32 {
  // SAFETY: closes a descriptor the caller got from `pidfdOpen`.
  if unsafe { libc::close(fd as c_int) } < 0 {
    -errno()
  } else {
    0
  }
}

/// `pidfd_send_signal(fd, 0, NULL, 0)`: true when the process exists.
#[napi]
pub fn pidfd_signal0(fd: i32) -> bool {
  raw_pidfd_send_signal(fd, 0)
}

/// `kill(pid, 0)`: true when the process exists.
#[napi]
pub fn kill0(pid: i32) -> bool {
  // SAFETY: integers only.
  unsafe { libc::kill(pid as libc::pid_t, 0) == 0 }
}

/// `poll({fd, POLLIN}, 1, 0)`: true while the process has not exited, the
/// same question `KillTarget#isAlive()` asks.
#[napi]
pub fn pidfd_alive(fd: i32) -> bool {
  let mut pollfd = libc::pollfd {
    fd: fd as c_int,
    events: libc::POLLIN,
    revents: 0,
  };
  // SAFETY: one pollfd we own, zero timeout.
  unsafe { libc::poll(&mut pollfd, 1, 0) == 0 }
}

/// The floor proper: `pidfd_send_signal(fd, 0)` `n` times in a native loop,
/// so no call crosses from JavaScript per signal. Counts the deliveries.
#[napi]
pub fn pidfd_signal0_loop(fd: i32, n: u32) -> u32 {
  (0..n).filter(|_| raw_pidfd_send_signal(fd, 0)).count() as u32
}

/// `pidfd_open(pid)` + `close` `n` times in a native loop. Counts the opens.
#[napi]
pub fn pidfd_open_close_loop(pid: i32, n: u32) -> u32 {
  (0..n)
    .filter(|_| {
      let fd = raw_pidfd_open(pid);
      fd >= 0 && close_fd(fd) == 0
    })
    .count() as u32
}

/// The check `fromChildProcess` adds to `fromPid`, `n` times in a native
/// loop: the parent from `PIDFD_GET_INFO` where the kernel has it, else
/// `waitid(P_PIDFD, WNOWAIT)`, which reaps nothing. Counts the answers.
#[napi]
pub fn parentage_check_loop(fd: i32, n: u32) -> u32 {
  let ioctl = || {
    // SAFETY: pidfd_info is plain integers, for which all-zero is valid.
    let mut info: libc::pidfd_info = unsafe { std::mem::zeroed() };
    info.mask = libc::PIDFD_INFO_PID as u64;
    // SAFETY: the kernel writes at most one pidfd_info into ours.
    unsafe { libc::ioctl(fd, libc::PIDFD_GET_INFO, &mut info) == 0 }
  };
  let waitid = || {
    // SAFETY: siginfo_t is plain data; WNOWAIT leaves the child unreaped.
    let mut info: libc::siginfo_t = unsafe { std::mem::zeroed() };
    let flags = libc::WEXITED | libc::WNOHANG | libc::WNOWAIT;
    // SAFETY: as above.
    unsafe { libc::waitid(libc::P_PIDFD, fd as libc::id_t, &mut info, flags) == 0 }
  };
  let check: &dyn Fn() -> bool = if ioctl() { &ioctl } else { &waitid };
  (0..n).filter(|_| check()).count() as u32
}

/// The kernel's time for `fds.len()` processes to take `signal` and exit:
/// each pidfd is in an epoll set first (outside the clock), then the clock
/// runs from the first `pidfd_send_signal` until every pidfd has been seen
/// readable. Milliseconds, or a negative number when a call fails.
#[napi]
pub fn signal_and_wait(fds: Vec<i32>, signal: i32) -> f64 {
  // SAFETY: plain system calls on descriptors the caller owns; the epoll
  // descriptor is ours and closed before returning.
  unsafe {
    let epoll = libc::epoll_create1(libc::EPOLL_CLOEXEC);
    if epoll < 0 {
      return -1.0;
    }
    for &fd in &fds {
      let mut event = libc::epoll_event {
        events: (libc::EPOLLIN | libc::EPOLLONESHOT) as u32,
        u64: fd as u64,
      };
      if libc::epoll_ctl(epoll, libc::EPOLL_CTL_ADD, fd, &mut event) != 0 {
        libc::close(epoll);
        return -1.0;
      }
    }
    let started = std::time::Instant::now();
    let sent = fds
      .iter()
      .filter(|&&fd| raw_pidfd_send_signal(fd, signal))
      .count();
    let mut seen = 0;
    let mut events = [libc::epoll_event { events: 0, u64: 0 }; 256];
    while seen < fds.len() && sent == fds.len() {
      let n = libc::epoll_wait(epoll, events.as_mut_ptr(), events.len() as c_int, 10_000);
      if n < 0 && errno() == libc::EINTR {
        continue;
      }
      if n <= 0 {
        break;
      }
      seen += n as usize;
    }
    let ms = started.elapsed().as_secs_f64() * 1000.0;
    libc::close(epoll);
    if seen == fds.len() && sent == fds.len() {
      ms
    } else {
      -1.0
    }
  }
}

/// The least an arming for kill-on-exit costs: the permission check
/// (`pidfd_send_signal(fd, 0)`), the pidfd sent with `SCM_RIGHTS` over a
/// `SOCK_SEQPACKET` socket pair to a forked process, and its 8-byte answer
/// read back. The other process does what a guardian cannot do without:
/// it waits in `epoll_wait`, receives the pidfd, adds it to its epoll set
/// (it keeps each), and answers; it ends when its socket does. One untimed
/// round trip (the fork's copied pages are touched then), then `n` timed:
/// microseconds per round trip, or -1 when one fails.
#[napi]
pub fn arm_round_trip(fd: i32, n: u32) -> f64 {
  let mut pair = [-1 as c_int; 2];
  // SAFETY: plain system calls on descriptors made here. The forked child
  // makes only system calls on its stack (no allocation, no locks), which is
  // what a child of a multithreaded process may do, and leaves by `_exit`.
  unsafe {
    if libc::socketpair(
      libc::AF_UNIX,
      libc::SOCK_SEQPACKET | libc::SOCK_CLOEXEC,
      0,
      pair.as_mut_ptr(),
    ) != 0
    {
      return -1.0;
    }
    let pid = libc::fork();
    if pid == 0 {
      libc::close(pair[0]);
      let epoll = libc::epoll_create1(libc::EPOLL_CLOEXEC);
      let mut event = libc::epoll_event {
        events: libc::EPOLLIN as u32,
        u64: pair[1] as u64,
      };
      if epoll < 0 || libc::epoll_ctl(epoll, libc::EPOLL_CTL_ADD, pair[1], &mut event) != 0 {
        libc::_exit(1);
      }
      let mut record = [0u8; 64];
      let mut control = [0u64; 8];
      let control_len = std::mem::size_of_val(&control);
      loop {
        if libc::epoll_wait(epoll, &mut event, 1, -1) < 0 && errno() != libc::EINTR {
          libc::_exit(1);
        }
        let mut iov = buffer(&mut record);
        let mut msg = message_header(&mut iov, &mut control, control_len);
        if libc::recvmsg(pair[1], &mut msg, libc::MSG_CMSG_CLOEXEC) <= 0 {
          libc::_exit(0);
        }
        let cmsg = libc::CMSG_FIRSTHDR(&msg);
        if !cmsg.is_null() && (*cmsg).cmsg_type == libc::SCM_RIGHTS {
          let held = ptr::read_unaligned(libc::CMSG_DATA(cmsg).cast::<c_int>());
          let mut watch = libc::epoll_event {
            events: libc::EPOLLIN as u32,
            u64: held as u64,
          };
          if libc::epoll_ctl(epoll, libc::EPOLL_CTL_ADD, held, &mut watch) != 0 {
            libc::_exit(1);
          }
        }
        if libc::send(pair[1], record.as_ptr().cast(), 8, libc::MSG_NOSIGNAL) != 8 {
          libc::_exit(1);
        }
      }
    }
    libc::close(pair[1]);
    let mut answered = 0;
    let mut started = std::time::Instant::now();
    if pid > 0 {
      let space = libc::CMSG_SPACE(std::mem::size_of::<c_int>() as u32) as usize;
      let mut control = [0u64; 8];
      let mut record = [0u8; 8];
      for i in 0..=n {
        if i == 1 {
          started = std::time::Instant::now();
        }
        if !raw_pidfd_send_signal(fd, 0) {
          break;
        }
        let mut iov = buffer(&mut record);
        let msg = message_header(&mut iov, &mut control, space);
        let cmsg = libc::CMSG_FIRSTHDR(&msg);
        (*cmsg).cmsg_level = libc::SOL_SOCKET;
        (*cmsg).cmsg_type = libc::SCM_RIGHTS;
        (*cmsg).cmsg_len = libc::CMSG_LEN(std::mem::size_of::<c_int>() as u32) as _;
        ptr::write_unaligned(libc::CMSG_DATA(cmsg).cast::<c_int>(), fd);
        if libc::sendmsg(pair[0], &msg, libc::MSG_NOSIGNAL) != 8 {
          break;
        }
        if libc::recv(pair[0], record.as_mut_ptr().cast(), record.len(), 0) != 8 {
          break;
        }
        answered += 1;
      }
    }
    let us = started.elapsed().as_secs_f64() * 1e6 / n as f64;
    libc::close(pair[0]);
    if pid > 0 {
      libc::waitpid(pid, ptr::null_mut(), 0);
    }
    if answered == n + 1 {
      us
    } else {
      -1.0
    }
  }
}

/// One buffer for a message header.
fn buffer(bytes: &mut [u8]) -> libc::iovec {
  libc::iovec {
    iov_base: bytes.as_mut_ptr().cast(),
    iov_len: bytes.len(),
  }
}

/// A message header over `iov` and the first `control_len` bytes of
/// `control`, for ancillary data. It allocates nothing: the forked child of
/// `arm_round_trip` uses it too. The header points into both, which must
/// stay in place while it is used.
fn message_header(iov: &mut libc::iovec, control: &mut [u64], control_len: usize) -> libc::msghdr {
  // SAFETY: msghdr is plain data, for which all zeroes are valid (null
  // pointers, zero lengths).
  let mut msg: libc::msghdr = unsafe { std::mem::zeroed() };
  msg.msg_iov = iov;
  msg.msg_iovlen = 1;
  msg.msg_control = control.as_mut_ptr().cast();
  msg.msg_controllen = control_len as _;
  msg
}

/// Raises this process's soft limit on open descriptors to at least `want`
/// (and the hard limit with it, where the process may). Returns the soft
/// limit in force afterwards.
#[napi]
pub fn raise_file_limit(want: f64) -> f64 {
  let mut limit = libc::rlimit {
    rlim_cur: 0,
    rlim_max: 0,
  };
  // SAFETY: one rlimit struct we own.
  unsafe { libc::getrlimit(libc::RLIMIT_NOFILE, &mut limit) };
  let want = want as libc::rlim_t;
  if limit.rlim_cur < want {
    let raised = libc::rlimit {
      rlim_cur: want,
      rlim_max: limit.rlim_max.max(want),
    };
    let capped = libc::rlimit {
      rlim_cur: want.min(limit.rlim_max),
      rlim_max: limit.rlim_max,
    };
    // SAFETY: as above; raising the hard limit needs CAP_SYS_RESOURCE, so
    // without it only the soft limit goes up, to the hard one.
    unsafe {
      if libc::setrlimit(libc::RLIMIT_NOFILE, &raised) != 0 {
        libc::setrlimit(libc::RLIMIT_NOFILE, &capped);
      }
      libc::getrlimit(libc::RLIMIT_NOFILE, &mut limit);
    }
  }
  limit.rlim_cur as f64
}

/// Bytes the C heap has handed out and not taken back, in every arena
/// (`mallinfo2`: `uordblks` + `hblkhd`). The V8 heap is not in it: this is
/// native memory only.
#[napi]
pub fn malloc_in_use() -> f64 {
  // SAFETY: mallinfo2 only reads the allocator's own statistics.
  let info = unsafe { libc::mallinfo2() };
  (info.uordblks + info.hblkhd) as f64
}

/// The least a napi-rs class wrapping a pidfd can do.
#[napi]
pub struct FloorTarget {
  fd: i32,
}

#[napi]
impl FloorTarget {
  #[napi(constructor)]
  pub fn new(pid: i32) -> napi::Result<Self> {
    let fd = raw_pidfd_open(pid);
    if fd < 0 {
      return Err(napi::Error::from_reason(format!(
        "pidfd_open: errno {}",
        -fd
      )));
    }
    Ok(FloorTarget { fd })
  }

  /// An empty method: the cost of a class method call (unwrap `this`).
  #[napi]
  pub fn noop(&self) {}

  /// `pidfd_send_signal(fd, signal)`: true when delivered.
  #[napi]
  pub fn signal(&self, signal: i32) -> bool {
    raw_pidfd_send_signal(self.fd, signal)
  }

  #[napi]
  pub fn close(&mut self) {
    if self.fd >= 0 {
      // SAFETY: our own descriptor, closed once.
      unsafe { libc::close(self.fd) };
      self.fd = -1;
    }
  }
}

impl Drop for FloorTarget {
  fn drop(&mut self) {
    self.close();
  }
}

// ------------------------------------------------------------ raw N-API --

/// Reads up to one argument and `this`.
///
/// # Safety
/// `env` and `info` must be the ones N-API passed to the running callback.
unsafe fn one_arg(env: sys::napi_env, info: sys::napi_callback_info) -> (i32, sys::napi_value) {
  let mut argc = 1usize;
  let mut argv = [ptr::null_mut(); 1];
  let mut this = ptr::null_mut();
  let mut number = -1;
  unsafe {
    sys::napi_get_cb_info(
      env,
      info,
      &mut argc,
      argv.as_mut_ptr(),
      &mut this,
      ptr::null_mut(),
    );
    if argc == 1 {
      sys::napi_get_value_int32(env, argv[0], &mut number);
    }
  }
  (number, this)
}

/// # Safety
/// `env` must be the running callback's.
unsafe fn boolean(env: sys::napi_env, value: bool) -> sys::napi_value {
  let mut result = ptr::null_mut();
  unsafe { sys::napi_get_boolean(env, value, &mut result) };
  result
}

/// # Safety
/// `env` must be the running callback's.
unsafe fn int32(env: sys::napi_env, value: i32) -> sys::napi_value {
  let mut result = ptr::null_mut();
  unsafe { sys::napi_create_int32(env, value, &mut result) };
  result
}

unsafe extern "C" fn c_noop(_: sys::napi_env, _: sys::napi_callback_info) -> sys::napi_value {
  ptr::null_mut()
}

unsafe extern "C" fn c_pidfd_signal0(
  env: sys::napi_env,
  info: sys::napi_callback_info,
) -> sys::napi_value {
  unsafe {
    let (fd, _) = one_arg(env, info);
    boolean(env, raw_pidfd_send_signal(fd, 0))
  }
}

unsafe extern "C" fn c_kill0(env: sys::napi_env, info: sys::napi_callback_info) -> sys::napi_value {
  unsafe {
    let (pid, _) = one_arg(env, info);
    boolean(env, libc::kill(pid, 0) == 0)
  }
}

unsafe extern "C" fn c_pidfd_alive(
  env: sys::napi_env,
  info: sys::napi_callback_info,
) -> sys::napi_value {
  unsafe {
    let (fd, _) = one_arg(env, info);
    boolean(env, pidfd_alive(fd))
  }
}

unsafe extern "C" fn c_pidfd_open(
  env: sys::napi_env,
  info: sys::napi_callback_info,
) -> sys::napi_value {
  unsafe {
    let (pid, _) = one_arg(env, info);
    int32(env, raw_pidfd_open(pid))
  }
}

unsafe extern "C" fn c_close_fd(
  env: sys::napi_env,
  info: sys::napi_callback_info,
) -> sys::napi_value {
  unsafe {
    let (fd, _) = one_arg(env, info);
    int32(env, close_fd(fd))
  }
}

/// `new RawTarget(pid)`: wraps `this` around a boxed pidfd (-1 once
/// closed). The finalizer closes it if still open and frees the box.
unsafe extern "C" fn c_target_new(
  env: sys::napi_env,
  info: sys::napi_callback_info,
) -> sys::napi_value {
  unsafe extern "C" fn finalize(_: sys::napi_env, data: *mut c_void, _: *mut c_void) {
    let fd = unsafe { Box::from_raw(data.cast::<Cell<c_int>>()) };
    if fd.get() >= 0 {
      unsafe { libc::close(fd.get()) };
    }
  }
  unsafe {
    let (pid, this) = one_arg(env, info);
    let fd = raw_pidfd_open(pid);
    if fd < 0 {
      sys::napi_throw_error(env, ptr::null(), c"pidfd_open failed".as_ptr());
      return ptr::null_mut();
    }
    let data = Box::into_raw(Box::new(Cell::new(fd)));
    sys::napi_wrap(
      env,
      this,
      data.cast(),
      Some(finalize),
      ptr::null_mut(),
      ptr::null_mut(),
    );
    this
  }
}

/// The pidfd cell of `this`.
///
/// # Safety
/// `this` must be a `RawTarget`, as in every call the bench makes.
unsafe fn target_fd<'a>(env: sys::napi_env, this: sys::napi_value) -> &'a Cell<c_int> {
  let mut data = ptr::null_mut();
  unsafe {
    sys::napi_unwrap(env, this, &mut data);
    &*data.cast::<Cell<c_int>>()
  }
}

/// `RawTarget#signal(n)`: unwrap `this`, one number, one syscall.
unsafe extern "C" fn c_target_signal(
  env: sys::napi_env,
  info: sys::napi_callback_info,
) -> sys::napi_value {
  unsafe {
    let (signal, this) = one_arg(env, info);
    boolean(
      env,
      raw_pidfd_send_signal(target_fd(env, this).get(), signal),
    )
  }
}

/// `RawTarget#close()`: unwrap `this`, close the pidfd once.
unsafe extern "C" fn c_target_close(
  env: sys::napi_env,
  info: sys::napi_callback_info,
) -> sys::napi_value {
  unsafe {
    let (_, this) = one_arg(env, info);
    let fd = target_fd(env, this);
    if fd.get() >= 0 {
      libc::close(fd.replace(-1));
    }
    ptr::null_mut()
  }
}

/// Exports the raw functions as `raw`, next to the `#[napi]` ones.
#[napi(module_exports)]
pub fn exports(mut exports: Object) -> Result<()> {
  let env = exports.value().env;
  let function = |name: &CStr, cb: sys::napi_callback| {
    let mut value = ptr::null_mut();
    // SAFETY: a valid env and a NUL-terminated name during module init.
    unsafe { sys::napi_create_function(env, name.as_ptr(), -1, cb, ptr::null_mut(), &mut value) };
    value
  };
  let mut raw = ptr::null_mut();
  // SAFETY: as above; every napi_value is fresh from this env.
  unsafe {
    sys::napi_create_object(env, &mut raw);
    let functions: [(&CStr, sys::napi_callback); 6] = [
      (c"noop", Some(c_noop)),
      (c"pidfdSignal0", Some(c_pidfd_signal0)),
      (c"kill0", Some(c_kill0)),
      (c"pidfdAlive", Some(c_pidfd_alive)),
      (c"pidfdOpen", Some(c_pidfd_open)),
      (c"closeFd", Some(c_close_fd)),
    ];
    for (name, cb) in functions {
      sys::napi_set_named_property(env, raw, name.as_ptr(), function(name, cb));
    }
    let method = |name: &'static CStr, cb: sys::napi_callback| sys::napi_property_descriptor {
      utf8name: name.as_ptr(),
      name: ptr::null_mut(),
      method: cb,
      getter: None,
      setter: None,
      value: ptr::null_mut(),
      attributes: sys::PropertyAttributes::default,
      data: ptr::null_mut(),
    };
    let methods = [
      method(c"signal", Some(c_target_signal)),
      method(c"close", Some(c_target_close)),
    ];
    let mut class = ptr::null_mut();
    sys::napi_define_class(
      env,
      c"RawTarget".as_ptr(),
      -1,
      Some(c_target_new),
      ptr::null_mut(),
      methods.len(),
      methods.as_ptr(),
      &mut class,
    );
    sys::napi_set_named_property(env, raw, c"RawTarget".as_ptr(), class);
  }
  exports.set_named_property("raw", Object::from_raw(env, raw))?;
  Ok(())
}
