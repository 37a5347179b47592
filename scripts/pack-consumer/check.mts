// Type-checked (tsc --noEmit) against the installed package's index.d.ts.
import { spawn } from 'node:child_process'

import { KillTarget, capabilities, type Capabilities, type ExitStatus, type TerminateResult } from 'kill-target'

export async function run(): Promise<TerminateResult> {
  const child = spawn('sleep', ['30'])
  using target = KillTarget.fromChildProcess(child)
  const sent: boolean = target.signal('SIGTERM')
  const status: ExitStatus | null = target.exitStatus()
  const caps: Capabilities = capabilities()
  const exited: boolean = await target.waitForExit({ timeout: 1000, signal: AbortSignal.timeout(2000) })
  void [sent, status, caps, exited]
  return target.terminate({ forceKillAfterDelay: 500, group: false })
}

// @ts-expect-error: a pid is a number
KillTarget.fromPid('1')
