import { spawn, spawnSync, type ChildProcess, type SpawnOptions } from 'node:child_process'
import { randomUUID } from 'node:crypto'
import { mkdirSync, readdirSync, readFileSync, symlinkSync } from 'node:fs'
import { once } from 'node:events'
import { createInterface } from 'node:readline'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'

import test, { type ExecutionContext } from 'ava'

import { KillTarget, capabilities } from '../index.js'

/** A child that sleeps until it is killed; killed at the end of the test. */
export function sleeper(t: ExecutionContext, options: SpawnOptions = {}, seconds = 60): ChildProcess {
  return track(t, spawn('sleep', [String(seconds)], { stdio: 'ignore', ...options }), options)
}

/**
 * A child that ignores SIGTERM (the disposition survives exec), resolved once
 * the trap is set: a SIGTERM sent earlier would still kill the shell.
 */
export async function stubborn(t: ExecutionContext): Promise<ChildProcess> {
  const child = shell(t, "trap '' TERM; echo ready; exec sleep 60")
  await once(child.stdout!, 'data')
  return child
}

/** A shell child running `script`; killed (with its group, if detached) at the end of the test. */
export function shell(t: ExecutionContext, script: string, options: SpawnOptions = {}): ChildProcess {
  return track(t, spawn('sh', ['-c', script], { stdio: ['ignore', 'pipe', 'inherit'], ...options }), options)
}

/**
 * Kills what the test left running: the child, or its whole group if detached.
 * Through a KillTarget opened now, so the cleanup cannot hit a reused pid.
 */
function track(t: ExecutionContext, child: ChildProcess, options: SpawnOptions): ChildProcess {
  child.on('error', () => {}) // a failed spawn is asserted on by the test itself
  if (child.pid === undefined) return child
  const target = KillTarget.fromChildProcess(child)
  t.teardown(() => {
    try {
      if (options.detached) target.signalGroup('SIGKILL')
      else target.signal('SIGKILL')
    } catch {
      // the group is gone, or the test closed the target: nothing left to kill
    }
    target.close()
  })
  return child
}

/** Resolves with [exitCode, signalCode] when Node reports the child's exit. */
export async function exitOf(child: ChildProcess): Promise<[number | null, NodeJS.Signals | null]> {
  if (child.exitCode !== null || child.signalCode !== null) return [child.exitCode, child.signalCode]
  const [code, signal] = await once(child, 'exit')
  return [code, signal]
}

/** The first `count` lines the child prints (pids, usually), as numbers. */
export async function readPids(child: ChildProcess, count: number): Promise<number[]> {
  let text = ''
  for await (const chunk of child.stdout!) {
    text += chunk
    const lines = text.split('\n').filter(Boolean)
    if (lines.length >= count && text.endsWith('\n')) return lines.slice(0, count).map(Number)
  }
  throw new Error(`child printed only: ${JSON.stringify(text)}`)
}

/** True while a process with this pid exists and is not a zombie. */
export function running(pid: number): boolean {
  try {
    process.kill(pid, 0)
  } catch {
    return false
  }
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8')
    return stat.slice(stat.lastIndexOf(')') + 2)[0] !== 'Z'
  } catch {
    return false
  }
}

/**
 * Live processes (not zombies) other than this one whose environment holds
 * `variable=value`: how tests find what is left of a tree, by a marker every
 * member inherits rather than by pids that may be anyone's by then.
 */
export function carrying(variable: string, value: string): number[] {
  return readdirSync('/proc')
    .map(Number)
    .filter((pid) => {
      if (!pid || pid === process.pid || !running(pid)) return false
      try {
        return readFileSync(`/proc/${pid}/environ`, 'utf8').includes(`${variable}=${value}\0`)
      } catch {
        return false // gone since the listing
      }
    })
}

/** Open descriptors of this process. */
export function openFds(): number {
  return readdirSync('/proc/self/fd').length
}

/**
 * This process's pidfds on `pid` (fdinfo names a pidfd's process): unlike
 * openFds(), blind to descriptors that other work opens or closes meanwhile.
 */
export function pidfdsOn(pid: number): number {
  let count = 0
  for (const fd of readdirSync('/proc/self/fd')) {
    try {
      if (readFileSync(`/proc/self/fdinfo/${fd}`, 'utf8').includes(`\nPid:\t${pid}\n`)) count++
    } catch {
      // closed since the listing
    }
  }
  return count
}

export const delay = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms))

/** SIGKILL to each of `pids` through a target opened now: one gone since the listing is skipped. */
export function killAll(pids: number[]) {
  for (const pid of pids) {
    try {
      using target = KillTarget.fromPid(pid)
      target.signal('SIGKILL')
    } catch {
      // gone since the listing
    }
  }
}

/** Until `done()`, for at most `ms`: a bound on a wait, not a measurement. */
export async function until(done: () => boolean, ms = 10_000): Promise<boolean> {
  for (const deadline = Date.now() + ms; Date.now() < deadline; await delay(20)) {
    if (done()) return true
  }
  return done()
}

/** The guardian of `pid`: its child whose name starts so (the kernel keeps 15 characters). */
export function guardianOf(pid: number): number | undefined {
  for (const entry of readdirSync('/proc')) {
    try {
      const stat = readFileSync(`/proc/${entry}/stat`, 'utf8')
      const name = stat.slice(stat.indexOf('(') + 1, stat.lastIndexOf(')'))
      const ppid = Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1])
      if (ppid === pid && name.startsWith('kill-target-gua')) return Number(entry)
    } catch {
      // not a process, or gone since the listing
    }
  }
  return undefined
}

/** The pids of the processes the guardian holds a pidfd of. */
export function heldPids(guardian: number): number[] {
  const pids = []
  for (const fd of readdirSync(`/proc/${guardian}/fdinfo`)) {
    try {
      const pid = /\nPid:\t(-?\d+)\n/.exec(readFileSync(`/proc/${guardian}/fdinfo/${fd}`, 'utf8'))?.[1]
      if (pid !== undefined) pids.push(Number(pid))
    } catch {
      // closed since the listing
    }
  }
  return pids
}

/** How many processes other than `program` the guardian holds a pidfd of. */
export function heldBy(guardian: number, program: number): number {
  return heldPids(guardian).filter((pid) => pid !== program).length
}

/** A real AbortSignal whose `method` throws `error`, as wrapped or patched signals can. */
export function signalWhose(method: 'addEventListener' | 'removeEventListener', error: unknown): AbortSignal {
  return Object.assign(new AbortController().signal, {
    [method]: () => {
      throw error
    },
  })
}

/**
 * A test that runs where none of `skipBecause` holds, and is skipped
 * otherwise with the first reason in its title: a kernel- or host-dependent
 * test says why it did not run.
 */
export function testUnless(
  skipBecause: (string | null)[],
  title: string,
  body: (t: ExecutionContext) => void | Promise<void>,
  { serial = false } = {},
) {
  const reason = skipBecause.find(Boolean)
  if (reason) test.skip(`${title} — skipped: ${reason}`, () => {})
  else (serial ? test.serial : test)(title, body)
}

/**
 * Why a test that needs pidfds cannot run here, or null: read when called,
 * so a spec file can set KILL_TARGET_DISABLE_PIDFD before the probe runs.
 */
export function withoutPidfd(): string | null {
  return capabilities().pidfd ? null : 'capabilities().pidfd is false: no pidfds here'
}

/**
 * Why the spawn-heavy counts (hundreds of forced pid reuses) do not run
 * here, or null: under an emulator each spawn costs tens of milliseconds,
 * and they would take most of the emulated suite's time limit. The kernels
 * test:kernels boots under qemu say so in the environment. For qemu-user
 * the tell is the pid the emulator's own thread takes in each child before
 * it execs, looked for in a PID namespace of its own, where nothing else
 * takes pids: natively the child is the last pid handed out there.
 */
export function underEmulation(namespace: { args: string[] }): string | null {
  if (process.env.KILL_TARGET_EMULATED_KERNEL) {
    return 'a kernel under full-system emulation (test:kernels): too slow for hundreds of forced reuses; they run natively'
  }
  const script = `const pid = require('node:child_process').spawnSync('true').pid
    console.log(pid === Number(require('node:fs').readFileSync('/proc/sys/kernel/ns_last_pid', 'utf8')))`
  const run = spawnSync('unshare', [...namespace.args, process.execPath, '-e', script], { encoding: 'utf8' })
  return run.stdout?.trim() === 'false' ? 'an emulator runs here (each child costs it a pid): too slow for hundreds of forced reuses; they run natively' : null
}

/**
 * Why some signal numbers in 1..64 cannot be sent here, or null. Under
 * qemu-user the highest real-time signals are the emulator's own, and
 * kill(2) of them answers EINVAL, which no kernel does.
 */
export function unsendableSignals(): string | null {
  const refused = [63, 64].filter((signal) => {
    const child = spawn('sleep', ['60'], { stdio: 'ignore' })
    try {
      process.kill(child.pid!, signal)
      return false
    } catch {
      return true
    } finally {
      child.kill('SIGKILL')
    }
  })
  return refused.length ? `kill(2) refuses signals ${refused.join(', ')} here (an emulator keeps them)` : null
}

/** `npm run stress` sets KILL_TARGET_STRESS=1: the long versions of the proofs. */
export const stress = process.env.KILL_TARGET_STRESS === '1'

/** A kernel that test:kernels boots under qemu: every spawn costs milliseconds. */
export const emulatedKernel = Boolean(process.env.KILL_TARGET_EMULATED_KERNEL)

/**
 * `normal` under `npm test`, `long` under `npm run stress`, and a tenth of
 * `normal` on an emulated kernel, where what is tested is the kernel's
 * behaviour, not the count.
 */
export const scaled = (normal: number, long: number) => (stress ? long : emulatedKernel ? Math.ceil(normal / 10) : normal)

const OWN_TREE = fileURLToPath(new URL('fixtures/own-tree.mjs', import.meta.url))

/**
 * Runs fixtures/own-tree.mjs, a program that stops a tree holding itself:
 * rooted at its own pid or at its parent (a shell), through `terminate`
 * or through the tree-kill stand-in in `standIn`. Resolves with how the
 * tree's root ended (or that it had not within 20 s) and the pids of the
 * tree still alive, stopped or not, once that has had 10 s to reach none.
 */
export async function stopOwnTree(t: ExecutionContext, how: 'terminate' | 'tree-kill', whose: 'self' | 'parent', standIn = '') {
  const marker = randomUUID()
  const program = `"${process.execPath}" "${OWN_TREE}" ${how} ${whose} "${standIn}"`
  // The program, its shell and sleep, its sleep in a new session; and the
  // shell that is the parent.
  const [script, members] = whose === 'self' ? [`exec ${program}`, 4] : [`${program}; sleep 60`, 5]
  const root = shell(t, script, { env: { ...process.env, KILL_TARGET_OWN_TREE: marker }, stdio: ['pipe', 'ignore', 'inherit'] })
  const left = () => carrying('KILL_TARGET_OWN_TREE', marker)
  t.teardown(() => killAll(left()))
  for (const deadline = Date.now() + 60_000; Date.now() < deadline && left().length < members; ) await delay(10)
  root.stdin!.write('go\n')
  const ended = await Promise.race([exitOf(root), delay(20_000).then(() => 'still running after 20 s (stopped itself?)')])
  for (const deadline = Date.now() + 10_000; Date.now() < deadline && left().length > 0; ) await delay(10)
  return { ended, left: left() }
}

const INDEX_URL = new URL('../index.js', import.meta.url).href

/**
 * The tree-kill stand-in's folder, where it resolves `kill-target` as an
 * installed dependency: here, this checkout is that dependency (a link in
 * its node_modules, made on first use).
 */
export function standIn(): string {
  const compat = fileURLToPath(new URL('../compat/tree-kill/', import.meta.url))
  mkdirSync(`${compat}node_modules`, { recursive: true })
  try {
    symlinkSync('../../..', `${compat}node_modules/kill-target`)
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error
  }
  return compat
}

let setprivPath: string | null | undefined

/**
 * util-linux's setpriv, by its path (looked up once), or null where there
 * is none: by the name, a shell may run an applet of its own instead, and
 * busybox's setpriv takes none of util-linux's options.
 */
export function setpriv(): string | null {
  setprivPath ??= (process.env.PATH ?? '').split(':').map((dir) => join(dir, 'setpriv')).find((path) => spawnSync(path, ['--version']).status === 0) ?? null
  return setprivPath
}

/** The command line that runs what follows it as `uid`, with that gid and no other groups. */
export function asUser(uid: number): string[] {
  return [setpriv() ?? 'setpriv', `--reuid=${uid}`, `--regid=${uid}`, '--clear-groups']
}

/** The real uid of a process, or null once it is gone. */
export function uidOf(pid: number): number | null {
  try {
    return Number(/^Uid:\t(\d+)/m.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))![1])
  } catch {
    return null
  }
}

export interface ProgramOptions {
  /** Run as this uid (and gid), through `setpriv`. */
  uid?: number
  /** `ulimit -n` before Node starts. */
  descriptors?: number
  env?: NodeJS.ProcessEnv
}

/**
 * A Node program running `script`, an ES module with `spawn`, `KillTarget`,
 * `treeKill`, `delay(ms)` and `report(value)` (one JSON line on stdout) in
 * scope. `next()` resolves with the next value reported. Everything that
 * carries `KT_MARK=mark` in its environment, as the program's children do,
 * is killed when the test ends, through targets.
 */
export function program(t: ExecutionContext, script: string, options: ProgramOptions = {}) {
  const mark = `kt-${process.pid}-${randomUUID()}`
  const prelude = `import { spawn } from 'node:child_process'
    import { createRequire } from 'node:module'
    import { KillTarget, capabilities } from ${JSON.stringify(INDEX_URL)}
    const treeKill = createRequire(import.meta.url)(${JSON.stringify(standIn())})
    const delay = (ms) => new Promise((resolve) => setTimeout(resolve, ms))
    const report = (value) => process.stdout.write(JSON.stringify(value) + '\\n')\n`
  let argv = [process.execPath, '--input-type=module', '-e', prelude + script]
  if (options.uid !== undefined) {
    argv = [...asUser(options.uid), ...argv]
  }
  if (options.descriptors !== undefined) {
    argv = ['sh', '-c', `ulimit -n ${options.descriptors} && exec "$@"`, 'sh', ...argv]
  }
  const child = spawn(argv[0], argv.slice(1), {
    stdio: ['pipe', 'pipe', 'pipe'],
    env: { ...process.env, ...options.env, KT_MARK: mark },
  })
  let errors = ''
  child.stderr!.setEncoding('utf8').on('data', (chunk) => (errors += chunk))
  const lines = createInterface({ input: child.stdout! })[Symbol.asyncIterator]()
  t.teardown(() => {
    child.kill('SIGKILL')
    killAll(carrying('KT_MARK', mark))
  })
  return {
    child,
    mark,
    /** What carries the mark now, but the program (with `suffix`: `mark` + `suffix`). */
    left: (suffix = '') => carrying('KT_MARK', mark + suffix).filter((pid) => pid !== child.pid),
    errors: () => errors,
    async next(): Promise<any> {
      const { value, done } = await lines.next()
      if (done) throw new Error(`the program ended (${child.exitCode ?? child.signalCode}) before reporting: ${errors}`)
      return JSON.parse(value)
    },
  }
}

/** The one-letter state of a process (`R`, `S`, `T`, `Z`...), or null once it is gone. */
export function stateOf(pid: number): string | null {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8')
    return stat.slice(stat.lastIndexOf(')') + 2)[0]
  } catch {
    return null
  }
}

/** The CPU time a process has used, in clock ticks (utime + stime). */
export function cpuTicks(pid: number): number {
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8')
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ')
  return Number(fields[11]) + Number(fields[12])
}
