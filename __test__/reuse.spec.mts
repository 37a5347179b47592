// Race-freedom counted over many forced PID reuses: each cycle gives a dead
// child's pid to a newcomer and makes one stale call at it (see
// fixtures/reuse-cycles.mjs; signalGroup() only where it is race-free,
// Linux >= 6.9). A KillTarget must hit no newcomer; the same
// harness with bare pids — process.kill, or KillTarget with pidfds disabled —
// hits one in (nearly) every cycle, which shows the count can fail.

import { fileURLToPath } from 'node:url'

import type { ExecutionContext } from 'ava'

import { capabilities } from '../index.js'
import { probePidNamespaces, runInPidNamespace } from '../examples/pid-reuse.mjs'
import { scaled, testUnless, underEmulation, withoutPidfd } from './helpers.mts'

const CYCLES = scaled(200, 2000)
const CYCLES_SCRIPT = fileURLToPath(new URL('fixtures/reuse-cycles.mjs', import.meta.url))

const namespace = probePidNamespaces()
const noNamespaces = namespace.ok ? null : `PID namespaces are not permitted here (${namespace.reason})`
const emulated = namespace.ok ? underEmulation(namespace) : null

type Counts = { cycles: number; strangersHit: number }
type Report = Counts & {
  raceFree: boolean
  method: string
  byCall: Record<string, Counts>
  misses: number
  wrongResults: unknown[]
}

async function cycles(t: ExecutionContext, arm: 'target' | 'process.kill', env: NodeJS.ProcessEnv = {}): Promise<Report> {
  if (!namespace.ok) throw new Error('unreachable: gated above')
  const timeout = CYCLES * 200
  t.timeout(timeout + 10_000)
  const run = await runInPidNamespace(namespace, CYCLES_SCRIPT, [arm, String(CYCLES)], { env, timeout })
  const context = `exit ${run.code ?? run.signal}${run.timedOut ? ' (timed out)' : ''}\nstdout: ${run.stdout}\nstderr: ${run.stderr}`
  t.is(run.code, 0, context)
  const report = JSON.parse(run.stdout.trim().split('\n').pop()!) as Report
  const calls = Object.entries(report.byCall).map(([call, n]) => `${call} ${n.strangersHit}/${n.cycles}`)
  t.log(`${report.cycles} cycles (${report.method}, ${report.misses} missed reuses): strangers hit ${report.strangersHit} — ${calls.join(', ')}`)
  t.is(report.cycles, CYCLES, `the pid was reused in every cycle\n${context}`)
  return report
}

testUnless(
  [noNamespaces, emulated, withoutPidfd()],
  `stale KillTarget ${capabilities().groupSignal ? 'signal(), signalGroup()' : 'signal()'} and terminate() hit no newcomer over ${CYCLES} forced pid reuses`,
  async (t) => {
    const report = await cycles(t, 'target')
    t.true(report.raceFree)
    t.is(report.strangersHit, 0)
    t.deepEqual(report.wrongResults, [], 'every stale call returned "gone"')
  },
)

/** The bare-number arms must hit (nearly) every newcomer. */
function hitsNearlyAll(t: ExecutionContext, report: Report) {
  for (const [call, counts] of Object.entries(report.byCall)) {
    t.true(counts.cycles - counts.strangersHit <= counts.cycles / 100, `${call}: ${counts.strangersHit}/${counts.cycles}`)
  }
}

testUnless([noNamespaces, emulated], `control: process.kill(pid) and process.kill(-pid) hit the newcomer over ${CYCLES} forced pid reuses`, async (t) => {
  hitsNearlyAll(t, await cycles(t, 'process.kill'))
})

testUnless(
  [noNamespaces, emulated],
  `control: with KILL_TARGET_DISABLE_PIDFD=1 the same KillTarget calls hit the newcomer over ${CYCLES} forced pid reuses`,
  async (t) => {
    const report = await cycles(t, 'target', { KILL_TARGET_DISABLE_PIDFD: '1' })
    t.false(report.raceFree)
    hitsNearlyAll(t, report)
  },
)
