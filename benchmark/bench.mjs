// `npm run bench`: what kill-target costs, against Node's own kill and the
// raw system call, all measured in this process and this run (only same-run
// ratios mean anything on a shared machine). Run plainly, this script runs
// itself as passes (lib/runs.mjs: --runs, --update-docs, --render), and
// writes benchmark/results.json and docs/bench.svg from them. One pass
// (`--pass FILE`) prints a table of medians and ratios, then each target of
// docs/benchmarks.md as met or missed, and writes it all to FILE.
//
//   1. `signal(0)` against `child.kill(0)`, `process.kill(pid, 0)` and the
//      floors: a bare N-API class method, and pidfd_send_signal in a native
//      loop in this process.
//   2. `fromPid` + `close` against a bare N-API class made and closed, and
//      pidfd_open + close in a native loop.
//   3. From a child's exit to `waitForExit()` resolving, against to Node's
//      own 'exit' event (median of BENCH_TRIALS of each).
//   4. BENCH_TARGETS targets waiting at once on sleeping processes: extra
//      threads, CPU over 2 idle seconds, native memory per target.
//   5. `terminate()` of BENCH_CHILDREN children at once against
//      `child.kill()` + awaiting 'exit', and against the kernel's own time
//      for as many SIGTERMs and exits, sent and seen from native code.
//   6. `terminate({ tree: true })` of a 100-process tree against the
//      tree-kill package on an identical tree.
//   7. `killOnExit()`: the cost of arming, against its floor (the check and
//      a round trip to another process, from native code), and for a
//      program with 300 armed sleepers its guardian's memory, the idle CPU
//      of the guardian and the keeper, and the time from its SIGKILL to the
//      last exit.
//
// Timings never fail the run; wrong answers, leaked descriptors and the like
// do. `--quick` (or BENCH_QUICK=1) is a short smoke pass with small counts.
// Environment: BENCH_ROUNDS (15), BENCH_ROUND_MS (20), BENCH_TRIALS (200),
// BENCH_TARGETS (10000), BENCH_CHILDREN (1000). About 2 to 3 minutes, plus ~1 min
// to build benchmark/floor on the first run.

import { spawnSync } from 'node:child_process'
import { mkdirSync, writeFileSync } from 'node:fs'
import { createRequire } from 'node:module'
import { availableParallelism, cpus, release } from 'node:os'
import { dirname, join } from 'node:path'
import { fileURLToPath } from 'node:url'

const SELF = fileURLToPath(import.meta.url)
const PASS = process.argv.indexOf('--pass')
if (PASS < 0) {
  const { main } = await import('./lib/runs.mjs')
  process.exit(main(SELF, process.argv.slice(2)))
}
if (typeof globalThis.gc !== 'function') {
  const args = ['--expose-gc', ...process.execArgv, SELF, ...process.argv.slice(2)]
  process.exit(spawnSync(process.execPath, args, { stdio: 'inherit' }).status ?? 1)
}

const { check, elapsed, failures, progress, threadCount } = await import('./lib/harness.mjs')
const { loadFloor } = await import('./lib/floor.mjs')
const { assess, report } = await import('./lib/report.mjs')
const { profile } = await import('./lib/profile.mjs')
const { speed } = await import('./sections/speed.mjs')
const { latency } = await import('./sections/latency.mjs')
const { scale } = await import('./sections/scale.mjs')
const { terminate } = await import('./sections/terminate.mjs')
const { tree } = await import('./sections/tree.mjs')
const { killOnExit } = await import('./sections/kill-on-exit.mjs')
const { timeout } = await import('./sections/timeout.mjs')

const QUICK = process.argv.includes('--quick') || process.env.BENCH_QUICK === '1'
const setting = (name, full, quick) => {
  const value = Number(process.env[name])
  return Number.isInteger(value) && value > 0 ? value : QUICK ? quick : full
}
const config = {
  quick: QUICK,
  rounds: setting('BENCH_ROUNDS', 15, 3),
  roundMs: setting('BENCH_ROUND_MS', 20, 5),
  trials: setting('BENCH_TRIALS', 200, 20),
  targets: setting('BENCH_TARGETS', 10000, 200),
  children: setting('BENCH_CHILDREN', 1000, 100),
}

const threadsBeforeAddon = threadCount()
const floor = loadFloor()
const ROOT = join(dirname(SELF), '..')
const { KillTarget, capabilities } = createRequire(import.meta.url)(ROOT)
const caps = capabilities()
check(caps.pidfd, 'capabilities().pidfd is false: every kill-target figure is the kill(2) fallback')
const context = { ...config, KillTarget, floor, threadsBeforeAddon }

const results = {
  machine: {
    node: process.version,
    kernel: release(),
    cpus: availableParallelism(),
    cpuModel: cpus()[0]?.model,
    capabilities: caps,
    date: new Date().toISOString(),
  },
  config,
}
progress(`speed: ${config.rounds} rounds of ~${config.roundMs} ms per case`)
results.speed = await speed(context)
progress(`latency: ${config.trials} exits of each kind`)
results.latency = await latency(context)
results.scale = await scale(context)
progress(`terminate: ${config.children} children per batch, 9 batches, the kernel alone in 3`)
results.terminate = await terminate(context)
progress('tree: a 100-process tree, terminate({ tree: true }) against tree-kill')
results.tree = await tree(context)
progress('killOnExit: arming, and programs of armed sleepers killed')
results.killOnExit = await killOnExit(context)
progress('timeout: kill-target timeout against GNU timeout')
results.timeout = await timeout(context)
results.seconds = elapsed()
results.failures = failures
results.targets = assess(results)
results.profile = profile(results)

const text = report(results)
process.stdout.write(`${text}\n`)
const out = process.argv[PASS + 1]
mkdirSync(dirname(out), { recursive: true })
writeFileSync(out, `${JSON.stringify(results, null, 2)}\n`)
if (failures.length) process.exitCode = 1
