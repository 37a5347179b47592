// Windows: no signals but "end it" (TerminateProcess), no process groups,
// no /proc. A tree is ended as tree-kill ends it there, by
// `taskkill /pid N /T /F`; the descendants are listed by one command per
// pass, never one per member: PowerShell's Win32_Process, or `wmic` where
// there is no PowerShell (Wine). Every command goes through the runner in
// commands.ts, which a test replaces to record instead of spawning.

import { run } from './commands'

/** The arguments tree-kill gives `taskkill` for `pid`: the whole tree, forced. */
export function taskkillArgs(pid: number): string[] {
  return ['/pid', String(pid), '/T', '/F']
}

/**
 * How `taskkill` ended the tree of `pid`: `'ended'`, `'gone'` (no such
 * process), or `'failed'`: some member was refused (another user's), or
 * this taskkill has no /T (Wine's).
 */
export function taskkill(pid: number): 'ended' | 'gone' | 'failed' {
  const ran = run('taskkill', taskkillArgs(pid))
  if (ran.status === 0) return 'ended'
  // 128: "The process ... not found".
  return ran.status === 128 ? 'gone' : 'failed'
}

const POWERSHELL = [
  '-NoProfile',
  '-NonInteractive',
  '-Command',
  "Get-CimInstance Win32_Process | ForEach-Object { '{0} {1}' -f $_.ProcessId, $_.ParentProcessId }",
]

/** Every process's parent, by number, from one listing; `null` when no lister ran. */
export function parents(): Map<number, number> | null {
  // Wine's powershell is a stub that lists nothing: an empty listing is no answer.
  const powershell = run('powershell', POWERSHELL)
  const listed = powershell.status === 0 ? pairs(powershell.stdout, 'pid ppid') : null
  if (listed !== null && listed.size > 0) return listed
  // wmic lists its columns in alphabetical order: ParentProcessId, ProcessId.
  const wmic = run('wmic', ['process', 'get', 'ParentProcessId,ProcessId'])
  if (wmic.status === 0) return pairs(wmic.stdout, 'ppid pid')
  return null
}

/** Lines of two numbers, in the order given; anything else (headers, blank lines) is skipped. */
export function pairs(text: string, order: 'pid ppid' | 'ppid pid'): Map<number, number> {
  const parents = new Map<number, number>()
  for (const line of text.split(/\r?\n/)) {
    const fields = line.trim().split(/\s+/)
    if (fields.length !== 2 || !fields.every((field) => /^\d+$/.test(field))) continue
    const [a, b] = fields.map(Number)
    if (order === 'pid ppid') parents.set(a, b)
    else parents.set(b, a)
  }
  return parents
}
