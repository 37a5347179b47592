// Waiting for exit without reaping, and terminating with escalation.
import { getEventListeners } from 'node:events'
import { readFileSync } from 'node:fs'

import test from 'ava'

import { KillTarget, capabilities } from '../index.js'
import { delay, exitOf, openFds, readPids, running, shell, sleeper, testUnless } from './helpers.mts'

/** A shell that ignores SIGTERM (the disposition survives exec). */
const stubborn = "trap '' TERM; exec sleep 60"

function threads(): number {
  const status = readFileSync('/proc/self/status', 'utf8')
  return Number(/^Threads:\s+(\d+)/m.exec(status)![1])
}

test('waitForExit resolves true when the process exits, and Node still reaps it', async (t) => {
  const child = shell(t, 'sleep 0.1; exit 5')
  const target = KillTarget.fromChildProcess(child)
  t.true(await target.waitForExit())
  t.false(target.isAlive())
  t.deepEqual(await exitOf(child), [5, null])
})

test('waitForExit resolves false when the timeout passes first, and the process lives on', async (t) => {
  const child = sleeper(t)
  const target = KillTarget.fromChildProcess(child)
  t.false(await target.waitForExit({ timeout: 50 }))
  t.true(target.isAlive())
  t.is(child.exitCode, null)
})

test('waitForExit resolves at once for a process that has already exited', async (t) => {
  const child = sleeper(t)
  const target = KillTarget.fromChildProcess(child)
  child.kill('SIGKILL')
  await exitOf(child)
  t.true(await target.waitForExit({ timeout: 0 }))
})

test('waitForExit works for processes that are not our children', async (t) => {
  const parent = shell(t, 'sleep 0.2 & echo $!; wait')
  const [grandchild] = await readPids(parent, 1)
  t.true(await KillTarget.fromPid(grandchild).waitForExit({ timeout: 5000 }))
  t.false(running(grandchild))
})

test('many waits on many targets share the same threads and all resolve', async (t) => {
  const children = Array.from({ length: 20 }, () => sleeper(t))
  const targets = children.map((child) => KillTarget.fromChildProcess(child))
  await targets[0].waitForExit({ timeout: 1 }) // the runtime is up
  const before = threads()
  const waits = targets.flatMap((target) => [target.waitForExit(), target.waitForExit({ timeout: 60_000 })])
  await delay(50)
  t.is(threads(), before, 'no thread per wait')
  for (const child of children) child.kill('SIGKILL')
  t.deepEqual(await Promise.all(waits), waits.map(() => true))
})

test('an AbortSignal rejects the wait with an AbortError whose cause is the reason, and its listener comes off', async (t) => {
  const target = KillTarget.fromChildProcess(sleeper(t))
  const controller = new AbortController()
  const wait = target.waitForExit({ signal: controller.signal })
  t.is(getEventListeners(controller.signal, 'abort').length, 1)
  const reason = new Error('user cancelled')
  setTimeout(() => controller.abort(reason), 20)
  const error = (await t.throwsAsync(wait, { name: 'AbortError', code: 'ABORT_ERR' })) as Error
  t.is(error.cause, reason)
  t.is(getEventListeners(controller.signal, 'abort').length, 0)
  t.true(target.isAlive())
})

test('a wait that settles normally takes its abort listener off a long-lived signal', async (t) => {
  const target = KillTarget.fromChildProcess(sleeper(t))
  const controller = new AbortController()
  for (let i = 0; i < 20; i++) t.false(await target.waitForExit({ timeout: 1, signal: controller.signal }))
  t.is(getEventListeners(controller.signal, 'abort').length, 0)
})

test('an already-aborted signal rejects at once', async (t) => {
  const target = KillTarget.fromChildProcess(sleeper(t))
  const signal = AbortSignal.abort('too late')
  const error = (await t.throwsAsync(target.waitForExit({ signal }), { name: 'AbortError' })) as Error
  t.is(error.cause, 'too late')
})

test.serial('close() rejects pending waits and releases the descriptors they used', async (t) => {
  const child = sleeper(t)
  const before = openFds()
  const target = KillTarget.fromChildProcess(child)
  const waits = [target.waitForExit(), target.waitForExit({ timeout: 60_000 })]
  await delay(20)
  target.close()
  for (const wait of waits) await t.throwsAsync(wait, { code: 'ERR_USE_AFTER_CLOSE' })
  await delay(20)
  t.is(openFds(), before)
  t.is(child.exitCode, null)
})

test('terminate: SIGTERM, then SIGCONT, and the process is gone', async (t) => {
  const child = sleeper(t)
  const target = KillTarget.fromChildProcess(child)
  t.deepEqual(await target.terminate(), { exited: true, forced: false, signals: ['SIGTERM', 'SIGCONT'] })
  t.false(target.isAlive())
  t.deepEqual(await exitOf(child), [null, 'SIGTERM'])
})

test('terminate escalates to SIGKILL when the process ignores the kill signal', async (t) => {
  const child = shell(t, stubborn)
  const target = KillTarget.fromChildProcess(child)
  await delay(100) // let the shell set the trap
  const result = await target.terminate({ forceKillAfterDelay: 200 })
  t.deepEqual(result, { exited: true, forced: true, signals: ['SIGTERM', 'SIGCONT', 'SIGKILL'] })
  t.deepEqual(await exitOf(child), [null, 'SIGKILL'])
})

test('terminate wakes a stopped process with SIGCONT so it acts on SIGTERM without being forced', async (t) => {
  const child = sleeper(t)
  const target = KillTarget.fromChildProcess(child)
  target.signal('SIGSTOP')
  await delay(50)
  const result = await target.terminate({ forceKillAfterDelay: 3000 })
  t.deepEqual(result, { exited: true, forced: false, signals: ['SIGTERM', 'SIGCONT'] })
  t.deepEqual(await exitOf(child), [null, 'SIGTERM'])
})

test('terminate with a custom killSignal, and without escalation', async (t) => {
  const child = sleeper(t)
  const target = KillTarget.fromChildProcess(child)
  const result = await target.terminate({ killSignal: 'SIGINT', forceKillAfterDelay: false })
  t.deepEqual(result, { exited: true, forced: false, signals: ['SIGINT', 'SIGCONT'] })
  t.deepEqual(await exitOf(child), [null, 'SIGINT'])
})

testUnless(
  [capabilities().pidfd ? null : 'without pidfds a reaped pid cannot be told from a reused one'],
  'terminate on a process already gone resolves without error and sends nothing',
  async (t) => {
    const child = sleeper(t)
    const target = KillTarget.fromChildProcess(child)
    child.kill('SIGKILL')
    await exitOf(child)
    t.deepEqual(await target.terminate(), { exited: true, forced: false, signals: [] })
  },
)

test('terminate({ group: true }) stops the whole group of a detached child', async (t) => {
  const leader = shell(t, 'sleep 60 & echo $!; sleep 60 & echo $!; wait', { detached: true })
  const target = KillTarget.fromChildProcess(leader)
  const members = (await readPids(leader, 2)).map((pid) => KillTarget.fromPid(pid))
  const result = await target.terminate({ group: true })
  t.deepEqual(result, { exited: true, forced: false, signals: ['SIGTERM', 'SIGCONT'] })
  for (const member of members) t.true(await member.waitForExit({ timeout: 5000 }))
})

test('terminate({ group: true }) on a process that leads no group rejects and sends nothing', async (t) => {
  const child = sleeper(t)
  const target = KillTarget.fromChildProcess(child)
  await t.throwsAsync(target.terminate({ group: true }), { code: 'ERR_NOT_GROUP_LEADER' })
  await delay(50)
  t.true(target.isAlive())
  t.is(child.signalCode, null)
})

test('aborting terminate stops the escalation: no SIGKILL is sent', async (t) => {
  const child = shell(t, stubborn)
  const target = KillTarget.fromChildProcess(child)
  await delay(100)
  const controller = new AbortController()
  const result = target.terminate({ forceKillAfterDelay: 300, signal: controller.signal })
  setTimeout(() => controller.abort(), 50)
  await t.throwsAsync(result, { name: 'AbortError' })
  await delay(500)
  t.true(target.isAlive(), 'the stubborn process was never force-killed')
})

test('terminate with an already-aborted signal sends nothing', async (t) => {
  const child = sleeper(t)
  const target = KillTarget.fromChildProcess(child)
  await t.throwsAsync(target.terminate({ signal: AbortSignal.abort() }), { name: 'AbortError' })
  await delay(50)
  t.is(child.signalCode, null)
  t.true(target.isAlive())
})

test('[Symbol.asyncDispose]() terminates the process, then closes the target', async (t) => {
  const child = sleeper(t)
  const target = KillTarget.fromChildProcess(child)
  await target[Symbol.asyncDispose]()
  t.true(target.closed)
  t.deepEqual(await exitOf(child), [null, 'SIGTERM'])
})
