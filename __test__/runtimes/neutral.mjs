// The whole API under whichever runtime runs this file: Node, Bun or Deno
// (`deno run -A`). Plain ESM and node: modules only, no test framework: each
// check prints `ok`, `not ok` or `skip` with its name, and the last line
// counts them; the exit code is 1 if any failed. `npm run test:runtimes`
// (scripts/runtimes.sh) runs it under every runtime the package supports,
// with the native binding and with the portable backend
// (KILL_TARGET_PORTABLE=1), and under Node for Windows where Wine runs it
// (`scripts/runtimes.sh windows`): there no shell, no `sleep`, no process
// groups, and a kill is TerminateProcess, so those checks take Windows'
// branch.
import { spawn } from 'node:child_process'
import { createRequire } from 'node:module'
import { fileURLToPath } from 'node:url'

import { exited, inPidNamespace, IN_NAMESPACE_ENV, preparePidReuse, probePidNamespaces } from '../../examples/pid-reuse.mjs'

const { KillTarget, capabilities } = createRequire(import.meta.url)('../../index.js')
const SELF = fileURLToPath(import.meta.url)
const windows = process.platform === 'win32'
const runtime = globalThis.Bun
  ? `Bun ${globalThis.Bun.version}`
  : globalThis.Deno
    ? `Deno ${globalThis.Deno.version.deno}`
    : `Node ${process.version}`

const ARMED_ENV = 'KILL_TARGET_NEUTRAL_ARMED'
if (process.env[ARMED_ENV]) {
  // Re-run by the killOnExit check below: arm a sleeper, say its pid, and
  // wait to be killed.
  const child = sleeper()
  KillTarget.fromChildProcess(child).killOnExit()
  console.log(child.pid)
  setInterval(() => {}, 1 << 30)
  await new Promise(() => {}) // the checks below are the parent's
} else if (inPidNamespace()) {
  // Re-run by the pid reuse check below, as pid 1 of a new PID namespace.
  console.log(JSON.stringify(await staleSignalAfterReuse()))
  process.exit(0)
}

const counts = { ok: 0, 'not ok': 0, skip: 0 }
const report = (outcome, name, detail = '') => {
  counts[outcome]++
  console.log(`${outcome} - ${name}${detail ? ` (${detail})` : ''}`)
}
/** Runs `body`; a thrown error fails the check with its message. */
async function check(name, body) {
  try {
    const detail = await body()
    report('ok', name, typeof detail === 'string' ? detail : '')
  } catch (error) {
    report('not ok', name, error?.stack ?? String(error))
  }
}
const skip = (name, why) => report('skip', name, why)
function assert(value, message) {
  if (!value) throw new Error(message)
}
/** The error `body` throws (or its promise rejects with), else a failure. */
async function thrown(body) {
  try {
    await body()
  } catch (error) {
    return error
  }
  throw new Error('nothing was thrown')
}
function isError(error, klass, code) {
  assert(error instanceof klass && error.code === code, `expected ${klass.name} ${code}, got ${error?.name} ${error?.code}: ${error?.message}`)
}
function sleeper(options = {}) {
  if (windows) return spawn(process.execPath, ['-e', 'setTimeout(() => {}, 30000)'], { stdio: 'ignore', ...options })
  return spawn('sleep', ['30'], { stdio: 'ignore', ...options })
}
/** How a child ended by `signal` reports it: on Windows, where a kill is TerminateProcess, as exit code 1. */
function endedBy(how, signal) {
  return windows ? how.code === 1 || how.signal === signal : how.signal === signal
}
function delay(ms) {
  return new Promise((resolve) => setTimeout(resolve, ms))
}

const caps = capabilities()
console.log(`# ${runtime}, ${process.platform} ${process.arch}; capabilities() ${JSON.stringify(caps)}`)
console.log(`# wait path: ${'waitPath' in caps ? caps.waitPath : 'not reported by this build'}; backend: ${caps.backend ?? 'native'}`)
const portable = caps.backend === 'portable'

await check('capabilities(): booleans, decided once', () => {
  for (const key of ['pidfd', 'groupSignal', 'exitInfo']) assert(typeof caps[key] === 'boolean', `${key} is ${caps[key]}`)
  // Node waits in its own event loop unless told otherwise; Bun and Deno
  // have no usable libuv, so a helper thread serves their waits.
  // The portable backend polls on the runtime's own timers, and holds every
  // process by pid: no pidfd feature at all.
  const thread = globalThis.Bun || globalThis.Deno || process.env.KILL_TARGET_WAIT_THREAD === '1'
  const expected = portable ? 'timer' : thread ? 'thread' : 'libuv'
  if ('waitPath' in caps) assert(caps.waitPath === expected, `waitPath is ${caps.waitPath}, not ${expected}`)
  if (portable) for (const key of ['pidfd', 'groupSignal', 'exitInfo', 'pidfdInfo', 'pidfs', 'killOnExit']) assert(caps[key] === false, `${key} is ${caps[key]}`)
  assert(JSON.stringify(capabilities()) === JSON.stringify(caps), 'a second call differs')
})

await check('signal: a live child gets it, then a reaped one is reported gone', async () => {
  const child = sleeper()
  const target = KillTarget.fromChildProcess(child)
  assert(target.pid === child.pid && target.raceFree === caps.pidfd && !target.closed, 'pid, raceFree, closed')
  assert(target.signal(0) === true && target.isAlive(), 'signal(0) or isAlive() on a live child')
  assert(target.signal('SIGKILL') === true, 'SIGKILL not delivered')
  const how = await exited(child)
  assert(endedBy(how, 'SIGKILL'), `the child ended by ${JSON.stringify(how)}`)
  assert(target.isAlive() === false, 'isAlive() after the exit')
  if (caps.pidfd) assert(target.signal(0) === false, 'signal(0) after the reap was delivered')
  const status = target.exitStatus()
  if (caps.exitInfo) assert(status?.signal === 'SIGKILL' && status.code === null, `exitStatus() ${JSON.stringify(status)}`)
  target.close()
  assert(target.closed, 'closed after close()')
})

if (windows) {
  await check('signalGroup and terminate({ group: true }): no process groups on Windows, ERR_FEATURE_UNAVAILABLE_ON_PLATFORM', async () => {
    const child = sleeper()
    const target = KillTarget.fromChildProcess(child)
    isError(await thrown(() => target.signalGroup('SIGTERM')), TypeError, 'ERR_FEATURE_UNAVAILABLE_ON_PLATFORM')
    isError(await thrown(() => target.terminate({ group: true })), TypeError, 'ERR_FEATURE_UNAVAILABLE_ON_PLATFORM')
    assert(child.exitCode === null && target.signal(0), 'the refused group call reached the child')
    target.signal('SIGKILL')
    await exited(child)
    target.close()
  })
} else await check('signalGroup: the group a detached child leads, members included', async () => {
  // The leader prints its member's pid, then waits for it.
  const leader = spawn('sh', ['-c', 'sleep 30 & echo $!; wait'], { detached: true, stdio: ['ignore', 'pipe', 'ignore'] })
  const target = KillTarget.fromChildProcess(leader)
  const memberPid = await new Promise((resolve) => leader.stdout.once('data', (chunk) => resolve(Number(String(chunk).trim()))))
  const member = KillTarget.fromPid(memberPid)
  assert(target.signalGroup('SIGTERM') === true, 'signalGroup not delivered')
  assert((await exited(leader)).signal === 'SIGTERM', 'the leader did not end by SIGTERM')
  assert((await member.waitForExit({ timeout: 5000 })) === true, 'the member outlived the group signal')
  member.close()
  const loner = sleeper()
  const notLeader = KillTarget.fromChildProcess(loner)
  isError(await thrown(() => notLeader.signalGroup('SIGTERM')), Error, 'ERR_NOT_GROUP_LEADER')
  notLeader.signal('SIGKILL')
  await exited(loner)
  return caps.groupSignal ? 'through the pidfd' : 'through killpg'
})

await check('waitForExit: true on exit, false at the time limit, AbortError on abort', async () => {
  const child = sleeper()
  const target = KillTarget.fromChildProcess(child)
  assert((await target.waitForExit({ timeout: 50 })) === false, 'the time limit did not resolve false')
  const controller = new AbortController()
  const reason = new Error('stop waiting')
  const aborted = target.waitForExit({ signal: controller.signal })
  controller.abort(reason)
  const error = await thrown(() => aborted)
  assert(error.name === 'AbortError' && error.code === 'ABORT_ERR' && error.cause === reason, `rejected with ${error}`)
  isError(await thrown(() => target.waitForExit({ signal: AbortSignal.abort() })), Error, 'ABORT_ERR')
  const waiting = target.waitForExit()
  child.kill('SIGTERM')
  assert((await waiting) === true, 'the wait did not resolve true on exit')
  await exited(child)
  target.close()
})

await check('terminate: SIGTERM alone, or escalation to SIGKILL when it is ignored', async () => {
  const polite = sleeper()
  const result = await KillTarget.fromChildProcess(polite).terminate({ forceKillAfterDelay: 2000 })
  assert(result.exited && !result.forced && result.signals[0] === 'SIGTERM', `polite: ${JSON.stringify(result)}`)
  // Windows has no SIGCONT, and nothing can ignore its SIGTERM (TerminateProcess).
  if (windows) {
    assert(result.signals.length === 1, `signals on Windows: ${result.signals}`)
    return 'Windows: SIGTERM ends any process, so there is nothing to escalate'
  }
  // A shell that ignores SIGTERM; it says when the trap is set.
  const stubborn = spawn('sh', ['-c', 'trap "" TERM; echo ready; while :; do sleep 0.05; done'], { stdio: ['ignore', 'pipe', 'ignore'] })
  const target = KillTarget.fromChildProcess(stubborn)
  await new Promise((resolve) => stubborn.stdout.once('data', resolve))
  const forced = await target.terminate({ forceKillAfterDelay: 200 })
  assert(forced.exited && forced.forced && forced.signals.includes('SIGTERM') && forced.signals.at(-1) === 'SIGKILL', `stubborn: ${JSON.stringify(forced)}`)
  assert((await exited(stubborn)).signal === 'SIGKILL', 'the stubborn child did not end by SIGKILL')
  const gone = await target.terminate()
  assert(gone.exited && !gone.forced && gone.signals.length === 0, `already gone: ${JSON.stringify(gone)}`)
  target.close()
})

await check('descendants() and terminate({ tree: true }): a child and the two it started', async () => {
  // The root starts two sleepers, then says so.
  const root = windows
    ? spawn(process.execPath, ['-e', "const { spawn } = require('child_process'); for (let i = 0; i < 2; i++) spawn(process.execPath, ['-e', 'setTimeout(() => {}, 30000)']); console.log('ready'); setTimeout(() => {}, 30000)"], { stdio: ['ignore', 'pipe', 'ignore'] })
    : spawn('sh', ['-c', 'sleep 30 & sleep 30 & echo ready; wait'], { stdio: ['ignore', 'pipe', 'ignore'] })
  const target = KillTarget.fromChildProcess(root)
  await new Promise((resolve) => root.stdout.once('data', resolve))
  let found = []
  for (let tries = 0; tries < 50 && found.length < 2; tries++) {
    for (const member of found) member.close()
    found = target.descendants()
    if (found.length < 2) await delay(100)
  }
  assert(found.length === 2 && found.every((member) => member.isAlive()), `descendants(): ${found.map((member) => member.pid)}`)
  const result = await target.terminate({ tree: true, forceKillAfterDelay: 5000 })
  const left = []
  for (const member of found) {
    if (!(await member.waitForExit({ timeout: 5000 }))) left.push(member.pid)
    member.signal('SIGKILL')
    member.close()
  }
  assert(result.exited && result.processes === 3 && left.length === 0, `terminate({ tree: true }): ${JSON.stringify(result)}; left: ${left}`)
  const rootEnded = await Promise.race([exited(root), delay(10_000)])
  assert(rootEnded, 'the root outlived the tree\'s end')
  target.close()
  return portable ? (windows ? 'one listing, then taskkill /T (or each member, where taskkill has no /T)' : process.platform === 'linux' ? 'from /proc, by number' : 'from one ps listing per pass') : 'by pidfd'
})

await check('dispose: Symbol.dispose closes (pending waits reject), Symbol.asyncDispose terminates then closes', async () => {
  const child = sleeper()
  const target = KillTarget.fromChildProcess(child)
  const pending = target.waitForExit()
  target[Symbol.dispose]()
  assert(target.closed, 'not closed after Symbol.dispose')
  isError(await thrown(() => pending), Error, 'ERR_USE_AFTER_CLOSE')
  isError(await thrown(() => target.signal(0)), Error, 'ERR_USE_AFTER_CLOSE')
  target[Symbol.dispose]()
  assert(child.exitCode === null && child.signalCode === null, 'closing ended the process')
  const again = KillTarget.fromChildProcess(child)
  await again[Symbol.asyncDispose]()
  assert(again.closed && endedBy(await exited(child), 'SIGTERM'), 'asyncDispose did not terminate the child')
})

const usingParses = (() => {
  try {
    new Function('{ using x = null }')
    return true
  } catch {
    return false
  }
})()
if (usingParses) {
  const { usingChecks } = await import('./using.mjs')
  for (const [name, passed, detail] of await usingChecks()) report(passed ? 'ok' : 'not ok', name, detail)
} else {
  skip('`using` and `await using`', `${runtime} does not parse them`)
}

await check('errors for bad input, shaped like Node\'s, before any system call', async () => {
  isError(await thrown(() => KillTarget.fromPid('1')), TypeError, 'ERR_INVALID_ARG_TYPE')
  isError(await thrown(() => KillTarget.fromPid(0)), RangeError, 'ERR_OUT_OF_RANGE')
  isError(await thrown(() => KillTarget.fromPid(1.5)), RangeError, 'ERR_OUT_OF_RANGE')
  // One above the largest pid Linux hands out: in range, owned by nobody.
  isError(await thrown(() => KillTarget.fromPid(4194304)), Error, 'ESRCH')
  isError(await thrown(() => KillTarget.fromChildProcess({ pid: undefined, exitCode: null, signalCode: null })), TypeError, 'ERR_INVALID_ARG_VALUE')
  const child = sleeper()
  const target = KillTarget.fromChildProcess(child)
  isError(await thrown(() => target.signal('SIGFOO')), TypeError, 'ERR_UNKNOWN_SIGNAL')
  isError(await thrown(() => target.signal('sigterm')), TypeError, 'ERR_UNKNOWN_SIGNAL')
  isError(await thrown(() => target.signal(65)), RangeError, 'ERR_OUT_OF_RANGE')
  isError(await thrown(() => target.signal(null)), TypeError, 'ERR_INVALID_ARG_TYPE')
  isError(await thrown(() => target.waitForExit({ timeout: -1 })), RangeError, 'ERR_OUT_OF_RANGE')
  isError(await thrown(() => target.terminate('soon')), TypeError, 'ERR_INVALID_ARG_TYPE')
  assert(child.exitCode === null && target.signal(0), 'a refused call reached the child')
  target.signal('SIGKILL')
  await exited(child)
  target.close()
})

if (!caps.killOnExit) {
  skip('killOnExit: an armed child dies with its program, SIGKILLed', 'capabilities().killOnExit is not true here')
} else {
  await check('killOnExit: an armed child dies with its program, SIGKILLed', async () => {
    const args = globalThis.Deno ? ['run', '-A', SELF] : [SELF]
    const program = spawn(process.execPath, args, { env: { ...process.env, [ARMED_ENV]: '1' }, stdio: ['ignore', 'pipe', 'inherit'] })
    let output = ''
    program.stdout.setEncoding('utf8').on('data', (chunk) => (output += chunk))
    while (!output.endsWith('\n')) await delay(10)
    const armed = KillTarget.fromPid(Number(output))
    program.kill('SIGKILL')
    await exited(program)
    assert(await armed.waitForExit({ timeout: 10_000 }), 'the armed child outlived its program')
    armed.close()
  })
}

// One forced pid reuse: in a new PID namespace (this file again, as its
// pid 1), a child is killed and reaped, a newcomer is given its pid, and the
// stale target's signal must not reach it.
const namespace = caps.pidfd ? probePidNamespaces() : null
if (!caps.pidfd) {
  skip('a stale target does not signal the newcomer that reused its pid', 'no pidfds here: signals go by pid')
} else if (!namespace.ok) {
  skip('a stale target does not signal the newcomer that reused its pid', namespace.reason)
} else {
  await check('a stale target does not signal the newcomer that reused its pid', async () => {
    const args = globalThis.Deno ? ['run', '-A', SELF] : [SELF]
    const child = spawn('unshare', [...namespace.args, process.execPath, ...args], {
      env: { ...process.env, [IN_NAMESPACE_ENV]: namespace.label },
      stdio: ['ignore', 'pipe', 'inherit'],
    })
    let output = ''
    child.stdout.setEncoding('utf8').on('data', (chunk) => (output += chunk))
    const timer = setTimeout(() => child.kill('SIGKILL'), 60_000)
    const how = await exited(child)
    clearTimeout(timer)
    assert(how.code === 0, `the namespace run ended by ${JSON.stringify(how)}: ${output}`)
    const result = JSON.parse(output.trim().split('\n').pop())
    assert(result.reused, `no reuse: ${result.missed}`)
    assert(result.sent === false && result.newcomerAlive, `pid ${result.pid} reused: signal() returned ${result.sent}, newcomer alive: ${result.newcomerAlive}`)
    return `pid ${result.pid}, by ${result.method}, attempt ${result.attempt}`
  })
}

/** Inside the namespace: up to five victims until one's pid is reused. */
async function staleSignalAfterReuse() {
  capabilities() // its probe and any thread start before pids are counted
  const { method, takePid } = await preparePidReuse()
  let missed = ''
  for (let attempt = 1; attempt <= 5; attempt++) {
    const victim = sleeper()
    const target = KillTarget.fromChildProcess(victim)
    victim.kill('SIGKILL')
    await exited(victim)
    const taken = await takePid(victim.pid, () => sleeper())
    if (!taken.child) {
      missed = taken.missed
      continue
    }
    const sent = target.signal('SIGTERM')
    await delay(100)
    const newcomerAlive = taken.child.exitCode === null && taken.child.signalCode === null
    taken.child.kill('SIGKILL')
    target.close()
    return { reused: true, pid: victim.pid, method, attempt, sent, newcomerAlive }
  }
  return { reused: false, missed }
}

console.log(`# ${runtime}: ${counts.ok} passed, ${counts['not ok']} failed, ${counts.skip} skipped`)
process.exit(counts['not ok'] ? 1 : 0)
