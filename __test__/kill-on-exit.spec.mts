// killOnExit(): a program's armed children die with it, however it dies.
// Each test runs fixtures/armed-program.mjs, which arms children (each
// marked in its environment) and ends as told; what is left is found by
// the mark, not by pids that may be anyone's by then.
import { type ChildProcess, spawn, spawnSync } from 'node:child_process'
import { once } from 'node:events'
import { readdirSync, readFileSync, readlinkSync } from 'node:fs'
import { createServer } from 'node:net'
import { fileURLToPath } from 'node:url'

import test, { type ExecutionContext } from 'ava'

import { KillTarget, capabilities } from '../index.js'
import { probePidNamespaces, runInPidNamespace } from '../examples/pid-reuse.mjs'
import { carrying, exitOf, guardianOf, heldBy, scaled, sleeper, testUnless, underEmulation, until } from './helpers.mts'

const PROGRAM = fileURLToPath(new URL('fixtures/armed-program.mjs', import.meta.url))
const INDEX = fileURLToPath(new URL('../index.js', import.meta.url))

const unsupported = [capabilities().killOnExit ? null : 'capabilities().killOnExit is false here']
const REUSE = fileURLToPath(new URL('fixtures/armed-reuse.mjs', import.meta.url))
const namespace = probePidNamespaces()
const noNamespaces = namespace.ok ? null : `PID namespaces are not permitted here (${namespace.reason})`
const emulated = namespace.ok ? underEmulation(namespace) : null
const CYCLES = scaled(20, 200)

interface Child {
  script?: string
  arm?: unknown
  then?: 'disarm' | 'close'
}

let programs = 0

/**
 * Starts the program with these children and resolves once they are armed.
 * Whatever carries its mark is killed when the test ends.
 */
async function armedProgram(t: ExecutionContext, children: Child[], options: { detached?: boolean; listen?: boolean } = {}) {
  const mark = `koe-${process.pid}-${++programs}`
  const program = spawn(process.execPath, [PROGRAM, ...children.map((child) => JSON.stringify(child))], {
    // Its stderr is expected to hold the uncaught exception and the abort.
    stdio: ['pipe', 'pipe', 'pipe'],
    env: { ...process.env, KOE_MARK: mark, ...(options.listen ? { KOE_LISTEN: '1' } : {}) },
    detached: options.detached,
  })
  t.teardown(() => {
    program.kill('SIGKILL')
    for (const [i] of children.entries()) {
      for (const pid of carrying('KOE_MARK', `${mark}-${i}`)) {
        try {
          using target = KillTarget.fromPid(pid)
          target.signal('SIGKILL')
        } catch {
          // gone since the listing
        }
      }
    }
  })
  let output = ''
  let errors = ''
  program.stdout!.setEncoding('utf8')
  program.stderr!.setEncoding('utf8').on('data', (chunk) => (errors += chunk))
  const ended = new Promise<string>((resolve) => {
    program.stdout!.on('data', (chunk) => (output += chunk))
    program.stdout!.on('end', () => resolve(output))
  })
  while (!output.includes('ready\n')) {
    await Promise.race([once(program.stdout!, 'data'), exitOf(program)])
    if (program.exitCode !== null) throw new Error(`the program exited with ${program.exitCode} before arming: ${errors}`)
  }
  const left = (i: number) => carrying('KOE_MARK', `${mark}-${i}`)
  const port = Number(/^port (\d+)$/m.exec(output)?.[1])
  return { program, ended, left, port }
}

const deaths: [string, (program: ChildProcess) => void][] = [
  ['a normal exit', (program) => program.stdin!.write('exit\n')],
  ['an uncaught exception', (program) => program.stdin!.write('throw\n')],
  ['process.abort()', (program) => program.stdin!.write('abort\n')],
  ['SIGTERM with no handler', (program) => program.kill('SIGTERM')],
  ['SIGINT with no handler', (program) => program.kill('SIGINT')],
  ['SIGKILL', (program) => program.kill('SIGKILL')],
]

for (const [death, end] of deaths) {
  testUnless(unsupported, `the program ends by ${death}: its armed child is killed, the unarmed one lives, stdout ends, its port is free`, async (t) => {
    const { program, ended, left, port } = await armedProgram(t, [{ arm: true }, {}], { listen: true })
    t.is(left(0).length, 1)
    end(program)
    await exitOf(program)
    t.true(await until(() => left(0).length === 0), 'the armed child is gone')
    // Its stdout was the program's: `out=$(node program)` does not hang.
    t.is(await ended, `port ${port}\nready\n`)
    t.is(left(1).length, 1, 'the unarmed child lives on')
    // Nobody kept the program's listening socket: not the guardian either.
    const server = createServer().listen(port, '127.0.0.1')
    await once(server, 'listening')
    server.close()
  })
}

testUnless(unsupported, 'the guardian holds nothing of the program: stdio on /dev/null, its one socket, pidfds; cwd /; a session of its own', async (t) => {
  const { program } = await armedProgram(t, [{ arm: true }], { listen: true })
  const guardian = guardianOf(program.pid!)!
  const held = readdirSync(`/proc/${guardian}/fd`).map((fd) => {
    try {
      return readlinkSync(`/proc/${guardian}/fd/${fd}`).replace(/\[\d+\]$/, '[…]')
    } catch {
      return 'gone'
    }
  })
  const kinds = [...new Set(held)].sort()
  t.deepEqual(kinds, ['/dev/null', 'anon_inode:[eventpoll]', 'anon_inode:[pidfd]', 'socket:[…]'])
  t.is(held.filter((kind) => kind === 'socket:[…]').length, 1, 'its end of the socket pair, not the program\'s listening socket')
  t.is(readlinkSync(`/proc/${guardian}/cwd`), '/')
  const stat = readFileSync(`/proc/${guardian}/stat`, 'utf8')
  t.is(Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[3]), guardian, 'it leads a session of its own')
})

testUnless(unsupported, 'Ctrl-C (SIGINT to the foreground group): an armed tree dies whole, a member in a new session too', async (t) => {
  const { program, left } = await armedProgram(t, [{ script: 'sleep 60 & setsid sleep 60 & wait', arm: { tree: true } }], { detached: true })
  t.true(await until(() => left(0).length === 3), 'the shell and both sleeps run')
  // The tree is walked every 100 ms: the guardian holds all three soon.
  const guardian = guardianOf(program.pid!)!
  t.true(await until(() => heldBy(guardian, program.pid!) === 3), 'the guardian holds the whole tree')
  process.kill(-program.pid!, 'SIGINT')
  await exitOf(program)
  t.true(await until(() => left(0).length === 0), `left: ${left(0)}`)
})

testUnless(unsupported, 'close() does not disarm; killOnExit(false) does', async (t) => {
  const { program, left } = await armedProgram(t, [{ arm: true, then: 'close' }, { arm: true, then: 'disarm' }])
  program.kill('SIGKILL')
  t.true(await until(() => left(0).length === 0), 'the closed target is killed')
  t.is(left(1).length, 1, 'the disarmed one lives on')
})

testUnless(unsupported, 'a signal the child handles, then SIGKILL after forceKillAfterDelay', async (t) => {
  const script = "trap 'echo TERM' TERM; while :; do sleep 0.05; done"
  const { program, ended, left } = await armedProgram(t, [{ script, arm: { signal: 'SIGTERM', forceKillAfterDelay: 300 } }])
  program.kill('SIGKILL')
  await exitOf(program)
  // The SIGTERM is caught: the shell lives on until the SIGKILL.
  t.true(await until(() => left(0).length === 0))
  t.is(await ended, 'ready\nTERM\n')
})

testUnless(unsupported, 'a guardian that is killed is replaced, and the replacement keeps the guarantee', async (t) => {
  const { program, left } = await armedProgram(t, [{ arm: true }])
  const first = guardianOf(program.pid!)
  t.truthy(first, 'the program has a guardian')
  process.kill(first!, 'SIGKILL')
  t.true(await until(() => ![undefined, first].includes(guardianOf(program.pid!))), 'a new guardian')
  const second = guardianOf(program.pid!)!
  t.true(await until(() => heldBy(second, program.pid!) === 1), 'the new guardian holds the child')
  program.kill('SIGKILL')
  t.true(await until(() => left(0).length === 0))
})

type Report = { arm: string; cycles: number; reused: number; missed: number; hit: number }
async function reuse(t: ExecutionContext, arm: 'guardian' | 'number'): Promise<Report> {
  if (!namespace.ok) throw new Error('unreachable: gated above')
  const timeout = CYCLES * 1000
  t.timeout(timeout + 10_000)
  const run = await runInPidNamespace(namespace, REUSE, [arm, String(CYCLES)], { timeout, reaper: true })
  t.is(run.code, 0, `exit ${run.code ?? run.signal}\nstdout: ${run.stdout}\nstderr: ${run.stderr}`)
  const report = JSON.parse(run.stdout.trim().split('\n').pop()!) as Report
  t.log(`${report.reused} of ${report.cycles} cycles reused the armed child's pid, ${report.hit} newcomers hit`)
  t.true(report.reused >= CYCLES / 2, `${report.missed} cycles missed the reuse`)
  return report
}

testUnless([...unsupported, noNamespaces, emulated], `an armed child that exited, its pid given to a newcomer before the program dies: the guardian never signals the newcomer (${CYCLES} cycles)`, async (t) => {
  t.is((await reuse(t, 'guardian')).hit, 0)
})

testUnless([...unsupported, noNamespaces, emulated], `control: a supervisor that kept the pid signals the newcomer (${CYCLES} cycles)`, async (t) => {
  const report = await reuse(t, 'number')
  t.is(report.hit, report.reused)
})

const SHORT_LIVED = scaled(1000, 10_000)
testUnless(unsupported, `${SHORT_LIVED.toLocaleString('en-US')} armed children that exit on their own are let go: neither side keeps their descriptors`, async (t) => {
  const fds = (pid: number | string) => readdirSync(`/proc/${pid}/fd`).length
  // Arming starts this process's guardian; the first arming is the baseline.
  const first = sleeper(t)
  KillTarget.fromChildProcess(first).killOnExit()
  const guardian = guardianOf(process.pid)!
  t.truthy(guardian)
  const [ours, its] = [fds('self'), fds(guardian)]
  for (let batch = 0; batch < SHORT_LIVED / 50; batch++) {
    const children = Array.from({ length: 50 }, () => spawn('true'))
    for (const child of children) {
      // Arming outlives the handle: what is left is the arming's own.
      using target = KillTarget.fromChildProcess(child)
      target.killOnExit()
    }
    await Promise.all(children.map(exitOf))
  }
  t.true(await until(() => fds('self') <= ours + 5 && fds(guardian) <= its + 5), `ours ${fds('self')} (was ${ours}), the guardian's ${fds(guardian)} (was ${its})`)
  first.kill('SIGKILL')
})

test('killOnExit refuses bad options with Node\'s codes, wherever it is supported or not', (t) => {
  const child = sleeper(t)
  const target = KillTarget.fromChildProcess(child)
  t.throws(() => target.killOnExit({ signal: 'SIGNOPE' as NodeJS.Signals }), { code: 'ERR_UNKNOWN_SIGNAL' })
  t.throws(() => target.killOnExit({ signal: 'SIGSTOP' }), { code: 'ERR_INVALID_ARG_VALUE' })
  t.throws(() => target.killOnExit({ tree: 1 as unknown as boolean }), { code: 'ERR_INVALID_ARG_TYPE' })
  t.throws(() => target.killOnExit({ forceKillAfterDelay: -1 }), { code: 'ERR_OUT_OF_RANGE' })
  t.throws(() => target.killOnExit('yes' as unknown as boolean), { code: 'ERR_INVALID_ARG_TYPE' })
  target.close()
  t.throws(() => target.killOnExit(), { code: 'ERR_USE_AFTER_CLOSE' })
})

/** Runs `script` (CommonJS, `KillTarget` and `spawn` in scope) in a new Node; its stdout, as JSON. */
function inNewProgram(t: ExecutionContext, script: string, env: NodeJS.ProcessEnv = {}) {
  const prelude = `const { spawn } = require('node:child_process')
    const { readdirSync, readFileSync } = require('node:fs')
    const { KillTarget, capabilities } = require(${JSON.stringify(INDEX)})\n`
  const run = spawnSync(process.execPath, ['-e', prelude + script], { encoding: 'utf8', timeout: 20_000, env: { ...process.env, ...env } })
  t.is(run.stderr, '')
  t.is(run.status, 0, `ended by ${run.signal ?? run.error}`)
  return JSON.parse(run.stdout)
}

test('a program that never arms has no guardian and no keeper thread', (t) => {
  const seen = inNewProgram(
    t,
    `const child = spawn('sleep', ['60'])
    const target = KillTarget.fromChildProcess(child)
    capabilities()
    target.signal('SIGKILL')
    const reaped = new Promise((resolve) => child.once('exit', resolve))
    Promise.all([target.waitForExit(), reaped]).then(() => {
      const threads = readdirSync('/proc/self/task').map((tid) => readFileSync('/proc/self/task/' + tid + '/comm', 'utf8').trim())
      const children = readFileSync('/proc/self/task/' + process.pid + '/children', 'utf8').trim()
      console.log(JSON.stringify({ keeper: threads.includes('kill-target kee'), children }))
    })`,
  )
  t.deepEqual(seen, { keeper: false, children: '' })
})

testUnless(unsupported, 'arming does not keep the event loop alive: a program with nothing else to do exits, and its armed child with it', async (t) => {
  const mark = `koe-${process.pid}-${++programs}`
  const seen = inNewProgram(
    t,
    `const child = spawn('sleep', ['60'], { stdio: 'ignore' })
    child.unref()
    KillTarget.fromChildProcess(child).killOnExit()
    console.log(JSON.stringify({ pid: child.pid }))`,
    { KOE_MARK: mark },
  )
  t.true(Number.isInteger(seen.pid))
  t.true(await until(() => carrying('KOE_MARK', mark).length === 0), 'the armed child is gone')
})

test('without a guardian to start, killOnExit throws ERR_KILL_ON_EXIT_UNSUPPORTED and capabilities() says so', (t) => {
  const script = `
    const { spawn } = require('node:child_process')
    const { KillTarget, capabilities } = require(${JSON.stringify(INDEX)})
    const child = spawn('sleep', ['60'])
    const target = KillTarget.fromChildProcess(child)
    let code
    try { target.killOnExit() } catch (error) { code = error.code }
    child.kill('SIGKILL')
    console.log(JSON.stringify({ supported: capabilities().killOnExit, code }))`
  const run = spawnSync(process.execPath, ['-e', script], {
    encoding: 'utf8',
    env: { ...process.env, KILL_TARGET_GUARDIAN: '/nonexistent/kill-target-guardian' },
  })
  t.is(run.stderr, '')
  t.deepEqual(JSON.parse(run.stdout), { supported: false, code: 'ERR_KILL_ON_EXIT_UNSUPPORTED' })
})

testUnless(
  [capabilities().pidfd ? 'this process has pidfds (the seccomp reruns take them away)' : null],
  'without pidfds, killOnExit throws ERR_KILL_ON_EXIT_UNSUPPORTED: the guarantee would rest on numbers',
  (t) => {
    const child = sleeper(t)
    const target = KillTarget.fromChildProcess(child)
    t.false(capabilities().killOnExit)
    t.throws(() => target.killOnExit(), { code: 'ERR_KILL_ON_EXIT_UNSUPPORTED' })
  },
)
