// Descriptor hygiene: however a target ends — close(), the garbage collector,
// after waits — the process gets every descriptor back. Serial: the tests
// count this process's open descriptors.
import test from 'ava'

import { KillTarget, capabilities } from '../index.js'
import { openFds, scaled, sleeper } from './helpers.mts'

const CYCLES = scaled(100_000, 1_000_000)
const WAITED = scaled(100_000, 1_000_000)
const BATCH = 1000
/** Descriptors the runtime may open once, on first use (e.g. its epoll set). */
const SLACK = 2

const gc = (globalThis as any).gc as () => void
/** Finalizers run after the collection, from the event loop. */
const collect = async () => {
  gc()
  await new Promise((resolve) => setImmediate(resolve))
}

test.serial(`${CYCLES.toLocaleString('en')} create/close cycles leave the descriptor count where it started`, (t) => {
  const pid = sleeper(t).pid!
  const before = openFds()
  let raceFree = 0
  for (let i = 0; i < CYCLES; i++) {
    const target = KillTarget.fromPid(pid)
    if (target.raceFree) raceFree++
    target.close()
  }
  t.is(raceFree, capabilities().pidfd ? CYCLES : 0, 'each target held a descriptor while open')
  t.true(openFds() <= before + SLACK, `${before} descriptors before, ${openFds()} after`)
})

test.serial(`${CYCLES.toLocaleString('en')} targets left to the garbage collector give their descriptors back`, async (t) => {
  const pid = sleeper(t).pid!
  await collect()
  const before = openFds()
  let held = 0
  let peak = before
  for (let done = 0; done < CYCLES; done += BATCH) {
    for (let i = 0; i < BATCH; i++) KillTarget.fromPid(pid)
    held = Math.max(held, openFds() - before)
    await collect()
    peak = Math.max(peak, openFds())
  }
  for (let round = 0; round < 50 && openFds() > before + SLACK; round++) await collect()
  if (capabilities().pidfd) t.true(held >= BATCH, `a batch of ${BATCH} unclosed targets held ${held} descriptors`)
  t.true(peak <= before + BATCH + SLACK, `at most one batch outstanding at a time (peak ${peak - before} above start)`)
  t.true(openFds() <= before + SLACK, `${before} descriptors before, ${openFds()} after`)
})

test.serial(`${WAITED.toLocaleString('en')} targets that each waited and were closed give every descriptor back`, async (t) => {
  const pid = sleeper(t).pid!
  await KillTarget.fromPid(pid).waitForExit({ timeout: 0 }) // the runtime's own descriptors
  const before = openFds()
  let timedOut = 0
  for (let done = 0; done < WAITED; done += 100) {
    const targets = Array.from({ length: 100 }, () => KillTarget.fromPid(pid))
    const waits = await Promise.all(targets.map((target) => target.waitForExit({ timeout: 0 })))
    timedOut += waits.filter((exited) => !exited).length
    for (const target of targets) target.close()
  }
  t.is(timedOut, WAITED, 'every wait ran, on a process that lives on')
  await collect()
  t.true(openFds() <= before + SLACK, `${before} descriptors before, ${openFds()} after`)
})
