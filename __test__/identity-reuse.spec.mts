// Ids against forced PID reuse (fixtures/identity-cycles.mjs): the id of a
// reaped process, left in a file, must never open the newcomer that took its
// pid. The same harness with a pid-only pidfile must open the newcomer in
// (nearly) every cycle, and with ids of the start-time kind in some cycles:
// the count can fail.

import { fileURLToPath } from 'node:url'

import type { ExecutionContext } from 'ava'

import { capabilities } from '../index.js'
import { probePidNamespaces, runInPidNamespace } from '../examples/pid-reuse.mjs'
import { scaled, testUnless, underEmulation } from './helpers.mts'

const CYCLES = scaled(200, 2000)
const CYCLES_SCRIPT = fileURLToPath(new URL('fixtures/identity-cycles.mjs', import.meta.url))

const namespace = probePidNamespaces()
const noNamespaces = namespace.ok ? null : `PID namespaces are not permitted here (${namespace.reason})`
const emulated = namespace.ok ? underEmulation(namespace) : null
const noPidfs = capabilities().pidfs ? null : 'capabilities().pidfs is false: ids here are of the start-time kind'

type Report = {
  cycles: number
  misses: number
  method: string
  opened: number
  strangersHit: number
  errors: Record<string, number>
  raceFree: Record<string, number>
}

async function cycles(t: ExecutionContext, arm: 'id' | 'starttime' | 'pidfile'): Promise<Report> {
  if (!namespace.ok) throw new Error('unreachable: gated above')
  const timeout = CYCLES * 200
  t.timeout(timeout + 10_000)
  const run = await runInPidNamespace(namespace, CYCLES_SCRIPT, [arm, String(CYCLES)], { timeout })
  const context = `exit ${run.code ?? run.signal}${run.timedOut ? ' (timed out)' : ''}\nstdout: ${run.stdout}\nstderr: ${run.stderr}`
  t.is(run.code, 0, context)
  const report = JSON.parse(run.stdout.trim().split('\n').pop()!) as Report
  t.log(
    `${report.cycles} cycles (${report.method}, ${report.misses} missed reuses): opened ${report.opened}, strangers hit ${report.strangersHit}, errors ${JSON.stringify(report.errors)}`,
  )
  t.is(report.cycles, CYCLES, `the pid was reused in every cycle\n${context}`)
  return report
}

testUnless([noNamespaces, emulated, noPidfs], `the id of a reaped process, left in a file, never opens the newcomer over ${CYCLES} forced pid reuses`, async (t) => {
  const report = await cycles(t, 'id')
  t.is(report.opened, 0)
  t.is(report.strangersHit, 0)
  t.deepEqual(report.errors, { ESRCH: CYCLES })
})

testUnless([noNamespaces, emulated], `control: a pid-only pidfile opens the newcomer over ${CYCLES} forced pid reuses`, async (t) => {
  const report = await cycles(t, 'pidfile')
  t.true(report.opened >= CYCLES * 0.99, `opened ${report.opened}`)
  t.true(report.strangersHit >= CYCLES * 0.99, `hit ${report.strangersHit}`)
})

testUnless(
  [noNamespaces, emulated],
  `control: ids of the start-time kind open the newcomer in some of ${CYCLES} forced pid reuses, and say raceFree false`,
  async (t) => {
    const report = await cycles(t, 'starttime')
    t.true(report.opened > 0, 'a newcomer started in the same clock tick was opened')
    t.is(report.strangersHit, report.opened)
    t.deepEqual(report.raceFree, { false: report.opened })
    t.deepEqual(Object.keys(report.errors), report.opened === CYCLES ? [] : ['ESRCH'])
  },
)
