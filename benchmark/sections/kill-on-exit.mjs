// Item 7: killOnExit(). What arming costs (per call, on targets of fresh
// sleepers, in this process, whose guardian an arming outside the clock
// has started), in rounds alternating with its floor: what every arming
// does in the kernel, from native code (the floor addon's
// `armRoundTrip`: the permission check, `pidfd_send_signal(fd, 0)`, then
// the pidfd sent over a socket to another process and its answer read back,
// as an arming waits for the guardian's). Then programs (lib/armed.mjs) that arm 300 sleepers one by
// one, or 10 trees of 10: the guardian's memory (Pss), the CPU that the
// guardian and the program's keeper thread (which walks the trees every
// 100 ms) use over 2 idle seconds, and the time from the program's SIGKILL
// until the last armed process is gone, seen by a target on each opened
// here beforehand. Beside that last figure, in the printed report: the
// same number of sleepers SIGKILLed from here through their targets (from
// JavaScript, so not a floor: the guardian's, from native code, can be
// quicker).

import { spawn } from 'node:child_process'
import { readdirSync, readFileSync } from 'node:fs'
import { fileURLToPath } from 'node:url'

import { check, median, settle, sleep, sleeper, spawned } from '../lib/harness.mjs'

const ARMED = fileURLToPath(new URL('../lib/armed.mjs', import.meta.url))
/** CPU time in ms of a process's main thread, or a thread: its schedstat's
 * first field, in ns (stat's utime and stime count 10 ms ticks, too coarse
 * for a thread that wakes for a millisecond ten times a second). */
function cpuMs(path) {
  return Number(readFileSync(`${path}/schedstat`, 'utf8').split(' ')[0]) / 1e6
}

const named = (stat, prefix) => stat.slice(stat.indexOf('(') + 1, stat.lastIndexOf(')')).startsWith(prefix)

function guardianOf(pid) {
  for (const entry of readdirSync('/proc').filter(Number)) {
    try {
      const stat = readFileSync(`/proc/${entry}/stat`, 'utf8')
      const ppid = Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1])
      if (ppid === pid && named(stat, 'kill-target-gua')) return Number(entry)
    } catch {
      // gone since the listing
    }
  }
  return undefined
}

function keeperOf(pid) {
  const task = readdirSync(`/proc/${pid}/task`).find((tid) => named(readFileSync(`/proc/${pid}/task/${tid}/stat`, 'utf8'), 'kill-target kee'))
  return task && `/proc/${pid}/task/${task}`
}

async function armCost(KillTarget, n) {
  const children = Array.from({ length: n }, sleeper)
  const targets = children.map((child) => KillTarget.fromChildProcess(child))
  await Promise.all(children.map(spawned))
  await settle()
  const t0 = performance.now()
  for (const target of targets) target.killOnExit()
  const us = ((performance.now() - t0) * 1000) / n
  for (const target of targets) {
    target.killOnExit(false)
    target.signal('SIGKILL')
    target.close()
  }
  return us
}

/** Starts lib/armed.mjs and resolves with it and the pids it armed. */
async function armedProgram(shape) {
  const program = spawn(process.execPath, [ARMED, ...shape], { stdio: ['ignore', 'pipe', 'inherit'] })
  let text = ''
  for await (const chunk of program.stdout) {
    text += chunk
    if (text.endsWith('\n')) break
  }
  return { program, pids: JSON.parse(text) }
}

async function programDeath(KillTarget, shape) {
  const { program, pids } = await armedProgram(shape)
  const guardian = guardianOf(program.pid)
  check(guardian !== undefined, `the program of ${shape} has no guardian`)
  const keeper = keeperOf(program.pid)
  const pss = Number(/^Pss:\s+(\d+) kB/m.exec(readFileSync(`/proc/${guardian}/smaps_rollup`, 'utf8'))[1]) * 1024
  const cpu = () => cpuMs(`/proc/${guardian}`) + cpuMs(keeper)
  const before = cpu()
  await sleep(2000)
  const idleCpuMs = cpu() - before
  const targets = pids.map((pid) => KillTarget.fromPid(pid))
  const gone = Promise.all(targets.map((target) => target.waitForExit({ timeout: 10_000 })))
  await settle()
  const t0 = performance.now()
  program.kill('SIGKILL')
  const exited = await gone
  const ms = performance.now() - t0
  check(exited.every(Boolean), `${exited.filter((e) => !e).length} of ${pids.length} armed processes outlived their program`)
  for (const target of targets) target.close()
  return { pss, idleCpuMs, ms }
}

/** Beside programDeath's time: N SIGKILLs sent from here, through targets. */
async function directKill(KillTarget, n) {
  const children = Array.from({ length: n }, sleeper)
  const targets = children.map((child) => KillTarget.fromChildProcess(child))
  await Promise.all(children.map(spawned))
  const gone = Promise.all(targets.map((target) => target.waitForExit()))
  await settle()
  const t0 = performance.now()
  for (const target of targets) target.signal('SIGKILL')
  await gone
  const ms = performance.now() - t0
  for (const target of targets) target.close()
  return ms
}

/** The floor of armCost, µs per arming: n round trips, timed natively. */
function roundTrip(floor, fd, n) {
  const us = floor.armRoundTrip(fd, n)
  check(us > 0, `armRoundTrip: a round trip of ${n} failed`)
  return us
}

export async function killOnExit({ KillTarget, floor, quick }) {
  const n = 300
  // The first arming starts this process's guardian: outside the clock.
  const first = sleeper()
  const firstTarget = KillTarget.fromChildProcess(first)
  await spawned(first)
  const t0 = performance.now()
  firstTarget.killOnExit()
  const guardianStartMs = performance.now() - t0
  const armUs = [], roundTripUs = []
  const fd = floor.raw.pidfdOpen(first.pid)
  for (let round = 0; round < 5; round++) {
    armUs.push(await armCost(KillTarget, n))
    roundTripUs.push(roundTrip(floor, fd, n))
  }
  floor.raw.closeFd(fd)
  firstTarget.killOnExit(false)
  firstTarget.signal('SIGKILL')
  firstTarget.close()

  const flat = [], trees = [], direct = []
  for (let round = 0; round < (quick ? 1 : 3); round++) {
    flat.push(await programDeath(KillTarget, ['flat', n]))
    trees.push(await programDeath(KillTarget, ['trees', 10, 10]))
    direct.push(await directKill(KillTarget, n))
  }
  const of = (runs, key) => median(runs.map((run) => run[key]))
  return {
    armed: n,
    guardianStartMs,
    armUs: median(armUs),
    roundTripUs: median(roundTripUs),
    guardianPss: of(flat, 'pss'),
    idleCpuMs: { flat: of(flat, 'idleCpuMs'), trees: of(trees, 'idleCpuMs') },
    deathMs: { flat: of(flat, 'ms'), trees: of(trees, 'ms'), floor: median(direct) },
  }
}
