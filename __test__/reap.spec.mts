// Reaping stays Node's: libuv's batch reap cannot fool a target opened in
// the spawn tick, and targets never take an exit away from Node.
import { spawn } from 'node:child_process'
import { fileURLToPath } from 'node:url'

import test from 'ava'

import { KillTarget, capabilities } from '../index.js'
import { probePidNamespaces, runInPidNamespace } from '../examples/pid-reuse.mjs'
import { exitOf, scaled, testUnless, underEmulation, withoutPidfd } from './helpers.mts'

const BATCH_SCRIPT = fileURLToPath(new URL('fixtures/batch-reap.mjs', import.meta.url))
const namespace = probePidNamespaces()
const noNamespaces = namespace.ok ? null : `PID namespaces are not permitted here (${namespace.reason})`
const emulated = namespace.ok ? underEmulation(namespace) : null

type Report = {
  raceFree: boolean
  children: number
  trials: number
  window: number
  reused: number
  earlyDelivered: number
  strangersHit: number
  late: { newcomer: number; ESRCH: number; other: number }
  lateFree: { ESRCH: number; other: number }
  wrongExit: number
}

async function batches(t: any, trials: number, env: NodeJS.ProcessEnv = {}): Promise<Report> {
  if (!namespace.ok) throw new Error('unreachable: gated above')
  const timeout = trials * 300
  t.timeout(timeout + 10_000)
  const run = await runInPidNamespace(namespace, BATCH_SCRIPT, [String(trials)], { env, timeout })
  const context = `exit ${run.code ?? run.signal}${run.timedOut ? ' (timed out)' : ''}\nstdout: ${run.stdout}\nstderr: ${run.stderr}`
  t.is(run.code, 0, context)
  const report = JSON.parse(run.stdout.trim().split('\n').pop()!) as Report
  t.log(
    `${report.trials} trials of ${report.children} children killed at once: a reaped sibling not yet reported in the first` +
      ` 'exit' handler in ${report.window}, its pid taken there by a newcomer in ${report.reused};` +
      ` stale SIGTERM delivered ${report.earlyDelivered}, strangers hit ${report.strangersHit};` +
      ` late fromChildProcess: ${JSON.stringify(report.late)}, on free pids ${JSON.stringify(report.lateFree)}`,
  )
  t.is(report.trials, trials)
  t.true(report.reused > 0, `the window was seen and a pid reused in it\n${context}`)
  return report
}

const TRIALS = scaled(1000, 5000)

testUnless(
  [noNamespaces, emulated, withoutPidfd()],
  `libuv's batch reap: over ${TRIALS} trials a target opened in the spawn tick never reaches the newcomer that took its reaped child's pid; one opened late, in a sibling's 'exit' handler, opens the newcomer`,
  async (t) => {
    const report = await batches(t, TRIALS)
    t.true(report.raceFree)
    t.is(report.earlyDelivered, 0)
    t.is(report.strangersHit, 0)
    t.is(report.wrongExit, 0, 'every early target agreed with Node about how its child ended')
    // What the README says of fromChildProcess called after the spawn tick:
    // ESRCH while the pid is free, and whatever child of ours has it since.
    t.deepEqual(report.late, { newcomer: report.reused, ESRCH: 0, other: 0 })
    t.is(report.lateFree.other, 0)
  },
)

testUnless(
  [noNamespaces, emulated],
  `control: with KILL_TARGET_DISABLE_PIDFD=1 the same spawn-tick targets hit the newcomer in the reap window`,
  async (t) => {
    const report = await batches(t, scaled(100, 1000), { KILL_TARGET_DISABLE_PIDFD: '1' })
    t.false(report.raceFree)
    t.true(report.reused - report.strangersHit <= report.reused / 100, `${report.strangersHit}/${report.reused}`)
  },
)

const CHILDREN = scaled(200, 2000)

test(`never reaps: with a target open and waited on for each of ${CHILDREN} children, Node reports every exit with its code`, async (t) => {
  // Exit codes 0..99 by themselves, and the rest killed by SIGTERM or SIGKILL.
  const children = Array.from({ length: CHILDREN }, (_, i) =>
    spawn('sh', ['-c', i % 2 ? `exit ${i % 100}` : 'exec sleep 60'], { stdio: 'ignore' }),
  )
  const targets = children.map((child) => KillTarget.fromChildProcess(child))
  const expected = children.map((_, i) => (i % 2 ? [i % 100, null] : [null, i % 4 ? 'SIGTERM' : 'SIGKILL']))
  const waits = targets.map((target) => target.waitForExit())
  targets.forEach((target, i) => i % 2 || target.signal(expected[i][1] as NodeJS.Signals))
  t.deepEqual(await Promise.all(children.map(exitOf)), expected)
  t.deepEqual(await Promise.all(waits), waits.map(() => true))
  if (capabilities().exitInfo) {
    t.deepEqual(
      targets.map((target) => target.exitStatus()),
      expected.map(([code, signal]) => ({ code, signal })),
    )
  }
})
