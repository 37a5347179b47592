// Other users' processes. The guardian of kill-on-exit kills with the
// credentials it started with, so it must never be handed a process the
// program could not signal itself, even after the program dropped its
// privileges; and a tree walked by an unprivileged caller may hold a
// member it may not signal, which must not blind the walk to the rest.
// Run as root, each case drops to `nobody` through setpriv (util-linux).
import { spawn } from 'node:child_process'
import { readFileSync } from 'node:fs'

import test, { type ExecutionContext } from 'ava'

import { KillTarget, capabilities } from '../index.js'
import { asUser, carrying, delay, exitOf, guardianOf, heldBy, program, running, setpriv, testUnless, uidOf, until } from './helpers.mts'

const NOBODY = 65534
const notRoot = process.getuid?.() === 0 ? null : 'needs root, to start processes of two users'
const noSetpriv = setpriv() ? null : 'setpriv (util-linux) is not installed'
const noKillOnExit = capabilities().killOnExit ? null : 'capabilities().killOnExit is false here'
const asRoot = [notRoot, noSetpriv]

/** A root-owned `sleep`, not in any tree of the programs; killed when the test ends. */
function victim(t: ExecutionContext): number {
  const child = spawn('sleep', ['60'], { stdio: 'ignore' })
  const target = KillTarget.fromChildProcess(child)
  t.teardown(() => {
    target.signal('SIGKILL')
    target.close()
  })
  return child.pid!
}

testUnless([...asRoot, noKillOnExit], 'a root program that dropped to nobody cannot arm a root process: EPERM, and the process outlives the program', async (t) => {
  const pid = victim(t)
  const run = program(
    t,
    `// Armed as root: the guardian starts with root's credentials.
    KillTarget.fromChildProcess(spawn('sleep', ['60'], { stdio: 'ignore' })).killOnExit()
    process.setgid(${NOBODY})
    process.setuid(${NOBODY})
    const victim = KillTarget.fromPid(${pid})
    let refused
    try { victim.signal(0) } catch (error) { refused = error.code }
    try { victim.killOnExit(); report({ refused, armed: true }) } catch (error) {
      report({ refused, armed: false, code: error.code, syscall: error.syscall, errno: error.errno })
    }
    process.exit(0)`,
  )
  t.deepEqual(await run.next(), { refused: 'EPERM', armed: false, code: 'EPERM', syscall: 'pidfd_send_signal', errno: -1 })
  await exitOf(run.child)
  t.true(await until(() => run.left().length === 0), 'the child armed before the drop died with the program')
  t.true(running(pid), 'the root process lives')
})

testUnless([...asRoot, noKillOnExit], 'an unprivileged program cannot arm another user\'s process: EPERM, nothing armed', async (t) => {
  const pid = victim(t)
  const run = program(
    t,
    `try { KillTarget.fromPid(${pid}).killOnExit(); report({ armed: true }) } catch (error) {
      report({ armed: false, code: error.code, syscall: error.syscall })
    }
    process.exit(0)`,
    { uid: NOBODY },
  )
  t.deepEqual(await run.next(), { armed: false, code: 'EPERM', syscall: 'pidfd_send_signal' })
  await exitOf(run.child)
  await delay(300)
  t.true(running(pid), 'the root process lives')
})

/**
 * R (nobody) → F (root) → G (nobody), every one a `sleep` marked with
 * `mark`: a tree whose middle member nobody may not signal.
 */
async function mixedTree(t: ExecutionContext) {
  const mark = `foreign-${process.pid}-${Math.random()}`
  const drop = asUser(NOBODY).join(' ')
  const child = spawn('sh', ['-c', `(${drop} sleep 60 & exec sleep 60) & exec ${drop} sleep 60`], {
    stdio: 'ignore',
    env: { ...process.env, KT_MARK: mark },
  })
  const root = KillTarget.fromChildProcess(child)
  const left = () => carrying('KT_MARK', mark)
  t.teardown(() => {
    for (const pid of left()) {
      try {
        using target = KillTarget.fromPid(pid)
        target.signal('SIGKILL')
      } catch {
        // gone since the listing
      }
    }
    root.close()
  })
  // -1: gone since the listing.
  const uids = () => left().map((pid) => uidOf(pid) ?? -1).sort((a, b) => a - b)
  t.true(await until(() => uids().join() === `0,${NOBODY},${NOBODY}`), `uids ${uids()}`)
  const [foreign] = left().filter((pid) => uidOf(pid) === 0)
  return { root: child.pid!, foreign, left }
}

testUnless(asRoot, 'a tree with another user\'s member, walked by an unprivileged caller: descendants() lists it and what is below it', async (t) => {
  const tree = await mixedTree(t)
  const run = program(t, `report(KillTarget.fromPid(${tree.root}).descendants().map((member) => member.pid)); process.exit(0)`, { uid: NOBODY })
  const listed: number[] = await run.next()
  t.deepEqual([...listed].sort(), tree.left().filter((pid) => pid !== tree.root).sort())
  t.true(listed.includes(tree.foreign))
})

testUnless(asRoot, 'terminate({ tree: true }) by an unprivileged caller signals every member it may and rejects with EPERM naming the one it may not', async (t) => {
  const tree = await mixedTree(t)
  const run = program(
    t,
    `try {
      report(await KillTarget.fromPid(${tree.root}).terminate({ tree: true }))
    } catch (error) {
      report({ code: error.code, syscall: error.syscall, pids: error.pids, signals: error.signals })
    }
    process.exit(0)`,
    { uid: NOBODY },
  )
  // By number where there are no pidfds (the seccomp reruns): kill(2) refuses.
  const syscall = capabilities().pidfd ? 'pidfd_send_signal' : 'kill'
  t.deepEqual(await run.next(), { code: 'EPERM', syscall, pids: [tree.foreign], signals: ['SIGTERM', 'SIGCONT'] })
  t.deepEqual(tree.left(), [tree.foreign], 'only the member it may not signal is left, and not stopped')
  t.not(/State:\t(\w)/.exec(readFileSync(`/proc/${tree.foreign}/status`, 'utf8'))![1], 'T')
})

testUnless([...asRoot, noKillOnExit], 'killOnExit({ tree: true }) by an unprivileged program reaches the members past another user\'s member', async (t) => {
  const tree = await mixedTree(t)
  const run = program(
    t,
    `KillTarget.fromPid(${tree.root}).killOnExit({ tree: true })
    report('armed')
    await delay(60_000)`,
    { uid: NOBODY },
  )
  t.is(await run.next(), 'armed')
  const guardian = guardianOf(run.child.pid!)!
  t.true(await until(() => heldBy(guardian, run.child.pid!) === 2), 'the guardian holds the root and the member below the foreign one')
  run.child.kill('SIGKILL')
  t.true(await until(() => tree.left().length === 1), `left: ${tree.left()}`)
  t.deepEqual(tree.left(), [tree.foreign], 'the guardian killed what the program could, and only that')
})
