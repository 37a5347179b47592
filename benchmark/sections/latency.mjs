// Item 3: from a child's exit to `waitForExit()` resolving, against from the
// same kind of exit to Node's own 'exit' event. One `sleep` child per trial,
// alternating ABBA between the two; each is killed with SIGKILL through a
// target in both kinds of trial, and the clock starts just before that kill,
// so kill and exit cost the same on both sides.

import { check, median, sleep, sleeper } from '../lib/harness.mjs'

export async function latency({ KillTarget, trials }) {
  const times = { waitForExit: [], exit: [] }
  for (let i = 0; i < 2 * trials; i++) {
    const mode = i % 4 === 0 || i % 4 === 3 ? 'exit' : 'waitForExit'
    const child = sleeper()
    const target = KillTarget.fromChildProcess(child)
    const reaped = new Promise((resolve) => child.once('exit', resolve))
    let done
    const settled =
      mode === 'exit'
        ? reaped.then(() => (done = performance.now()))
        : target.waitForExit().then((exited) => {
            done = performance.now()
            check(exited === true, `waitForExit() resolved ${exited}`)
          })
    // Let the child start and the wait reach the runtime's epoll set.
    await sleep(5)
    const t0 = performance.now()
    target.signal('SIGKILL')
    await settled
    times[mode].push((done - t0) * 1000)
    await reaped
    target.close()
  }
  return {
    trials,
    waitForExitUs: median(times.waitForExit),
    exitUs: median(times.exit),
    ratio: median(times.waitForExit) / median(times.exit),
  }
}
