// Waiting for exit without reaping, and terminating with escalation.
import { getEventListeners, once } from 'node:events'
import { readdirSync, readFileSync, readlinkSync } from 'node:fs'

import test, { type ExecutionContext } from 'ava'

import { KillTarget, type TerminateResult, capabilities } from '../index.js'
import { delay, exitOf, pidfdsOn, readPids, running, scaled, shell, signalWhose, sleeper, stubborn, testUnless } from './helpers.mts'

/**
 * What terminate() resolves for a process that obeys `signal`. The SIGCONT
 * that follows it is listed only if delivered: not when the process exited
 * and was reaped in between.
 */
function assertObeyed(t: ExecutionContext, result: TerminateResult, signal = 'SIGTERM') {
  t.like(result, { exited: true, forced: false })
  t.true([`${signal},SIGCONT`, signal].includes(result.signals.join()), `signals: ${result.signals}`)
}

/** The state letter /proc shows for a process (R, S, T, Z…). */
function processState(pid: number): string {
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8')
  return stat[stat.lastIndexOf(')') + 2]
}

function threads(): number {
  const status = readFileSync('/proc/self/status', 'utf8')
  return Number(/^Threads:\s+(\d+)/m.exec(status)![1])
}

/**
 * The pidfds this process has in an epoll set, from /proc's fdinfo (an
 * epoll set may be open under several descriptors: each pidfd counts once).
 */
function watchedPidfds(): Set<string> {
  const link = (fd: string) => {
    try {
      return readlinkSync(`/proc/self/fd/${fd}`)
    } catch {
      return '' // closed since the listing
    }
  }
  const watched = readdirSync('/proc/self/fd')
    .filter((fd) => link(fd) === 'anon_inode:[eventpoll]')
    .flatMap((fd) => [...readFileSync(`/proc/self/fdinfo/${fd}`, 'utf8').matchAll(/^tfd:\s+(\d+)/gm)].map((m) => m[1]))
  return new Set(watched.filter((fd) => link(fd) === 'anon_inode:[pidfd]'))
}

test('waitForExit resolves true when the process exits, and Node still reaps it', async (t) => {
  const child = shell(t, 'sleep 0.1; exit 5')
  const target = KillTarget.fromChildProcess(child)
  t.true(await target.waitForExit())
  t.false(target.isAlive())
  t.deepEqual(await exitOf(child), [5, null])
})

testUnless(
  [capabilities().pidfd ? null : 'without pidfds waits poll by pid (see fallback.spec)'],
  'a pending wait watches the pidfd in an epoll set: it waits on readiness, it does not poll',
  async (t) => {
    const child = sleeper(t)
    const target = KillTarget.fromChildProcess(child)
    const before = watchedPidfds().size
    const wait = target.waitForExit()
    // On the thread path the helper thread registers it: give it time.
    for (let i = 0; i < 100 && watchedPidfds().size === before; i++) await delay(20)
    t.is(watchedPidfds().size, before + 1)
    child.kill('SIGKILL')
    t.true(await wait)
    // close() takes it out again: the serial tests after this one count
    // descriptors.
    target.close()
    for (let i = 0; i < 100 && watchedPidfds().size > before; i++) await delay(20)
    t.is(watchedPidfds().size, before)
  },
  { serial: true },
)

test('waitForExit resolves false when the timeout passes first, and the process lives on', async (t) => {
  const child = sleeper(t)
  const target = KillTarget.fromChildProcess(child)
  t.false(await target.waitForExit({ timeout: 50 }))
  t.true(target.isAlive())
  t.is(child.exitCode, null)
})

/**
 * Holds the event loop, as a long synchronous task or a slow machine would,
 * until `done()` and at least `ms` have passed: timers due meanwhile then run
 * in the same loop turn as the I/O that became ready before them, and first.
 */
function blockUntil(done: () => boolean, ms: number) {
  const until = Date.now() + ms
  while (Date.now() < until || !done()) {}
}

test('a time limit that passes while the loop is blocked does not hide an exit that came before it', async (t) => {
  const child = sleeper(t)
  const target = KillTarget.fromChildProcess(child)
  const waiting = target.waitForExit({ timeout: 50 })
  target.signal('SIGKILL')
  blockUntil(() => !target.isAlive(), 200)
  t.true(await waiting)
})

test('terminate: an exit not yet read when the grace period ends is not forced', async (t) => {
  const child = sleeper(t)
  const target = KillTarget.fromChildProcess(child)
  const terminating = target.terminate({ forceKillAfterDelay: 50 })
  blockUntil(() => !target.isAlive(), 200)
  assertObeyed(t, await terminating)
  t.deepEqual(await exitOf(child), [null, 'SIGTERM'])
})

test('waitForExit resolves at once for a process that has already exited', async (t) => {
  const child = sleeper(t)
  const target = KillTarget.fromChildProcess(child)
  child.kill('SIGKILL')
  await exitOf(child)
  t.true(await target.waitForExit({ timeout: 0 }))
})

test('waitForExit works for processes that are not our children', async (t) => {
  // The parent kills its own child when told to, after the target is open.
  const parent = shell(t, 'sleep 60 & echo $!; read go; kill $!; wait', { stdio: ['pipe', 'pipe', 'inherit'] })
  const [grandchild] = await readPids(parent, 1)
  const target = KillTarget.fromPid(grandchild)
  parent.stdin!.end('go\n')
  t.true(await target.waitForExit({ timeout: 5000 }))
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
  const before = pidfdsOn(child.pid!)
  const target = KillTarget.fromChildProcess(child)
  const waits = [target.waitForExit(), target.waitForExit({ timeout: 60_000 })]
  await delay(20)
  target.close()
  for (const wait of waits) await t.throwsAsync(wait, { code: 'ERR_USE_AFTER_CLOSE' })
  t.is(pidfdsOn(child.pid!), before)
  t.is(child.exitCode, null)
})

test('terminate: SIGTERM, then SIGCONT, and the process is gone', async (t) => {
  const child = sleeper(t)
  const target = KillTarget.fromChildProcess(child)
  assertObeyed(t, await target.terminate())
  t.false(target.isAlive())
  t.deepEqual(await exitOf(child), [null, 'SIGTERM'])
})

test('terminate escalates to SIGKILL when the process ignores the kill signal', async (t) => {
  const child = await stubborn(t)
  const target = KillTarget.fromChildProcess(child)
  const result = await target.terminate({ forceKillAfterDelay: 200 })
  t.deepEqual(result, { exited: true, forced: true, signals: ['SIGTERM', 'SIGCONT', 'SIGKILL'], processes: 1 })
  t.deepEqual(await exitOf(child), [null, 'SIGKILL'])
})

test('terminate wakes a stopped process with SIGCONT so its SIGTERM handler runs and it is not forced', async (t) => {
  // A handled SIGTERM does not wake a stopped process (an unhandled one would
  // kill it outright): only the SIGCONT lets the handler run.
  const child = shell(t, "trap 'exit 7' TERM; echo ready; while :; do sleep 0.05; done")
  await once(child.stdout!, 'data')
  const target = KillTarget.fromChildProcess(child)
  target.signal('SIGSTOP')
  while (processState(child.pid!) !== 'T') await delay(5)
  const result = await target.terminate({ forceKillAfterDelay: 5000 })
  t.deepEqual(result, { exited: true, forced: false, signals: ['SIGTERM', 'SIGCONT'], processes: 1 })
  t.deepEqual(await exitOf(child), [7, null])
})

test('terminate with a custom killSignal, and without escalation', async (t) => {
  const child = sleeper(t)
  const target = KillTarget.fromChildProcess(child)
  assertObeyed(t, await target.terminate({ killSignal: 'SIGINT', forceKillAfterDelay: false }), 'SIGINT')
  t.deepEqual(await exitOf(child), [null, 'SIGINT'])
})

const CHILDREN = scaled(1000, 1000)
test.serial(`${CHILDREN.toLocaleString('en-US')} children terminated at once are all accounted for: the polite exit on SIGTERM, the stubborn are forced`, async (t) => {
  // 600 s: under emulation 900 spawns can take more than a minute, and a
  // sleeper that ends by itself is not accounted for as terminated.
  const polite = Array.from({ length: CHILDREN * 0.9 }, () => sleeper(t, {}, 600))
  const stubborns = await Promise.all(Array.from({ length: CHILDREN * 0.1 }, () => stubborn(t)))
  const children = [...polite, ...stubborns]
  const exits = children.map((child) => exitOf(child))
  const targets = children.map((child) => KillTarget.fromChildProcess(child))
  // SIGKILL's exits are awaited max(this, 1 s): under emulation (test:kernels)
  // a hundred of them, behind nine hundred others, take more than a second.
  const results = await Promise.all(targets.map((target) => target.terminate({ forceKillAfterDelay: 2000 })))
  for (const result of results.slice(0, polite.length)) assertObeyed(t, result)
  const forced = { exited: true, forced: true, signals: ['SIGTERM', 'SIGCONT', 'SIGKILL'], processes: 1 }
  t.deepEqual(results.slice(polite.length), stubborns.map(() => forced))
  t.deepEqual(await Promise.all(exits), [
    ...polite.map(() => [null, 'SIGTERM']),
    ...stubborns.map(() => [null, 'SIGKILL']),
  ])
})

testUnless(
  [capabilities().pidfd ? null : 'without pidfds a reaped pid cannot be told from a reused one'],
  'terminate on a process already gone resolves without error and sends nothing',
  async (t) => {
    const child = sleeper(t)
    const target = KillTarget.fromChildProcess(child)
    child.kill('SIGKILL')
    await exitOf(child)
    t.deepEqual(await target.terminate(), { exited: true, forced: false, signals: [], processes: 0 })
  },
)

test('terminate({ group: true }) stops the whole group of a detached child', async (t) => {
  const leader = shell(t, 'sleep 60 & echo $!; sleep 60 & echo $!; wait', { detached: true })
  const target = KillTarget.fromChildProcess(leader)
  const members = (await readPids(leader, 2)).map((pid) => KillTarget.fromPid(pid))
  assertObeyed(t, await target.terminate({ group: true }))
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
  // Lives on after SIGTERM. The first signals go out within the call, so an
  // abort right after it comes while the escalation is pending.
  const child = shell(t, "trap 'echo term' TERM; echo ready; while :; do sleep 0.05; done")
  await once(child.stdout!, 'data')
  const target = KillTarget.fromChildProcess(child)
  const controller = new AbortController()
  const result = target.terminate({ forceKillAfterDelay: 1000, signal: controller.signal })
  controller.abort()
  const error = await t.throwsAsync(result, { name: 'AbortError' })
  t.deepEqual((error as Error & { signals: string[] }).signals, ['SIGTERM', 'SIGCONT'])
  await delay(1500)
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

test('a removeEventListener that throws rejects the settled wait with what it threw, not an uncaught exception', async (t) => {
  const child = sleeper(t)
  const target = KillTarget.fromChildProcess(child)
  const thrown = new Error('from removeEventListener')
  const wait = target.waitForExit({ signal: signalWhose('removeEventListener', thrown) })
  child.kill('SIGKILL')
  t.is(await t.throwsAsync(wait), thrown)
})

test('[Symbol.asyncDispose]() terminates the process, then closes the target', async (t) => {
  const child = sleeper(t)
  const target = KillTarget.fromChildProcess(child)
  await target[Symbol.asyncDispose]()
  t.true(target.closed)
  t.deepEqual(await exitOf(child), [null, 'SIGTERM'])
})

test('[Symbol.asyncDispose] of a closed target resolves and sends nothing, however often', async (t) => {
  const child = sleeper(t)
  const target = KillTarget.fromChildProcess(child)
  target.close()
  t.is(await target[Symbol.asyncDispose](), undefined)
  t.is(await target[Symbol.asyncDispose](), undefined)
  await delay(50)
  t.is(child.exitCode, null)
  t.is(child.signalCode, null)
})

test('terminate() then close() in the same tick: always rejected with the signals already delivered, 100 times of 100', async (t) => {
  for (let i = 0; i < 100; i++) {
    const child = sleeper(t)
    const target = KillTarget.fromChildProcess(child)
    const terminating = target.terminate()
    target.close()
    const error = await t.throwsAsync(terminating, { code: 'ERR_USE_AFTER_CLOSE' })
    t.deepEqual((error as Error & { signals: string[] }).signals, ['SIGTERM', 'SIGCONT'])
    t.deepEqual(await exitOf(child), [null, 'SIGTERM'])
  }
})

test('close() then terminate(): rejected with ERR_USE_AFTER_CLOSE and nothing is sent', async (t) => {
  const child = sleeper(t)
  const target = KillTarget.fromChildProcess(child)
  target.close()
  const error = await t.throwsAsync(target.terminate(), { code: 'ERR_USE_AFTER_CLOSE' })
  t.is((error as Error & { signals?: string[] }).signals, undefined)
  await delay(50)
  t.is(child.signalCode, null)
})

test('terminate() refuses a killSignal that cannot end a process, and sends nothing', async (t) => {
  const child = sleeper(t)
  const target = KillTarget.fromChildProcess(child)
  for (const killSignal of [0, 'SIGSTOP', 'SIGCONT', 'SIGTSTP', 'SIGTTIN', 'SIGTTOU', 19] as const) {
    await t.throwsAsync(target.terminate({ killSignal }), { instanceOf: TypeError, code: 'ERR_INVALID_ARG_VALUE' })
  }
  await delay(50)
  const stat = readFileSync(`/proc/${child.pid}/stat`, 'utf8')
  t.is(stat.slice(stat.lastIndexOf(')') + 2)[0], 'S', 'sleeping: neither stopped nor ended')
  t.true(target.isAlive())
})
