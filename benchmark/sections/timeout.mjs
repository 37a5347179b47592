// `kill-target timeout` against GNU coreutils' timeout, in the same run:
//
//   1. The wall time `timeout 10 true` adds over `true`, for each, beside
//      `node -e 0` (Node's own startup, the floor under any command line
//      written in JavaScript) and `true` itself. Median of `trials` runs
//      of each, interleaved.
//   2. A tree of 100 at the limit: `timeout -v 1 sh -c ...`, a shell
//      leading 9 shells of 10 sleeps each, 3 of the 9 (with their 30
//      sleeps) in new sessions by setsid. Timed from timeout's "sending
//      signal" line to the last member's exit, seen through a target
//      opened on every member beforehand; for GNU's, to the last exit of
//      the members it reaches, and the escapees still alive a second later
//      are counted (then killed).
//
// Run alone: `node benchmark/sections/timeout.mjs [--quick]`. Needs GNU
// timeout and setsid on PATH; without them it says so and measures ours.

import { execFileSync, spawn, spawnSync } from 'node:child_process'
import { createRequire } from 'node:module'
import { fileURLToPath } from 'node:url'

import { check, failures, median, settle, sleep } from '../lib/harness.mjs'

const CLI = fileURLToPath(new URL('../../cli.js', import.meta.url))
const SHAPE = `echo $$
for i in 1 2 3 4 5 6 7 8 9; do
  if [ $i -le 3 ]; then s=setsid; else s=; fi
  $s sh -c 'for j in 0 1 2 3 4 5 6 7 8 9; do sleep 60 & done; wait' &
done
wait`
const MEMBERS = 100
const ESCAPEES = 33

const has = (file, args) => {
  try {
    execFileSync(file, args, { stdio: 'ignore' })
    return true
  } catch {
    return false
  }
}

function wall(file, args) {
  const t0 = performance.now()
  const { status } = spawnSync(file, args, { stdio: 'ignore' })
  const ms = performance.now() - t0
  check(status === 0, `${file} ${args.join(' ')} exited ${status}`)
  return ms
}

/** Item 1: what starting through timeout adds to `true`. */
function startup(gnu, trials) {
  const cases = {
    true: ['true', []],
    node: [process.execPath, ['-e', '0']],
    ours: [process.execPath, [CLI, 'timeout', '10', 'true']],
    ...(gnu ? { gnu: ['timeout', ['10', 'true']] } : {}),
  }
  const ms = Object.fromEntries(Object.keys(cases).map((name) => [name, []]))
  for (const [file, args] of Object.values(cases)) wall(file, args) // warm caches
  for (let i = 0; i < trials; i++) {
    const names = Object.keys(cases)
    for (const name of i % 2 ? names.reverse() : names) ms[name].push(wall(...cases[name]))
  }
  const base = median(ms.true)
  return {
    trueMs: base,
    nodeStartupMs: median(ms.node) - base,
    oursAddedMs: median(ms.ours) - base,
    gnuAddedMs: gnu ? median(ms.gnu) - base : null,
  }
}

/** Item 2, one run: from the limit to the last exit, and the escapees. */
async function limit(KillTarget, gnu) {
  const [file, args] = gnu ? ['timeout', ['-v', '1', 'sh', '-c', SHAPE]] : [process.execPath, [CLI, 'timeout', '-v', '1', 'sh', '-c', SHAPE]]
  const child = spawn(file, args, { stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, LC_ALL: 'C' } })
  const held = KillTarget.fromChildProcess(child)
  const rootPid = await new Promise((resolve) => child.stdout.once('data', (line) => resolve(Number(String(line).trim()))))
  const root = KillTarget.fromPid(rootPid)
  let members = []
  for (let i = 0; i < 500 && members.length < MEMBERS - 1; i++) {
    for (const member of members) member.close()
    await sleep(10)
    members = root.descendants()
  }
  check(members.length === MEMBERS - 1, `the tree has ${members.length + 1} members, not ${MEMBERS}`)
  const all = [root, ...members]
  const signalled = new Promise((resolve) => {
    let text = ''
    child.stderr.on('data', (chunk) => {
      text += chunk
      if (text.includes('sending signal')) resolve(performance.now())
    })
  })
  const exits = all.map((member) => member.waitForExit({ timeout: 5000 }).then((gone) => (gone ? performance.now() : null)))
  await settle()
  const t0 = await signalled
  const times = await Promise.all(exits)
  await new Promise((resolve) => (child.exitCode === null ? child.once('exit', resolve) : resolve()))
  await sleep(gnu ? 1000 : 0)
  const escapees = all.filter((member) => member.isAlive()).length
  for (const member of all) {
    member.signal('SIGKILL')
    member.close()
  }
  held.close()
  const reached = times.filter((t) => t !== null)
  return { ms: Math.max(...reached) - t0, escapees }
}

export async function timeout({ KillTarget, quick, trials = quick ? 5 : 30 }) {
  const gnu = has('timeout', ['--version']) && has('setsid', ['true'])
  const result = { gnu, ...startup(gnu, trials) }
  const runs = quick ? 1 : 5
  const ours = []
  const theirs = []
  for (let i = 0; i < runs; i++) {
    ours.push(await limit(KillTarget, false))
    if (gnu) theirs.push(await limit(KillTarget, true))
  }
  for (const run of ours) check(run.escapees === 0, `kill-target timeout left ${run.escapees} of ${MEMBERS}`)
  result.tree = {
    members: MEMBERS,
    oursMs: median(ours.map((run) => run.ms)),
    oursEscapees: Math.max(...ours.map((run) => run.escapees)),
    gnuMs: gnu ? median(theirs.map((run) => run.ms)) : null,
    gnuEscapees: gnu ? Math.max(...theirs.map((run) => run.escapees)) : null,
    expectedGnuEscapees: ESCAPEES,
  }
  return result
}

if (process.argv[1] === fileURLToPath(import.meta.url) && typeof globalThis.gc !== 'function') {
  const args = ['--expose-gc', ...process.execArgv, ...process.argv.slice(1)]
  process.exit(spawnSync(process.execPath, args, { stdio: 'inherit' }).status ?? 1)
} else if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const { KillTarget } = createRequire(import.meta.url)('../..')
  const r = await timeout({ KillTarget, quick: process.argv.includes('--quick') })
  const f = (ms) => (ms === null ? 'n/a' : `${ms.toFixed(1)} ms`)
  process.stdout.write(
    [
      `true alone                                   ${f(r.trueMs)}`,
      `Node's startup (node -e 0) over true         ${f(r.nodeStartupMs)}`,
      `kill-target timeout 10 true, over true       ${f(r.oursAddedMs)}`,
      `GNU timeout 10 true, over true               ${f(r.gnuAddedMs)}`,
      `tree of ${r.tree.members}, limit to last exit: kill-target ${f(r.tree.oursMs)}, ${r.tree.oursEscapees} left`,
      `tree of ${r.tree.members}, limit to last exit: GNU         ${f(r.tree.gnuMs)} (of those it reaches), ${r.tree.gnuEscapees ?? 'n/a'} left`,
      '',
    ].join('\n'),
  )
  for (const failure of failures) process.stderr.write(`failed: ${failure}\n`)
  if (failures.length) process.exitCode = 1
}
