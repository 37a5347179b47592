// Process trees: descendants() and terminate({ tree: true }). Every tree
// here carries an environment marker that all its members inherit, and
// "nothing is left" is checked by looking for live processes with that
// marker, not by remembered pids (which could be anyone's by then).
// Without pidfds (the seccomp reruns) the same tests run by number, and
// must end the same where no pid is reused; only the forced-reuse proof
// needs pidfds.
import { randomUUID } from 'node:crypto'
import { readFileSync } from 'node:fs'
import { fileURLToPath } from 'node:url'

import test, { type ExecutionContext } from 'ava'

import { KillTarget } from '../index.js'
import { probePidNamespaces, runInPidNamespace } from '../examples/pid-reuse.mjs'
import { carrying, delay, exitOf, scaled, shell, sleeper, stopOwnTree, testUnless, underEmulation, withoutPidfd } from './helpers.mts'

const namespace = probePidNamespaces()
const noNamespaces = namespace.ok ? null : `PID namespaces are not permitted here (${namespace.reason})`
const emulated = namespace.ok ? underEmulation(namespace) : null
const TREES = scaled(200, 2000)
const REUSE = fileURLToPath(new URL('fixtures/tree-reuse.mjs', import.meta.url))

/** Live processes (not zombies) that carry this tree marker. */
const alive = (marker: string) => carrying('KILL_TARGET_TREE', marker)

/** States (`S`, `T`, …) of the live processes that carry `marker`. */
function states(marker: string): string[] {
  return alive(marker).flatMap((pid) => {
    try {
      const stat = readFileSync(`/proc/${pid}/stat`, 'utf8')
      return [stat.slice(stat.lastIndexOf(')') + 2)[0]]
    } catch {
      return []
    }
  })
}

/** A tree rooted at a shell child, marked; waits until `count` members are up. */
async function tree(t: ExecutionContext, script: string, count: number, options = {}) {
  const marker = randomUUID()
  const root = shell(t, script, { env: { ...process.env, KILL_TARGET_TREE: marker }, stdio: 'ignore', ...options })
  const target = KillTarget.fromChildProcess(root)
  // Seconds where each spawn is emulated (test:kernels); moments elsewhere.
  for (const deadline = Date.now() + 60_000; Date.now() < deadline && alive(marker).length < count; ) await delay(10)
  // What a failed test left, found by its marker and killed through a
  // target: one that has exited since the listing is simply gone.
  t.teardown(() => {
    for (const pid of alive(marker)) {
      try {
        KillTarget.fromPid(pid).signal('SIGKILL')
      } catch {
        // gone since the listing
      }
    }
  })
  return { root, target, marker }
}

// Depth 3 and more; a member in a new session, one in its own group (in a
// new session of its own where there is no perl to call setpgrp), one that
// ignores SIGTERM, one that is a zombie (its parent never reaps it).
const MIXED = `
  sh -c 'sleep 60 & sh -c "sleep 60 & exec sleep 60" & wait' &
  setsid sh -c 'sleep 60 & wait' &
  sh -c 'if command -v perl >/dev/null; then exec perl -e "setpgrp; exec q(sleep), 60"; else exec setsid sleep 60; fi' &
  sh -c 'trap "" TERM; sleep 60 & wait' &
  sh -c 'true & exec sleep 60' &
  wait`

test('terminate({ tree: true }) ends every member: new sessions, own groups, a stubborn one and a zombie', async (t) => {
  const { root, target, marker } = await tree(t, MIXED, 10)
  const members = target.descendants()
  t.true(members.length >= 11, `${members.length} descendants`)
  const exit = exitOf(root)
  // The stubborn member is killed after the grace period, and its exit
  // awaited as long again: room for a loaded machine.
  const result = await target.terminate({ tree: true, forceKillAfterDelay: 2000 })
  t.like(result, { exited: true, forced: true })
  t.true(result.processes >= 12, `${result.processes} processes signalled`)
  t.deepEqual(result.signals, ['SIGTERM', 'SIGCONT', 'SIGKILL'])
  t.deepEqual(await exit, [null, 'SIGTERM'], "the root's 'exit' still fires, with its signal")
  t.deepEqual(alive(marker), [])
})

// Each branch starts sleeps that outlive the call by far: a burst, then one
// every 10 ms, so that the tree is large (a walk takes a while) and still
// growing when it is stopped. One forked after the walk had passed its
// parent would still be there.
const BURST = scaled(200, 200)
test('a tree that keeps forking while it is stopped: nothing of it is left', async (t) => {
  const branch = `sh -c 'i=0; while [ $i -lt ${BURST * 2} ]; do sleep 30 & [ $i -gt ${BURST} ] && sleep 0.01; i=$((i + 1)); done; wait' &`
  const { target, marker } = await tree(t, `${branch.repeat(3)} wait`, BURST * 3)
  const result = await target.terminate({ tree: true, forceKillAfterDelay: 1000 })
  t.true(result.exited)
  t.deepEqual(alive(marker), [])
})

const DEPTH = scaled(100, 100)
const WIDE = scaled(40, 40)
test(`a chain ${DEPTH} deep and a tree of ${(WIDE * 25).toLocaleString('en-US')} processes are found whole and ended`, async (t) => {
  // Each shell starts the next one and waits; the last becomes a sleep.
  const link = `if [ "$1" -lt ${DEPTH} ]; then sh -c "$0" "$0" $(($1 + 1)) & wait; else exec sleep 60; fi`
  const chained = await tree(t, `sh -c '${link}' '${link}' 1 & wait`, DEPTH)
  t.is(chained.target.descendants().length, DEPTH)
  t.true((await chained.target.terminate({ tree: true })).exited)
  t.deepEqual(alive(chained.marker), [])

  const wide = await tree(t, `for i in $(seq ${WIDE}); do sh -c 'for j in $(seq 24); do sleep 60 & done; wait' & done; wait`, WIDE * 25)
  t.is(wide.target.descendants().length, WIDE * 25)
  const result = await wide.target.terminate({ tree: true })
  t.like(result, { exited: true, forced: false, processes: WIDE * 25 + 1 })
  t.deepEqual(alive(wide.marker), [])
})

test('an abort while a tree is being terminated leaves nothing stopped', async (t) => {
  const { target, marker } = await tree(t, "sh -c 'trap \"\" TERM; sleep 60 & wait' & trap '' TERM; wait", 3)
  const controller = new AbortController()
  const terminating = target.terminate({ tree: true, forceKillAfterDelay: false, signal: controller.signal })
  await delay(50)
  controller.abort()
  const error = await t.throwsAsync(terminating, { name: 'AbortError' })
  t.deepEqual((error as Error & { signals: string[] }).signals, ['SIGTERM', 'SIGCONT'])
  t.true(states(marker).length >= 3)
  t.false(states(marker).includes('T'), 'stopped: none')
})

// A group member whose parent exited is nobody's descendant any more; only
// the group signal reaches it. The same tree without `group` is the control.
const ORPHAN = `sh -c 'sleep 60 & exit 0'; sleep 60 & wait`

test('terminate({ tree: true, group: true }) also ends a group member the walk cannot reach (its parent exited); tree alone leaves it', async (t) => {
  for (const group of [false, true]) {
    const { root, target, marker } = await tree(t, ORPHAN, 3, { detached: true })
    const result = await target.terminate({ tree: true, group, forceKillAfterDelay: 10_000 })
    t.is(result.exited, true)
    t.deepEqual(await exitOf(root), [null, 'SIGTERM'])
    for (const deadline = Date.now() + 10_000; group && Date.now() < deadline && alive(marker).length > 0; ) await delay(10)
    t.is(alive(marker).length, group ? 0 : 1, group ? 'the orphan got the group signal' : 'the orphan is out of the walk')
  }
})

for (const whose of ['self', 'parent'] as const) {
  test(
    `terminate({ tree: true }) of a tree that holds the calling program (rooted at its ${whose === 'self' ? 'own pid' : "parent's"}): the program is signalled last and never stopped, every member ends`,
    async (t) => {
      const { ended, left } = await stopOwnTree(t, 'terminate', whose)
      t.deepEqual(ended, [null, 'SIGTERM'])
      t.deepEqual(left, [], 'nothing of the tree is left, stopped or not')
    },
  )
}

test('descendants() of a process with none is [], and after close() it throws', (t) => {
  const target = KillTarget.fromChildProcess(sleeper(t))
  t.deepEqual(target.descendants(), [])
  target.close()
  t.throws(() => target.descendants(), { code: 'ERR_USE_AFTER_CLOSE' })
})

test('terminate({ tree }) takes a boolean', async (t) => {
  const child = sleeper(t)
  const target = KillTarget.fromChildProcess(child)
  // @ts-expect-error tree is a boolean
  await t.throwsAsync(target.terminate({ tree: 'yes' }), { instanceOf: TypeError, code: 'ERR_INVALID_ARG_TYPE' })
  t.true(target.isAlive())
})

type Report = { arm: string; trees: number; outsidersRun: number; outsidersHit: number }
async function reuse(t: ExecutionContext, arm: 'target' | 'tree-kill'): Promise<Report> {
  if (!namespace.ok) throw new Error('unreachable: gated above')
  const timeout = TREES * 500
  t.timeout(timeout + 10_000)
  const run = await runInPidNamespace(namespace, REUSE, [arm, String(TREES)], { timeout, reaper: true })
  const context = `exit ${run.code ?? run.signal}\nstdout: ${run.stdout}\nstderr: ${run.stderr}`
  t.is(run.code, 0, context)
  const report = JSON.parse(run.stdout.trim().split('\n').pop()!) as Report
  t.log(`${report.trees} trees, ${report.outsidersRun} outsiders, ${report.outsidersHit} of them hit`)
  t.is(report.trees, TREES)
  return report
}

testUnless([noNamespaces, emulated, withoutPidfd()], `terminate({ tree: true }) of ${TREES} trees with short-lived members signals no outsider while pids are reused`, async (t) => {
  const report = await reuse(t, 'target')
  t.true(report.outsidersRun > TREES, 'outsiders kept starting')
  t.is(report.outsidersHit, 0)
})

testUnless([noNamespaces, emulated], `control: tree-kill's algorithm (ps --ppid, then kill by number) signals outsiders over ${TREES} trees`, async (t) => {
  const report = await reuse(t, 'tree-kill')
  t.true(report.outsidersHit > 0, `${report.outsidersHit} outsiders hit`)
})
