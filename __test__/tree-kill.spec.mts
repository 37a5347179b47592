// compat/tree-kill: tree-kill 1.2.2's interface, race-free. Its documented
// behaviours (argument forms, the NaN error both ways, the callback's
// timing, signal names and numbers; tree-kill-differential.spec compares
// every form with tree-kill itself), a member of another user, then the
// same forced-reuse harness as tree.spec through treeKill() itself.
import { spawnSync, type ChildProcess } from 'node:child_process'
import { randomUUID } from 'node:crypto'
import { readFileSync } from 'node:fs'
import { createRequire } from 'node:module'
import { fileURLToPath } from 'node:url'

import test, { type ExecutionContext } from 'ava'

import { KillTarget, capabilities } from '../index.js'
import { probePidNamespaces, runInPidNamespace } from '../examples/pid-reuse.mjs'
import { asUser, carrying, delay, exitOf, killAll, scaled, setpriv, shell, sleeper, standIn, stopOwnTree, testUnless, uidOf, underEmulation, withoutPidfd } from './helpers.mts'

const COMPAT = standIn()
const treeKill = createRequire(import.meta.url)(COMPAT) as typeof import('../compat/tree-kill/index.js')

const namespace = probePidNamespaces()
const noNamespaces = namespace.ok ? null : `PID namespaces are not permitted here (${namespace.reason})`
const emulated = namespace.ok ? underEmulation(namespace) : null
const TREES = scaled(200, 2000)
const REUSE = fileURLToPath(new URL('fixtures/tree-reuse.mjs', import.meta.url))

/**
 * The shell at the root of a signalled tree ended. Frozen first (pidfds), it
 * dies of one of `signals`. By number (no pidfds), as with tree-kill, its
 * children may go first, and the shell then exits on its own, with 0, before
 * its signal comes.
 */
async function endedBy(t: ExecutionContext, child: ChildProcess, signals: NodeJS.Signals[]) {
  const [code, signal] = await exitOf(child)
  if (capabilities().pidfd) t.true(signals.includes(signal!), `ended by ${signal ?? `exit code ${code}`}`)
  else t.true((signal !== null && signals.includes(signal)) || code === 0, `ended by ${signal ?? `exit code ${code}`}`)
}

const done = (kill: (callback: (error?: Error) => void) => void) =>
  new Promise<Error | undefined>((resolve) => kill((error) => resolve(error)))

test('treeKill(pid) with a number, a numeric string, a signal name or number, and a callback in either place', async (t) => {
  for (const call of [
    (pid: number, cb: (error?: Error) => void) => treeKill(pid, cb),
    (pid: number, cb: (error?: Error) => void) => treeKill(String(pid) as unknown as number, cb),
    (pid: number, cb: (error?: Error) => void) => treeKill(pid, 'SIGKILL', cb),
    (pid: number, cb: (error?: Error) => void) => treeKill(pid, 9, cb),
  ]) {
    const child = shell(t, 'sleep 60 & sleep 60 & wait')
    await delay(50)
    t.is(await done((cb) => call(child.pid!, cb)), undefined)
    await endedBy(t, child, ['SIGTERM', 'SIGKILL'])
  }
})

test('without a callback treeKill(pid, signal) still signals the tree, and returns undefined', async (t) => {
  const child = sleeper(t)
  t.is(treeKill(child.pid!, 'SIGINT'), undefined)
  t.deepEqual(await exitOf(child), [null, 'SIGINT'])
})

test("a pid that is not a number: Error('pid must be a number'), through the callback, or thrown without one", (t) => {
  let got: Error | undefined
  treeKill('abc' as unknown as number, (error) => (got = error))
  t.is(got?.message, 'pid must be a number', 'called at once, as tree-kill does')
  t.throws(() => treeKill(Number.NaN), { instanceOf: Error, message: 'pid must be a number' })
})

test('the callback comes after the call returns, once every member has been signalled', async (t) => {
  const child = shell(t, 'sleep 60 & wait')
  await delay(50)
  let returned = false
  const called = done((cb) => {
    treeKill(child.pid!, (error) => {
      t.true(returned, 'not within the call')
      cb(error)
    })
    returned = true
  })
  t.is(await called, undefined)
  await endedBy(t, child, ['SIGTERM'])
})

test('a process already gone is no error, as in tree-kill', async (t) => {
  const child = sleeper(t)
  child.kill('SIGKILL')
  await exitOf(child)
  t.is(await done((cb) => treeKill(child.pid!, cb)), undefined)
})

test('an unknown signal is the error process.kill gives, through the callback', async (t) => {
  const child = sleeper(t)
  const error = await done((cb) => treeKill(child.pid!, 'SIGNOPE', cb))
  t.is((error as NodeJS.ErrnoException | undefined)?.code, 'ERR_UNKNOWN_SIGNAL')
  await delay(50)
  t.is(child.exitCode, null, 'nothing sent, nothing left stopped')
  t.is(child.signalCode, null)
})

const notRoot = process.getuid?.() === 0 ? null : 'not root: no process of another user can be set up'
const noSetpriv = setpriv() ? null : 'no setpriv (util-linux) here'

testUnless(
  [withoutPidfd(), notRoot, noSetpriv],
  "a member the caller may not signal (another user's) gives the callback Node's kill EPERM, as tree-kill does, and every other member still gets the signal",
  async (t) => {
    // Root's shell and sleep; nobody's shell, its sleep and a sleep in a new
    // session. The caller runs as nobody.
    const marker = randomUUID()
    const members = () => carrying('KILL_TARGET_EPERM', marker)
    t.teardown(() => killAll(members()))
    const [setprivPath, ...nobody] = asUser(65534)
    const root = shell(t, `sleep 60 & ${setprivPath} ${nobody.join(' ')} sh -c 'sleep 60 & setsid sleep 60 & wait' & wait`, {
      env: { ...process.env, KILL_TARGET_EPERM: marker },
    })
    for (const deadline = Date.now() + 10_000; members().length < 5 && Date.now() < deadline; ) await delay(10)
    t.is(members().length, 5, 'the tree is up')
    const theirs = () => members().filter((pid) => uidOf(pid) === 65534)
    t.is(theirs().length, 3)

    const program = `require(${JSON.stringify(COMPAT)})(${root.pid}, 'SIGTERM', (e) => console.log(JSON.stringify(e && { ...e, message: e.message })))`
    const call = spawnSync(setprivPath, [...nobody, process.execPath, '-e', program], { encoding: 'utf8', timeout: 30_000 })
    t.deepEqual(JSON.parse(call.stdout), { errno: -1, code: 'EPERM', syscall: 'kill', message: 'kill EPERM' }, call.stderr)
    for (const deadline = Date.now() + 10_000; theirs().length > 0 && Date.now() < deadline; ) await delay(10)
    t.deepEqual(theirs(), [], "every member the caller may signal ended, whatever its pid's order")
    t.is(members().length, 2, "root's shell and sleep are left, running: nothing froze them")
    t.true(members().every((pid) => !readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1].startsWith('T')))
  },
)

for (const whose of ['self', 'parent'] as const) {
  testUnless(
    [withoutPidfd()],
    `treeKill(${whose === 'self' ? 'process.pid' : 'process.ppid'}) from a program in the tree: the program is signalled last and never stopped, every member ends`,
    async (t) => {
      const { ended, left } = await stopOwnTree(t, 'tree-kill', whose, COMPAT)
      t.deepEqual(ended, [null, 'SIGTERM'])
      t.deepEqual(left, [], 'nothing of the tree is left, stopped or not')
    },
  )
}

async function reuse(t: ExecutionContext) {
  if (!namespace.ok) throw new Error('unreachable: gated above')
  const timeout = TREES * 500
  t.timeout(timeout + 10_000)
  const run = await runInPidNamespace(namespace, REUSE, ['compat', String(TREES)], { timeout, reaper: true })
  t.is(run.code, 0, `stdout: ${run.stdout}\nstderr: ${run.stderr}`)
  return JSON.parse(run.stdout.trim().split('\n').pop()!) as { trees: number; outsidersRun: number; outsidersHit: number }
}

testUnless([noNamespaces, emulated, withoutPidfd()], `treeKill() of ${TREES} trees with short-lived members signals no outsider while pids are reused (tree-kill's algorithm hits them: see tree.spec)`, async (t) => {
  const report = await reuse(t)
  t.log(`${report.trees} trees, ${report.outsidersRun} outsiders, ${report.outsidersHit} of them hit`)
  t.is(report.trees, TREES)
  t.true(report.outsidersRun > TREES)
  t.is(report.outsidersHit, 0)
})
