// CommonJS consumer: require() the installed package and use it once.
const { spawn } = require('node:child_process')
const { KillTarget, capabilities } = require('kill-target')
const { check } = require('./check-loaded.cjs')

check(require.resolve('kill-target'))
const child = spawn('sleep', ['30'], { stdio: 'ignore' })
const target = KillTarget.fromChildProcess(child)
if (target.signal(0) !== true) throw new Error('signal(0) on a live child was not true')
// The guardian is installed beside the binding, executable: arming starts it.
if (capabilities().killOnExit !== capabilities().pidfd) throw new Error('the installed guardian cannot be started')
if (capabilities().killOnExit) target.killOnExit()
target.terminate().then((result) => {
  if (!result.exited) throw new Error(`terminate() left the child running: ${JSON.stringify(result)}`)
  target.close()
  console.log(`cjs ok: ${process.arch}, capabilities ${JSON.stringify(capabilities())}`)
})
