// The portable backend: `KillTarget` and `capabilities()` in JavaScript, for
// the platforms with no prebuilt binding (macOS, Windows, the BSDs, Linux on
// other architectures). Every process is held by its pid, as the native
// backend holds one where the kernel has no pidfds, so `raceFree` is always
// false: once a process is reaped its pid can be another's. The arguments,
// the errors and the operations (waits, terminate's escalation, trees) are
// the native backend's, step by step; index.d.ts types both.

import type * as Declared from '../index'
import * as args from './args'
import * as errors from './errors'
import { signalName, signalNumber } from './signals'
import { bootId, kind, Process, sigcont, SIGKILL, startTime, walk } from './system'
import * as windows from './windows'

export { setRunner } from './commands'

// ---------------------------------------------------------- operations ---

type Event = { kind: 'exited'; pid: number } | { kind: 'timer' } | { kind: 'closed' } | { kind: 'aborted' }

interface Operation {
  /** Handles `event`; true once settled, when it is dropped. */
  on(id: number, event: Event): boolean
}

/** The pending operations of this thread, by id, as the native backend keeps them. */
const pending = new Map<number, Operation>()
let lastId = 0

function deliver(id: number, event: Event): void {
  const operation = pending.get(id)
  if (operation?.on(id, event)) pending.delete(id)
}

/** The pid fallback polls for an exit every 1 ms at first, doubling to this. */
const MAX_POLL_INTERVAL = 100

/** After SIGKILL the system still has to tear the process down; wait at least this long. */
const KILL_SETTLE = 1000

/** A process JavaScript holds, and the operations waiting for its exit. */
class Target {
  readonly process: Process
  private waiters = new Set<number>()
  private timer: ReturnType<typeof setTimeout> | null = null
  private exited = false

  constructor(process: Process) {
    this.process = process
  }

  get pid() {
    return this.process.pid
  }

  hasExited(): boolean {
    return this.exited || this.process.hasExited()
  }

  /**
   * Adds operation `id` to those told of the exit; false if the exit has been
   * seen already. An exit not yet seen is reported from a timer, never within
   * this call, so a `close()` in the same tick always comes first.
   */
  watchExit(id: number): boolean {
    if (this.exited) return false
    if (this.timer === null) this.pollAfter(1)
    this.waiters.add(id)
    return true
  }

  /** Takes `id` off the list; polling stops with the last one, so that it no longer holds the event loop. */
  unwatchExit(id: number): void {
    this.waiters.delete(id)
    if (this.waiters.size === 0) this.stop()
  }

  /** Tells every waiting operation that the target was closed. */
  close(): void {
    for (const id of this.takeWaiters()) deliver(id, { kind: 'closed' })
  }

  /** Looks again after `pause` ms, backing off. A pending timer keeps the event loop alive, as the native one does. */
  private pollAfter(pause: number): void {
    this.timer = setTimeout(() => {
      this.timer = null
      let exited: boolean
      try {
        exited = this.process.hasExited()
      } catch {
        exited = true // unknowable: nothing will change
      }
      if (!exited) return this.pollAfter(Math.min(pause * 2, MAX_POLL_INTERVAL))
      const waiters = this.takeWaiters()
      this.exited = true
      for (const id of waiters) deliver(id, { kind: 'exited', pid: this.pid })
    }, pause)
  }

  private stop(): void {
    if (this.timer !== null) clearTimeout(this.timer)
    this.timer = null
  }

  private takeWaiters(): number[] {
    this.stop()
    const waiters = [...this.waiters]
    this.waiters.clear()
    return waiters
  }
}

/** A pending promise and the listener on its AbortSignal. */
class Pending<T> {
  constructor(
    private readonly settle: { resolve: (value: T) => void; reject: (error: unknown) => void },
    private link: { signal: args.SignalLike; listener?: () => void } | undefined,
  ) {}

  /** Lets go of the AbortSignal: its reason; what the caller's `removeEventListener` throws is thrown. */
  private unlink(): unknown {
    const link = this.link
    this.link = undefined
    if (link === undefined) return undefined
    if (link.listener) {
      const remove = link.signal.removeEventListener
      remove.call(link.signal, 'abort', link.listener)
    }
    return link.signal.reason
  }

  resolve(value: T): void {
    try {
      this.unlink()
    } catch (thrown) {
      return this.settle.reject(thrown)
    }
    this.settle.resolve(value)
  }

  /** Rejects with `failure` (`'aborted'`: an AbortError with the signal's reason as `cause`), listing `signals` when there are any. */
  reject(failure: Error | 'aborted', signals: string[] = []): void {
    let reason: unknown
    try {
      reason = this.unlink()
    } catch (thrown) {
      return this.settle.reject(thrown)
    }
    const error = failure === 'aborted' ? errors.aborted(reason) : failure
    if (signals.length > 0) (error as Error & { signals: string[] }).signals = [...signals]
    this.settle.reject(error)
  }
}

type Request<P> = () => [Target, args.SignalLike | undefined, P]

/**
 * A started call: its promise, and unless it settled at once (a bad request,
 * an AbortSignal that had already fired), what operation `id` needs to go on.
 */
function start<T, P>(id: number, request: Request<P>): [Promise<T>, [Pending<T>, Target, P] | null] {
  let settle!: { resolve: (value: T) => void; reject: (error: unknown) => void }
  const promise = new Promise<T>((resolve, reject) => (settle = { resolve, reject }))
  let target: Target, signal: args.SignalLike | undefined, own: P
  try {
    ;[target, signal, own] = request()
  } catch (thrown) {
    settle.reject(thrown)
    return [promise, null]
  }
  if (signal === undefined) return [promise, [new Pending(settle, undefined), target, own]]
  try {
    if (signal.aborted) {
      new Pending(settle, { signal }).reject('aborted')
      return [promise, null]
    }
    const listener = () => deliver(id, { kind: 'aborted' })
    const add = signal.addEventListener
    add.call(signal, 'abort', listener)
    return [promise, [new Pending(settle, { signal, listener }), target, own]]
  } catch (thrown) {
    settle.reject(thrown)
    return [promise, null]
  }
}

function startWait(id: number, target: Target, promise: Pending<boolean>, limit: number | undefined): void {
  try {
    // Asked now, so that a process already gone answers even `timeout: 0`.
    if (target.hasExited()) return promise.resolve(true)
  } catch (failure) {
    return promise.reject(failure as Error)
  }
  if (!target.watchExit(id)) return promise.resolve(true)
  const timer = limit === undefined ? undefined : setTimeout(() => deliver(id, { kind: 'timer' }), limit)
  let settled = false
  pending.set(id, {
    on(id, event) {
      target.unwatchExit(id)
      if (timer !== undefined) clearTimeout(timer)
      if (settled) return true
      settled = true
      switch (event.kind) {
        case 'exited':
          promise.resolve(true)
          break
        case 'timer':
          // A poll may not have run since the exit: the system has the answer.
          try {
            promise.resolve(target.hasExited())
          } catch (failure) {
            promise.reject(failure as Error)
          }
          break
        case 'closed':
          promise.reject(errors.closedWhileWaiting(target.pid))
          break
        case 'aborted':
          promise.reject('aborted')
          break
      }
      return true
    },
  })
}

interface Plan {
  killSignal: number
  /** `null`: never escalate. */
  forceKillAfter: number | null
  group: boolean
  tree: boolean
}

const DEFAULT_PLAN = (): Plan => ({
  killSignal: signalNumber('SIGTERM') ?? 15,
  forceKillAfter: args.DEFAULT_FORCE_KILL_AFTER,
  group: false,
  tree: false,
})

type Reach = 'others' | 'this process' | 'survivors'

/** `terminate()`: the kill signal, SIGCONT, a grace period, SIGKILL; for a group or a tree as the native backend does it. */
class Terminate implements Operation {
  private members: Target[]
  private remaining = new Set<number>()
  private grace: number | null
  private timer: ReturnType<typeof setTimeout> | undefined
  private signals: string[] = []
  private processes = 0
  private forced = false
  private denied: number[] = []
  private deniedBy = ''
  private deniedErrno = -1
  private settled = false

  constructor(
    root: Target,
    private readonly promise: Pending<Declared.TerminateResult | undefined>,
    private readonly plan: Plan,
    private readonly answer: 'outcome' | 'nothing',
  ) {
    this.members = [root]
    this.grace = plan.forceKillAfter
  }

  start(id: number): void {
    let waiting: boolean
    try {
      waiting = kind() === 'windows' && this.plan.tree ? this.beginWindowsTree(id) : this.begin(id)
    } catch (failure) {
      return this.finish(id, failure as Error)
    }
    if (waiting) pending.set(id, this)
    else this.finish(id, true)
  }

  /** Freezes the tree, signals every member, watches them: false if nobody is left to wait for. */
  private begin(id: number): boolean {
    let stoppedRoot = false
    if (this.plan.tree) {
      const found = walk(this.members[0].process, true)
      this.members.push(...found.members.map((member) => new Target(member)))
      stoppedRoot = found.stoppedRoot
    }
    const attempt = (send: () => number[]) => {
      try {
        return { delivered: send() }
      } catch (failure) {
        return { failure: failure as Error, delivered: [] as number[] }
      }
    }
    const signalled = attempt(() => this.sendAll(this.plan.killSignal, 'others'))
    // Stopped ones act on it only once continued; with `tree` the walk stopped them all.
    const SIGCONT = sigcont()
    const resumed =
      SIGCONT !== undefined && (this.plan.killSignal !== SIGKILL || this.plan.tree)
        ? attempt(() => this.sendAll(SIGCONT, 'others'))
        : { delivered: [] }
    // This process, when it is a member, last of all.
    const own = attempt(() => this.sendAll(this.plan.killSignal, 'this process'))
    for (const round of [signalled, resumed, own]) if ('failure' in round) throw round.failure
    this.processes = signalled.delivered.length + own.delivered.length
    if (this.processes === 0 && !stoppedRoot) return false
    return this.watch(id)
  }

  /**
   * Windows: the tree is listed once (nothing can be frozen), then ended by
   * `taskkill /pid ROOT /T /F`, as tree-kill ends it; the wait is for every
   * member listed. Where taskkill fails (a member another user's, or a
   * taskkill without /T), each member gets the kill signal by number, and
   * those refused are named in an EPERM, as elsewhere.
   */
  private beginWindowsTree(id: number): boolean {
    const root = this.members[0]
    const found = walk(root.process, false)
    this.members.push(...found.members.map((member) => new Target(member)))
    const alive = this.members.filter((member) => !member.hasExited())
    switch (windows.taskkill(root.pid)) {
      case 'gone':
        return false
      case 'failed':
        this.processes = this.sendAll(this.plan.killSignal, 'others').length + this.sendAll(this.plan.killSignal, 'this process').length
        break
      case 'ended':
        this.processes = alive.length
        if (alive.length > 0) this.signals.push(signalName(this.plan.killSignal))
        break
    }
    if (this.processes === 0) return false
    return this.watch(id)
  }

  private watch(id: number): boolean {
    for (const member of this.members) {
      if (this.denied.includes(member.pid)) continue
      if (member.watchExit(id)) this.remaining.add(member.pid)
    }
    if (this.remaining.size === 0) return false
    if (this.grace !== null) this.arm(id, this.grace)
    return true
  }

  /**
   * Sends `signal` to the members `reach` names, this process last; lists it
   * once if any received it. A member the system refuses (EPERM) is kept in
   * `denied`, and the rest go on; any other failure is thrown after trying
   * every member, so that none is left stopped.
   */
  private sendAll(signal: number, reach: Reach): number[] {
    const delivered: number[] = []
    let failed: Error | undefined
    const ordered = [...this.members.entries()].sort(([, a], [, b]) => Number(a.process.isThisProcess()) - Number(b.process.isThisProcess()))
    for (const [i, member] of ordered) {
      const mine = member.process.isThisProcess()
      const reached = reach === 'others' ? !mine : reach === 'this process' ? mine : this.remaining.has(member.pid)
      if (!reached) continue
      try {
        const sent = i === 0 && this.plan.group ? member.process.signalGroup(signal) : member.process.signal(signal)
        if (sent) delivered.push(member.pid)
      } catch (thrown) {
        const error = thrown as NodeJS.ErrnoException
        if (error.code === 'EPERM' && error.syscall !== undefined) {
          if (!this.denied.includes(member.pid)) {
            this.denied.push(member.pid)
            this.deniedBy = error.syscall
            this.deniedErrno = error.errno ?? -1
          }
        } else failed ??= error
      }
    }
    const name = signalName(signal)
    const listed = reach === 'this process' && this.signals.includes(name)
    if (delivered.length > 0 && !listed) this.signals.push(name)
    if (failed) throw failed
    return delivered
  }

  private arm(id: number, after: number): void {
    this.timer = setTimeout(() => deliver(id, { kind: 'timer' }), after)
  }

  on(id: number, event: Event): boolean {
    let outcome: boolean | Error
    switch (event.kind) {
      case 'exited':
        this.remaining.delete(event.pid)
        if (this.remaining.size > 0) return false
        outcome = true
        break
      case 'timer':
        try {
          // A poll may not have run since an exit: nobody who has exited is forced or reported alive.
          for (const member of this.members) if (this.remaining.has(member.pid) && member.hasExited()) this.remaining.delete(member.pid)
          if (this.remaining.size === 0) outcome = true
          else if (this.grace !== null) {
            const grace = this.grace
            this.grace = null
            this.forced = this.sendAll(SIGKILL, 'survivors').length > 0
            this.arm(id, Math.max(grace, KILL_SETTLE))
            return false
          } else outcome = false // SIGKILL went out a while ago and a member is still there
        } catch (failure) {
          outcome = failure as Error
        }
        break
      case 'closed':
        outcome = errors.closedWhileWaiting(this.members[0].pid)
        break
      case 'aborted':
        outcome = new AbortedMarker()
        break
    }
    this.finish(id, outcome)
    return true
  }

  /** Settles: `true`/`false` resolves (exited or not), an error rejects listing the signals already delivered. */
  private finish(id: number, outcome: boolean | Error): void {
    for (const member of this.members) member.unwatchExit(id)
    if (this.timer !== undefined) clearTimeout(this.timer)
    if (this.settled) return
    this.settled = true
    // Every member that could be signalled is gone: now say who could not.
    if (typeof outcome === 'boolean' && this.denied.length > 0) outcome = this.refusal()
    if (outcome instanceof AbortedMarker) return this.promise.reject('aborted', this.signals)
    if (outcome instanceof Error) return this.promise.reject(outcome, this.signals)
    if (this.answer === 'nothing') return this.promise.resolve(undefined)
    this.promise.resolve({ exited: outcome, forced: this.forced, signals: this.signals, processes: this.processes })
  }

  /** The rejection for `denied`: one process alone is the plain system call's error. */
  private refusal(): Error {
    if (this.denied.length === 1 && this.members.length === 1) return errors.sys(this.deniedBy, 'EPERM', this.deniedErrno, this.denied[0])
    return errors.denied(this.deniedBy, this.deniedErrno, this.denied)
  }
}

class AbortedMarker extends Error {}

// --------------------------------------------------------------- class ---

interface State {
  pid: number
  id: string | undefined
  /** `null` once closed. */
  target: Target | null
}

const states = new WeakMap<object, State>()
let handedOver: State | undefined

/** A getter's receiver: anything but a target is `ERR_INVALID_THIS`, as the native class's getters say. */
function state(receiver: unknown): State {
  const found = typeof receiver === 'object' && receiver !== null ? states.get(receiver) : undefined
  if (found === undefined) throw errors.invalidThis()
  return found
}

/** A method's receiver: anything but a target is V8's own "Illegal invocation", as for the native class's methods. */
function methodReceiver(receiver: unknown): State {
  const found = typeof receiver === 'object' && receiver !== null ? states.get(receiver) : undefined
  if (found === undefined) throw new TypeError('Illegal invocation')
  return found
}

function open(self: State): Target {
  if (self.target === null) throw errors.closed()
  return self.target
}

/** The id of the process `target` holds: of the start-time kind, where `/proc` tells start times (Linux). */
function idOf(target: Target): string {
  if (kind() !== 'linux') throw idsUnavailable()
  const boot = bootId(target.pid)
  const ticks = startTime(target.pid)
  if (ticks === null || !target.process.exists()) throw errors.idUnknown(target.pid)
  return `starttime:${target.pid}:${ticks}:${boot}`
}

function idsUnavailable() {
  return errors.unavailable(
    `Process ids (target.id, KillTarget.fromId) need a start time read from /proc, which ${process.platform} does not have: the pid alone could name another process`,
  )
}

/** An id's fields, as the native backend parses them; `null` if it is not an id. */
function parseId(text: string): { kind: 'pidfs' | 'starttime'; pid: number; stamp: string; boot: string } | null {
  const fields = text.split(':')
  if (fields.length !== 4 || (fields[0] !== 'pidfs' && fields[0] !== 'starttime')) return null
  const decimal = (field: string) => (field === '0' || /^[1-9][0-9]*$/.test(field)) && BigInt(field) <= 0xffff_ffff_ffff_ffffn
  const [idKind, pid, stamp, boot] = fields
  if (!decimal(pid) || Number(pid) < 1 || Number(pid) > 4_194_304 || !decimal(stamp)) return null
  if (!/^[0-9a-f]{32}$/.test(boot)) return null
  return { kind: idKind as 'pidfs' | 'starttime', pid: Number(pid), stamp, boot }
}

/** Makes the object a factory returns. */
function instance(target: Target, id?: string): Declared.KillTarget {
  handedOver = { pid: target.pid, id, target }
  try {
    return new (KillTarget as unknown as new () => Declared.KillTarget)()
  } finally {
    handedOver = undefined
  }
}

/** Not callable: targets come from the factories. */
function KillTarget(this: object): void {
  const handed = handedOver
  handedOver = undefined
  if (handed === undefined || !new.target) throw errors.illegalConstructor()
  states.set(this, handed)
}

/** The prototype's members, typed against index.d.ts's class. */
class Members implements Omit<Declared.KillTarget, typeof Symbol.dispose | typeof Symbol.asyncDispose> {
  get pid(): number {
    return state(this).pid
  }

  get raceFree(): boolean {
    state(this)
    return false
  }

  get id(): string {
    const self = state(this)
    if (self.id !== undefined) return self.id
    if (self.target === null) throw kind() === 'linux' ? errors.idUnknown(self.pid) : idsUnavailable()
    return (self.id = idOf(self.target))
  }

  get closed(): boolean {
    return state(this).target === null
  }

  signal(signal?: NodeJS.Signals | number): boolean {
    const self = methodReceiver(this)
    const number = args.signal(signal, 'signal', signalNumber('SIGTERM') ?? 15)
    return open(self).process.signal(number)
  }

  signalGroup(signal?: NodeJS.Signals | number): boolean {
    const self = methodReceiver(this)
    const number = args.signal(signal, 'signal', signalNumber('SIGTERM') ?? 15)
    return open(self).process.signalGroup(number)
  }

  isAlive(): boolean {
    return !open(methodReceiver(this)).hasExited()
  }

  exitStatus(): Declared.ExitStatus | null {
    open(methodReceiver(this))
    return null
  }

  waitForExit(options?: { timeout?: number; signal?: AbortSignal }): Promise<boolean> {
    const self = methodReceiver(this)
    const id = ++lastId
    const [promise, started] = start<boolean, number | undefined>(id, () => {
      open(self)
      const checked = args.options(options)
      const timeout = args.property(checked, 'timeout')
      const limit = timeout === undefined ? undefined : args.millis(timeout, 'options.timeout')
      const signal = args.abortSignal(args.property(checked, 'signal'))
      // Read last: the caller's getters above may have closed the target.
      return [open(self), signal, limit]
    })
    if (started) startWait(id, started[1], started[0], started[2])
    return promise
  }

  terminate(options?: {
    killSignal?: NodeJS.Signals | number
    forceKillAfterDelay?: number | false
    group?: boolean
    tree?: boolean
    signal?: AbortSignal
  }): Promise<Declared.TerminateResult> {
    const self = methodReceiver(this)
    const id = ++lastId
    const [promise, started] = start<Declared.TerminateResult | undefined, Plan>(id, () => {
      open(self)
      const checked = args.options(options)
      const option = (key: string) => args.property(checked, key)
      const killSignal = option('killSignal')
      const plan: Plan = {
        killSignal: killSignal === undefined ? DEFAULT_PLAN().killSignal : args.killSignal(killSignal, 'options.killSignal'),
        forceKillAfter: args.delayOrNever(option('forceKillAfterDelay'), 'options.forceKillAfterDelay'),
        group: args.flag(option('group'), 'options.group'),
        tree: args.flag(option('tree'), 'options.tree'),
      }
      const signal = args.abortSignal(option('signal'))
      return [open(self), signal, plan]
    })
    if (started) new Terminate(started[1], started[0], started[2], 'outcome').start(id)
    return promise as Promise<Declared.TerminateResult>
  }

  killOnExit(options?: boolean | { signal?: NodeJS.Signals | number; forceKillAfterDelay?: number | false; tree?: boolean }): void {
    const self = methodReceiver(this)
    const checked = args.switchOrOptions(options)
    if (checked !== null) {
      const option = (key: string) => args.property(checked, key)
      const signal = option('signal')
      if (signal !== undefined) args.killSignal(signal, 'options.signal')
      args.delayOrNever(option('forceKillAfterDelay'), 'options.forceKillAfterDelay')
      args.flag(option('tree'), 'options.tree')
    }
    const target = open(self)
    // Disarming, or arming a process already gone, asks nothing of the guardian.
    if (checked === null || target.hasExited()) return
    throw errors.killOnExitUnsupported(kind() === 'linux' ? 'this target is held by pid, not by pidfd' : "pidfds are Linux's; this system has none")
  }

  descendants(): Declared.KillTarget[] {
    const target = open(methodReceiver(this))
    return walk(target.process, false).members.map((member) => instance(new Target(member)))
  }

  close(): void {
    const self = methodReceiver(this)
    take(self)?.close()
  }
}

/** Takes the target away, its id made first if it never was: the last moment the process can be asked. */
function take(self: State): Target | null {
  const target = self.target
  if (target === null) return null
  self.target = null
  if (self.id === undefined && kind() === 'linux') {
    try {
      self.id = idOf(target)
    } catch {
      // unknowable now: later reads say so
    }
  }
  return target
}

const prototype = Members.prototype as unknown as Record<PropertyKey, unknown>
Object.defineProperty(prototype, 'constructor', { value: KillTarget, writable: true, configurable: true })
Object.defineProperty(prototype, Symbol.for('nodejs.util.inspect.custom'), {
  value: function inspect(this: unknown) {
    const target = methodReceiver(this)
    return `KillTarget { pid: ${target.pid}, raceFree: false, closed: ${target.target === null} }`
  },
  writable: true,
  configurable: true,
})
// Where the host has them, as the native class has them.
if (typeof Symbol.dispose === 'symbol') {
  Object.defineProperty(prototype, Symbol.dispose, {
    value: function dispose(this: unknown) {
      take(methodReceiver(this))?.close()
    },
    writable: true,
    configurable: true,
  })
}
if (typeof Symbol.asyncDispose === 'symbol') {
  Object.defineProperty(prototype, Symbol.asyncDispose, {
    value: function asyncDispose(this: unknown): Promise<void> {
      // Not close(): that would stop the termination as well.
      const target = take(methodReceiver(this))
      if (target === null) return Promise.resolve()
      const id = ++lastId
      const [promise, started] = start<Declared.TerminateResult | undefined, null>(id, () => [target, undefined, null])
      if (started) new Terminate(started[1], started[0], DEFAULT_PLAN(), 'nothing').start(id)
      return promise.then(() => undefined)
    },
    writable: true,
    configurable: true,
  })
}
KillTarget.prototype = prototype

const statics = {
  fromChildProcess(child: Pick<import('node:child_process').ChildProcess, 'pid' | 'exitCode' | 'signalCode'>): Declared.KillTarget {
    const checked = args.object(child, 'child')
    const pidValue = args.property(checked, 'pid')
    if (pidValue === undefined) throw errors.notSpawned()
    const pid = args.pid(pidValue, 'child.pid')
    const exited = (key: string) => {
      const value = args.property(checked, key)
      return value !== undefined && value !== null
    }
    if (exited('exitCode') || exited('signalCode')) throw errors.alreadyExited(pid)
    return instance(new Target(Process.openChild(pid)))
  },

  fromPid(pid: number): Declared.KillTarget {
    return instance(new Target(Process.open(args.pid(pid, 'pid'))))
  },

  fromId(id: string): Declared.KillTarget {
    const text = args.string(id, 'id')
    const parsed = parseId(text)
    if (parsed === null) throw errors.invalidId(text)
    if (kind() !== 'linux') throw idsUnavailable()
    const gone = () => errors.noSuchId(text)
    if (parsed.boot !== bootId(parsed.pid)) throw gone()
    if (parsed.kind === 'pidfs') throw errors.needsPidfs()
    let process: Process
    try {
      process = Process.open(parsed.pid)
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === 'ESRCH') throw gone()
      throw error
    }
    // Read by number: the process must still be there after the read, so that the number named it then.
    if (startTime(parsed.pid) !== parsed.stamp || !process.signal(0)) throw gone()
    return instance(new Target(process), text)
  },
}
for (const [name, value] of Object.entries(statics)) {
  Object.defineProperty(KillTarget, name, { value, writable: true, configurable: true })
}

type Statics = Pick<typeof Declared.KillTarget, 'fromChildProcess' | 'fromPid' | 'fromId'>
const typed: Statics = statics
void typed

/**
 * Which features are in use: none of the pidfd ones; waits poll on the
 * runtime's own timers (`'timer'`, which index.d.ts's `waitPath` is yet to
 * list); and which backend loaded.
 */
export function capabilities(): Declared.Capabilities {
  return {
    pidfd: false,
    groupSignal: false,
    exitInfo: false,
    pidfdInfo: false,
    pidfs: false,
    waitPath: 'timer',
    killOnExit: false,
    backend: 'portable',
  }
}

const exported = KillTarget as unknown as typeof Declared.KillTarget
export { exported as KillTarget }
