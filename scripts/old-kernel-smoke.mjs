// Smoke test of the fallbacks for kernels older than this package's newest
// features, run by `bash scripts/old-kernel.sh` inside a VM booted on
// Debian's Linux 6.1 (bookworm). Node runs there as a child of the init shell,
// not as pid 1. On 6.1 pidfds exist (5.3), but PIDFD_SIGNAL_PROCESS_GROUP
// (6.9) and PIDFD_INFO_EXIT (6.15) do not, so:
// - capabilities() must say { pidfd: true, groupSignal: false, exitInfo: false };
// - signalGroup() must go through killpg(2) (the pidfd flag answers EINVAL);
// - exitStatus() must answer null.
//
// Run on a newer kernel (e.g. `node scripts/old-kernel-smoke.mjs` on the
// host) it fails: that is how to see it can.
import { spawn } from 'node:child_process'
import { once } from 'node:events'
import { createRequire } from 'node:module'
import os from 'node:os'
import { fileURLToPath } from 'node:url'
// old-kernel.sh copies smoke.mjs into the VM next to this file.
import { check, checkNoException, finish, startWatchdog } from './smoke.mjs'

const require = createRequire(import.meta.url)
const { KillTarget, capabilities } = require(fileURLToPath(new URL('../index.js', import.meta.url)))

const json = (value) => JSON.stringify(value)

// Software emulation is slow, but a hang must fail, not stall CI.
startWatchdog(90)

// Resolves with the first line the child writes to stdout.
async function firstLine(child) {
  let text = ''
  for await (const chunk of child.stdout) {
    text += chunk
    const end = text.indexOf('\n')
    if (end >= 0) return text.slice(0, end)
  }
  throw new Error(`child closed stdout after ${json(text)}`)
}

// Everything spawned, to kill what a failed check leaves behind.
const children = []
function track(child, { group = false } = {}) {
  children.push({ child, group })
  return child
}

try {
  const release = os.release()
  console.log(`# kernel ${release} (${os.arch()}), node ${process.version}`)
  const caps = capabilities()
  check(
    'capabilities() is { pidfd: true, groupSignal: false, exitInfo: false }',
    json(caps) === json({ pidfd: true, groupSignal: false, exitInfo: false }),
    `${json(caps)} on ${release}`,
  )

  // --- a plain child: pidfd signals, readiness waits, no exit information ---
  {
    // Open the target in the same tick as spawn(), as the API requires.
    const child = track(spawn('sleep', ['60'], { stdio: 'ignore' }))
    const exited = once(child, 'exit')
    const target = KillTarget.fromChildProcess(child)
    check('fromChildProcess(sleep child).raceFree', target.raceFree === true)
    check('signal(0) on the live child is true', target.signal(0) === true)
    check('isAlive() on the live child is true', target.isAlive() === true)
    check(
      'waitForExit({ timeout: 100 }) on the live child resolves false',
      (await target.waitForExit({ timeout: 100 })) === false,
    )

    // The child shares Node's process group, so it leads none.
    let error
    try {
      target.signalGroup('SIGTERM')
    } catch (e) {
      error = e
    }
    check('signalGroup() on a non-leader throws ERR_NOT_GROUP_LEADER', error?.code === 'ERR_NOT_GROUP_LEADER', error ? `${error.code}: ${error.message}` : 'no error')
    check('... and the non-leader is still alive', target.signal(0) === true)

    check("signal('SIGTERM') is true", target.signal('SIGTERM') === true)
    // Waits on the pidfd's readiness; resolves before or after Node reaps.
    const started = Date.now()
    check('waitForExit({ timeout: 5000 }) resolves true', (await target.waitForExit({ timeout: 5000 })) === true, `${Date.now() - started} ms`)
    const [code, signal] = await exited
    check('child ended by SIGTERM', code === null && signal === 'SIGTERM', `code=${code} signal=${signal}`)
    // Node has reaped it: a kernel with PIDFD_INFO_EXIT would answer now.
    const status = target.exitStatus()
    check('exitStatus() after the reap is null (no PIDFD_INFO_EXIT)', status === null, json(status))
    check('signal(0) after the reap is false', target.signal(0) === false)
    target.close()
  }

  // --- a group leader: signalGroup falls back to killpg(2) ---
  {
    const leader = track(spawn('sh', ['-c', 'sleep 60 & echo $!; wait'], { detached: true, stdio: ['ignore', 'pipe', 'ignore'] }), { group: true })
    const leaderExited = once(leader, 'exit')
    const leaderTarget = KillTarget.fromChildProcess(leader)
    const grandchildPid = Number(await firstLine(leader))
    check('detached leader printed its background sleep pid', Number.isInteger(grandchildPid) && grandchildPid > 1, String(grandchildPid))
    // Opened before the signal, so it names this sleep whatever happens to the pid.
    const grandchild = KillTarget.fromPid(grandchildPid)
    check('fromPid(grandchild).raceFree', grandchild.raceFree === true)
    check('grandchild is alive before signalGroup', grandchild.signal(0) === true)

    check("signalGroup('SIGTERM') on the leader is true", leaderTarget.signalGroup('SIGTERM') === true)
    check(
      'the grandchild (same group, not our child) exits: waitForExit({ timeout: 5000 }) is true',
      (await grandchild.waitForExit({ timeout: 5000 })) === true,
    )
    check('the leader exits: waitForExit({ timeout: 5000 }) is true', (await leaderTarget.waitForExit({ timeout: 5000 })) === true)
    const [code, signal] = await leaderExited
    check('leader ended by SIGTERM', code === null && signal === 'SIGTERM', `code=${code} signal=${signal}`)
    grandchild.close()
    leaderTarget.close()
  }

  // --- terminate() escalates to SIGKILL on a process ignoring SIGTERM ---
  {
    const child = track(spawn('sh', ['-c', "trap '' TERM; echo ready; exec sleep 60"], { stdio: ['ignore', 'pipe', 'ignore'] }))
    const exited = once(child, 'exit')
    const target = KillTarget.fromChildProcess(child)
    // The trap is in place once it says so; the ignored disposition survives exec.
    check('SIGTERM-ignoring child is ready', (await firstLine(child)) === 'ready')
    const started = Date.now()
    const result = await target.terminate({ forceKillAfterDelay: 300 })
    check(
      "terminate({ forceKillAfterDelay: 300 }) is { exited: true, forced: true, signals: ['SIGTERM', 'SIGCONT', 'SIGKILL'] }",
      json(result) === json({ exited: true, forced: true, signals: ['SIGTERM', 'SIGCONT', 'SIGKILL'] }),
      `${json(result)} in ${Date.now() - started} ms`,
    )
    const [code, signal] = await exited
    check('child ended by SIGKILL', code === null && signal === 'SIGKILL', `code=${code} signal=${signal}`)
    check('signal() after the reap is false', target.signal() === false)
    target.close()
  }
} catch (error) {
  checkNoException(error)
} finally {
  // Leftovers after a failure: the whole group for the detached leader (a
  // group id stays taken while any member lives); a plain child only while
  // Node has not reaped it, i.e. while its pid is still its own.
  for (const { child, group } of children) {
    if (!group && (child.exitCode !== null || child.signalCode !== null)) continue
    try {
      process.kill(group ? -child.pid : child.pid, 'SIGKILL')
    } catch {}
  }
}

finish(`# old-kernel smoke on ${os.release()}`)
