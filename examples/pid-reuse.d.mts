// Types for examples/pid-reuse.mjs (used from the TypeScript tests).
import type { ChildProcess, StdioOptions } from 'node:child_process'

/** Set in the environment of a script run by `runInPidNamespace()`. */
export declare const IN_NAMESPACE_ENV: string
/** The tiny pid_max written inside the namespace (400). */
export declare const TINY_PID_MAX: number
/** The kernel's RESERVED_PIDS (300): after a wrap, pids start again here. */
export declare const RESERVED_PIDS: number

/** How to run `unshare`, or why it cannot be run. */
export type PidNamespaceProbe = { ok: true; args: string[]; label: string } | { ok: false; reason: string }

/** Whether this process may create PID namespaces; probed once. */
export declare function probePidNamespaces(): PidNamespaceProbe
/** True in a script that `runInPidNamespace()` started (pid 1 there, or its child with `reaper`). */
export declare function inPidNamespace(): boolean
/** Runs `node <script> ...args` in a new PID namespace; with `reaper`, under a shell as pid 1 that reaps orphans. */
export declare function spawnInPidNamespace(
  namespace: { args: string[]; label: string },
  script: string,
  args?: string[],
  options?: { env?: NodeJS.ProcessEnv; stdio?: StdioOptions; reaper?: boolean },
): ChildProcess
/** Like `spawnInPidNamespace()`, collecting the output; killed after `timeout` ms (default 20 000). */
export declare function runInPidNamespace(
  namespace: { args: string[]; label: string },
  script: string,
  args?: string[],
  options?: { env?: NodeJS.ProcessEnv; timeout?: number; reaper?: boolean },
): Promise<{ code: number | null; signal: NodeJS.Signals | null; stdout: string; stderr: string; timedOut: boolean }>
/** How a child ended, once Node has reaped it and fired 'exit'. */
export declare function exited(child: ChildProcess): Promise<{ code: number | null; signal: NodeJS.Signals | null }>
/** The last pid handed out in this PID namespace. */
export declare function lastPid(): number
/** Whether the kernel keeps pid_max per PID namespace (Linux >= 6.14). */
export declare function perNamespacePidMax(kernel?: string): boolean

/** What `takePid()` resolves with. */
export type Taken = { child: ChildProcess; spawned: number } | { child: null; spawned: number; missed: string }

/** Inside a fresh PID namespace (pid 1): makes freed pids reusable on demand. */
export declare function preparePidReuse(options?: { method?: 'pid_max' | 'ns_last_pid' }): Promise<{
  method: 'pid_max' | 'ns_last_pid'
  explain: string
  takePid(pid: number, spawnNewcomer: () => ChildProcess): Promise<Taken>
}>
