// Item 5: `terminate()` on many children at once, against what Node offers:
// `child.kill()` and awaiting each 'exit' event, and against the floor: the
// kernel's own time for as many processes to take SIGTERM and exit, sent
// and seen from native code (the floor addon's `signalAndWait`, each pidfd
// in an epoll set beforehand). Time from the first call to the last
// settled; nine batches, each kind once in each place of three rounds of
// three, so drift and the neighbours' load hit all alike.

import { constants } from 'node:os'

import { check, median, settle, sleeper, spawned } from '../lib/harness.mjs'

async function batch(KillTarget, floor, mode, n) {
  const children = Array.from({ length: n }, () => sleeper())
  // Opened in the tick that spawned them, as the README asks.
  const targets = mode === 'terminate' ? children.map((child) => KillTarget.fromChildProcess(child)) : []
  await Promise.all(children.map(spawned))
  await settle()
  const reaped = children.map((child) => new Promise((resolve) => child.once('exit', resolve)))

  if (mode === 'floor') {
    const fds = children.map((child) => floor.raw.pidfdOpen(child.pid))
    check(fds.every((fd) => fd >= 0), 'floor pidfdOpen failed for a child')
    const ms = floor.signalAndWait(fds, constants.signals.SIGTERM)
    check(ms >= 0, 'signalAndWait: a signal or a wait failed')
    for (const fd of fds) floor.raw.closeFd(fd)
    await Promise.all(reaped)
    return ms
  }
  const t0 = performance.now()
  if (mode === 'terminate') {
    const results = await Promise.all(targets.map((target) => target.terminate()))
    const odd = results.filter((r) => !r.exited || r.forced).length
    check(odd === 0, `terminate(): ${odd} of ${n} did not exit on SIGTERM`)
  } else {
    await Promise.all(children.map((child, i) => (child.kill(), reaped[i])))
  }
  const ms = performance.now() - t0
  await Promise.all(reaped)
  for (const target of targets) target.close()
  return ms
}

const ORDER = ['kill', 'terminate', 'floor', 'floor', 'kill', 'terminate', 'terminate', 'floor', 'kill']

export async function terminate({ KillTarget, floor, children: n }) {
  const ms = { terminate: [], kill: [], floor: [] }
  for (const mode of ORDER) ms[mode].push(await batch(KillTarget, floor, mode, n))
  return {
    children: n,
    terminateMs: ms.terminate,
    killMs: ms.kill,
    floorMs: ms.floor,
    ratio: median(ms.terminate) / median(ms.kill),
    vsFloor: median(ms.terminate) / median(ms.floor),
    floorVsKill: median(ms.floor) / median(ms.kill),
  }
}
