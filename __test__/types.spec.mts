// Compile-time checks of the generated index.d.ts: `npm test` runs tsc over
// the tests first, so a type that stops matching the API fails the suite.
import test from 'ava'

import { KillTarget, capabilities, type Capabilities, type ExitStatus, type TerminateResult } from '../index.js'

function typeChecks(target: KillTarget) {
  target.signal()
  target.signal('SIGTERM')
  target.signal(0)
  // @ts-expect-error a misspelled signal name does not compile
  target.signal('SIGTREM')
  // @ts-expect-error nor does a lower-case one
  target.signalGroup('sigkill')
  const alive: boolean = target.isAlive()
  const status: ExitStatus | null = target.exitStatus()
  const signal: string | null | undefined = status?.signal
  const waited: Promise<boolean> = target.waitForExit({ timeout: 10, signal: AbortSignal.timeout(5) })
  const result: Promise<TerminateResult> = target.terminate({ killSignal: 'SIGINT', forceKillAfterDelay: false, group: true })
  // @ts-expect-error forceKillAfterDelay is a number or false, never true
  target.terminate({ forceKillAfterDelay: true })
  // @ts-expect-error pid is read-only
  target.pid = 1
  const caps: Capabilities = capabilities()
  const dispose: () => void = target[Symbol.dispose]
  const asyncDispose: () => Promise<void> = target[Symbol.asyncDispose]
  return [alive, signal, waited, result, caps, dispose, asyncDispose]
}

test('the declarations describe the API (checked by tsc before the tests run)', (t) => {
  t.is(typeof typeChecks, 'function')
  t.deepEqual(Object.keys(capabilities()).sort(), ['exitInfo', 'groupSignal', 'pidfd'])
})
