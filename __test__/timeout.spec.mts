// kill-target timeout end to end: a tree with members in new sessions and
// one that ignores SIGTERM, stopped at the limit (and GNU's timeout, where
// it is installed, leaving the escapees, as a control); timeout SIGKILLed
// mid-run; Ctrl-C and signals sent to timeout; --foreground; statuses and
// diagnostics as GNU's. GNU's own tests run in scripts/coreutils-timeout.sh.
import { type ChildProcess, execFileSync, spawn } from 'node:child_process'
import { once } from 'node:events'
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { dirname, join } from 'node:path'
import { fileURLToPath } from 'node:url'

import test, { type ExecutionContext } from 'ava'

import { KillTarget, capabilities } from '../index.js'
import { exitOf, guardianOf, heldPids, readPids, testUnless, until } from './helpers.mts'

const CLI = fileURLToPath(new URL('../cli.js', import.meta.url))
const TREE = fileURLToPath(new URL('./fixtures/timeout-tree.mjs', import.meta.url))
const ENV = { ...process.env, LC_ALL: 'C' }
/** The limit of the runs below, which never comes: each test brings it
 * once the tree is up by sending timeout SIGALRM, which GNU's and this
 * timeout both take as their limit (GNU's tests do the same), so that a
 * loaded machine cannot reach it before the tree has started. The timer
 * itself is tested with sleep 10 below. */
const LIMIT = '60'

/** The limit, now. */
const alarm = (child: ChildProcess) => child.kill('SIGALRM')

/** GNU's timeout, where coreutils is installed: the control. */
const GNU = (() => {
  try {
    return execFileSync('timeout', ['--version'], { encoding: 'utf8' }).includes('GNU coreutils') ? 'timeout' : null
  } catch {
    return null
  }
})()

const noGuardian = capabilities().killOnExit ? null : 'capabilities().killOnExit is false: nothing guards the tree once timeout is gone'

/** Starts `kill-target timeout ...args` (or GNU's, with `gnu`), its stdout
 * piped; killed at the end of the test if it is still there. */
function timeout(t: ExecutionContext, args: string[], { gnu = false, detached = false } = {}): ChildProcess {
  const [file, argv] = gnu ? [GNU!, args] : [process.execPath, [CLI, 'timeout', ...args]]
  const child = spawn(file, argv, { stdio: ['ignore', 'pipe', 'pipe'], env: ENV, detached })
  const target = KillTarget.fromChildProcess(child)
  t.teardown(() => {
    target.signal('SIGKILL')
    target.close()
  })
  return child
}

/** The tree's members, each held by a target from the moment its pid is
 * read (they are all alive then: the fixture prints them and waits), and
 * each killed at the end of the test if it is still there. */
async function members(t: ExecutionContext, child: ChildProcess): Promise<KillTarget[]> {
  const targets = (await readPids(child, 5)).map((pid) => KillTarget.fromPid(pid))
  t.teardown(() => {
    for (const target of targets) {
      target.signal('SIGKILL')
      target.close()
    }
  })
  return targets
}

/** Whether the guardian of the timeout process `program` holds a pidfd of `pid`. */
function guards(program: number, pid: number): boolean {
  const guardian = guardianOf(program)
  return guardian !== undefined && heldPids(guardian).includes(pid)
}

/** Which members are still alive after waiting up to `ms` for each. */
async function survivors(targets: KillTarget[], ms: number): Promise<number[]> {
  const deadline = Date.now() + ms
  const alive = []
  for (const target of targets) {
    if (!(await target.waitForExit({ timeout: Math.max(0, deadline - Date.now()) }))) alive.push(target.pid)
  }
  return alive
}

async function stderrOf(child: ChildProcess): Promise<string> {
  let text = ''
  for await (const chunk of child.stderr!) text += chunk
  return text
}

testUnless([], 'at the limit the whole tree goes, new sessions and a member ignoring SIGTERM included: status 124', async (t) => {
  const child = timeout(t, [LIMIT, process.execPath, TREE])
  const tree = await members(t, child)
  alarm(child)
  t.deepEqual(await exitOf(child), [124, null])
  t.deepEqual(await survivors(tree, 5000), [], 'nothing is left')
})

testUnless([], '-k: a command that ignores SIGTERM is killed after the grace, with its tree: status 137', async (t) => {
  const child = timeout(t, ['-k', '0.5', LIMIT, process.execPath, TREE, '--ignore-term'])
  const tree = await members(t, child)
  alarm(child)
  t.deepEqual(await exitOf(child), [137, null])
  t.deepEqual(await survivors(tree, 5000), [], 'nothing is left')
})

testUnless([GNU ? null : 'GNU timeout is not installed'], "control: GNU's timeout on the same tree leaves the members in new sessions", async (t) => {
  const child = timeout(t, [LIMIT, process.execPath, TREE], { gnu: true })
  const tree = await members(t, child)
  alarm(child)
  t.deepEqual(await exitOf(child), [124, null])
  // The members in new sessions, and the one that ignores SIGTERM.
  t.deepEqual(await survivors(tree, 1000), tree.slice(1).map((target) => target.pid))
})

testUnless([noGuardian], 'timeout SIGKILLed mid-run: the whole tree is gone within 500 ms', async (t) => {
  const child = timeout(t, ['60', process.execPath, TREE])
  const tree = await members(t, child)
  // Once the guardian holds every member: what happens later is under test,
  // not how soon a walk (every 100 ms, slower under emulation) saw them.
  t.true(await until(() => tree.every(({ pid }) => guards(child.pid!, pid))), 'the guardian holds every member')
  const killed = performance.now()
  child.kill('SIGKILL')
  // 500 ms is the requirement; the bound allows for a loaded machine.
  t.deepEqual(await survivors(tree, 2500), [], 'nothing is left')
  t.log(`last member gone ${Math.round(performance.now() - killed)} ms after the SIGKILL`)
})

/** How a run of `timeout 60 <tree>` ends when `signal` is sent to timeout,
 * or with `group` to its whole process group as Ctrl-C does; and its tree. */
async function interrupted(t: ExecutionContext, signal: NodeJS.Signals, group: boolean, gnu = false) {
  const child = timeout(t, ['60', process.execPath, TREE], { gnu, detached: true })
  const tree = await members(t, child)
  // Ctrl-C ends the command with timeout, and its members in new sessions
  // are then orphans only the guardian can find: once it holds them all,
  // what happens next is under test, not how soon a walk saw them.
  if (!gnu && noGuardian === null) {
    t.true(await until(() => tree.every(({ pid }) => guards(child.pid!, pid))), 'the guardian holds every member')
  }
  process.kill(group ? -child.pid! : child.pid!, signal)
  return { status: await exitOf(child), tree }
}

const noHolder = noGuardian && 'capabilities().killOnExit is false: what Ctrl-C orphans before timeout walks the tree, nothing holds'
testUnless([noHolder], "Ctrl-C (SIGINT to the foreground group): everything stops, and timeout ends as GNU's does", async (t) => {
  const ours = await interrupted(t, 'SIGINT', true)
  t.deepEqual(await survivors(ours.tree, 5000), [], 'nothing is left')
  // GNU's timeout re-raises the signal that ended the command: it dies of SIGINT.
  const expected = GNU ? (await interrupted(t, 'SIGINT', true, true)).status : [null, 'SIGINT']
  t.deepEqual(expected, [null, 'SIGINT'])
  t.deepEqual(ours.status, expected)
})

testUnless([], 'SIGTERM and SIGHUP sent to timeout go on to the whole tree; timeout ends by the same signal', async (t) => {
  for (const signal of ['SIGTERM', 'SIGHUP'] as const) {
    const ours = await interrupted(t, signal, false)
    t.deepEqual(ours.status, [null, signal], signal)
    t.deepEqual(await survivors(ours.tree, 5000), [], `${signal}: nothing is left`)
  }
})

test("the command's status passes through unchanged, passing or failing, and its output too", async (t) => {
  for (const [script, status] of [['echo out; exit 0', 0], ['echo out; exit 1', 1], ['echo out; exit 3', 3], ['echo out; exit 124', 124]] as const) {
    const child = timeout(t, ['10', 'sh', '-c', script])
    let out = ''
    child.stdout!.on('data', (chunk) => (out += chunk))
    // 'exit' can come before the last of stdout is read: 'close' comes after both.
    const closed = once(child, 'close')
    t.deepEqual(await exitOf(child), [status, null], script)
    await closed
    t.is(out, 'out\n')
  }
})

testUnless([noGuardian], 'a command that finishes in time leaves nothing behind either: its background processes go with timeout', async (t) => {
  // The background process is in a new session, and outlives its parent,
  // which exits 0 within the limit once the guardian holds it: a process
  // orphaned before any walk saw it escapes (docs/kill-on-exit.md), and a
  // walk's 100 ms is no promise under emulation.
  const done = join(mkdtempSync(join(tmpdir(), 'kill-target-timeout-')), 'done')
  t.teardown(() => rmSync(dirname(done), { recursive: true, force: true }))
  const child = timeout(t, ['60', 'sh', '-c', `setsid sleep 600 & echo $!; until [ -e '${done}' ]; do sleep 0.05; done`])
  const [pid] = await readPids(child, 1)
  const left = KillTarget.fromPid(pid)
  t.teardown(() => left.signal('SIGKILL'))
  t.true(await until(() => guards(child.pid!, pid)), 'the guardian holds the background process')
  writeFileSync(done, '')
  t.deepEqual(await exitOf(child), [0, null])
  t.true(await left.waitForExit({ timeout: 5000 }), 'the background process is gone')
})

test('--foreground signals only the command, not its children, as GNU does', async (t) => {
  const child = timeout(t, ['--foreground', '0.5', 'sh', '-c', 'sleep 600 & echo $!; wait'])
  const [sleeper] = (await readPids(child, 1)).map((pid) => KillTarget.fromPid(pid))
  t.teardown(() => sleeper.signal('SIGKILL'))
  t.deepEqual(await exitOf(child), [124, null])
  t.true(sleeper.isAlive(), 'the child was not timed out')
})

test("statuses and diagnostics are GNU's (9.10's): 125, 126, 127, 137, -s 0 and -v", async (t) => {
  const cases: [string[], number, string][] = [
    [['invalid', 'sleep', '0'], 125, "timeout: invalid time interval 'invalid'\nTry 'kill-target timeout --help' for more information.\n"],
    [['-k', '1x', '1', 'true'], 125, "timeout: invalid time interval '1x'\nTry 'kill-target timeout --help' for more information.\n"],
    [['-s', 'FOO', '1', 'true'], 125, "timeout: 'FOO': invalid signal\nTry 'kill-target timeout --help' for more information.\n"],
    [['-x', '1', 'true'], 125, "timeout: invalid option -- 'x'\nTry 'kill-target timeout --help' for more information.\n"],
    [['1'], 125, "Try 'kill-target timeout --help' for more information.\n"],
    [['10', '.'], 126, "timeout: failed to run command '.': Permission denied\n"],
    [['10', 'no_such_command'], 127, "timeout: failed to run command 'no_such_command': No such file or directory\n"],
    [['-v', '-s0', '-k', '.1', '.1', 'sleep', '10'], 137, "timeout: sending signal 0 to command 'sleep'\ntimeout: sending signal KILL to command 'sleep'\n"],
    [[' -1e-10000', 'true'], 125, "timeout: invalid time interval ' -1e-10000'\nTry 'kill-target timeout --help' for more information.\n"],
    [['1e-10000', 'sleep', '10'], 124, ''],
    [['-s', 'KILL', '.1', 'sleep', '10'], 137, ''],
    [['--preserve-status', '-s', 'HUP', '.1', 'sleep', '10'], 129, ''],
    [['-p', '.1', 'sleep', '10'], 143, ''],
    [['0', 'true'], 0, ''],
    [['1e400', 'true'], 0, ''],
    [['0x.8p1m', 'true'], 0, ''],
  ]
  for (const [args, status, stderr] of cases) {
    const child = timeout(t, args)
    const [text, [code]] = await Promise.all([stderrOf(child), exitOf(child)])
    t.deepEqual([code, text], [status, stderr], args.join(' '))
  }
})
