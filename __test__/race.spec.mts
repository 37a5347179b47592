// Race-freedom, shown by forcing PID reuse rather than assumed.
//
// Each test runs __test__/fixtures/race-scenario.mjs as pid 1 of a fresh PID
// namespace, where the kernel can be made to hand a reaped child's pid to a
// newcomer (tiny per-namespace pid_max, or ns_last_pid on older kernels; see
// examples/pid-reuse.mjs). The scenario uses the dead child's KillTarget once
// and reports, as JSON, what it returned and what became of the newcomer.
//
// The control tests run the same scenarios with KILL_TARGET_DISABLE_PIDFD=1,
// where a KillTarget is a bare pid: there the stale call does reach the
// newcomer. That shows the scenarios detect the race, so the race-free
// tests could fail.

import test from 'ava'
import type { ExecutionContext } from 'ava'
import { fileURLToPath } from 'node:url'
import { join } from 'node:path'

import { capabilities } from '../index.js'
import { probePidNamespaces, runInPidNamespace } from '../examples/pid-reuse.mjs'
import { testUnless, withoutPidfd } from './helpers.mts'

const SCENARIO = join(fileURLToPath(new URL('.', import.meta.url)), 'fixtures', 'race-scenario.mjs')

type Exit = { code: number | null; signal: string | null; timedOut?: boolean }
type Report = {
  case: string
  method: 'pid_max' | 'ns_last_pid'
  raceFree: boolean
  attempts: number
  misses: string[]
  spawned: number
  victim: { pid: number; exit: Exit; detached: boolean; groupGoneBefore?: boolean }
  newcomer: { pid: number; pidExists: boolean; newcomerAlive: boolean; newcomerPgid: number | null }
  result: unknown
  error: { message: string; code?: string } | null
  elapsedMs: number
  pidExistsAfter: boolean
  diedWithin300ms: boolean
  newcomerExit: Exit
}

// The gate: can this process make PID namespaces at all?
const namespace = probePidNamespaces()
const noNamespaces = namespace.ok
  ? null
  : `PID namespaces are not permitted here (${namespace.reason})`

// Race-freedom is only claimed where targets hold pidfds.
const noPidfd = withoutPidfd()

/** Runs one scenario in a fresh PID namespace and checks the reuse happened. */
async function scenario(
  t: ExecutionContext,
  name: string,
  env: NodeJS.ProcessEnv = {},
  method?: 'ns_last_pid',
): Promise<Report> {
  if (!namespace.ok) throw new Error('unreachable: gated above')
  const args = method ? [name, method] : [name]
  const run = await runInPidNamespace(namespace, SCENARIO, args, { env, timeout: 20_000 })
  const context = `exit ${run.code ?? run.signal}${run.timedOut ? ' (timed out)' : ''}\nstdout: ${run.stdout}\nstderr: ${run.stderr}`
  t.is(run.code, 0, context)
  const lines = run.stdout.trim().split('\n')
  let report: Report
  try {
    report = JSON.parse(lines[lines.length - 1]) as Report
  } catch {
    throw new Error(`the scenario printed no report\n${context}`)
  }
  t.log(
    `${report.method}: victim pid ${report.victim?.pid} reused by the newcomer after ${report.spawned} processes` +
      ` (attempt ${report.attempts})`,
  )
  // The premise: the victim was reaped and the newcomer, alive, took its pid.
  t.is(report.error, null, context)
  t.deepEqual(report.victim.exit, { code: 0, signal: null }, 'the victim exited and Node reaped it')
  t.is(report.newcomer.pid, report.victim.pid, 'the newcomer has the victim\'s pid')
  t.true(report.newcomer.pidExists, 'process.kill(pid, 0) saw the newcomer before the stale call')
  t.true(report.newcomer.newcomerAlive)
  return report
}

/** The newcomer lived through the stale call: alive 300 ms later, and ended
 * by the SIGKILL the scenario sent afterwards, not by an earlier SIGTERM. */
function survived(t: ExecutionContext, report: Report) {
  t.false(report.diedWithin300ms, 'the newcomer died after the stale call')
  t.deepEqual(report.newcomerExit, { code: null, signal: 'SIGKILL' }, 'the newcomer was ended by something else first')
}

/** The newcomer was hit: ended by the stale SIGTERM, before the scenario's
 * own SIGKILL (its exit status says which came first, whatever the timing). */
function hit(t: ExecutionContext, report: Report) {
  t.deepEqual(report.newcomerExit, { code: null, signal: 'SIGTERM' }, 'the stale call did not reach the newcomer')
}

/** Registers a test, or a skip saying why it cannot run here. */
function raceTest(title: string, why: (string | null)[], body: (t: ExecutionContext) => Promise<void>) {
  const run = async (t: ExecutionContext) => {
    t.timeout(25_000)
    await body(t)
  }
  testUnless(why, title, run, { serial: true })
}

raceTest("stale target.signal('SIGTERM') returns false and the newcomer with the reused pid survives", [noNamespaces, noPidfd], async (t) => {
  const report = await scenario(t, 'signal')
  t.true(report.raceFree)
  t.is(report.result, false)
  survived(t, report)
})

raceTest("stale target.signal('SIGTERM') returns false and the newcomer survives, with the pid steered by ns_last_pid (older kernels' way)", [noNamespaces, noPidfd], async (t) => {
  const report = await scenario(t, 'signal', {}, 'ns_last_pid')
  t.is(report.method, 'ns_last_pid')
  t.true(report.raceFree)
  t.is(report.result, false)
  survived(t, report)
})

raceTest('stale target.signalGroup() of a gone group returns false and does not reach a newcomer group leader with the same id', [noNamespaces, noPidfd], async (t) => {
  const report = await scenario(t, 'group')
  t.true(report.raceFree)
  t.true(report.victim.detached)
  t.true(report.victim.groupGoneBefore, "the victim's group was gone before the newcomer came")
  t.is(report.newcomer.newcomerPgid, report.victim.pid, 'the newcomer leads a group with the same id')
  t.is(report.result, false)
  survived(t, report)
})

raceTest('stale target.terminate() resolves { exited: true, forced: false, signals: [], processes: 0 } and the newcomer survives', [noNamespaces, noPidfd], async (t) => {
  const report = await scenario(t, 'terminate')
  t.true(report.raceFree)
  t.deepEqual(report.result, { exited: true, forced: false, signals: [], processes: 0 })
  t.true(report.elapsedMs < 1000, `took ${report.elapsedMs} ms`)
  survived(t, report)
})

raceTest('stale target.waitForExit() resolves true at once although a process with that pid is alive', [noNamespaces, noPidfd], async (t) => {
  const report = await scenario(t, 'wait')
  t.true(report.raceFree)
  t.is(report.result, true)
  // The wait had a 2000 ms timeout: "at once" is well below it.
  t.true(report.elapsedMs < 1000, `took ${report.elapsedMs} ms`)
  t.true(report.pidExistsAfter, 'the pid still named a live process when the wait resolved')
  survived(t, report)
})

const disabled = { KILL_TARGET_DISABLE_PIDFD: '1' }

raceTest('control: with KILL_TARGET_DISABLE_PIDFD=1 the same stale signal() hits the newcomer (the scenario detects the race)', [noNamespaces], async (t) => {
  const report = await scenario(t, 'signal', disabled)
  t.false(report.raceFree)
  t.is(report.result, true)
  hit(t, report)
})

raceTest('control: with KILL_TARGET_DISABLE_PIDFD=1 the same stale signalGroup() (killpg) hits the newcomer group', [noNamespaces], async (t) => {
  const report = await scenario(t, 'group', disabled)
  t.false(report.raceFree)
  t.is(report.newcomer.newcomerPgid, report.victim.pid)
  t.is(report.result, true)
  hit(t, report)
})

raceTest('control: with KILL_TARGET_DISABLE_PIDFD=1 the same stale terminate() kills the newcomer', [noNamespaces], async (t) => {
  const report = await scenario(t, 'terminate', disabled)
  t.false(report.raceFree)
  // The SIGCONT after it is listed only if delivered: not when the newcomer
  // died of the SIGTERM and was reaped first (as on a slow machine).
  const { signals, ...result } = report.result as { signals: string[] }
  t.deepEqual(result, { exited: true, forced: false, processes: 1 })
  t.true(['SIGTERM,SIGCONT', 'SIGTERM'].includes(signals.join()), `signals: ${signals}`)
  hit(t, report)
})

raceTest('control: with KILL_TARGET_DISABLE_PIDFD=1 the same stale waitForExit() sees the newcomer and times out', [noNamespaces], async (t) => {
  const report = await scenario(t, 'wait', disabled)
  t.false(report.raceFree)
  t.is(report.result, false)
  t.true(report.elapsedMs >= 1900, `took ${report.elapsedMs} ms`)
  survived(t, report)
})
