#!/usr/bin/env node
// npm run demo: a stale pid hits a stranger, a KillTarget does not.
//
// The demo runs itself again in a new PID namespace, where it can make the
// kernel give a dead child's pid to a new process within a second, then
// sends SIGTERM to that pid twice: once through the KillTarget opened for
// the dead child (nothing happens), once with process.kill() (the newcomer
// dies). Where PID namespaces are not allowed it shows the plain API.
//
//   node examples/demo.mjs                 the demo
//   node examples/demo.mjs --ns-last-pid   force the older kernels' way of reusing a pid
//   node examples/demo.mjs --plain         only the plain API walk-through

import { spawn } from 'node:child_process'
import { release } from 'node:os'
import { fileURLToPath } from 'node:url'

import { KillTarget, capabilities } from '../index.js'
import {
  exited,
  inPidNamespace,
  preparePidReuse,
  probePidNamespaces,
  spawnInPidNamespace,
} from './pid-reuse.mjs'

const ATTEMPTS = 5
const flags = new Set(process.argv.slice(2))
const say = (line = '') => console.log(line)
/** `  call → result`, with the arrows lined up. */
const row = (call, result) => say(`   ${call.padEnd(30)} → ${result}`)
/** `promise`'s value, or null after `ms` (without keeping the process up). */
const within = (ms, promise) => {
  let timer
  const late = new Promise((resolve) => (timer = setTimeout(resolve, ms, null)))
  return Promise.race([promise, late]).finally(() => clearTimeout(timer))
}
const show = (value) =>
  typeof value === 'object' && value !== null
    ? `{ ${Object.entries(value)
        .map(([k, v]) => `${k}: ${Array.isArray(v) ? `[${v.map((s) => `'${s}'`).join(', ')}]` : typeof v === 'string' ? `'${v}'` : v}`)
        .join(', ')} }`
    : String(value)

if (inPidNamespace()) {
  await insideNamespace()
} else {
  await outside()
}

async function outside() {
  say('kill-target demo: a delayed kill must reach the process you mean, or nobody.')
  say()
  if (flags.has('--plain')) {
    header()
    return plainApi()
  }
  const namespace = probePidNamespaces()
  if (!namespace.ok) {
    header()
    say(`PID namespaces are not permitted here (${namespace.reason}),`)
    say('so this machine cannot be made to reuse a pid safely. Showing the plain API instead.')
    say()
    return plainApi()
  }
  const inner = spawnInPidNamespace(namespace, fileURLToPath(import.meta.url), process.argv.slice(2), {
    stdio: 'inherit',
  })
  inner.on('error', (error) => {
    console.error(`could not start unshare: ${error.message}`)
    process.exitCode = 1
  })
  const { code, signal } = await exited(inner)
  process.exitCode = code ?? (signal ? 1 : 0)
}

function header() {
  say(`Linux ${release()}, Node ${process.version}`)
  say(`capabilities() → ${show(capabilities())}`)
}

async function insideNamespace() {
  // As pid 1 of a namespace, signals from outside (Ctrl+C) arrive only if
  // handled; exiting pid 1 takes everything in the namespace with it.
  for (const name of ['SIGINT', 'SIGTERM']) process.on(name, () => process.exit(130))

  header() // capabilities() also runs the probe (which forks) before pids matter
  say(`Running in a new PID namespace (${process.env.KILL_TARGET_PID_NAMESPACE}): this script is pid 1 there.`)
  let reuse
  try {
    reuse = await preparePidReuse({ method: flags.has('--ns-last-pid') ? 'ns_last_pid' : undefined })
  } catch (error) {
    say(`Cannot force pid reuse here: ${error.message}. Showing the plain API instead.`)
    say()
    return plainApi()
  }
  say(`Forcing pid reuse (${reuse.method} method):`)
  for (const clause of reuse.explain.split('; ')) say(`   ${clause}`)
  say()

  for (let attempt = 1; attempt <= ATTEMPTS; attempt++) {
    if (attempt > 1) say(`   ...missed; trying again with a new child (attempt ${attempt} of ${ATTEMPTS})\n`)
    const child = spawn('true', [], { stdio: 'ignore' })
    const target = KillTarget.fromChildProcess(child)
    const pid = child.pid
    say(`1. spawn('true') started pid ${pid}; KillTarget.fromChildProcess(child) in the same tick.`)
    say(`   target.raceFree → ${target.raceFree}${target.raceFree ? ' (held by a pidfd)' : ' (no pidfd: held by the bare pid)'}`)

    const status = await exited(child)
    say(`2. The child exited and Node reaped it ('exit' event: ${status.signal ?? `code ${status.code}`}).`)
    say(`   target.isAlive() → ${target.isAlive()}, target.exitStatus() → ${show(target.exitStatus())}`)

    const taken = await reuse.takePid(pid, () => spawn('sleep', ['30'], { stdio: 'ignore' }))
    if (!taken.child) {
      say(`3. Could not hand pid ${pid} to a newcomer: ${taken.missed}.`)
      target.close()
      continue
    }
    const newcomer = taken.child
    const newcomerTarget = KillTarget.fromChildProcess(newcomer)
    const how = reuse.method === 'pid_max' ? `after ${taken.spawned} short-lived processes wrapped the pids round` : 'straight after writing ns_last_pid'
    say(`3. A newcomer, spawn('sleep', ['30']), got pid ${newcomer.pid}, ${how}.`)
    say(`   Same number, different process: anything still holding "${pid}" now points at it.`)
    say()
    await showStaleSignals(target, newcomer, newcomerTarget)
    return
  }
  say(`Pid reuse could not be forced in ${ATTEMPTS} attempts (something else kept taking the pid). Showing the plain API instead.`)
  say()
  await plainApi()
}

async function showStaleSignals(target, newcomer, newcomerTarget) {
  const pid = target.pid
  say(`4. The KillTarget for the dead child, while the newcomer runs:`)
  const sent = target.signal('SIGTERM')
  const died = await newcomerTarget.waitForExit({ timeout: 300 })
  row(`target.signal('SIGTERM')`, `${sent}${sent ? '' : '   (not sent: the process it names is gone)'}`)
  row('the newcomer, 300 ms later', died ? 'DEAD' : 'still running')
  row('newcomerTarget.isAlive()', `${newcomerTarget.isAlive()}   (a KillTarget opened for the newcomer)`)
  if (died) {
    const { signal, code } = await exited(newcomer)
    row(`the newcomer's 'exit' event`, `${signal ?? `code ${code}`}: the stale signal hit the wrong process`)
    say()
    say(target.raceFree
      ? 'Result: UNEXPECTED: a pidfd-backed target reached a process that reused the pid. Please report this.'
      : 'Result: without pidfds (raceFree false) a KillTarget is only a pid, and it hit the newcomer too.')
    process.exitCode = target.raceFree ? 1 : 0
    return
  }
  say()
  say(`5. The same signal by the bare pid, kept in a variable, a pidfile, a timer's closure:`)
  const exists = process.kill(pid, 0)
  row(`process.kill(${pid}, 0)`, `${exists}   (the pid "exists": it is the newcomer)`)
  row(`process.kill(${pid}, 'SIGTERM')`, `${process.kill(pid, 'SIGTERM')}`)
  const ending = await within(3000, exited(newcomer))
  row(`the newcomer's 'exit' event`, ending ? (ending.signal ? `killed by ${ending.signal}` : `code ${ending.code}`) : 'none within 3 s')
  say()
  say(`Result: the KillTarget left the newcomer alone (signal() → ${sent}); process.kill() on the same number ${ending?.signal === 'SIGTERM' ? 'killed it' : 'did not kill it (unexpected)'}.`)
  newcomerTarget.close()
  target.close()
}

async function plainApi() {
  const child = spawn('sleep', ['30'], { stdio: 'ignore' })
  const target = KillTarget.fromChildProcess(child)
  say(`1. spawn('sleep', ['30']) started pid ${child.pid}; KillTarget.fromChildProcess(child) in the same tick.`)
  say(`   target.raceFree → ${target.raceFree}${target.raceFree ? ' (held by a pidfd: signals reach this process or nobody)' : ' (no pidfd here: it falls back to the pid)'}`)
  say(`2. target.isAlive() → ${target.isAlive()}, target.signal(0) → ${target.signal(0)}`)
  const result = await target.terminate({ forceKillAfterDelay: 2000 })
  say(`3. await target.terminate({ forceKillAfterDelay: 2000 }) → ${show(result)}`)
  const status = await exited(child)
  say(`4. Node reaped it ('exit' event: ${status.signal ?? `code ${status.code}`}).`)
  say(`   target.signal('SIGTERM') → ${target.signal('SIGTERM')}${target.raceFree ? ' (gone: nothing sent, whoever has the pid now)' : ''}`)
  say(`   target.exitStatus() → ${show(target.exitStatus())}`)
  say(`   await target.waitForExit() → ${await target.waitForExit({ timeout: 1000 })}`)
  target.close()
  say(`5. target.close(); target.closed → ${target.closed}`)
}
