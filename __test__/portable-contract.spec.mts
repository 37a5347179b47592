// One argument and error contract, two implementations: the native binding
// (binding.js) and the portable backend (portable/dist), loaded side by side
// in this one process, get the same calls, and every error each throws or
// rejects with must be the other's: class, name, code, message, and errno and
// syscall where there are. Two validators drift apart unless a test holds
// them together. Nothing here is sent to a live process: the calls that pass
// their checks reach a closed target, or a zombie.
import { spawn } from 'node:child_process'
import { createRequire } from 'node:module'
import { inspect } from 'node:util'

import test, { type ExecutionContext } from 'ava'
import fc from 'fast-check'

import type * as Package from '../index.js'
import {
  badChildren,
  badIds,
  badKillOnExitOptions,
  badPids,
  badSignals,
  badTerminateOptions,
  badWaitOptions,
  type Expected,
} from './bad-inputs.mts'
import { readPids, scaled, shell, sleeper } from './helpers.mts'

type Backend = typeof Package
const require = createRequire(import.meta.url)
const native: Backend = require('../binding.js')
const portable: Backend = require('../portable/dist/index.js')
const BACKENDS = { native, portable }
const RUNS = scaled(1000, 20_000)

/** Everything a caller can see of an error. */
function described(error: unknown) {
  if (!(error instanceof Error)) return { thrown: error }
  const e = error as NodeJS.ErrnoException & { cause?: unknown; signals?: unknown; pids?: unknown }
  return {
    class: e.constructor.name,
    name: e.name,
    code: e.code,
    message: e.message,
    errno: e.errno,
    syscall: e.syscall,
    cause: 'cause' in e ? e.cause : '(none)',
    signals: e.signals,
    pids: e.pids,
  }
}

type Outcome = { threw: ReturnType<typeof described> } | { rejected: ReturnType<typeof described> } | { returned: unknown }

/** What a call did: threw, returned a promise that rejected, or returned (a promise's value, awaited). */
async function outcome(call: () => unknown): Promise<Outcome> {
  let value: unknown
  try {
    value = call()
  } catch (error) {
    return { threw: described(error) }
  }
  if (!(value instanceof Promise)) return { returned: typeof value === 'object' && value !== null ? '(an object)' : value }
  try {
    return { returned: await value }
  } catch (error) {
    return { rejected: described(error) }
  }
}

/** Runs `call` against both backends; their outcomes must be equal, and an error must be `expected`. */
async function same(t: ExecutionContext, what: string, call: (backend: Backend) => unknown, expected?: Expected) {
  const theirs = await outcome(() => call(native))
  const ours = await outcome(() => call(portable))
  t.deepEqual(ours, theirs, what)
  if (expected) {
    const error = 'threw' in theirs ? theirs.threw : 'rejected' in theirs ? theirs.rejected : undefined
    t.like(error, { class: expected[0].name, code: expected[1] }, `${what}: the documented error`)
  }
}

/** A closed target of each backend, on one live child that nothing signals. */
function closedTargets(t: ExecutionContext) {
  const child = sleeper(t)
  const targets = { native: native.KillTarget.fromChildProcess(child), portable: portable.KillTarget.fromChildProcess(child) }
  for (const target of Object.values(targets)) target.close()
  return (backend: Backend) => (backend === native ? targets.native : targets.portable)
}

/**
 * A target of each backend on a zombie that leads a group of its own, in a
 * session of its own: any signal reaches it harmlessly (as hostile.spec's).
 */
async function zombieTargets(t: ExecutionContext) {
  const leader = 'until read name < /proc/$PPID/comm && [ "$name" = sleep ]; do :; done'
  const parent = shell(t, `setsid sh -c '${leader}' & echo $!; exec sleep 3600`)
  const [pid] = await readPids(parent, 1)
  const targets = { native: native.KillTarget.fromPid(pid), portable: portable.KillTarget.fromPid(pid) }
  t.true(await targets.native.waitForExit({ timeout: 5000 }), 'the leader has exited')
  t.teardown(() => Object.values(targets).forEach((target) => target.close()))
  return (backend: Backend) => (backend === native ? targets.native : targets.portable)
}

test('the portable backend is the one loaded here, and holds processes by pid', (t) => {
  t.like(portable.capabilities(), { pidfd: false, groupSignal: false, exitInfo: false, pidfdInfo: false, pidfs: false, killOnExit: false })
  t.is((portable.capabilities() as { backend?: string }).backend, 'portable')
  t.false(portable.KillTarget.fromPid(process.pid).raceFree)
})

test("the README's error table: each bad input is refused by both backends alike", async (t) => {
  const closed = closedTargets(t)
  const zombie = await zombieTargets(t)
  for (const [what, pid, expected] of badPids) await same(t, `fromPid(${what})`, (b) => b.KillTarget.fromPid(pid as number), expected)
  for (const [what, child, expected] of badChildren)
    await same(t, `fromChildProcess(${what})`, (b) => b.KillTarget.fromChildProcess(child as any), expected)
  for (const [what, id, expected] of badIds) await same(t, `fromId(${what})`, (b) => b.KillTarget.fromId(id as string), expected)
  for (const [what, signal, expected] of badSignals) {
    await same(t, `signal(${what})`, (b) => closed(b).signal(signal as any), expected)
    await same(t, `signalGroup(${what})`, (b) => closed(b).signalGroup(signal as any), expected)
  }
  for (const [what, options, expected] of badWaitOptions)
    await same(t, `waitForExit(${what})`, (b) => zombie(b).waitForExit(options as any), expected)
  for (const [what, options, expected] of badTerminateOptions)
    await same(t, `terminate(${what})`, (b) => zombie(b).terminate(options as any), expected)
  for (const [what, options, expected] of badKillOnExitOptions)
    await same(t, `killOnExit(${what})`, (b) => closed(b).killOnExit(options as any), expected)
})

test('receivers, the constructor, a closed target and aborts: the same errors', async (t) => {
  const closed = closedTargets(t)
  const zombie = await zombieTargets(t)
  const members = ['pid', 'raceFree', 'closed', 'id', 'signal', 'signalGroup', 'isAlive', 'exitStatus', 'waitForExit', 'terminate', 'killOnExit', 'descendants', 'close']
  for (const name of members) {
    for (const receiver of [{}, null, undefined, 1, Object.create(native.KillTarget.prototype)]) {
      await same(t, `${name} on ${String(receiver)}`, (b) => {
        const descriptor = Object.getOwnPropertyDescriptor(b.KillTarget.prototype, name)!
        return (descriptor.get ?? descriptor.value).call(receiver)
      })
    }
  }
  await same(t, 'new KillTarget()', (b) => new (b.KillTarget as any)())
  await same(t, 'KillTarget()', (b) => (b.KillTarget as any)())
  await same(t, 'Reflect.construct(KillTarget, [], Other)', (b) => Reflect.construct(b.KillTarget, [], class Other {}))
  for (const call of ['signal', 'signalGroup', 'isAlive', 'exitStatus', 'descendants', 'killOnExit', 'waitForExit', 'terminate'] as const)
    await same(t, `${call}() after close()`, (b) => (closed(b)[call] as () => unknown)())
  await same(t, 'close() again, and the dispose symbols', (b) => [closed(b).close(), closed(b)[Symbol.dispose]()])
  await same(t, '[Symbol.asyncDispose]() when closed', (b) => closed(b)[Symbol.asyncDispose]())
  const reason = new Error('stop')
  await same(t, 'an already-aborted signal', (b) => zombie(b).waitForExit({ signal: AbortSignal.abort(reason) }))
  await same(t, 'terminate with an already-aborted signal', (b) => zombie(b).terminate({ signal: AbortSignal.abort(reason) }))
  await same(t, 'a zombie is waited for at once', (b) => zombie(b).waitForExit({ timeout: 0 }))
  await same(t, 'terminate of a zombie', (b) => zombie(b).terminate({ forceKillAfterDelay: 1000 }))
  // The same shape; raceFree is each backend's own.
  await same(t, 'util.inspect', (b) => inspect(closed(b)).replace(/raceFree: \w+/, 'raceFree: …'))
})

test('errors that name a process: not a group leader, already exited, not our child', async (t) => {
  const child = sleeper(t)
  await same(t, 'signalGroup on a process that leads no group', (b) => {
    const target = b.KillTarget.fromChildProcess(child)
    try {
      return target.signalGroup(0)
    } finally {
      target.close()
    }
  })
  await same(t, 'a child Node reported as exited', (b) => b.KillTarget.fromChildProcess({ pid: child.pid, exitCode: 0, signalCode: null }))
  await same(t, 'a live process that is not our child', (b) => b.KillTarget.fromChildProcess({ pid: process.ppid, exitCode: null, signalCode: null }))
  const reaped = spawn('true')
  await new Promise((resolve) => reaped.on('exit', resolve))
  for (const [name, backend] of Object.entries(BACKENDS)) {
    const error = t.throws(() => backend.KillTarget.fromPid(reaped.pid!)) as NodeJS.ErrnoException
    // The system call named is each backend's own: pidfd_open, or kill.
    t.like(error, { constructor: Error, code: 'ESRCH', errno: -3 }, name)
    t.is(error.message, `${error.syscall} ESRCH: No such process (pid ${reaped.pid})`, name)
  }
})

/** Values of every JavaScript type, weighted towards the edges of the valid ranges (as hostile.spec's). */
const anything = fc.oneof(
  fc.anything({ withBigInt: true, withBoxedValues: true, withDate: true, withMap: true, withSet: true, withTypedArray: true, withNullPrototype: true, withObjectString: true }),
  fc.integer({ min: -70, max: 70 }),
  fc.integer({ min: 4_194_300, max: 4_194_310 }),
  fc.double(),
  fc.constantFrom(-0, NaN, Infinity, -Infinity, 0.5, 2 ** 31, 2 ** 32 + 15, 'SIGTERM', 'SIGKILL', 'sigterm', 'SIGRTMIN', '', 'SIGTERM\0'),
  fc.string(),
  fc.string({ unit: 'binary' }),
  fc.constantFrom(undefined, null, true, false, Symbol('x'), () => 15, new Number(15), new String('SIGTERM'), [15], { valueOf: () => 15 }),
)

/** The outcomes, with what may differ between the two by design left out: the system call a failed open names. */
function comparable(outcome: Outcome) {
  const error = 'threw' in outcome ? outcome.threw : 'rejected' in outcome ? outcome.rejected : null
  if (error && 'code' in error && !String(error.code).startsWith('ERR_') && error.code !== 'ABORT_ERR')
    return { error: { class: error.class, code: error.code } }
  return outcome
}

test(`${RUNS} generated values through every entry point: the same error, or none from either`, async (t) => {
  const closed = closedTargets(t)
  const zombie = await zombieTargets(t)
  const calls: [string, (b: Backend, value: unknown) => unknown][] = [
    ['fromPid', (b, v) => b.KillTarget.fromPid(v as number)],
    ['fromId', (b, v) => b.KillTarget.fromId(v as string)],
    ['fromChildProcess', (b, v) => b.KillTarget.fromChildProcess(v as any)],
    ['fromChildProcess({ pid })', (b, v) => b.KillTarget.fromChildProcess({ pid: v, exitCode: null, signalCode: null } as any)],
    ['signal', (b, v) => closed(b).signal(v as any)],
    ['signalGroup', (b, v) => closed(b).signalGroup(v as any)],
    ['killOnExit', (b, v) => closed(b).killOnExit(v as any)],
    ['killOnExit({ signal })', (b, v) => closed(b).killOnExit({ signal: v } as any)],
    ['waitForExit', (b, v) => zombie(b).waitForExit(v as any)],
    ['waitForExit({ timeout, signal })', (b, v) => zombie(b).waitForExit({ timeout: v, signal: v } as any)],
    ['terminate({ killSignal })', (b, v) => zombie(b).terminate({ killSignal: v } as any)],
    ['terminate({ forceKillAfterDelay, group })', (b, v) => zombie(b).terminate({ forceKillAfterDelay: v, group: v } as any)],
    ['terminate({ tree, signal })', (b, v) => zombie(b).terminate({ tree: v, signal: v } as any)],
  ]
  const opened: { close(): void }[] = []
  const keep = (value: unknown) => {
    if (value instanceof native.KillTarget || value instanceof portable.KillTarget) opened.push(value)
    return value
  }
  await fc.assert(
    fc.asyncProperty(fc.constantFrom(...calls), anything, async ([name, call], value) => {
      const theirs = comparable(await outcome(() => keep(call(native, value))))
      const ours = comparable(await outcome(() => keep(call(portable, value))))
      if (JSON.stringify(ours) !== JSON.stringify(theirs)) {
        t.log(name, value, { native: theirs, portable: ours })
        return false
      }
      return true
    }),
    { numRuns: RUNS },
  )
  for (const target of opened) target.close()
  t.pass()
})
