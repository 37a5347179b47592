// The commands the portable backend runs where no file tells what it needs
// (`ps` on macOS and the BSDs; `taskkill` and a process listing on
// Windows), each through one runner that a test can replace: then it
// records, or answers from a fixture, and nothing is spawned.

import { spawnSync } from 'node:child_process'

export interface Ran {
  /** The exit status; `null` when the command could not start or was killed. */
  status: number | null
  stdout: string
  stderr: string
  /** Why it could not start (`ENOENT`: not installed). */
  error?: NodeJS.ErrnoException
}

export type Runner = (file: string, args: string[]) => Ran

/** Text as a command wrote it: UTF-16 where Windows tools write that to a pipe (wmic), else UTF-8. */
function decode(bytes: Buffer | null): string {
  if (!bytes) return ''
  const utf16 = (bytes[0] === 0xff && bytes[1] === 0xfe) || (bytes.length > 1 && bytes[1] === 0 && bytes[0] !== 0)
  return bytes.toString(utf16 ? 'utf16le' : 'utf8').replace(/^\uFEFF/, '')
}

const spawned: Runner = (file, args) => {
  const ran = spawnSync(file, args, { stdio: ['ignore', 'pipe', 'pipe'], windowsHide: true, maxBuffer: 64 << 20 })
  return { status: ran.status, stdout: decode(ran.stdout), stderr: decode(ran.stderr), error: ran.error as NodeJS.ErrnoException | undefined }
}

let runner: Runner = spawned

/** Runs `file` with `args`, and waits for it. */
export function run(file: string, args: string[]): Ran {
  return runner(file, args)
}

/** Replaces the runner (tests); `undefined` restores spawning. */
export function setRunner(replacement: Runner | undefined): void {
  runner = replacement ?? spawned
}
