// The portable backend's own behaviour, where it differs from the native
// one or has parts the native one lacks: what capabilities() says, that
// killOnExit() refuses, that a wait keeps the event loop alive and lets it
// go, ids on Linux, and the platform branches, run here with
// process.platform reported as macOS or Windows (fixtures/as-platform.cjs):
// trees from one `ps` listing per pass, and on Windows no groups, no ids,
// no SIGCONT, and trees ended by `taskkill /pid N /T /F`.
import { spawnSync } from 'node:child_process'
import { createRequire } from 'node:module'
import { fileURLToPath } from 'node:url'

import test from 'ava'

import type * as Package from '../index.js'
import { sleeper, testUnless } from './helpers.mts'

const require = createRequire(import.meta.url)
const portable: typeof Package = require('../portable/dist/index.js')
const native: typeof Package = require('../binding.js')
const PACKAGE = JSON.stringify(fileURLToPath(new URL('../index.js', import.meta.url)))
const STUB = fileURLToPath(new URL('fixtures/as-platform.cjs', import.meta.url))
// The macOS branch runs this system's `ps`, and the Windows one answers its listing from it.
const noPs = spawnSync('ps', ['-A', '-o', 'pid=,ppid=']).status === 0 ? null : 'no `ps -A -o pid=,ppid=` here to run the branch with'

/** Runs `script` in a Node reporting `platform` ('darwin/arm64', 'win32/x64', or '' for this one), its commands recorded. */
function runAs(platform: string, script: string, env: Record<string, string> = {}) {
  const run = spawnSync(process.execPath, ['--require', STUB, '-e', script], {
    encoding: 'utf8',
    timeout: 60_000,
    env: { ...process.env, KILL_TARGET_AS_PLATFORM: platform, KILL_TARGET_RECORD_COMMANDS: '1', ...env },
  })
  const lines = run.stderr.split('\n').filter((line) => line.startsWith('{'))
  const events: ({ command: string[] } | { mark: string })[] = lines.map((line) => JSON.parse(line))
  const other = run.stderr
    .split('\n')
    .filter((line) => line && !line.startsWith('{'))
    .join('\n')
  if (run.status !== 0 || run.signal) throw new Error(`the script ended with ${run.status ?? run.signal}: ${other}\n${run.stdout}`)
  const last = run.stdout.trim().split('\n').pop()!
  return { result: JSON.parse(last), events }
}

/** The commands recorded between the marks `from` and `to`. */
function commandsBetween(events: ({ command: string[] } | { mark: string })[], from: string, to: string) {
  const start = events.findIndex((event) => 'mark' in event && event.mark === from)
  const end = events.findIndex((event) => 'mark' in event && event.mark === to)
  return events.slice(start + 1, end).flatMap((event) => ('command' in event ? [event.command] : []))
}

// A tree of five below its root, every member reaped by its own parent
// however it dies (each shell waits for its jobs on SIGTERM): nothing is
// left for an init that does not reap orphans.
const TREE = `trap "wait; exit 0" TERM; sleep 60 & sleep 60 & sh -c 'trap "wait; exit 0" TERM; sleep 60 & sleep 60 & wait' & wait`

/** The script that walks and ends that tree, marking each step on stderr. */
const treeScript = (terminate: string) => `
  const { spawn } = require('node:child_process')
  const { KillTarget, capabilities } = require(${PACKAGE})
  const mark = (name) => process.stderr.write(JSON.stringify({ mark: name }) + '\\n')
  const root = spawn('sh', ['-c', ${JSON.stringify(TREE)}], { stdio: 'ignore' })
  const target = KillTarget.fromChildProcess(root)
  const exit = new Promise((resolve) => root.on('exit', (code, signal) => resolve(code ?? signal)))
  ;(async () => {
    const deadline = Date.now() + 20000
    while (Date.now() < deadline && require('node:child_process').execFileSync('ps', ['-A', '-o', 'ppid=']).toString().split('\\n').filter((p) => Number(p) === root.pid).length < 3) await new Promise((r) => setTimeout(r, 20))
    await new Promise((r) => setTimeout(r, 200))
    mark('descendants')
    const found = target.descendants().map((member) => member.pid)
    mark('terminate')
    const result = await ${terminate}
    mark('done')
    const rootExit = await exit
    const alive = found.filter((pid) => { try { process.kill(pid, 0); return true } catch { return false } })
    console.log(JSON.stringify({ backend: capabilities().backend, root: root.pid, found, result, rootExit, alive }))
  })()`

test('capabilities(): no pidfd feature, the portable backend, waits on timers; targets are never race-free', (t) => {
  const { backend, waitPath, ...features } = portable.capabilities() as Package.Capabilities & { backend: string }
  t.deepEqual(features, { pidfd: false, groupSignal: false, exitInfo: false, pidfdInfo: false, pidfs: false, killOnExit: false })
  t.is(backend, 'portable')
  t.is(waitPath as string, 'timer')
  const target = portable.KillTarget.fromChildProcess(sleeper(t))
  t.false(target.raceFree)
  t.is(target.exitStatus(), null)
  t.regex(require('node:util').inspect(target), /^KillTarget \{ pid: \d+, raceFree: false, closed: false \}$/)
  target.close()
})

test('killOnExit() refuses with ERR_KILL_ON_EXIT_UNSUPPORTED; disarming, or a process already gone, asks nothing', async (t) => {
  const child = sleeper(t)
  const target = portable.KillTarget.fromChildProcess(child)
  t.throws(() => target.killOnExit(), { instanceOf: Error, code: 'ERR_KILL_ON_EXIT_UNSUPPORTED', message: 'killOnExit() cannot keep its guarantee here: this target is held by pid, not by pidfd' })
  t.throws(() => target.killOnExit({ tree: true }), { code: 'ERR_KILL_ON_EXIT_UNSUPPORTED' })
  t.notThrows(() => target.killOnExit(false))
  child.kill('SIGKILL')
  t.true(await target.waitForExit({ timeout: 5000 }))
  t.notThrows(() => target.killOnExit(), 'nothing to arm: it has exited')
})

test('a pending wait keeps the event loop alive, as a timer does, and a settled one lets the program end', (t) => {
  const child = sleeper(t, {}, 1)
  const waits = `
    const { KillTarget } = require(${PACKAGE})
    const target = KillTarget.fromPid(${child.pid})
    target.waitForExit().then((exited) => console.log(JSON.stringify({ exited })))`
  // Nothing else holds the loop: without the wait the program would end at once, printing nothing.
  t.deepEqual(runAs('', waits, { KILL_TARGET_PORTABLE: '1' }).result, { exited: true })
  const long = sleeper(t)
  const limited = `
    const { KillTarget } = require(${PACKAGE})
    KillTarget.fromPid(${long.pid}).waitForExit({ timeout: 100 }).then((exited) => console.log(JSON.stringify({ exited })))`
  // Its polling stops with the wait: the program ends, though the process lives on (spawnSync's limit would kill it).
  t.deepEqual(runAs('', limited, { KILL_TARGET_PORTABLE: '1' }).result, { exited: false })
  t.is(long.exitCode, null)
})

testUnless([process.platform === 'linux' ? null : 'ids are read from /proc'], "ids on Linux: the native fallback's start-time kind, which either backend opens", (t) => {
  const child = sleeper(t)
  const ours = portable.KillTarget.fromChildProcess(child)
  t.regex(ours.id, new RegExp(`^starttime:${child.pid}:\\d+:[0-9a-f]{32}$`))
  const theirs = native.KillTarget.fromId(ours.id)
  t.is(theirs.pid, child.pid!)
  t.false(theirs.raceFree)
  const back = portable.KillTarget.fromId(ours.id)
  t.is(back.pid, child.pid!)
  t.false(back.raceFree)
  const [kind, pid, ticks, boot] = ours.id.split(':')
  t.throws(() => portable.KillTarget.fromId(`${kind}:${pid}:${Number(ticks) + 1}:${boot}`), { code: 'ESRCH' })
  t.throws(() => portable.KillTarget.fromId(`pidfs:${pid}:${ticks}:${boot}`), { instanceOf: TypeError, code: 'ERR_FEATURE_UNAVAILABLE_ON_PLATFORM' })
  for (const target of [ours, theirs, back]) target.close()
})

testUnless([noPs], 'macOS and the BSDs: a tree comes from one `ps -A -o pid=,ppid=` per pass, never one per member, and terminate ends it', (t) => {
  const { result, events } = runAs('darwin/arm64', treeScript('target.terminate({ tree: true, forceKillAfterDelay: 5000 })'))
  t.is(result.backend, 'portable')
  t.is(result.found.length, 5, 'the five members below the root')
  const listing = ['ps', '-A', '-o', 'pid=,ppid=']
  t.deepEqual(commandsBetween(events, 'descendants', 'terminate'), [listing], 'descendants(): one listing')
  // Frozen as found: the first pass finds every member, the second nobody new.
  t.deepEqual(commandsBetween(events, 'terminate', 'done'), [listing, listing], 'terminate({ tree: true }): one listing per pass')
  t.like(result.result, { exited: true, forced: false, signals: ['SIGTERM', 'SIGCONT'], processes: 6 })
  t.is(result.rootExit, 0, 'the root acted on SIGTERM')
  t.deepEqual(result.alive, [], 'every member is gone')
})

testUnless([noPs], 'Windows: trees end by `taskkill /pid N /T /F` after one listing; no SIGCONT, no process groups, no ids', (t) => {
  const { result, events } = runAs('win32/x64', treeScript('target.terminate({ tree: true, forceKillAfterDelay: 5000 })'))
  t.is(result.backend, 'portable')
  t.is(result.found.length, 5)
  const commands = commandsBetween(events, 'terminate', 'done')
  t.deepEqual(commands.map(([file]) => file), ['powershell', 'taskkill'], 'one listing, then taskkill')
  t.deepEqual(commands[1], ['taskkill', '/pid', String(result.root), '/T', '/F'])
  t.like(result.result, { exited: true, forced: false, signals: ['SIGTERM'], processes: 6 })
  t.deepEqual(result.alive, [])

  const { result: other } = runAs(
    'win32/x64',
    `const { spawn } = require('node:child_process')
    const { KillTarget } = require(${PACKAGE})
    const shape = (call) => { try { call(); return null } catch (e) { return { class: e.constructor.name, code: e.code } } }
    const child = spawn('sleep', ['60'], { stdio: 'ignore' })
    const target = KillTarget.fromChildProcess(child)
    const errors = {
      signalGroup: shape(() => target.signalGroup(0)),
      id: shape(() => target.id),
      fromId: shape(() => KillTarget.fromId('starttime:1:1:0123456789abcdef0123456789abcdef')),
      killOnExit: shape(() => target.killOnExit()),
    }
    Promise.all([target.terminate({ group: true }).catch((e) => e.code), target.terminate()]).then(([group, result]) =>
      console.log(JSON.stringify({ errors, group, result, killOnExit: (() => { try { target.killOnExit() } catch (e) { return e.message } })() })))`,
  )
  t.deepEqual(other.errors, {
    signalGroup: { class: 'TypeError', code: 'ERR_FEATURE_UNAVAILABLE_ON_PLATFORM' },
    id: { class: 'TypeError', code: 'ERR_FEATURE_UNAVAILABLE_ON_PLATFORM' },
    fromId: { class: 'TypeError', code: 'ERR_FEATURE_UNAVAILABLE_ON_PLATFORM' },
    killOnExit: { class: 'Error', code: 'ERR_KILL_ON_EXIT_UNSUPPORTED' },
  })
  t.is(other.group, 'ERR_FEATURE_UNAVAILABLE_ON_PLATFORM', 'terminate({ group: true }) rejects, and sends nothing')
  t.deepEqual(other.result, { exited: true, forced: false, signals: ['SIGTERM'], processes: 1 }, 'no SIGCONT after the kill signal')
})
