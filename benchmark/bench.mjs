// `npm run bench`: what kill-target costs, as ratios against baselines
// measured in the same process and the same run. Nothing here asserts on a
// timing; only correctness (every call answered as expected, no descriptor
// or thread growth) makes the run exit non-zero.
//
// What is measured
//   1. Speed, ns/op, of
//      - `target.signal(0)`, the hot path, against what users do today
//        (`child.kill(0)`, `process.kill(pid, 0)`) and against the floor:
//        the same system call (pidfd_send_signal(fd, 0), kill(pid, 0))
//        issued from a bare N-API function inside this Node process;
//      - `isAlive()` against the floor poll(pidfd, POLLIN, 0);
//      - the call overhead alone (the `pid` getter against empty functions);
//      - `KillTarget.fromPid(pid)` + `close()` and `fromChildProcess` +
//        `close()` against the floor pidfd_open + close.
//   2. Many waits: BENCH_WAITS `sleep` children with `waitForExit()` on each,
//      against as many children with `child.once('exit')`: the process's
//      thread count before and during the waits (it must not grow), and the
//      time from the first kill to every promise resolved / 'exit' emitted.
//   3. Memory: RSS, V8 heap, V8 external memory and descriptors per open
//      target (BENCH_TARGETS targets on 4 live processes, after full GCs),
//      what a pending wait adds (its pidfd duplicate in the runtime's epoll
//      set), and whether close() and GC give the descriptors back.
//
// Why the floor is the fair comparison
//   Kernel entry dominates every one of these calls, and its cost depends on
//   the machine, the run and the process (a syscall from inside Node costs
//   more than from a small C program). A figure from another program or
//   another run says nothing about this code. So the floor is the same
//   system call behind the thinnest possible N-API function — a plain
//   `extern "C"` callback, no binding glue — called from the same JavaScript
//   loop, in the same process, in the same rounds: benchmark/floor, a crate
//   of its own that this script builds on first run. Whatever `signal(0)`
//   costs above it is binding overhead. The floor crate also has the same
//   calls as an N-API class (`RawTarget`: adds the unwrap of `this`) and
//   through napi-rs's generated glue (`#[napi]` fn and class), which splits
//   the gap into N-API's share, napi-rs's share and kill-target's own.
//
// How
//   Each case gets its own generated loop (one monomorphic call site), warms
//   up, and is calibrated to ~BENCH_ROUND_MS per round; then all cases of a
//   group run in BENCH_ROUNDS interleaved rounds, in rotating order, so drift
//   and noise hit them alike. ns/op is the median over rounds; a ratio is the
//   median over rounds of (case ÷ baseline) within the same round.
//
// Environment: BENCH_ROUNDS (15), BENCH_ROUND_MS (20), BENCH_WAITS (1000),
// BENCH_TARGETS (10000). Runs itself again with --expose-gc if needed.
// About 25 s; the first run also builds benchmark/floor (20-40 s, once).

import { execFileSync, spawn, spawnSync } from 'node:child_process'
import { copyFileSync, existsSync, readFileSync, readdirSync, statSync } from 'node:fs'
import { createRequire } from 'node:module'
import { availableParallelism, release } from 'node:os'
import { dirname, join } from 'node:path'
import { fileURLToPath } from 'node:url'

const SELF = fileURLToPath(import.meta.url)

if (typeof globalThis.gc !== 'function') {
  const run = spawnSync(process.execPath, ['--expose-gc', ...process.execArgv, SELF, ...process.argv.slice(2)], {
    stdio: 'inherit',
  })
  process.exit(run.status ?? 1)
}

const started = performance.now()
const HERE = dirname(SELF)
const ROOT = join(HERE, '..')
const FLOOR_DIR = join(HERE, 'floor')
const require = createRequire(import.meta.url)

const ROUNDS = intEnv('BENCH_ROUNDS', 15)
const ROUND_MS = intEnv('BENCH_ROUND_MS', 20)
const WAITS = intEnv('BENCH_WAITS', 1000)
const TARGETS = intEnv('BENCH_TARGETS', 10000)

const failures = []
const check = (ok, what) => {
  if (!ok) failures.push(what)
  return ok
}
const progress = (text) =>
  process.stderr.write(`  [${((performance.now() - started) / 1000).toFixed(1).padStart(5)} s] ${text}\n`)

// ---------------------------------------------------------------- process --

function intEnv(name, fallback) {
  const value = Number(process.env[name])
  return Number.isInteger(value) && value > 0 ? value : fallback
}

function threadCount() {
  return Number(/^Threads:\s+(\d+)/m.exec(readFileSync('/proc/self/status', 'utf8'))[1])
}

/** Thread names with counts, e.g. `node×11, kill-target`. */
function threadNames() {
  const counts = new Map()
  for (const task of readdirSync('/proc/self/task')) {
    try {
      const name = readFileSync(`/proc/self/task/${task}/comm`, 'utf8').trim()
      counts.set(name, (counts.get(name) ?? 0) + 1)
    } catch {
      // The thread ended meanwhile.
    }
  }
  return [...counts].map(([name, n]) => (n > 1 ? `${name}×${n}` : name)).join(', ')
}

/** Open descriptors (the readdir's own one is in every count alike). */
const fdCount = () => readdirSync('/proc/self/fd').length

/** The soft limit on open descriptors. */
function openFileLimit() {
  const limit = /^Max open files\s+(\d+|unlimited)/m.exec(readFileSync('/proc/self/limits', 'utf8'))?.[1]
  return limit === undefined || limit === 'unlimited' ? Infinity : Number(limit)
}

const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms))

/** Full GCs, with turns of the event loop between them for the finalizers. */
async function settle() {
  for (let i = 0; i < 4; i++) {
    globalThis.gc()
    await new Promise((resolve) => setImmediate(resolve))
  }
}

const children = new Set()
function sleeper() {
  const child = spawn('sleep', ['1000'], { stdio: 'ignore' })
  children.add(child)
  child.once('exit', () => children.delete(child))
  return child
}
// Never leave a sleeper behind. ChildProcess#kill does nothing once Node has
// reaped the child, so this cannot hit a reused pid.
process.on('exit', () => {
  for (const child of children) child.kill('SIGKILL')
})
for (const signal of ['SIGINT', 'SIGTERM']) process.on(signal, () => process.exit(130))

// ------------------------------------------------------------------ floor --

/** Builds benchmark/floor (a quick no-op when up to date) and loads it. */
function loadFloor() {
  const built = join(FLOOR_DIR, 'target', 'release', 'libkill_target_bench_floor.so')
  const addon = join(FLOOR_DIR, 'target', 'floor.node')
  if (!existsSync(built)) progress('building the floor addon, benchmark/floor (first run only, ~20-60 s)')
  try {
    const manifest = join(FLOOR_DIR, 'Cargo.toml')
    execFileSync('cargo', ['build', '--release', '--manifest-path', manifest, '--target-dir', join(FLOOR_DIR, 'target')], {
      stdio: ['ignore', 'ignore', 'pipe'],
    })
  } catch (error) {
    if (!existsSync(built)) {
      process.stderr.write(String(error.stderr ?? error.message))
      throw new Error('cannot build the floor: cargo build --release --manifest-path benchmark/floor/Cargo.toml')
    }
    progress('cargo build of the floor failed; using the previous build')
  }
  if (!existsSync(addon) || statSync(addon).mtimeMs < statSync(built).mtimeMs) copyFileSync(built, addon)
  return require(addon)
}

// ---------------------------------------------------------------- harness --

/**
 * A case: `body` is a JavaScript expression over the context `c`, truthy on
 * the expected answer. It gets a loop of its own so its call site stays
 * monomorphic; the loop counts the expected answers.
 */
function makeCase(who, name, body, c, extra = {}) {
  const loop = new Function('c', 'n', `let ok = 0\nfor (let i = 0; i < n; i++) if (${body}) ok++\nreturn ok`)
  return { who, name, run: (n) => loop(c, n), ...extra }
}

function timeLoop(testCase, n) {
  const t0 = process.hrtime.bigint()
  const ok = testCase.run(n)
  const ns = Number(process.hrtime.bigint() - t0)
  if (ok !== n) failures.push(`${testCase.who} ${testCase.name}: ${n - ok} of ${n} calls answered wrong`)
  return ns / n
}

/** Warm-up, calibration, then interleaved rounds; fills `samples`. */
function measure(cases) {
  for (const testCase of cases) {
    timeLoop(testCase, 2000)
    const perOp = Math.min(timeLoop(testCase, 2000), timeLoop(testCase, 2000))
    testCase.iterations = Math.max(200, Math.round((ROUND_MS * 1e6) / perOp))
    testCase.samples = []
  }
  for (let round = 0; round < ROUNDS; round++) {
    for (let k = 0; k < cases.length; k++) {
      const testCase = cases[(k + round) % cases.length]
      testCase.samples.push(timeLoop(testCase, testCase.iterations))
    }
  }
  return cases
}

const median = (values) => {
  const sorted = [...values].sort((a, b) => a - b)
  const mid = sorted.length >> 1
  return sorted.length % 2 ? sorted[mid] : (sorted[mid - 1] + sorted[mid]) / 2
}

/** Median over rounds of case ÷ baseline within the same round. */
const ratio = (testCase, baseline) =>
  baseline ? median(testCase.samples.map((ns, round) => ns / baseline.samples[round])) : undefined

// ---------------------------------------------------------------- formats --

const ns = (value) => (value >= 100 ? Math.round(value).toLocaleString('en-US') : value.toFixed(1))
const times = (value) => (value === undefined ? '—' : `${value.toFixed(2)}×`)
const bytes = (value) => `${Math.round(value).toLocaleString('en-US')} B`
const mib = (value) => `${(value / 1048576).toFixed(1)} MiB`
const ms = (value) => `${value.toFixed(0)} ms`
const pad = (text, width) => String(text).padEnd(width)
const padLeft = (text, width) => String(text).padStart(width)

// ==================================================================== run ==

const threadsAtStart = threadCount()
const namesAtStart = threadNames()
const floor = loadFloor()
const { KillTarget, capabilities } = require(ROOT)
const caps = capabilities()
await sleep(20)
const threadsLoaded = threadCount()

check(caps.pidfd, 'capabilities().pidfd is false: every kill-target figure is the kill(2) fallback')

// ------------------------------------------------------------------ memory --
// First, while the heap and the malloc arenas are fresh.

progress(`memory: ${TARGETS} targets`)
const memory = await (async () => {
  const hosts = [sleeper(), sleeper(), sleeper(), sleeper()]
  await sleep(50)
  const pids = hosts.map((child) => child.pid)
  const snapshot = async () => {
    await settle()
    return { ...process.memoryUsage(), fds: fdCount() }
  }

  // Run every code path once so one-time allocations are not counted.
  for (let i = 0; i < 100; i++) KillTarget.fromPid(pids[0]).close()
  const warm = KillTarget.fromPid(pids[0])
  await warm.waitForExit({ timeout: 1 })
  warm.close()

  const before = await snapshot()
  let targets = Array.from({ length: TARGETS }, (_, i) => KillTarget.fromPid(pids[i % pids.length]))
  const opened = await snapshot()

  // A wait puts a duplicate of the pidfd in the runtime's epoll set (on the
  // runtime thread), so N waiting targets hold 2N descriptors: wait on as
  // many as the descriptor limit leaves room for, until every duplicate exists.
  const waited = Math.min(TARGETS, openFileLimit() - opened.fds - 256)
  const waits = targets.slice(0, waited).map((target) =>
    target.waitForExit().then(
      () => 'resolved',
      (error) => error.code,
    ),
  )
  const expected = opened.fds + (caps.pidfd ? waited : 0)
  for (let i = 0; i < 300 && fdCount() < expected; i++) await sleep(10)
  const waiting = await snapshot()
  const threadsWaiting = threadCount()

  for (const target of targets) target.close()
  const outcomes = await Promise.all(waits)
  const unexpected = outcomes.filter((code) => code !== 'ERR_USE_AFTER_CLOSE')
  check(
    unexpected.length === 0,
    `close() should reject each pending wait with ERR_USE_AFTER_CLOSE; ${unexpected.length} of ${waited} ` +
      `settled otherwise: ${[...new Set(unexpected)].join(', ')}`,
  )
  await sleep(20)
  const closed = await snapshot()
  targets = null

  // Never closed: GC alone must release the pidfds.
  let dropped = Array.from({ length: TARGETS }, (_, i) => KillTarget.fromPid(pids[i % pids.length]))
  const unclosed = fdCount()
  dropped = null
  await snapshot()
  const collected = await snapshot()

  for (const child of hosts) child.kill('SIGKILL')
  return { before, opened, waited, waiting, closed, unclosed, collected, threadsWaiting }
})()
check(memory.closed.fds === memory.before.fds, `close() left ${memory.closed.fds - memory.before.fds} descriptors open`)
check(
  memory.collected.fds === memory.before.fds,
  `GC of ${TARGETS} unclosed targets left ${memory.collected.fds - memory.before.fds} descriptors open`,
)

// ------------------------------------------------------------------- speed --

progress(`speed: ${ROUNDS} rounds of ~${ROUND_MS} ms per case`)
const host = sleeper()
await sleep(50)
const target = KillTarget.fromChildProcess(host)
check(target.raceFree, 'the benchmark target is not race-free (no pidfd)')
const floorFd = floor.raw.pidfdOpen(host.pid)
check(floorFd >= 0, `floor pidfdOpen failed: errno ${-floorFd}`)
const floorTarget = new floor.FloorTarget(host.pid)
const rawTarget = new floor.raw.RawTarget(host.pid)
const c = { target, child: host, pid: host.pid, process, floor, raw: floor.raw, fd: floorFd, floorTarget, rawTarget }
c.KillTarget = KillTarget

// `N-API` rows are plain extern "C" callbacks (the floors), `napi-rs` rows
// the same calls through napi-rs's generated glue: benchmark/floor/src/lib.rs.
const KT = '▸ kill-target'
const group = (title, floorSyscall, cases) => ({ title, floorSyscall, cases })
const hotGroups = [
  group('signal(0), the hot path', 'pidfd_send_signal', [
    makeCase(KT, 'target.signal(0)', 'c.target.signal(0)', c),
    makeCase('napi-rs class', 'FloorTarget#signal(0)', 'c.floorTarget.signal(0)', c),
    makeCase('N-API class', 'RawTarget#signal(0)', 'c.rawTarget.signal(0)', c),
    makeCase('napi-rs fn', 'pidfdSignal0(fd)', 'c.floor.pidfdSignal0(c.fd)', c),
    makeCase('N-API fn', 'pidfdSignal0(fd)', 'c.raw.pidfdSignal0(c.fd)', c, { isFloor: true }),
  ]),
  group('what users do today', 'kill', [
    makeCase('node', 'child.kill(0)', 'c.child.kill(0)', c, { baseline: 'child' }),
    makeCase('node', 'process.kill(pid, 0)', 'c.process.kill(c.pid, 0)', c, { baseline: 'process' }),
    makeCase('napi-rs fn', 'kill0(pid)', 'c.floor.kill0(c.pid)', c),
    makeCase('N-API fn', 'kill0(pid)', 'c.raw.kill0(c.pid)', c, { isFloor: true }),
  ]),
  group('isAlive()', 'poll', [
    makeCase(KT, 'target.isAlive()', 'c.target.isAlive()', c),
    makeCase('napi-rs fn', 'pidfdAlive(fd)', 'c.floor.pidfdAlive(c.fd)', c),
    makeCase('N-API fn', 'pidfdAlive(fd)', 'c.raw.pidfdAlive(c.fd)', c, { isFloor: true }),
  ]),
  group('call overhead alone, no syscall', 'none', [
    makeCase(KT, 'target.pid (getter)', 'c.target.pid === c.pid', c),
    makeCase('napi-rs class', 'FloorTarget#noop()', '(c.floorTarget.noop(), true)', c),
    makeCase('napi-rs fn', 'noop()', '(c.floor.noop(), true)', c),
    makeCase('N-API fn', 'noop()', '(c.raw.noop(), true)', c, { isFloor: true }),
  ]),
]
measure(hotGroups.flatMap((g) => g.cases))

// The open/close cases allocate (objects, finalizers): a group of their own,
// so their garbage does not land in the rounds above.
await settle()
const fdsBeforeOpen = fdCount()
const openGroup = group('open + close', 'pidfd_open + close', [
  makeCase(KT, 'fromPid(pid) + close()', '(c.t = c.KillTarget.fromPid(c.pid), c.t.close(), true)', c),
  makeCase(
    KT,
    'fromChildProcess(child) + close()',
    '(c.t = c.KillTarget.fromChildProcess(c.child), c.t.close(), true)',
    c,
  ),
  makeCase('napi-rs class', 'new FloorTarget(pid) + close()', '(c.f = new c.floor.FloorTarget(c.pid), c.f.close(), true)', c),
  makeCase('napi-rs fn', 'pidfdOpen + closeFd', 'c.floor.closeFd(c.floor.pidfdOpen(c.pid)) === 0', c),
  makeCase('N-API fn', 'pidfdOpen + closeFd', 'c.raw.closeFd(c.raw.pidfdOpen(c.pid)) === 0', c, { isFloor: true }),
])
measure(openGroup.cases)
await settle()
check(fdCount() === fdsBeforeOpen, `open + close left ${fdCount() - fdsBeforeOpen} descriptors open`)
target.close()
floorTarget.close()
floor.raw.closeFd(floorFd)
host.kill('SIGKILL')

// ------------------------------------------------------------- many waits --

/** One batch of WAITS sleepers, watched by `once('exit')` or `waitForExit()`. */
async function waitBatch(mode) {
  await settle()
  const usageBefore = process.memoryUsage()
  const batch = Array.from({ length: WAITS }, () => {
    const child = sleeper()
    return { child, target: mode === 'waitForExit' ? KillTarget.fromChildProcess(child) : null }
  })
  await sleep(100)
  await settle()
  const usageSpawned = process.memoryUsage()
  const threadsBefore = threadCount()

  const pending =
    mode === 'waitForExit'
      ? batch.map(({ target }) => target.waitForExit())
      : batch.map(({ child }) => new Promise((resolve) => child.once('exit', () => resolve(true))))
  await sleep(100)
  const threadsDuring = threadCount()
  const namesDuring = threadNames()
  // Node reaps every child in both modes: time that as well.
  const reaped = batch.map(({ child }) => new Promise((resolve) => child.once('exit', resolve)))

  const t0 = performance.now()
  for (const { child, target } of batch) {
    if (target) target.signal('SIGKILL')
    else child.kill('SIGKILL')
  }
  const killLoop = performance.now() - t0
  const answers = await Promise.all(pending)
  const allAnswered = performance.now() - t0
  await Promise.all(reaped)
  const allReaped = performance.now() - t0
  const wrong = answers.filter((answer) => answer !== true).length
  check(wrong === 0, `${mode}: ${wrong} of ${WAITS} waits did not resolve true`)
  for (const { target } of batch) target?.close()
  return {
    mode,
    threadsBefore,
    threadsDuring,
    namesDuring,
    killLoop,
    allAnswered,
    allReaped,
    perChildHeap: (usageSpawned.heapUsed - usageBefore.heapUsed) / WAITS,
    perChildRss: (usageSpawned.rss - usageBefore.rss) / WAITS,
  }
}

const batches = []
// Alternating (ABBA) so drift over the run hits both alike.
for (const mode of ['exit', 'waitForExit', 'waitForExit', 'exit']) {
  progress(`waits: ${WAITS} children with ${mode === 'exit' ? "child.once('exit')" : 'target.waitForExit()'}`)
  batches.push(await waitBatch(mode))
}
for (const batch of batches) {
  check(
    batch.threadsDuring === batch.threadsBefore,
    `${batch.mode}: threads went from ${batch.threadsBefore} to ${batch.threadsDuring} with ${WAITS} pending`,
  )
}
progress('done')

// ------------------------------------------------------------------ report --

const report = []
const line = (text = '') => report.push(text)
const baseChild = hotGroups[1].cases.find((x) => x.baseline === 'child')
const baseProcess = hotGroups[1].cases.find((x) => x.baseline === 'process')

const COLUMNS = [
  ['', 17],
  ['', 36],
  ['ns/op', 7],
  ['rounds min–max', 16],
  ['÷child.kill(0)', 15],
  ['÷process.kill', 14],
  ['÷floor', 8],
]
const row = (cells) =>
  cells.map((cell, i) => (i < 2 ? pad(cell, COLUMNS[i][1]) : padLeft(cell, COLUMNS[i][1]))).join('')

line(
  `kill-target bench · node ${process.version} · linux ${release()} · ${availableParallelism()} cpus · ` +
    `pidfd ${caps.pidfd} · groupSignal ${caps.groupSignal} · exitInfo ${caps.exitInfo}`,
)
line(`speed: median ns/op of ${ROUNDS} interleaved rounds; a ratio is the median of same-round ratios (<1 = faster).`)
line('÷floor: against the same syscall from a bare N-API function (a plain C callback) in this process.')
line()
line(row(COLUMNS.map(([title]) => title)))
for (const { title, floorSyscall, cases } of [...hotGroups, openGroup]) {
  line(`${title} — floor: ${floorSyscall === 'none' ? 'an empty N-API function' : floorSyscall}`)
  const floorCase = cases.find((x) => x.isFloor)
  const withNode = openGroup.cases !== cases
  for (const testCase of cases) {
    line(
      row([
        testCase.who.startsWith('▸') ? testCase.who : `  ${testCase.who}`,
        testCase.name,
        ns(median(testCase.samples)),
        `${ns(Math.min(...testCase.samples))}–${ns(Math.max(...testCase.samples))}`,
        withNode ? times(ratio(testCase, baseChild)) : '—',
        withNode ? times(ratio(testCase, baseProcess)) : '—',
        testCase.isFloor ? 'floor' : times(ratio(testCase, floorCase)),
      ]),
    )
  }
}
line()

const byMode = (mode) => batches.filter((batch) => batch.mode === mode)
const list = (values, format) => values.map(format).join(' / ')
const exitRuns = byMode('exit')
const waitRuns = byMode('waitForExit')
line(`many waits: ${WAITS} sleep children per batch, ${batches.length} batches (values per batch, in run order)`)
line(
  `  threads: ${threadsAtStart} at start (${namesAtStart}), ${threadsLoaded} after loading kill-target + floor; ` +
    `before → during the waits:`,
)
line(`    ${WAITS}× child.once('exit')     ${list(exitRuns, (b) => `${b.threadsBefore} → ${b.threadsDuring}`)}`)
line(
  `    ${WAITS}× target.waitForExit()  ${list(waitRuns, (b) => `${b.threadsBefore} → ${b.threadsDuring}`)}` +
    ` (${waitRuns[0].namesDuring})`,
)
line(`    ${memory.waited}× target.waitForExit()  ${threadsLoaded} → ${memory.threadsWaiting} (memory run)`)
line('  from the first kill (loop of child.kill / target.signal(\'SIGKILL\')) to:')
line(
  `    all 'exit' events, once('exit')     ${list(exitRuns, (b) => ms(b.allAnswered))}` +
    `   (kill loop ${list(exitRuns, (b) => ms(b.killLoop))})`,
)
line(
  `    all resolved, waitForExit()         ${list(waitRuns, (b) => ms(b.allAnswered))}` +
    `   (kill loop ${list(waitRuns, (b) => ms(b.killLoop))}; Node's own 'exit' events ` +
    `${list(waitRuns, (b) => ms(b.allReaped))})`,
)
line(
  `    ratio waitForExit ÷ once('exit'), median of batches: ` +
    times(median(waitRuns.map((b) => b.allAnswered)) / median(exitRuns.map((b) => b.allAnswered))),
)
line()

const delta = (from, to, n) => ({
  rss: (to.rss - from.rss) / n,
  heap: (to.heapUsed - from.heapUsed) / n,
  external: (to.external - from.external) / n,
  fds: (to.fds - from.fds) / n,
})
const memLine = (label, per) =>
  line(
    `  ${pad(label, 30)} rss ${padLeft(bytes(per.rss), 8)} · JS heap ${padLeft(bytes(per.heap), 7)} · ` +
      `external ${padLeft(bytes(per.external), 3)} · fds ${per.fds.toFixed(2)}`,
  )
line(`memory: ${TARGETS} targets on 4 live processes, full GCs before each reading`)
memLine('per open target', delta(memory.before, memory.opened, TARGETS))
memLine('a pending waitForExit() adds', delta(memory.opened, memory.waiting, memory.waited))
line(
  `  ${pad('baseline: per ChildProcess', 30)} rss ${padLeft(bytes(median(batches.map((b) => b.perChildRss))), 8)} · ` +
    `JS heap ${padLeft(bytes(median(batches.map((b) => b.perChildHeap))), 7)} · (stdio 'ignore'; median of the wait batches)`,
)
line(
  `  rss ${mib(memory.before.rss)} → ${mib(memory.opened.rss)} open → ${mib(memory.waiting.rss)} waiting → ` +
    `${mib(memory.closed.rss)} closed (malloc keeps freed pages)`,
)
line(
  `  fds ${memory.before.fds} → ${memory.opened.fds} open → ${memory.waiting.fds} with ${memory.waited} waits → ` +
    `${memory.closed.fds} after close(); ${TARGETS} never closed: ${memory.unclosed} → ${memory.collected.fds} after GC` +
    (memory.waited < TARGETS ? ` (waits limited by the ${openFileLimit()}-descriptor limit)` : ''),
)
line()
line(`total ${((performance.now() - started) / 1000).toFixed(1)} s`)
if (failures.length) {
  line()
  line('CHECK FAILED:')
  for (const failure of failures) line(`  - ${failure}`)
  process.exitCode = 1
}
process.stdout.write(`${report.join('\n')}\n`)
