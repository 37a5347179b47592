// One process, held by its bare pid: the native backend's fallback for
// systems without pidfds (src/process/handle.rs, tree.rs), in JavaScript.
// Signals go through `kill(2)` (Node's `process.kill`); on Linux `/proc`
// tells zombies, parents, children and start times; on macOS and the BSDs
// one `ps` listing per pass tells parents; on Windows, one process listing
// per pass, and `taskkill` ends trees (windows.ts).

import { readdirSync, readFileSync, statSync } from 'node:fs'
import { constants } from 'node:os'

import { run } from './commands'
import * as errors from './errors'
import { signalNumber } from './signals'
import * as windows from './windows'

/** How this platform is served: `/proc`, `ps`, or Windows' own tools. */
export type Kind = 'linux' | 'ps' | 'windows'

/** Read at each call, so that a test can report another platform before loading the package. */
export function kind(): Kind {
  switch (process.platform) {
    case 'linux':
    case 'android':
      return 'linux'
    case 'win32':
      return 'windows'
    default:
      return 'ps'
  }
}

interface Refusal {
  code: string
  errno: number
}

/** `kill(pid, signal)`: `null` when delivered, else the error's code and (negative) errno. */
function kill(pid: number, signal: number): Refusal | null {
  try {
    process.kill(pid, signal)
    return null
  } catch (thrown) {
    const error = thrown as NodeJS.ErrnoException
    const code = typeof error?.code === 'string' ? error.code : 'EIO'
    const known = (constants.errno as Record<string, number>)[code]
    const errno = typeof error?.errno === 'number' ? -Math.abs(error.errno) : -(known ?? 5)
    return { code, errno }
  }
}

function readText(path: string): string | null {
  try {
    return readFileSync(path, 'utf8')
  } catch {
    return null
  }
}

/** The state and parent fields after the command name, which may itself hold spaces and parentheses. */
function procStat(pid: number): { zombie: boolean; parent: number; startTime: string | undefined } | null {
  const stat = readText(`/proc/${pid}/stat`)
  if (stat === null) return null
  const fields = stat.slice(stat.lastIndexOf(')') + 1).trim().split(/\s+/)
  if (fields.length < 2 || !/^\d+$/.test(fields[1])) return null
  return { zombie: fields[0] === 'Z', parent: Number(fields[1]), startTime: fields[19] }
}

/** The process a pid or thread id belongs to, from `/proc/<id>/status`. */
function threadGroup(id: number): number | null {
  const status = readText(`/proc/${id}/status`)
  const line = status?.split('\n').find((line) => line.startsWith('Tgid:'))
  return line ? Number(line.slice(5).trim()) : null
}

export class Process {
  constructor(readonly pid: number) {}

  /** Opens a handle on `pid`, refusing what the native fallback refuses: a pid that names nobody, or a thread's id. */
  static open(pid: number): Process {
    const refused = kill(pid, 0)
    if (refused?.code === 'ESRCH') throw errors.sys('kill', 'ESRCH', refused.errno, pid)
    if (kind() === 'linux') {
      const leader = threadGroup(pid)
      if (leader !== null && leader !== pid) throw errors.sys('kill', 'ESRCH', -(constants.errno.ESRCH ?? 3), pid)
    }
    return new Process(pid)
  }

  /**
   * Opens a child of this process. Where `/proc` tells the parent (Linux),
   * a process that has the pid now but is not our child means the child was
   * reaped and its pid reused. Elsewhere the caller's `exitCode` and
   * `signalCode` are all there is to go by.
   */
  static openChild(pid: number): Process {
    const opened = Process.open(pid)
    if (kind() === 'linux') {
      const stat = procStat(pid)
      if (stat !== null && stat.parent !== process.pid) throw errors.alreadyExited(pid)
    }
    return opened
  }

  isThisProcess(): boolean {
    return this.pid === process.pid
  }

  /** Sends `signal`: `false` when the process is already gone. */
  signal(signal: number): boolean {
    const refused = kill(this.pid, signal)
    if (refused === null) return true
    if (refused.code === 'ESRCH') return false
    throw errors.sys('kill', refused.code, refused.errno, this.pid)
  }

  /** Whether the process is unreaped (a zombie is): EPERM too says it is there. */
  exists(): boolean {
    try {
      return this.signal(0)
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === 'EPERM') return true
      throw error
    }
  }

  /** `killpg(2)`, as the negative pid: `false` when the group is gone; an error when the process leads none. */
  signalGroup(signal: number): boolean {
    if (kind() === 'windows') {
      throw errors.unavailable('signalGroup() and terminate({ group: true }) need process groups, which Windows does not have')
    }
    const refused = kill(-this.pid, signal)
    if (refused === null) return true
    if (refused.code !== 'ESRCH') throw errors.sys('killpg', refused.code, refused.errno, this.pid)
    if (this.signal(0)) throw errors.notGroupLeader(this.pid)
    return false
  }

  /** True once the process has exited; a zombie has, where `/proc` can tell. */
  hasExited(): boolean {
    const refused = kill(this.pid, 0)
    if (refused?.code === 'ESRCH') return true
    return kind() === 'linux' && procStat(this.pid)?.zombie === true
  }
}

/** The SIGCONT that lets a stopped process act on a signal, where the platform has one (not Windows). */
export function sigcont(): number | undefined {
  return kind() === 'windows' ? undefined : signalNumber('SIGCONT')
}

/** SIGSTOP, which freezes a tree while it is walked, where the platform has one (not Windows). */
function sigstop(): number | undefined {
  return kind() === 'windows' ? undefined : signalNumber('SIGSTOP')
}

export const SIGKILL = signalNumber('SIGKILL') ?? 9

// ------------------------------------------------------------------ trees ---

/** Where one pass reads children and parents. */
interface Listing {
  childrenOf(pid: number): number[]
  parentOf(pid: number): number | undefined
}

/** Linux: each thread's `children` file, or a scan of every process's stat where the kernel has none. */
class ProcListing implements Listing {
  childrenOf(pid: number): number[] {
    const task = `/proc/${pid}/task`
    let threads: string[]
    try {
      threads = readdirSync(task)
    } catch {
      return []
    }
    const children: number[] = []
    for (const thread of threads) {
      const listed = readText(`${task}/${thread}/children`)
      if (listed === null) return noChildrenFiles() ? scanForChildren(pid) : children
      for (const field of listed.split(/\s+/)) if (field) children.push(Number(field))
    }
    return children
  }

  parentOf(pid: number): number | undefined {
    return procStat(pid)?.parent
  }
}

function noChildrenFiles(): boolean {
  try {
    statSync('/proc/self/task')
  } catch {
    return false
  }
  try {
    statSync('/proc/thread-self/children')
    return false
  } catch {
    return true
  }
}

function scanForChildren(parent: number): number[] {
  let entries: string[]
  try {
    entries = readdirSync('/proc')
  } catch {
    return []
  }
  return entries.filter((name) => /^\d+$/.test(name) && procStat(Number(name))?.parent === parent).map(Number)
}

/** Every process's parent from one listing: `ps` (macOS, the BSDs) or Windows' lister. */
class Snapshot implements Listing {
  readonly children = new Map<number, number[]>()

  constructor(readonly parents: Map<number, number>) {
    for (const [pid, parent] of parents) {
      if (pid === parent) continue
      const siblings = this.children.get(parent)
      if (siblings) siblings.push(pid)
      else this.children.set(parent, [pid])
    }
  }

  childrenOf(pid: number): number[] {
    return this.children.get(pid) ?? []
  }

  parentOf(pid: number): number | undefined {
    return this.parents.get(pid)
  }
}

/** One listing, for one pass of a walk from `root`. */
function listing(root: number): Listing {
  switch (kind()) {
    case 'linux':
      return new ProcListing()
    case 'ps': {
      const ran = run('ps', ['-A', '-o', 'pid=,ppid='])
      if (ran.status !== 0) throw listingFailed('ps', ran.error, root)
      return new Snapshot(windows.pairs(ran.stdout, 'pid ppid'))
    }
    case 'windows': {
      const parents = windows.parents()
      if (parents === null) throw listingFailed('Win32_Process', undefined, root)
      return new Snapshot(parents)
    }
  }
}

function listingFailed(command: string, error: NodeJS.ErrnoException | undefined, pid: number) {
  const code = error?.code ?? 'EIO'
  return errors.sys(command, code, -((constants.errno as Record<string, number>)[code] ?? 5), pid)
}

/** What a walk found below `root`: its descendants, parents first; with `stop`, whether `root` got its SIGSTOP. */
export interface Walk {
  members: Process[]
  stoppedRoot: boolean
}

/**
 * Finds the descendants of `root`; with `stop` (POSIX only), freezes them
 * as it goes, top down, until a pass finds nobody new. A failure leaves
 * nothing stopped.
 */
export function walk(root: Process, stop: boolean): Walk {
  const found: Walk = { members: [], stoppedRoot: false }
  try {
    found.stoppedRoot = stop && freeze(root)
    while (grow(root, found.members, stop) > 0 && stop) {
      // each pass lists every held process again
    }
    return found
  } catch (error) {
    const SIGCONT = sigcont()
    if (stop && SIGCONT !== undefined) {
      for (const member of [root, ...found.members]) {
        try {
          member.signal(SIGCONT)
        } catch {
          // best effort: the walk's own failure is the one to report
        }
      }
    }
    throw error
  }
}

/** SIGSTOP, to anyone but this process; whether it was delivered (not to another user's). */
function freeze(member: Process): boolean {
  const SIGSTOP = sigstop()
  if (member.isThisProcess() || SIGSTOP === undefined) return false
  try {
    return member.signal(SIGSTOP)
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'EPERM') return false
    throw error
  }
}

/** One pass over `root` and the members held below it, from one listing. Returns how many were added. */
function grow(root: Process, members: Process[], stop: boolean): number {
  const before = members.length
  const listed = listing(root.pid)
  const held = new Set([root.pid, ...members.map((member) => member.pid)])
  for (let next = 0; next <= members.length; next++) {
    const parent = next === 0 ? root.pid : members[next - 1].pid
    for (const pid of listed.childrenOf(parent)) {
      if (held.has(pid)) continue
      const child = confirm(root, members, parent, pid, listed)
      if (child === null) continue
      if (stop) freeze(child)
      held.add(pid)
      members.push(child)
    }
  }
  return members.length - before
}

/** The process `pid` names now, if the listing makes it a child of the held `parent` and both are still there. */
function confirm(root: Process, members: Process[], parent: number, pid: number, listed: Listing): Process | null {
  let child: Process
  try {
    child = Process.open(pid)
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ESRCH') return null
    throw error
  }
  if (listed.parentOf(pid) !== parent) return null
  const holder = [root, ...members].find((held) => held.pid === parent)
  if (holder === undefined || !holder.exists() || !child.exists()) return null
  return child
}

// -------------------------------------------------------------------- ids ---

const BOOT_ID = '/proc/sys/kernel/random/boot_id'
let boot: string | undefined

/** This boot, as 32 hex digits; Linux only. */
export function bootId(pid: number): string {
  if (boot !== undefined) return boot
  const read = readText(BOOT_ID)
  const parsed = read?.trim().replaceAll('-', '').toLowerCase()
  if (parsed === undefined || !/^[0-9a-f]{32}$/.test(parsed)) throw errors.sys('open', 'EIO', -5, pid)
  return (boot = parsed)
}

/** Field 22 of `/proc/<pid>/stat`, of whichever process has the pid now; `null` when nobody has it. */
export function startTime(pid: number): string | null {
  return procStat(pid)?.startTime ?? null
}
