// Machinery to make the kernel hand a dead child's pid to a new process, on
// purpose and within a second, so the demo and the race test can show what a
// stale pid hits. Used by examples/demo.mjs and __test__/race.spec.mts.
//
// How it works:
//   1. The script re-runs itself in a new PID namespace
//      (`unshare --pid --fork --mount-proc`, or with `--user --map-root-user`
//      added when not root). There it is pid 1, its pids are its own, and
//      when it exits the kernel kills everything left in the namespace.
//   2. Inside, `preparePidReuse()` makes pids come round quickly:
//      - Linux >= 6.14: pid_max is per namespace, so it writes 400 to
//        /proc/sys/kernel/pid_max. Pids below 300 are never handed out
//        again, so once past 300 the pids cycle through 300..399, and
//        ~100 short-lived processes bring any of them back.
//      - older kernels: pid_max is global there (writing it would shrink the
//        whole machine's), so it is left alone; instead the next fork is
//        steered by writing victimPid - 1 to /proc/sys/kernel/ns_last_pid
//        (Linux >= 3.3, root in the namespace).
//   3. `takePid(pid, spawnNewcomer)` spawns the newcomer so that it gets
//      `pid`, and says whether it did (other processes, or one of Node's own
//      threads, can take a pid in between: callers retry with a new victim).
//
// No top-level await here, so CommonJS code (e.g. a transpiled test) can
// `require()` this module too.

import { spawn, spawnSync } from 'node:child_process'
import { readFileSync, writeFileSync } from 'node:fs'
import { release } from 'node:os'

/** Set (to the unshare variant's label) in the environment of a script run
 * by `runInPidNamespace()`, so it can tell it is inside. */
export const IN_NAMESPACE_ENV = 'KILL_TARGET_PID_NAMESPACE'

/** The tiny pid_max written inside the namespace. */
export const TINY_PID_MAX = 400
/** The kernel's RESERVED_PIDS: after a wrap, pids start again here. */
export const RESERVED_PIDS = 300

const NS_LAST_PID = '/proc/sys/kernel/ns_last_pid'
const PID_MAX = '/proc/sys/kernel/pid_max'

const VARIANTS = [
  { label: 'unshare --pid --fork --mount-proc', args: ['--pid', '--fork', '--mount-proc'] },
  {
    label: 'unshare --user --map-root-user --pid --fork --mount-proc',
    args: ['--user', '--map-root-user', '--pid', '--fork', '--mount-proc'],
  },
]

let probed

/**
 * Checks, once per process, whether this process may create PID namespaces:
 * runs `unshare --pid --fork --mount-proc true`, then the user-namespace
 * variant.
 *
 * @returns {{ ok: true, args: string[], label: string } | { ok: false, reason: string }}
 *   `args` are the unshare options to use (with `--kill-child` where unshare
 *   knows it, so the namespace dies with its unshare).
 */
export function probePidNamespaces() {
  if (probed) return probed
  const help = spawnSync('unshare', ['--help'], { encoding: 'utf8' })
  if (help.error) {
    probed = { ok: false, reason: `unshare failed: ${help.error.message}` }
    return probed
  }
  const killChild = /--kill-child/.test(help.stdout) ? ['--kill-child'] : []
  const failures = []
  for (const variant of VARIANTS) {
    const args = [...variant.args, ...killChild]
    const run = spawnSync('unshare', [...args, 'true'], { encoding: 'utf8', timeout: 10_000 })
    if (run.status === 0) {
      probed = { ok: true, args, label: variant.label }
      return probed
    }
    const why = run.error?.message ?? (run.stderr.trim().split('\n').pop() || `exit status ${run.status}`)
    failures.push(`\`${variant.label} true\`: ${why.replace(/^unshare: /, '')}`)
  }
  probed = { ok: false, reason: failures.join('; ') }
  return probed
}

/**
 * True in a script that `runInPidNamespace()` started: pid 1 there, or the
 * child of pid 1 with `reaper`.
 */
export function inPidNamespace() {
  return Boolean(process.env[IN_NAMESPACE_ENV]) && (process.pid === 1 || process.ppid === 1)
}

/**
 * Runs `node <script> ...args` in a new PID namespace.
 *
 * @param {{ args: string[], label: string }} namespace a successful
 *   `probePidNamespaces()` result.
 * @param {string} script path of the script to run.
 * @param {string[]} [args] its arguments.
 * @param {{ env?: NodeJS.ProcessEnv, stdio?: import('node:child_process').StdioOptions, reaper?: boolean }} [options]
 *   extra environment variables, and stdio (default: pipes). With `reaper`,
 *   pid 1 is a shell that runs the script and reaps every orphan that comes
 *   to it (Node, as pid 1, would leave them zombies, holding their pids).
 * @returns {import('node:child_process').ChildProcess} the `unshare` process.
 */
export function spawnInPidNamespace(namespace, script, args = [], options = {}) {
  const command = [process.execPath, script, ...args]
  const init = options.reaper ? ['sh', '-c', '"$@" & wait $!', 'sh', ...command] : command
  return spawn('unshare', [...namespace.args, ...init], {
    env: { ...process.env, ...options.env, [IN_NAMESPACE_ENV]: namespace.label },
    stdio: options.stdio ?? 'pipe',
  })
}

/**
 * Like `spawnInPidNamespace()`, collecting the output.
 *
 * @param {{ args: string[], label: string }} namespace
 * @param {string} script
 * @param {string[]} [args]
 * @param {{ env?: NodeJS.ProcessEnv, timeout?: number, reaper?: boolean }} [options] `timeout`
 *   in ms (default 20 000), after which the namespace is killed; `reaper` as
 *   for `spawnInPidNamespace()`.
 * @returns {Promise<{ code: number | null, signal: string | null, stdout: string, stderr: string, timedOut: boolean }>}
 */
export function runInPidNamespace(namespace, script, args = [], options = {}) {
  const child = spawnInPidNamespace(namespace, script, args, { env: options.env, reaper: options.reaper })
  let stdout = ''
  let stderr = ''
  child.stdout.setEncoding('utf8').on('data', (chunk) => (stdout += chunk))
  child.stderr.setEncoding('utf8').on('data', (chunk) => (stderr += chunk))
  let timedOut = false
  // With --kill-child, SIGKILL to unshare takes the whole namespace down.
  const timer = setTimeout(() => {
    timedOut = true
    child.kill('SIGKILL')
  }, options.timeout ?? 20_000)
  return new Promise((resolve, reject) => {
    child.on('error', (error) => {
      clearTimeout(timer)
      reject(error)
    })
    child.on('close', (code, signal) => {
      clearTimeout(timer)
      resolve({ code, signal, stdout, stderr, timedOut })
    })
  })
}

/**
 * Resolves with how a child ended, once Node has reaped it and fired 'exit'
 * (at once if it already has).
 *
 * @param {import('node:child_process').ChildProcess} child
 * @returns {Promise<{ code: number | null, signal: NodeJS.Signals | null }>}
 */
export function exited(child) {
  if (child.exitCode !== null || child.signalCode !== null) {
    return Promise.resolve({ code: child.exitCode, signal: child.signalCode })
  }
  return new Promise((resolve) => child.once('exit', (code, signal) => resolve({ code, signal })))
}

/** The last pid handed out in this PID namespace. */
export function lastPid() {
  return Number(readFileSync(NS_LAST_PID, 'utf8'))
}

/** Whether the running kernel keeps pid_max per PID namespace (>= 6.14). */
export function perNamespacePidMax(kernel = release()) {
  const [major, minor] = kernel.split(/[.-]/).map(Number)
  return major > 6 || (major === 6 && minor >= 14)
}

/**
 * Inside a fresh PID namespace (pid 1): sets things up so that
 * `takePid()` can hand a freed pid to a newcomer. Call it after everything
 * that starts threads (load the addon, call `capabilities()`), since every
 * thread takes a pid too.
 *
 * @param {{ method?: 'pid_max' | 'ns_last_pid' }} [options] `method:
 *   'ns_last_pid'` skips pid_max even where it is per namespace (to try the
 *   older kernels' way here).
 * @returns {Promise<{
 *   method: 'pid_max' | 'ns_last_pid',
 *   explain: string, // clauses separated by '; '
 *   takePid: (pid: number, spawnNewcomer: () => import('node:child_process').ChildProcess)
 *     => Promise<{ child: import('node:child_process').ChildProcess, spawned: number } | { child: null, spawned: number, missed: string }>
 * }>} `takePid` resolves with the newcomer holding `pid`, or with
 *   `child: null` and why not (retry with a new victim). `spawned` counts the
 *   processes it started, newcomer included.
 * @throws when not pid 1 of a namespace, or when neither file is writable.
 */
export async function preparePidReuse({ method } = {}) {
  if (process.pid !== 1) {
    throw new Error(`preparePidReuse() must run as pid 1 of a new PID namespace (this is pid ${process.pid})`)
  }
  // Under a kernel that test:kernels emulates, a hundred spawns take
  // seconds: steer the one pid instead.
  method ??= process.env.KILL_TARGET_EMULATED_KERNEL ? 'ns_last_pid' : undefined
  let pidMaxError
  if (method !== 'ns_last_pid' && perNamespacePidMax()) {
    try {
      writeFileSync(PID_MAX, String(TINY_PID_MAX))
      if (Number(readFileSync(PID_MAX, 'utf8')) !== TINY_PID_MAX) throw new Error('the value did not stick')
      // Walk past RESERVED_PIDS, so victims get pids that come round again.
      await burn({ past: RESERVED_PIDS })
      return {
        method: 'pid_max',
        explain:
          `wrote ${TINY_PID_MAX} to ${PID_MAX} (per PID namespace since Linux 6.14); ` +
          `pids below ${RESERVED_PIDS} are never reused, so pids now cycle through ` +
          `${RESERVED_PIDS}..${TINY_PID_MAX - 1} and a freed one comes back after ~100 new processes`,
        takePid: takeByWrapping,
      }
    } catch (error) {
      pidMaxError = error
    }
  }
  try {
    writeFileSync(NS_LAST_PID, String(lastPid()))
  } catch (error) {
    throw new Error(
      `cannot force pid reuse: ${pidMaxError ? `${PID_MAX}: ${pidMaxError.message}; ` : ''}${NS_LAST_PID}: ${error.message}`,
    )
  }
  const why = pidMaxError
    ? `${PID_MAX} was not writable (${pidMaxError.code ?? pidMaxError.message})`
    : method === 'ns_last_pid'
      ? 'asked for the ns_last_pid method'
      : `pid_max is global before Linux 6.14 (this is ${release()}), so it was left alone`
  return {
    method: 'ns_last_pid',
    explain: `${why}; instead, writing victimPid - 1 to ${NS_LAST_PID} gives the victim's pid to the next new process`,
    takePid: takeBySteering,
  }
}

/** `takePid` for the ns_last_pid method: steer the very next fork. */
async function takeBySteering(pid, spawnNewcomer) {
  writeFileSync(NS_LAST_PID, String(pid - 1))
  // Same tick: only a thread started right now could come in between.
  const child = spawnNewcomer()
  if (child.pid === pid) return { child, spawned: 1 }
  child.kill('SIGKILL')
  return { child: null, spawned: 1, missed: `the newcomer got pid ${child.pid} instead` }
}

/** How many pids the burner may stop short of the target; the rest are
 * spawned from Node, one at a time, until one lands on it. */
const APPROACH = 8

/** `takePid` for the pid_max method: spawn short-lived processes until the
 * pids wrap round to `pid`. */
async function takeByWrapping(pid, spawnNewcomer) {
  if (pid < RESERVED_PIDS || pid >= TINY_PID_MAX) {
    return { child: null, spawned: 0, missed: `pid ${pid} is outside ${RESERVED_PIDS}..${TINY_PID_MAX - 1}` }
  }
  let spawned
  try {
    spawned = await burn({ before: pid })
  } catch (error) {
    return { child: null, spawned: error.spent ?? 0, missed: error.message }
  }
  let last = lastPid()
  for (let i = 0; i <= APPROACH; i++) {
    const child = spawnNewcomer()
    spawned++
    if (child.pid === pid) return { child, spawned }
    // Not there yet: this one is a filler. Killed in the tick it was
    // spawned, so its pid is still its own.
    child.kill('SIGKILL')
    const step = child.pid === undefined ? NaN : ahead(child.pid, pid)
    if (!(step >= 1 && step < ahead(last, pid))) {
      return { child: null, spawned, missed: `pid ${pid} went by (the newcomer got ${child.pid})` }
    }
    last = child.pid
  }
  return { child: null, spawned, missed: `pid ${pid} did not come round` }
}

/**
 * Spends `count` pids: a shell that forks `count - 1` short-lived children
 * (`x=$(:)` forks a subshell that exits at once) and waits for each, so every
 * pid is free again when it returns. Resolves once the shell has exited.
 */
async function spendPids(count) {
  const script = 'i=1; while [ $i -lt "$1" ]; do x=$(:); i=$((i + 1)); done'
  const child = spawn('/bin/sh', ['-c', script, 'spend-pids', String(count)], { stdio: 'ignore' })
  const { code, signal } = await exited(child)
  if (code !== 0) throw new Error(`the pid-spending shell failed (${signal ?? `exit ${code}`})`)
}

/** Pids to go, in the 300..399 cycle, from `from` to `to`. */
function ahead(from, to) {
  const cycle = TINY_PID_MAX - RESERVED_PIDS
  return (to - from + cycle) % cycle
}

/**
 * Spends pids until the last one handed out is at least `past`, or is
 * 1..APPROACH pids short of `before` in the 300..399 cycle. Node reads
 * ns_last_pid between rounds, which costs no pid. Resolves with the number
 * of pids spent.
 */
async function burn({ past, before }) {
  let spent = 0
  for (let round = 0; round < 10; round++) {
    const last = lastPid()
    let count
    if (past !== undefined) {
      if (last >= past) return spent
      count = past - last
    } else {
      // Right after the victim was reaped, its pid is the last one handed
      // out: a whole cycle to go. Later, it means another process took it.
      if (last === before && round > 0) {
        throw Object.assign(new Error(`another process took pid ${before} first`), { spent })
      }
      const togo = last === before ? TINY_PID_MAX - RESERVED_PIDS : ahead(last, before)
      if (togo <= APPROACH) return spent
      // Stop a little short: pids still in use are skipped, which would
      // otherwise carry the last pid past the target.
      count = togo - APPROACH / 2
    }
    await spendPids(count)
    spent += count
  }
  throw Object.assign(new Error(`could not stop just short of pid ${before} in 10 rounds (something else keeps taking pids)`), { spent })
}
