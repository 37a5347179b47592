//! `KillTarget`'s face: what napi-rs writes `index.d.ts` and `index.js`
//! from, and the methods behind it. `class` defines the class that runs.

use std::cell::{Cell, OnceCell, RefCell};
use std::rc::Rc;

use napi::bindgen_prelude::{Env, Object, PromiseRaw, Result, Unknown, ValueType};
use napi_derive::napi;

use super::args;
use crate::errors::Failure;
use crate::event_loop::pending;
use crate::kill_on_exit;
use crate::linux::signal::Signal;
use crate::operations::target::Target;
use crate::operations::terminate::{self, Answer, Plan, TerminateResult};
use crate::operations::{promise, wait};
use crate::process::identity::{self, Kind};
use crate::process::{self, tree};

/// How a process ended, as `child.exitCode` and `child.signalCode` say it:
/// exactly one of the two is non-null. Real-time signals, which Node has no
/// names for, are spelled as `kill -l` spells them (`SIGRTMIN+6`).
#[napi(object, use_nullable = true)]
pub struct ExitStatus {
  /// The exit code, when the process exited by itself.
  pub code: Option<i32>,
  /// The signal that killed it, when one did.
  #[napi(
    ts_type = "NodeJS.Signals | 'SIGRTMIN' | `SIGRTMIN+${number}` | 'SIGRTMAX' | `SIG${number}`"
  )]
  pub signal: Option<String>,
}

/// A handle on exactly one process.
///
/// Backed by a pidfd where the kernel has them (`raceFree === true`): every
/// signal then reaches this process or nobody, even after its pid has been
/// reused. Elsewhere it falls back to the pid (`raceFree === false`).
/// Nothing here ever reaps a process: Node stays in charge of its children.
#[napi]
pub struct KillTarget {
  pid: i32,
  race_free: bool,
  /// Made at the first read, or at `close()` if never read, so that it
  /// costs nothing at open and is still there after the pidfd has gone.
  id: OnceCell<String>,
  /// `None` once closed.
  target: RefCell<Option<Rc<Target>>>,
  /// The `killOnExit()` arming, 0 for none.
  armed: Cell<u64>,
}

impl KillTarget {
  fn new(target: Target) -> Self {
    KillTarget {
      pid: target.pid().as_raw(),
      race_free: target.race_free(),
      id: OnceCell::new(),
      target: RefCell::new(Some(Rc::new(target))),
      armed: Cell::new(0),
    }
  }

  /// A target opened from `id`: race-free only if the id could not name
  /// another process.
  fn named(target: Target, id: String, kind: Kind) -> Self {
    let opened = KillTarget::new(target);
    KillTarget {
      race_free: opened.race_free && kind == Kind::Pidfs,
      id: OnceCell::from(id),
      ..opened
    }
  }

  /// Takes the target away, its id made first if it never was: the last
  /// moment the process can be asked.
  fn take(&self) -> Option<Rc<Target>> {
    let target = self.target.borrow_mut().take()?;
    if self.id.get().is_none() {
      // Unknowable now (a start time after the reap): later reads say so.
      if let Ok(id) = identity::of(&target) {
        let _ = self.id.set(id);
      }
    }
    Some(target)
  }

  fn target(&self) -> std::result::Result<Rc<Target>, Failure> {
    self.target.borrow().clone().ok_or(Failure::Closed)
  }

  /// Runs `f` on the open target, without cloning it.
  fn with_target<T>(
    &self,
    f: impl FnOnce(&Target) -> std::result::Result<T, Failure>,
  ) -> std::result::Result<T, Failure> {
    match self.target.borrow().as_deref() {
      Some(target) => f(target),
      None => Err(Failure::Closed),
    }
  }

  /// Checks what a promise method needs before it starts: an open target, its
  /// options object, the method's own options (`read`) and the AbortSignal.
  /// Arms, updates or (with `None`) disarms this handle's arming.
  fn arm(
    &self,
    target: &Target,
    options: Option<kill_on_exit::Options>,
  ) -> std::result::Result<(), Failure> {
    let armed = self.armed.get();
    let Some(options) = options else {
      if armed != 0 {
        kill_on_exit::disarm(armed);
      }
      self.armed.set(0);
      return Ok(());
    };
    if armed != 0 {
      if let Some(id) = kill_on_exit::update(armed, options)? {
        self.armed.set(id);
        return Ok(());
      }
    }
    match target.has_exited()? {
      true => self.armed.set(0),
      false => self.armed.set(kill_on_exit::arm(target, options)?),
    }
    Ok(())
  }

  fn request<'env, P>(
    &self,
    options: &Unknown<'env>,
    read: impl FnOnce(Option<&Object<'env>>) -> std::result::Result<P, Failure>,
  ) -> promise::Request<'env, P> {
    self.target()?;
    let options = args::options(options)?;
    let own = read(options.as_ref())?;
    let signal = args::abort_signal(args::property(options.as_ref(), c"signal")?)?;
    // Read last: the caller's getters above may have closed the target.
    Ok((self.target()?, signal, own))
  }
}

#[napi]
impl KillTarget {
  // This item only declares the private constructor to TypeScript;
  // `class` defines the one that runs.
  /// Not callable: a target comes from `fromChildProcess` or `fromPid`;
  /// `new KillTarget()` throws `ERR_ILLEGAL_CONSTRUCTOR`.
  #[napi(js_name = "private constructor", ts_type = "()")]
  pub fn private_constructor(&self, env: &Env) -> Result<()> {
    Err(Failure::IllegalConstructor.into_napi(env))
  }

  /// Opens a target for a child process from `child_process.spawn()`.
  ///
  /// Call it in the same synchronous tick as `spawn()`: until control returns
  /// to the event loop nothing can reap the child, so the pid still names it.
  /// Later, the pid may already belong to another process.
  ///
  /// @throws {TypeError} `ERR_INVALID_ARG_VALUE` when the child has no pid
  /// (it failed to spawn).
  /// @throws {Error} `ESRCH` when the child has already exited, or its pid
  /// names a process that is not a child of this one (the child was reaped
  /// and the number reused).
  #[napi(
    factory,
    ts_args_type = "child: Pick<import('node:child_process').ChildProcess, 'pid' | 'exitCode' | 'signalCode'>"
  )]
  pub fn from_child_process(env: Env, child: Unknown) -> Result<KillTarget> {
    open_child(&child).map_err(|failure| failure.into_napi(&env))
  }

  /// Opens a target for the process `id` names: an id read from
  /// `target.id`, here or in any other program since this boot.
  ///
  /// The pid in the id is opened first, and only then is the process it
  /// holds checked against the id: nothing can take the pid in between.
  /// An id of the pidfs kind opens exactly the process it was made for, or
  /// nothing. An id of the start-time kind (`starttime:…`) opens whichever
  /// process has its pid and start time, which can be one that took the pid
  /// within the same clock tick: the target says so with
  /// `raceFree === false`.
  ///
  /// @throws {TypeError} `ERR_INVALID_ARG_TYPE` when `id` is not a string.
  /// @throws {TypeError} `ERR_INVALID_ARG_VALUE` when it is not an id.
  /// @throws {Error} `ESRCH` when the process is gone, whoever has its pid
  /// now, or the id is of another boot.
  /// @throws {TypeError} `ERR_FEATURE_UNAVAILABLE_ON_PLATFORM` for an id of
  /// the pidfs kind where `capabilities().pidfs` is false.
  #[napi(factory, ts_args_type = "id: string")]
  pub fn from_id(env: Env, id: Unknown) -> Result<KillTarget> {
    args::string(&id, "id")
      .and_then(|id| {
        identity::open(&id).map(|(process, kind)| KillTarget::named(process.into(), id, kind))
      })
      .map_err(|failure| failure.into_napi(&env))
  }

  /// Opens a target for any live process by its pid (an integer in
  /// 1..4194304).
  ///
  /// @throws {TypeError} `ERR_INVALID_ARG_TYPE` when `pid` is not a number.
  /// @throws {RangeError} `ERR_OUT_OF_RANGE` when it is not such an integer.
  /// @throws {Error} `ESRCH` when no process has that pid.
  #[napi(factory, ts_args_type = "pid: number")]
  pub fn from_pid(env: Env, pid: Unknown) -> Result<KillTarget> {
    args::pid(&pid, "pid")
      .and_then(Target::open)
      .map(KillTarget::new)
      .map_err(|failure| failure.into_napi(&env))
  }

  /// The process id, kept after `close()`.
  #[napi(getter)]
  pub fn pid(&self) -> i32 {
    self.pid
  }

  /// True when backed by a pidfd: no signal can reach another process. False
  /// too for a target from `fromId` with an id of the start-time kind, which
  /// may have opened a process that took the pid within the same tick.
  #[napi(getter)]
  pub fn race_free(&self) -> bool {
    self.race_free
  }

  /// A string that names this process and no other, on this machine, ever:
  /// for pidfiles, logs and other programs, which open it again with
  /// `KillTarget.fromId`. Kept after `close()`.
  ///
  /// `pidfs:<pid>:<inode>:<boot>` where `capabilities().pidfs` is true
  /// (Linux ≥ 6.9): the inode every pidfd of this process shares, and no
  /// other process of this boot has. Elsewhere `starttime:<pid>:<ticks>:<boot>`,
  /// its start time in clock ticks, which a process that takes the pid within
  /// the same tick shares: that kind is weaker. `<boot>` is
  /// `/proc/sys/kernel/random/boot_id` as 32 hex digits without dashes; the
  /// numbers are decimal. The two kinds are never equal.
  ///
  /// @throws {Error} `ESRCH` for an id of the start-time kind first read
  /// after the process was reaped (read it, or close the target, before).
  #[napi(getter)]
  pub fn id(&self, env: &Env) -> Result<String> {
    if let Some(id) = self.id.get() {
      return Ok(id.clone());
    }
    let made = match self.target.borrow().as_deref() {
      Some(target) => identity::of(target),
      None => Err(Failure::IdUnknown { pid: self.pid }),
    };
    let id = made.map_err(|failure| failure.into_napi(env))?;
    Ok(self.id.get_or_init(|| id).clone())
  }

  /// True after `close()`.
  #[napi(getter)]
  pub fn closed(&self) -> bool {
    self.target.borrow().is_none()
  }

  /// Sends a signal (default `'SIGTERM'`; `0` only checks the process exists).
  ///
  /// @returns `true` when delivered, `false` when the process is already gone
  /// (reaped). With a pidfd this can never reach a process that took the pid.
  /// @throws {Error} with `code`, `errno` and `syscall` when the kernel
  /// refuses (e.g. `EPERM`), `ERR_USE_AFTER_CLOSE` after `close()`.
  #[napi(ts_args_type = "signal?: NodeJS.Signals | number")]
  pub fn signal(&self, env: &Env, signal: Unknown) -> Result<bool> {
    args::signal(&signal, "signal", Signal::SIGTERM)
      .and_then(|signal| self.with_target(|target| target.signal(signal)))
      .map_err(|failure| failure.into_napi(env))
  }

  /// Sends a signal (default `'SIGTERM'`) to the process group this process
  /// leads; a child spawned with `detached: true` leads its own.
  ///
  /// Where `capabilities().groupSignal` is true this goes through the pidfd
  /// and reaches the group even after the leader has been reaped. Elsewhere
  /// it is `killpg(2)`, by number: safe while the leader is unreaped or any
  /// member is left (a group's id is not reused while either holds it), and
  /// could reach a group that reused the id only once the leader has been
  /// reaped and the group is empty.
  ///
  /// @returns `true` when delivered, `false` when the group is gone.
  /// @throws {Error} `ERR_NOT_GROUP_LEADER` when the process is alive but
  /// leads no group.
  #[napi(ts_args_type = "signal?: NodeJS.Signals | number")]
  pub fn signal_group(&self, env: &Env, signal: Unknown) -> Result<bool> {
    args::signal(&signal, "signal", Signal::SIGTERM)
      .and_then(|signal| self.with_target(|target| target.signal_group(signal)))
      .map_err(|failure| failure.into_napi(env))
  }

  /// False once the process has exited (a zombie has exited). Never blocks.
  #[napi]
  pub fn is_alive(&self, env: &Env) -> Result<bool> {
    self
      .with_target(|target| target.has_exited())
      .map(|exited| !exited)
      .map_err(|failure| failure.into_napi(env))
  }

  /// How the process ended, once it has been reaped (by anyone, e.g. Node),
  /// read from the kernel (`PIDFD_INFO_EXIT`, Linux ≥ 6.15). `null` before
  /// the reap and wherever the kernel cannot tell
  /// (`capabilities().exitInfo === false`).
  #[napi]
  pub fn exit_status(&self, env: &Env) -> Result<Option<ExitStatus>> {
    let status = self.with_target(|target| target.exit_status());
    Ok(
      status
        .map_err(|failure| failure.into_napi(env))?
        .map(|status| match status {
          process::ExitStatus::Code(code) => ExitStatus {
            code: Some(code),
            signal: None,
          },
          process::ExitStatus::Signal(number) => ExitStatus {
            code: None,
            signal: Some(Signal::name_of(number)),
          },
        }),
    )
  }

  /// Resolves `true` once the process has exited (a zombie counts), `false`
  /// when `timeout` ms pass first. Rejects with an `AbortError` when `signal`
  /// aborts and with `ERR_USE_AFTER_CLOSE` when the target is closed.
  ///
  /// It never reaps, so it works for any process and leaves Node's children
  /// to Node. With a pidfd the wait is the descriptor in the thread's event
  /// loop, registered once per target however many wait; without one it
  /// polls, from every 1 ms up to every 100 ms. A pending wait keeps the
  /// event loop alive, as a timer does.
  #[napi(
    ts_args_type = "options?: { timeout?: number; signal?: AbortSignal }",
    ts_return_type = "Promise<boolean>"
  )]
  pub fn wait_for_exit<'env>(
    &self,
    env: &'env Env,
    options: Unknown<'env>,
  ) -> Result<PromiseRaw<'env, bool>> {
    let request = self.request(&options, |options| {
      let timeout = args::property(options, c"timeout")?;
      timeout
        .map(|value| args::millis(&value, "options.timeout"))
        .transpose()
    });
    let id = pending::next_id();
    let (promise, started) = promise::start(env, id, request)?;
    if let Some((pending, target, limit)) = started {
      wait::start(env, id, target, pending, limit);
    }
    Ok(promise)
  }

  /// Stops the process and resolves once it is gone: sends `killSignal`
  /// (default `'SIGTERM'`; to the whole group with `group: true`), then
  /// SIGCONT so a stopped process can act on it, waits up to
  /// `forceKillAfterDelay` ms (default 5000; `false` waits for ever), then
  /// sends SIGKILL and waits that long again (at least 1 s).
  ///
  /// The first signals go out before the call returns, so a `close()` right
  /// after it rejects the promise with `ERR_USE_AFTER_CLOSE` and lists them
  /// in the error's `signals`; so does an abort. Every signal goes through
  /// the target, so the escalation can never reach a process that took the
  /// pid; with `group` where `capabilities().groupSignal` is false, the
  /// group's signals are `killpg(2)`, by number, once the leader has been
  /// reaped and the group is empty (see `signalGroup`). A process already
  /// gone resolves with
  /// `{ exited: true, forced: false, signals: [], processes: 0 }`. With
  /// `group`, this process's signals go to its whole group, and the wait is
  /// for this process, the group's leader.
  ///
  /// With `tree: true`, every descendant is stopped too, as `descendants()`
  /// finds them: each is frozen (SIGSTOP) as it is found, top down, until a
  /// pass finds nobody new; then every member gets `killSignal` and SIGCONT,
  /// the wait is for every member, and SIGKILL after the grace period goes
  /// to each survivor. Nothing is left stopped when the call returns. A
  /// member this process may not signal (another user's) is walked through
  /// but not stopped or waited for; once the others are gone the promise
  /// rejects with `EPERM`, its `pids` naming those members.
  ///
  /// @throws {TypeError} `ERR_INVALID_ARG_VALUE` (as a rejection) for a
  /// `killSignal` that cannot end a process: `0`, `SIGSTOP`, `SIGCONT`,
  /// `SIGTSTP`, `SIGTTIN`, `SIGTTOU`.
  /// @throws {Error} `EPERM` (as a rejection) for a process, or members of
  /// the tree, this process may not signal; with `pids` when others were
  /// signalled.
  #[napi(
    ts_args_type = "options?: { killSignal?: NodeJS.Signals | number; forceKillAfterDelay?: number | false; group?: boolean; tree?: boolean; signal?: AbortSignal }",
    ts_return_type = "Promise<TerminateResult>"
  )]
  pub fn terminate<'env>(
    &self,
    env: &'env Env,
    options: Unknown<'env>,
  ) -> Result<PromiseRaw<'env, TerminateResult>> {
    let id = pending::next_id();
    let (promise, started) = promise::start(env, id, self.request(&options, terminate_plan))?;
    if let Some((pending, target, plan)) = started {
      terminate::start(env, id, target, pending, plan, Answer::Outcome);
    }
    Ok(promise)
  }

  /// Arms the target: when this program ends, however it ends (a normal
  /// exit, an uncaught exception, `process.abort()`, a signal with no
  /// handler, Ctrl-C, SIGKILL, the OOM killer), the process gets `signal`
  /// (default `'SIGKILL'`). With another signal, SIGCONT follows it, and
  /// SIGKILL after `forceKillAfterDelay` ms (default 5000; `false`: never)
  /// if it is still there. With `tree: true` every descendant gets the same:
  /// the tree is walked every 100 ms while the program lives, so a member
  /// that has lived that long is reached even when the program and the
  /// tree's root die together and the root's children are reparented.
  ///
  /// A guardian process, started with the first arming (one per program,
  /// in a session of its own, holding nothing of the program's), holds a
  /// pidfd of each armed process and does the killing: it never signals by
  /// number. It returns once the guardian holds the process. Calling again
  /// updates the options (`tree: false` lets the members go);
  /// `killOnExit(false)` disarms. `close()` does not disarm. A process that
  /// exits on its own is let go; arming one that has already exited does
  /// nothing.
  ///
  /// The guardian is handed only what this program may signal itself when
  /// it arms: another user's process is refused, and a tree's members of
  /// other users are walked through but never killed. The guardian is no
  /// member of any tree, this program's own included.
  ///
  /// @throws {TypeError} `ERR_INVALID_ARG_VALUE` for a `signal` that cannot
  /// end a process, as `terminate()` refuses it (`0`, SIGSTOP, SIGCONT,
  /// SIGTSTP, SIGTTIN, SIGTTOU); nothing is armed.
  /// @throws {Error} `EPERM` for a process this program may not signal;
  /// `EMFILE` (`syscall: 'sendmsg'`) when the guardian could not take its
  /// descriptor. Nothing is armed.
  /// @throws {Error} `ERR_KILL_ON_EXIT_UNSUPPORTED` where the guarantee
  /// cannot be kept (no pidfds, or the guardian cannot start; see
  /// `capabilities().killOnExit`), `ERR_USE_AFTER_CLOSE` after `close()`.
  #[napi(
    ts_args_type = "options?: boolean | { signal?: NodeJS.Signals | number; forceKillAfterDelay?: number | false; tree?: boolean }"
  )]
  pub fn kill_on_exit(&self, env: &Env, options: Unknown) -> Result<()> {
    kill_on_exit_options(&options)
      .and_then(|options| self.with_target(|target| self.arm(target, options)))
      .map_err(|failure| failure.into_napi(env))
  }

  /// The descendants of this process at the moment of the call (children,
  /// their children, and so on), each as a target of its own, parents
  /// before their children. A zombie is listed (it holds its pid until it
  /// is reaped; its `isAlive()` is false).
  ///
  /// Each is listed in `/proc`, opened by pidfd, and only then confirmed a
  /// child of a process already held, which must itself still be unreaped:
  /// the list can never hold a process that merely took a listed pid. It
  /// never runs `ps` or `pgrep`. A process whose parent exited before the
  /// walk has been reparented (to init or a subreaper) and is not listed.
  /// Other users' processes are listed; the kill-on-exit guardian is not.
  ///
  /// @throws {Error} `ERR_USE_AFTER_CLOSE` after `close()`.
  #[napi]
  pub fn descendants(&self, env: &Env) -> Result<Vec<KillTarget>> {
    self
      .with_target(|target| tree::walk(target, false))
      .map(|walk| {
        walk
          .members
          .into_iter()
          .map(|member| KillTarget::new(member.into()))
          .collect()
      })
      .map_err(|failure| failure.into_napi(env))
  }

  /// Releases the pidfd. Idempotent. Pending waits reject with
  /// `ERR_USE_AFTER_CLOSE`; every later call throws it. The pidfd is also
  /// released when the object is garbage-collected.
  #[napi]
  pub fn close(&self, env: &Env) {
    if let Some(target) = self.take() {
      target.close(env);
    }
  }

  /// What `console.log(target)` and `util.inspect` show.
  #[napi(symbol_for = "nodejs.util.inspect.custom")]
  pub fn inspect(&self) -> String {
    format!(
      "KillTarget {{ pid: {}, raceFree: {}, closed: {} }}",
      self.pid,
      self.race_free,
      self.closed()
    )
  }

  /// `using target = KillTarget.fromPid(pid)` closes it at the end of scope.
  #[napi(well_known_symbol = "dispose")]
  pub fn dispose(&self, env: &Env) {
    self.close(env);
  }

  /// `await using`: terminates the process with the default options, then
  /// closes the target. The target reads as closed at once; the pidfd is
  /// released when the termination has settled. A target already closed
  /// resolves at once and nothing is sent.
  #[napi(well_known_symbol = "asyncDispose", ts_return_type = "Promise<void>")]
  pub fn async_dispose<'env>(&self, env: &'env Env) -> Result<PromiseRaw<'env, ()>> {
    // Not `close()`: that would stop the termination below as well.
    let Some(target) = self.take() else {
      return promise::resolved(env);
    };
    let id = pending::next_id();
    let (promise, started) = promise::start(env, id, Ok((target, None, ())))?;
    if let Some((pending, target, ())) = started {
      terminate::start(env, id, target, pending, Plan::default(), Answer::Nothing);
    }
    Ok(promise)
  }
}

fn open_child(child: &Unknown) -> std::result::Result<KillTarget, Failure> {
  let child = args::object(child, "child")?;
  let pid = args::property(Some(&child), c"pid")?.ok_or(Failure::NotSpawned)?;
  let pid = args::pid(&pid, "child.pid")?;
  let exited = |key| -> std::result::Result<bool, Failure> {
    let value = args::property(Some(&child), key)?;
    Ok(value.is_some_and(|v| args::kind(&v) != ValueType::Null))
  };
  if exited(c"exitCode")? || exited(c"signalCode")? {
    return Err(Failure::AlreadyExited { pid: pid.as_raw() });
  }
  Target::open_child(pid).map(KillTarget::new)
}

/// `killOnExit(options)`'s argument: `None` for `false` (disarm).
fn kill_on_exit_options(
  value: &Unknown,
) -> std::result::Result<Option<kill_on_exit::Options>, Failure> {
  let Some(options) = args::switch_or_options(value)? else {
    return Ok(None);
  };
  let option = |key| args::property(options.as_ref(), key);
  let signal = match option(c"signal")? {
    Some(value) => args::kill_signal(&value, "options.signal")?,
    None => Signal::SIGKILL,
  };
  let delay = args::delay_or_never(
    option(c"forceKillAfterDelay")?.as_ref(),
    "options.forceKillAfterDelay",
  )?;
  let tree = args::flag(option(c"tree")?.as_ref(), "options.tree")?;
  Ok(Some(kill_on_exit::options(signal.number(), delay, tree)))
}

fn terminate_plan(options: Option<&Object>) -> std::result::Result<Plan, Failure> {
  let option = |key| args::property(options, key);
  Ok(Plan {
    kill_signal: match option(c"killSignal")? {
      Some(value) => args::kill_signal(&value, "options.killSignal")?,
      None => Signal::SIGTERM,
    },
    force_kill_after: args::delay_or_never(
      option(c"forceKillAfterDelay")?.as_ref(),
      "options.forceKillAfterDelay",
    )?,
    group: args::flag(option(c"group")?.as_ref(), "options.group")?,
    tree: args::flag(option(c"tree")?.as_ref(), "options.tree")?,
  })
}
