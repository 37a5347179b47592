// Item 4: many targets waiting at once on processes that sleep. Reports the
// threads this process gains, the CPU it burns while every wait is pending
// and nothing happens, and the native memory each target costs.
//
// The sleepers are started by two bash helpers (each `sleep` its child, not
// ours, as in real use of `fromPid`), because spawning thousands of children
// from Node itself is slow and would fill the heap being measured.
//
// Native memory is read from the C allocator (`mallinfo2`, every arena, via
// the floor addon): the JS heap is not in it, and unlike RSS it does not
// depend on which pages malloc happens to keep. Kernel memory (the pidfds,
// the epoll entries) is in neither.

import { spawn } from 'node:child_process'
import { readFileSync, readdirSync, readlinkSync } from 'node:fs'

import { check, fdCount, progress, settle, sleep, threadCount } from '../lib/harness.mjs'

const helpers = new Set()
process.on('exit', () => {
  for (const helper of helpers) {
    try {
      // Not yet reaped, so its pid, the group's id, is not reusable yet.
      process.kill(-helper.pid, 'SIGKILL')
    } catch {
      // The group is gone already.
    }
  }
})

/** Starts `n` sleepers from a bash helper; resolves with their pids. */
function sleepers(n) {
  const script = 'for ((i = 0; i < $1; i++)); do sleep 1000 & echo $!; done; echo ready; wait'
  const helper = spawn('bash', ['-c', script, 'bash', String(n)], {
    stdio: ['ignore', 'pipe', 'ignore'],
    detached: true,
  })
  helpers.add(helper)
  const exited = new Promise((resolve) => helper.once('exit', resolve)).then(() => helpers.delete(helper))
  let text = ''
  helper.stdout.setEncoding('utf8').on('data', (chunk) => (text += chunk))
  const pids = new Promise((resolve, reject) => {
    helper.stdout.on('data', () => text.endsWith('ready\n') && resolve(text.split('\n').slice(0, n).map(Number)))
    helper.once('exit', () => reject(new Error('a sleeper helper exited early')))
  })
  return { pids, exited }
}

const snapshot = async (floor) => {
  await settle()
  const { rss, heapUsed } = process.memoryUsage()
  return { malloc: floor.mallocInUse(), rss, heapUsed, fds: fdCount() }
}

/** How many pidfds this process has in its epoll sets, from /proc's fdinfo. */
function watchedPidfds() {
  const link = (fd) => {
    try {
      return readlinkSync(`/proc/self/fd/${fd}`)
    } catch {
      return '' // closed since the listing
    }
  }
  const watched = new Set()
  for (const fd of readdirSync('/proc/self/fd').filter((fd) => link(fd) === 'anon_inode:[eventpoll]')) {
    for (const [, tfd] of readFileSync(`/proc/self/fdinfo/${fd}`, 'utf8').matchAll(/^tfd:\s+(\d+)/gm)) {
      if (link(tfd) === 'anon_inode:[pidfd]') watched.add(tfd)
    }
  }
  return watched.size
}

/** CPU time (user + system, all threads) this process uses over `ms` of idling. */
async function idleCpu(ms) {
  const before = process.cpuUsage()
  await sleep(ms)
  const { user, system } = process.cpuUsage(before)
  return (user + system) / 1000
}

export async function scale({ KillTarget, floor, targets: wanted, threadsBeforeAddon }) {
  // Each target holds one descriptor, its pidfd, waiting or not.
  const limit = floor.raiseFileLimit(wanted + fdCount() + 256)
  const n = Math.min(wanted, limit - fdCount() - 256)
  check(n === wanted, `only ${n} of ${wanted} targets fit the ${limit}-descriptor limit`)
  const fdsAtStart = fdCount()

  progress(`scale: starting ${n} sleeping processes`)
  const batches = [sleepers(Math.ceil(n / 2)), sleepers(Math.floor(n / 2))]
  const pids = (await Promise.all(batches.map((b) => b.pids))).flat()
  const idleBaselineMs = await idleCpu(2000)
  const threadsBefore = threadCount()
  const before = await snapshot(floor)

  progress(`scale: ${n} targets, each waiting`)
  const targets = pids.map((pid) => KillTarget.fromPid(pid))
  const opened = await snapshot(floor)
  const waits = targets.map((target) => target.waitForExit())
  // The runtime's thread registers each pidfd in its epoll set.
  for (let i = 0; i < 100 && watchedPidfds() < n; i++) await sleep(50)
  check(watchedPidfds() === n, `${watchedPidfds()} of ${n} waiting pidfds are in an epoll set`)
  const waiting = await snapshot(floor)
  const threadsDuring = threadCount()
  const idleWaitingMs = await idleCpu(2000)

  const t0 = performance.now()
  for (const target of targets) target.signal('SIGKILL')
  const answers = await Promise.all(waits)
  const allResolvedMs = performance.now() - t0
  check(answers.every((a) => a === true), `${answers.filter((a) => a !== true).length} waits did not resolve true`)
  for (const target of targets) target.close()
  await Promise.all(batches.map((b) => b.exited))
  await settle()
  // At most as many as before: the helpers' pipes are gone by now.
  check(fdCount() <= fdsAtStart, `${n} closed targets left ${fdCount() - fdsAtStart} descriptors open`)

  const per = (from, to) => ({
    native: (to.malloc - from.malloc) / n,
    rss: (to.rss - from.rss) / n,
    heap: (to.heapUsed - from.heapUsed) / n,
  })
  return {
    targets: n,
    fileLimit: limit,
    threads: { beforeAddon: threadsBeforeAddon, before: threadsBefore, during: threadsDuring },
    idleCpuMs: { baseline: idleBaselineMs, waiting: idleWaitingMs, overMs: 2000 },
    perOpenTarget: per(before, opened),
    perWaitingTarget: per(before, waiting),
    allResolvedMs,
  }
}
