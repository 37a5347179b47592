// Where pidfds are missing (old kernel, seccomp) every method still works
// through kill()/killpg(), and says so: raceFree is false. The variable is read
// at the package's first call, and ava runs each test file in its own process.
process.env.KILL_TARGET_DISABLE_PIDFD = '1'

import { execFileSync } from 'node:child_process'
import { fileURLToPath } from 'node:url'

import test from 'ava'

import { KillTarget, capabilities } from '../index.js'
import { exitOf, openFds, readPids, shell, sleeper, stubborn, testUnless } from './helpers.mts'

const PACKAGE = JSON.stringify(fileURLToPath(new URL('../index.js', import.meta.url)))
// The descriptor tests run a process of their own with pidfds enabled; they
// need a kernel (and no seccomp filter) that gives them.
const pidfdsInChildren = execFileSync(process.execPath, ['-p', `require(${PACKAGE}).capabilities().pidfd`], {
  encoding: 'utf8',
  env: { ...process.env, KILL_TARGET_DISABLE_PIDFD: '' },
}).trim() === 'true'
const noPidfdInChildren = pidfdsInChildren ? null : 'capabilities().pidfd is false in a process without KILL_TARGET_DISABLE_PIDFD'

test('capabilities() reports nothing and targets say they are not race-free', (t) => {
  const { waitPath, backend, ...features } = capabilities()
  t.deepEqual(features, { pidfd: false, groupSignal: false, exitInfo: false, pidfdInfo: false, pidfs: false, killOnExit: false })
  t.is(backend, process.env.KILL_TARGET_PORTABLE === '1' ? 'portable' : 'native')
  t.is(waitPath, process.env.KILL_TARGET_PORTABLE === '1' ? 'timer' : process.env.KILL_TARGET_WAIT_THREAD ? 'thread' : 'libuv')
  t.false(KillTarget.fromPid(process.pid).raceFree)
})

test.serial('a target holds no descriptor', (t) => {
  const child = sleeper(t)
  const before = openFds()
  const target = KillTarget.fromChildProcess(child)
  t.is(openFds(), before)
  target.close()
})

test('signal, isAlive and exitStatus work by pid', async (t) => {
  const child = sleeper(t)
  const target = KillTarget.fromChildProcess(child)
  t.true(target.signal(0))
  t.true(target.isAlive())
  t.true(target.signal('SIGTERM'))
  t.deepEqual(await exitOf(child), [null, 'SIGTERM'])
  t.false(target.isAlive())
  t.is(target.exitStatus(), null, 'without a pidfd the kernel cannot tell')
})

test('fromPid still refuses a pid that names nobody', async (t) => {
  const child = sleeper(t)
  child.kill('SIGKILL')
  await exitOf(child)
  const error = t.throws(() => KillTarget.fromPid(child.pid!), { code: 'ESRCH' }) as NodeJS.ErrnoException
  t.is(error.syscall, 'kill')
})

test('signalGroup goes through killpg, and still refuses a process that leads no group', async (t) => {
  t.throws(() => KillTarget.fromChildProcess(sleeper(t)).signalGroup(0), { code: 'ERR_NOT_GROUP_LEADER' })
  const leader = shell(t, 'sleep 60 & echo $!; wait', { detached: true })
  const target = KillTarget.fromChildProcess(leader)
  const [member] = (await readPids(leader, 1)).map((pid) => KillTarget.fromPid(pid))
  t.true(target.signalGroup('SIGTERM'))
  t.true(await member.waitForExit({ timeout: 5000 }))
})

test('waitForExit polls: it sees a zombie as exited and honours timeouts', async (t) => {
  // The grandchild becomes a zombie of its shell, which never reaps it.
  const parent = shell(t, 'sleep 0.1 & echo $!; exec sleep 60')
  const [pid] = await readPids(parent, 1)
  const zombie = KillTarget.fromPid(pid)
  t.true(await zombie.waitForExit({ timeout: 5000 }))
  t.true(zombie.signal(0), 'a zombie still exists')
  const sleeping = KillTarget.fromChildProcess(sleeper(t))
  t.false(await sleeping.waitForExit({ timeout: 30 }))
})

test('terminate escalates by pid', async (t) => {
  const child = await stubborn(t)
  const target = KillTarget.fromChildProcess(child)
  t.deepEqual(await target.terminate({ forceKillAfterDelay: 100 }), {
    exited: true,
    forced: true,
    signals: ['SIGTERM', 'SIGCONT', 'SIGKILL'],
    processes: 1,
  })
  t.deepEqual(await exitOf(child), [null, 'SIGKILL'])
})

testUnless([noPidfdInChildren], 'a process out of descriptors (EMFILE) still opens targets by pid, and waits by polling', (t) => {
  // In a separate process: open a target, fill the descriptor table, then
  // open another target and wait on the first (a wait needs a descriptor too).
  const script = `
    const fs = require('node:fs')
    const { KillTarget } = require(${PACKAGE})
    const early = KillTarget.fromPid(process.pid)
    const held = []
    try { for (;;) held.push(fs.openSync('/dev/null', 'r')) } catch (e) { if (e.code !== 'EMFILE') throw e }
    const late = KillTarget.fromPid(process.pid)
    early.waitForExit({ timeout: 20 }).then(
      (exited) => console.log(JSON.stringify({ early: early.raceFree, late: late.raceFree, alive: late.signal(0), exited })),
      (error) => console.log(JSON.stringify({ error: error.code, syscall: error.syscall })))`
  const output = execFileSync('sh', ['-c', 'ulimit -n 64 && exec "$0" -e "$1"', process.execPath, script], {
    encoding: 'utf8',
    env: { ...process.env, KILL_TARGET_DISABLE_PIDFD: '' },
  })
  t.deepEqual(JSON.parse(output), { early: true, late: false, alive: true, exited: false })
})

testUnless([noPidfdInChildren], 'a probe that finds no descriptor decides nothing: the next call asks again', (t) => {
  const script = `
    const fs = require('node:fs')
    const { KillTarget, capabilities } = require(${PACKAGE})
    const held = []
    try { for (;;) held.push(fs.openSync('/dev/null', 'r')) } catch (e) { if (e.code !== 'EMFILE') throw e }
    const starved = { raceFree: KillTarget.fromPid(process.pid).raceFree, pidfd: capabilities().pidfd }
    for (const fd of held.splice(0, 8)) fs.closeSync(fd)
    const later = { raceFree: KillTarget.fromPid(process.pid).raceFree, pidfd: capabilities().pidfd }
    console.log(JSON.stringify({ starved, later }))`
  const output = execFileSync('sh', ['-c', 'ulimit -n 64 && exec "$0" -e "$1"', process.execPath, script], {
    encoding: 'utf8',
    env: { ...process.env, KILL_TARGET_DISABLE_PIDFD: '' },
  })
  t.deepEqual(JSON.parse(output), {
    starved: { raceFree: false, pidfd: false },
    later: { raceFree: true, pidfd: true },
  })
})
