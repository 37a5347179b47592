// Smoke test for the linux-arm64-gnu binding, run by `bash scripts/arm64.sh test`
// with the arm64 Node under qemu-user. It goes through the package's own
// loader (index.js), so it also proves the loader picks the arm64 file.
import { spawn } from 'node:child_process'
import { once } from 'node:events'
import { createRequire } from 'node:module'
import { fileURLToPath } from 'node:url'
import { check, checkNoException, finish, startWatchdog } from './smoke.mjs'

const require = createRequire(import.meta.url)
const indexPath = fileURLToPath(new URL('../index.js', import.meta.url))

// qemu makes everything slow, but not this slow: a hang must fail, not stall CI.
startWatchdog(60)

let child
try {
  check('process.arch is arm64', process.arch === 'arm64', process.arch)

  const started = Date.now()
  const binding = require(indexPath)
  const { KillTarget, capabilities } = binding
  const loaded = Object.keys(require.cache).filter((p) => p.endsWith('.node'))
  check(
    'index.js loaded kill-target.linux-arm64-gnu.node',
    loaded.length === 1 && loaded[0].endsWith('/kill-target.linux-arm64-gnu.node'),
    `${loaded.join(', ')} in ${Date.now() - started} ms`,
  )

  console.log('capabilities():', JSON.stringify(capabilities()))

  // Open the target in the same tick as spawn(), as the API requires.
  child = spawn('sleep', ['30'], { stdio: 'ignore' })
  const exited = once(child, 'exit')
  const target = KillTarget.fromChildProcess(child)
  check('fromChildProcess(child).raceFree', target.raceFree === true)
  check('signal(0) on the live child is true', target.signal(0) === true)

  const result = await target.terminate()
  console.log('terminate():', JSON.stringify(result))
  check('terminate() resolves { exited: true }', result.exited === true)

  // terminate() never reaps: Node does, and 'exit' is emitted after its waitpid.
  const [code, signal] = await exited
  check('child ended by SIGTERM', code === null && signal === 'SIGTERM', `code=${code} signal=${signal}`)
  check('signal() after the reap is false', target.signal() === false)
  check('signal(0) after the reap is false', target.signal(0) === false)
  target.close()
} catch (error) {
  checkNoException(error)
  child?.kill('SIGKILL')
}

finish('smoke')
