// Item 5: `terminate()` on many children at once, against what Node offers:
// `child.kill()` and awaiting each 'exit' event. Time from the first call to
// the last settled; eight batches in ABBA BAAB order, so drift and the
// neighbours' load hit both alike.

import { check, median, settle, sleeper, spawned } from '../lib/harness.mjs'

async function batch(KillTarget, mode, n) {
  const children = Array.from({ length: n }, () => sleeper())
  // Opened in the tick that spawned them, as the README asks.
  const targets = mode === 'terminate' ? children.map((child) => KillTarget.fromChildProcess(child)) : []
  await Promise.all(children.map(spawned))
  await settle()
  const reaped = children.map((child) => new Promise((resolve) => child.once('exit', resolve)))

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

export async function terminate({ KillTarget, children: n }) {
  const ms = { terminate: [], kill: [] }
  for (const mode of ['kill', 'terminate', 'terminate', 'kill', 'terminate', 'kill', 'kill', 'terminate']) {
    ms[mode].push(await batch(KillTarget, mode, n))
  }
  return {
    children: n,
    terminateMs: ms.terminate,
    killMs: ms.kill,
    ratio: median(ms.terminate) / median(ms.kill),
  }
}
