// Every bad input is refused with Node's error class and code, and nothing
// reaches any process: a sentinel child in this test's own process group must
// survive the whole table (pid 0 or -1 reaching kill() would take it down, and
// this worker with it).
import { execFileSync } from 'node:child_process'
import { chmodSync, copyFileSync, cpSync, existsSync, mkdtempSync, readdirSync, rmSync, statSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'

import test from 'ava'

import { KillTarget } from '../index.js'
import { badChildren, badPids, badSignals, badTerminateOptions, badWaitOptions, type Expected } from './bad-inputs.mts'
import { delay, exitOf, signalWhose, sleeper, testUnless } from './helpers.mts'

function assertShape(t: any, error: unknown, [klass, code]: Expected, what: string) {
  t.true(error instanceof klass, `${what}: expected ${klass.name}, got ${error}`)
  t.is((error as NodeJS.ErrnoException).code, code, what)
  t.is((error as NodeJS.ErrnoException).syscall, undefined, `${what}: no system call was made`)
}

test('every bad input is refused with Node\'s error class and code, and no signal leaves the process', async (t) => {
  // Same process group as this worker: kill(0, …) or kill(-1, …) would reach it.
  const sentinel = sleeper(t)
  const target = KillTarget.fromChildProcess(sentinel)
  let cases = 0

  const sync = (what: string, expected: Expected, call: () => unknown) => {
    const error = t.throws(call, undefined, what)
    assertShape(t, error, expected, what)
    cases++
  }
  const async = async (what: string, expected: Expected, call: () => Promise<unknown>) => {
    let promise: Promise<unknown> | undefined
    t.notThrows(() => (promise = call()), `${what}: a promise API rejects, it does not throw`)
    const error = await t.throwsAsync(promise!, undefined, what)
    assertShape(t, error, expected, what)
    cases++
  }

  for (const [what, pid, expected] of badPids) sync(`fromPid(${what})`, expected, () => KillTarget.fromPid(pid as number))
  for (const [what, child, expected] of badChildren)
    sync(`fromChildProcess(${what})`, expected, () => KillTarget.fromChildProcess(child as any))
  for (const [what, signal, expected] of badSignals) {
    sync(`signal(${what})`, expected, () => target.signal(signal as any))
    sync(`signalGroup(${what})`, expected, () => target.signalGroup(signal as any))
  }
  for (const [what, options, expected] of badWaitOptions)
    await async(`waitForExit(${what})`, expected, () => target.waitForExit(options as any))
  for (const [what, options, expected] of badTerminateOptions)
    await async(`terminate(${what})`, expected, () => target.terminate(options as any))

  t.true(cases >= 40, `${cases} cases`)
  // Give any stray signal time to land before looking.
  await delay(100)
  t.is(sentinel.exitCode, null)
  t.is(sentinel.signalCode, null)
  t.true(target.signal(0), 'the sentinel is alive')
  t.true(target.isAlive())
})

test('code of the caller\'s that throws (a getter, an AbortSignal\'s addEventListener) is what the call throws, or its promise rejects with, and nothing is sent', async (t) => {
  const sentinel = sleeper(t)
  const target = KillTarget.fromChildProcess(sentinel)
  const thrown = new Error('from the caller')
  const throwing = (key: string, base: object = {}) =>
    Object.defineProperty({ ...base }, key, {
      get() {
        throw thrown
      },
    })

  for (const key of ['pid', 'exitCode', 'signalCode'])
    t.is(t.throws(() => KillTarget.fromChildProcess(throwing(key, { pid: sentinel.pid }) as any)), thrown, `child.${key}`)
  type Case = [string, () => Promise<unknown>]
  const promises: Case[] = [
    ...['timeout', 'signal'].map((key): Case => [`waitForExit ${key}`, () => target.waitForExit(throwing(key))]),
    ...['killSignal', 'forceKillAfterDelay', 'group', 'signal'].map((key): Case => [`terminate ${key}`, () => target.terminate(throwing(key))]),
    ['signal.addEventListener getter', () => target.terminate({ signal: throwing('addEventListener', { aborted: false, removeEventListener() {} }) as any })],
    ['signal.addEventListener', () => target.terminate({ signal: signalWhose('addEventListener', thrown) })],
    ['signal.aborted getter', () => target.terminate({ signal: throwing('aborted', { addEventListener() {}, removeEventListener() {} }) as any })],
    ['a Proxy signal\'s has trap', () => target.terminate({ signal: new Proxy(new AbortController().signal, { has: () => { throw thrown } }) })],
  ]
  for (const [what, call] of promises) {
    let promise: Promise<unknown> | undefined
    t.notThrows(() => (promise = call()), `${what}: a promise API rejects, it does not throw`)
    t.is(await t.throwsAsync(promise!), thrown, what)
  }
  const primitive = target.terminate(Object.defineProperty({}, 'group', { get: () => { throw 'a string' } }))
  t.is(await t.throwsAsync(primitive, { any: true }), 'a string', 'a thrown primitive, as thrown')

  await delay(100)
  t.is(sentinel.signalCode, null)
  t.true(target.isAlive())
})

test('messages follow Node\'s wording', (t) => {
  t.throws(() => KillTarget.fromPid('123' as any), {
    message: 'The "pid" argument must be of type number. Received type string (\'123\')',
  })
  t.throws(() => KillTarget.fromPid(0), {
    message: 'The value of "pid" is out of range. It must be >= 1 && <= 4194304. Received 0',
  })
  t.throws(() => KillTarget.fromPid(1.5), {
    message: 'The value of "pid" is out of range. It must be an integer. Received 1.5',
  })
  t.throws(() => KillTarget.fromPid({} as any), {
    message: 'The "pid" argument must be of type number. Received an instance of Object',
  })
  t.throws(() => KillTarget.fromPid(null as any), {
    message: 'The "pid" argument must be of type number. Received null',
  })
})

test('the same bad signal names process.kill refuses are refused here', (t) => {
  for (const name of ['sigterm', 'SIGFOO', 'TERM']) {
    const theirs = t.throws(() => process.kill(process.pid, name as any))
    const ours = t.throws(() => KillTarget.fromPid(process.pid).signal(name as any))
    t.is((ours as any).code, (theirs as any).code, name)
    t.is(ours!.constructor, theirs!.constructor, name)
  }
})

test('a pid that names no process is ESRCH, with errno and syscall', async (t) => {
  const child = sleeper(t)
  const pid = child.pid!
  child.kill('SIGKILL')
  await exitOf(child)
  const error = t.throws(() => KillTarget.fromPid(pid)) as NodeJS.ErrnoException
  t.is(error.code, 'ESRCH')
  t.is(error.errno, -3)
  t.true(['pidfd_open', 'kill'].includes(error.syscall!), error.syscall)
})

// A kernel refusal needs a process this one may not signal. As root: a
// sleeper of our own in a session of its own (so SIGCONT's same-session
// exemption cannot apply), asked about by a child that has dropped to the
// nobody user. Otherwise: init, unless it runs as this very user.
const asRoot = process.getuid?.() === 0
const initIsOurs = !asRoot && statSync('/proc/1').uid === process.getuid?.()

testUnless(
  [initIsOurs ? 'not root, and init runs as this user: no process here refuses our signals' : null],
  'a kernel refusal (EPERM) throws with code, errno and syscall instead of returning false',
  (t) => {
    const pid = asRoot ? sleeper(t, { detached: true }).pid! : 1
    // The nobody user must be able to read the package: run it from a copy.
    const root = fileURLToPath(new URL('..', import.meta.url))
    const copy = mkdtempSync(join(tmpdir(), 'kill-target-'))
    t.teardown(() => rmSync(copy, { recursive: true, force: true }))
    chmodSync(copy, 0o755)
    for (const file of readdirSync(root).filter((name) => name === 'index.js' || name === 'binding.js' || name.endsWith('.node')))
      copyFileSync(join(root, file), join(copy, file))
    // The portable backend, where the entry loads it (test:portable).
    if (existsSync(join(root, 'portable/dist'))) cpSync(join(root, 'portable/dist'), join(copy, 'portable/dist'), { recursive: true })
    const check = `
      const { KillTarget, capabilities } = require(${JSON.stringify(join(copy, 'index.js'))})
      const refusal = (call) => {
        try { call(); return {} }
        catch (e) { return { name: e.constructor.name, code: e.code, errno: e.errno, syscall: e.syscall } }
      }
      const target = KillTarget.fromPid(${pid})
      const signal = refusal(() => target.signal(0))
      const group = refusal(() => target.signalGroup(0))
      console.log(JSON.stringify({ capabilities: capabilities(), signal, group }))`
    const asNobody = asRoot ? { uid: 65534, gid: 65534 } : {}
    const output = execFileSync(process.execPath, ['-e', check], { ...asNobody, cwd: copy, encoding: 'utf8' })
    const { capabilities: caps, signal: error, group } = JSON.parse(output)
    t.is(error.name, 'Error')
    t.is(error.code, 'EPERM')
    t.is(error.errno, -1)
    // The system call named is the path the probe chose for this kernel.
    t.is(error.syscall, caps.pidfd ? 'pidfd_send_signal' : 'kill')
    // Our sleeper leads its group (init may not): signalGroup goes through
    // the pidfd only where the kernel has PIDFD_SIGNAL_PROCESS_GROUP (6.9).
    if (asRoot) t.like(group, { code: 'EPERM', syscall: caps.groupSignal ? 'pidfd_send_signal' : 'killpg' })
  },
)
