// ES module consumer: import the installed package (a CommonJS module, so
// its named exports must be visible to ESM) and use it once.
import { spawn } from 'node:child_process'
import { createRequire } from 'node:module'
import { fileURLToPath } from 'node:url'

import { KillTarget, capabilities } from 'kill-target'

const { check } = createRequire(import.meta.url)('./check-loaded.cjs')
check(fileURLToPath(import.meta.resolve('kill-target')))
const child = spawn('sleep', ['30'], { stdio: 'ignore' })
const target = KillTarget.fromChildProcess(child)
const result = await target.terminate()
if (!result.exited) throw new Error(`terminate() left the child running: ${JSON.stringify(result)}`)
target.close()
console.log(`esm ok: ${process.arch}, capabilities ${JSON.stringify(capabilities())}`)
