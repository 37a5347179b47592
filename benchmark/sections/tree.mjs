// Item 6: `terminate({ tree: true })` of a 100-process tree, and the
// tree-kill stand-in's `treeKill()` (compat/tree-kill), against the
// tree-kill package (1.2.2: a `ps --ppid` per member, then a kill by number
// each) on an identical tree: a shell leading 9 shells of 10 sleeps each.
// Timed from the call until the last member is gone, seen the same way for
// both: a target opened on every member beforehand, and its waitForExit().
// Batches alternate ABBA.

import { spawn } from 'node:child_process'
import { mkdirSync, symlinkSync } from 'node:fs'
import { createRequire } from 'node:module'
import { fileURLToPath } from 'node:url'

import { check, median, settle, sleep } from '../lib/harness.mjs'

const require = createRequire(import.meta.url)
const treeKill = require('tree-kill')
// The stand-in resolves `kill-target` as an installed dependency: here,
// this checkout.
const COMPAT = fileURLToPath(new URL('../../compat/tree-kill/', import.meta.url))
mkdirSync(`${COMPAT}node_modules`, { recursive: true })
try {
  symlinkSync('../../..', `${COMPAT}node_modules/kill-target`)
} catch (error) {
  if (error.code !== 'EEXIST') throw error
}
const standIn = require(COMPAT)
const SHAPE = "for i in 1 2 3 4 5 6 7 8 9; do sh -c 'for j in 0 1 2 3 4 5 6 7 8 9; do sleep 60 & done; wait' & done; wait"
const MEMBERS = 99

async function batch(KillTarget, mode) {
  const root = spawn('sh', ['-c', SHAPE], { stdio: 'ignore' })
  const target = KillTarget.fromChildProcess(root)
  let members = []
  for (let i = 0; i < 500 && members.length < MEMBERS; i++) {
    for (const member of members) member.close()
    await sleep(10)
    members = target.descendants()
  }
  check(members.length === MEMBERS, `the tree has ${members.length} members, not ${MEMBERS}`)
  const gone = Promise.all([target, ...members].map((member) => member.waitForExit()))
  await settle()

  const t0 = performance.now()
  if (mode === 'terminate') {
    const result = await target.terminate({ tree: true })
    check(result.processes === MEMBERS + 1, `terminate({ tree: true }) signalled ${result.processes}`)
  } else {
    const kill = mode === 'standIn' ? standIn : treeKill
    await new Promise((resolve, reject) => kill(root.pid, 'SIGTERM', (error) => (error ? reject(error) : resolve())))
  }
  await gone
  const ms = performance.now() - t0
  for (const member of [target, ...members]) member.close()
  return ms
}

export async function tree({ KillTarget, quick }) {
  const ms = { terminate: [], standIn: [], treeKill: [] }
  const round = ['treeKill', 'terminate', 'standIn']
  const order = quick ? round : [...round, ...round.slice().reverse(), ...round]
  for (const mode of order) ms[mode].push(await batch(KillTarget, mode))
  return {
    members: MEMBERS + 1,
    terminateMs: ms.terminate,
    standInMs: ms.standIn,
    treeKillMs: ms.treeKill,
    ratio: median(ms.terminate) / median(ms.treeKill),
    standInRatio: median(ms.standIn) / median(ms.treeKill),
  }
}
