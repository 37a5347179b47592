// Timing and process helpers shared by the benchmark sections.

import { spawn } from 'node:child_process'
import { readdirSync } from 'node:fs'

/** Correctness failures of the run: the only thing that fails `npm run bench`. */
export const failures = []
export const check = (ok, what) => {
  if (!ok) failures.push(what)
  return ok
}

const started = performance.now()
export const elapsed = () => (performance.now() - started) / 1000
export const progress = (text) => process.stderr.write(`  [${elapsed().toFixed(1).padStart(5)} s] ${text}\n`)

export const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms))

export const threadCount = () => readdirSync('/proc/self/task').length
export const fdCount = () => readdirSync('/proc/self/fd').length

/** Full GCs, with turns of the event loop between them for the finalizers. */
export async function settle() {
  for (let i = 0; i < 4; i++) {
    globalThis.gc()
    await new Promise((resolve) => setImmediate(resolve))
  }
}

export const median = (values) => {
  const sorted = [...values].sort((a, b) => a - b)
  const mid = sorted.length >> 1
  return sorted.length % 2 ? sorted[mid] : (sorted[mid - 1] + sorted[mid]) / 2
}

// ---------------------------------------------------------------- children --

const children = new Set()

/** A `sleep` child of this process, killed at exit if still running. */
export function sleeper() {
  const child = spawn('sleep', ['1000'], { stdio: 'ignore' })
  children.add(child)
  child.once('exit', () => children.delete(child))
  return child
}

/** Resolves once `child` has started (its pid names the `sleep` program). */
export const spawned = (child) => new Promise((resolve, reject) => child.once('spawn', resolve).once('error', reject))

// ChildProcess#kill does nothing once Node has reaped the child, so this can
// never hit a reused pid.
process.on('exit', () => {
  for (const child of children) child.kill('SIGKILL')
})
for (const signal of ['SIGINT', 'SIGTERM']) process.on(signal, () => process.exit(130))

// ------------------------------------------------------------------ timing --

/**
 * A timed case. `body` is a JavaScript expression over the context `c`,
 * truthy on the expected answer; it gets a loop of its own so its call site
 * stays monomorphic. `loop(n)` instead runs n operations itself (the native
 * floors) and returns how many answered as expected.
 */
export function makeCase(who, name, body, c, extra = {}) {
  const loop =
    extra.loop ?? new Function('c', 'n', `let ok = 0\nfor (let i = 0; i < n; i++) if (${body}) ok++\nreturn ok`)
  return { who, name, run: (n) => loop(c, n), ...extra }
}

function timeLoop(testCase, n) {
  const t0 = process.hrtime.bigint()
  const ok = testCase.run(n)
  const ns = Number(process.hrtime.bigint() - t0)
  check(ok === n, `${testCase.who} ${testCase.name}: ${n - ok} of ${n} operations answered wrong`)
  return ns / n
}

/**
 * Warm-up, calibration to ~roundMs per round, then `rounds` interleaved
 * rounds in rotating order, so drift and noise hit every case alike. Fills
 * each case's `samples` (ns/op per round).
 */
export function measure(cases, { rounds, roundMs }) {
  for (const testCase of cases) {
    timeLoop(testCase, 2000)
    const perOp = Math.min(timeLoop(testCase, 2000), timeLoop(testCase, 2000))
    testCase.iterations = Math.max(200, Math.round((roundMs * 1e6) / perOp))
    testCase.samples = []
  }
  for (let round = 0; round < rounds; round++) {
    for (let k = 0; k < cases.length; k++) {
      const testCase = cases[(k + round) % cases.length]
      testCase.samples.push(timeLoop(testCase, testCase.iterations))
    }
  }
  return cases
}

/** Median over rounds of case ÷ baseline within the same round. */
export const ratio = (testCase, baseline) =>
  median(testCase.samples.map((ns, round) => ns / baseline.samples[round]))
