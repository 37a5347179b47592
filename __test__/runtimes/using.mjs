// `using` and `await using` on targets, in plain JavaScript that the runtime
// parses itself (Node 24 and later, Bun, Deno): nothing transpiles this file.
// Imported by neutral.mjs; run directly (`node using.mjs`) by
// __test__/using.spec.mts, it prints its results as JSON.
import { spawn } from 'node:child_process'
import { createRequire } from 'node:module'
import { fileURLToPath } from 'node:url'

const { KillTarget } = createRequire(import.meta.url)('../../index.js')

const exited = (child) =>
  child.exitCode !== null || child.signalCode !== null
    ? Promise.resolve(child.signalCode ?? child.exitCode)
    : new Promise((resolve) => child.once('exit', (code, signal) => resolve(signal ?? code)))

/** Each check: [name, passed, detail]. */
export async function usingChecks() {
  const checks = []

  const kept = spawn('sleep', ['30'], { stdio: 'ignore' })
  let leftOpen
  {
    using target = KillTarget.fromChildProcess(kept)
    leftOpen = target
    checks.push(['`using`: the target is open inside its block', !target.closed && target.signal(0), ''])
  }
  checks.push(['`using`: the block\'s end closes the target and leaves the process running', leftOpen.closed && kept.exitCode === null && kept.signalCode === null, ''])
  kept.kill('SIGKILL')
  await exited(kept)

  const ended = spawn('sleep', ['30'], { stdio: 'ignore' })
  let terminated
  {
    await using target = KillTarget.fromChildProcess(ended)
    terminated = target
  }
  const how = await exited(ended)
  checks.push(['`await using`: the block\'s end terminates the process (SIGTERM), then closes', terminated.closed && how === 'SIGTERM', `ended by ${how}`])
  return checks
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  console.log(JSON.stringify(await usingChecks()))
}
