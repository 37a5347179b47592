// Opening targets, signalling a process and its group, exit state, closing.
import { spawn, spawnSync } from 'node:child_process'
import { readdirSync } from 'node:fs'
import { fileURLToPath } from 'node:url'
import { inspect } from 'node:util'

import test from 'ava'

import { KillTarget, capabilities } from '../index.js'
import { delay, exitOf, openFds, pidfdsOn, readPids, running, shell, sleeper, testUnless } from './helpers.mts'

const caps = capabilities()

test('capabilities() reports the kernel features, the wait path and the backend, and targets are race-free exactly when pidfds exist', (t) => {
  const { waitPath, backend, ...features } = caps
  t.is(backend, process.env.KILL_TARGET_PORTABLE === '1' ? 'portable' : 'native')
  t.deepEqual(Object.keys(features).sort(), ['exitInfo', 'groupSignal', 'killOnExit', 'pidfd', 'pidfdInfo', 'pidfs'])
  for (const value of Object.values(features)) t.is(typeof value, 'boolean')
  // The guardian is built beside the binding: only pidfds decide.
  t.is(caps.killOnExit, caps.pidfd)
  t.is(waitPath, process.env.KILL_TARGET_PORTABLE === '1' ? 'timer' : process.env.KILL_TARGET_WAIT_THREAD ? 'thread' : 'libuv')
  t.is(KillTarget.fromPid(process.pid).raceFree, caps.pidfd)
  t.deepEqual(capabilities(), caps, 'decided once')
  // seccomp.spec runs this suite under a filter that denies pidfd calls.
  if (process.env.KILL_TARGET_SECCOMP) t.false(caps.pidfd, `pidfd calls answer ${process.env.KILL_TARGET_SECCOMP}`)
})

test('fromChildProcess opens the child spawned in this tick', async (t) => {
  const child = sleeper(t)
  const target = KillTarget.fromChildProcess(child)
  t.is(target.pid, child.pid!)
  t.false(target.closed)
  t.true(target.isAlive())
  t.true(target.signal(0))
  t.true(target.signal('SIGTERM'))
  t.deepEqual(await exitOf(child), [null, 'SIGTERM'])
})

test('fromChildProcess on a child that failed to spawn is a TypeError, not a target for pid undefined', async (t) => {
  const child = spawn('/nonexistent/command')
  const failed = new Promise((resolve) => child.once('error', resolve))
  t.is(child.pid, undefined)
  t.throws(() => KillTarget.fromChildProcess(child), { instanceOf: TypeError, code: 'ERR_INVALID_ARG_VALUE' })
  t.is(((await failed) as NodeJS.ErrnoException).code, 'ENOENT')
})

test('fromChildProcess on a child Node has already reported as exited throws ESRCH', async (t) => {
  const child = sleeper(t)
  child.kill('SIGKILL')
  await exitOf(child)
  t.throws(() => KillTarget.fromChildProcess(child), { instanceOf: Error, code: 'ESRCH' })
})

test('fromChildProcess refuses a pid whose process is not our child: the child it meant was reaped', async (t) => {
  // What a late call sees once the pid has been reused: a live process with
  // that number, whose parent is someone else.
  const parent = shell(t, 'sleep 60 & echo $!; wait')
  const [stranger] = await readPids(parent, 1)
  const stale = { pid: stranger, exitCode: null, signalCode: null }
  t.throws(() => KillTarget.fromChildProcess(stale), { instanceOf: Error, code: 'ESRCH' })
  t.true(running(stranger), 'nothing was sent to it')
})

test('fromPid of a thread id is ESRCH: a thread is not a process, though kill(2) would take its id', (t) => {
  // Node's own threads (V8 platform workers, libuv's pool) have ids in the pid space.
  const thread = readdirSync('/proc/self/task').map(Number).find((id) => id !== process.pid)!
  t.truthy(thread)
  t.throws(() => KillTarget.fromPid(thread), { instanceOf: Error, code: 'ESRCH' })
})

test('fromPid opens any live process, including ones that are not our children', async (t) => {
  const parent = shell(t, 'sleep 60 & echo $!; wait')
  const [grandchild] = await readPids(parent, 1)
  const target = KillTarget.fromPid(grandchild)
  t.is(target.pid, grandchild)
  t.true(target.signal('SIGKILL'))
  t.true(await target.waitForExit({ timeout: 5000 }))
  t.false(running(grandchild))
})

testUnless(
  [caps.pidfd ? null : 'without pidfds a signal after the reap goes to whoever has the number (see fallback.spec)'],
  'signal() after the child was reaped returns false instead of signalling the number',
  async (t) => {
    const child = sleeper(t)
    const target = KillTarget.fromChildProcess(child)
    child.kill('SIGKILL')
    await exitOf(child) // Node has reaped it: the pid is free for reuse
    t.false(target.signal('SIGTERM'))
    t.false(target.signal(0))
    t.false(target.isAlive())
  },
)

test('numeric signals are sent as they are, real-time ones included', async (t) => {
  // A real-time signal's default action is to terminate.
  const child = sleeper(t)
  const target = KillTarget.fromChildProcess(child)
  t.true(target.signal(40))
  await exitOf(child) // Node has no name for signal 40: it reports code 0, signal null
  t.false(target.isAlive())
  if (caps.exitInfo) t.deepEqual(target.exitStatus(), { code: null, signal: 'SIGRTMIN+6' })
})

test('signalGroup reaches the grandchildren of a detached child', async (t) => {
  const leader = shell(t, 'sleep 60 & echo $!; sleep 60 & echo $!; wait', { detached: true })
  const target = KillTarget.fromChildProcess(leader)
  const grandchildren = (await readPids(leader, 2)).map((pid) => KillTarget.fromPid(pid))
  t.true(target.signalGroup('SIGTERM'))
  for (const grandchild of grandchildren) t.true(await grandchild.waitForExit({ timeout: 5000 }), `${grandchild.pid}`)
  t.deepEqual(await exitOf(leader), [null, 'SIGTERM'])
})

test('signalGroup on a process that leads no group is an error, never a silent false', (t) => {
  const child = sleeper(t) // not detached: it is in this worker's group
  const target = KillTarget.fromChildProcess(child)
  t.throws(() => target.signalGroup('SIGTERM'), { code: 'ERR_NOT_GROUP_LEADER' })
  t.true(target.isAlive(), 'nothing was sent')
})

testUnless(
  [caps.groupSignal ? null : 'it needs PIDFD_SIGNAL_PROCESS_GROUP (Linux ≥ 6.9), absent here'],
  'signalGroup still reaches the group after its leader has been reaped',
  async (t) => {
    // The leader prints its background child's pid and exits at once.
    const leader = shell(t, 'sleep 60 & echo $!', { detached: true })
    const target = KillTarget.fromChildProcess(leader)
    const [member] = (await readPids(leader, 1)).map((pid) => KillTarget.fromPid(pid))
    t.deepEqual(await exitOf(leader), [0, null])
    t.false(target.signal(0), 'the leader is reaped')
    t.true(target.signalGroup('SIGTERM'))
    t.true(await member.waitForExit({ timeout: 5000 }))
  },
)

testUnless(
  [caps.exitInfo ? null : 'it needs PIDFD_INFO_EXIT (Linux ≥ 6.15), absent here'],
  'exitStatus() agrees with child.exitCode and child.signalCode once Node has reaped the child',
  async (t) => {
    const exits = shell(t, 'exit 7')
    const exitsTarget = KillTarget.fromChildProcess(exits)
    const killed = sleeper(t)
    const killedTarget = KillTarget.fromChildProcess(killed)
    killedTarget.signal('SIGKILL')
    await Promise.all([exitOf(exits), exitOf(killed)])
    t.deepEqual(exitsTarget.exitStatus(), { code: exits.exitCode, signal: exits.signalCode })
    t.deepEqual(exitsTarget.exitStatus(), { code: 7, signal: null })
    t.deepEqual(killedTarget.exitStatus(), { code: killed.exitCode, signal: killed.signalCode })
    t.deepEqual(killedTarget.exitStatus(), { code: null, signal: 'SIGKILL' })
  },
)

test('exitStatus() is null while the process runs, and where the kernel cannot tell', async (t) => {
  const child = sleeper(t)
  const target = KillTarget.fromChildProcess(child)
  t.is(target.exitStatus(), null)
  child.kill('SIGKILL')
  await exitOf(child)
  if (!caps.exitInfo) t.is(target.exitStatus(), null)
  else t.not(target.exitStatus(), null)
})

test.serial('close() releases the descriptor, is idempotent, and every later call throws ERR_USE_AFTER_CLOSE', async (t) => {
  const child = sleeper(t)
  const before = openFds()
  const target = KillTarget.fromChildProcess(child)
  t.is(openFds(), before + (caps.pidfd ? 1 : 0))
  target.close()
  target.close()
  t.true(target.closed)
  t.is(openFds(), before)
  t.is(target.pid, child.pid!, 'the pid is still readable')
  const closed = { instanceOf: Error, code: 'ERR_USE_AFTER_CLOSE' }
  t.throws(() => target.signal(0), closed)
  t.throws(() => target.signalGroup(0), closed)
  t.throws(() => target.isAlive(), closed)
  t.throws(() => target.exitStatus(), closed)
  await t.throwsAsync(target.waitForExit(), closed)
  await t.throwsAsync(target.terminate(), closed)
  t.is(child.exitCode, null, 'nothing reached the child')
})

test('util.inspect shows what the target holds', (t) => {
  const target = KillTarget.fromPid(process.pid)
  t.is(inspect(target), `KillTarget { pid: ${process.pid}, raceFree: ${caps.pidfd}, closed: false }`)
  target.close()
  t.regex(inspect(target), /closed: true/)
})

test('[Symbol.dispose]() closes the target', (t) => {
  const target = KillTarget.fromChildProcess(sleeper(t))
  target[Symbol.dispose]()
  t.true(target.closed)
})

test.serial('targets dropped without close() release their descriptors when collected', async (t) => {
  const gc = (globalThis as any).gc as () => void
  const child = sleeper(t)
  const before = pidfdsOn(child.pid!)
  for (let i = 0; i < 200; i++) KillTarget.fromPid(child.pid!)
  t.is(pidfdsOn(child.pid!), before + (caps.pidfd ? 200 : 0))
  for (let round = 0; round < 50 && pidfdsOn(child.pid!) > before; round++) {
    gc()
    await delay(10)
  }
  t.is(pidfdsOn(child.pid!), before)
})

test('isAlive() turns false once the process has exited, and never blocks', async (t) => {
  const child = sleeper(t)
  const target = KillTarget.fromChildProcess(child)
  t.true(target.isAlive())
  child.kill('SIGKILL')
  await exitOf(child)
  t.false(target.isAlive())
})

test('nothing here reaps: Node still sees the exit code of a child we waited on', async (t) => {
  const child = shell(t, 'sleep 0.2; exit 3')
  const target = KillTarget.fromChildProcess(child)
  t.true(await target.waitForExit())
  t.deepEqual(await exitOf(child), [3, null])
})

// A mount namespace whose /proc is an empty tmpfs, as with hidepid, chroots
// and some sandboxes: parentage must come from the kernel, not from /proc.
const procHidden = spawnSync('unshare', ['--mount', '--fork', 'sh', '-c', 'mount -t tmpfs none /proc && ! test -e /proc/self'], { stdio: 'ignore' })
// A Node whose loader finds its own libraries through /proc (the musl
// build's $ORIGIN) cannot start there at all.
const nodeWithoutProc = spawnSync('unshare', ['--mount', '--fork', 'sh', '-c', 'mount -t tmpfs none /proc && exec "$0" -e 0', process.execPath], { stdio: 'ignore' })
testUnless(
  [
    procHidden.status === 0 ? null : 'mount namespaces are not permitted here (unshare --mount)',
    nodeWithoutProc.status === 0 ? null : 'this Node cannot start without /proc (its loader finds its libraries through it)',
  ],
  'fromChildProcess refuses a pid that names a live process other than its child, even where /proc is hidden',
  (t) => {
    const script = `const { KillTarget } = require(${JSON.stringify(fileURLToPath(new URL('../index.js', import.meta.url)))})
      try {
        KillTarget.fromChildProcess({ pid: process.ppid, exitCode: null, signalCode: null })
        console.log('opened')
      } catch (error) { console.log(error.code) }`
    const run = spawnSync('unshare', ['--mount', '--fork', 'sh', '-c', `mount -t tmpfs none /proc && exec "$0" -e "$1"`, process.execPath, script], { encoding: 'utf8' })
    t.is(run.stderr, '')
    t.is(run.stdout.trim(), 'ESRCH', 'the parent (unshare) is alive, but it is not our child')
  },
)
