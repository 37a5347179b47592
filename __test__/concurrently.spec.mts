// The tree-kill stand-in as its users get it: a project that installs
// concurrently from the registry, with the one `overrides` line the README
// gives pointed at this checkout's packed compat/tree-kill. `concurrently
// --kill-others` then stops trees (members in new sessions included)
// through it, with no ps on its PATH. Needs the npm registry; says so in its title where it is out
// of reach.
import { execFileSync, spawn, spawnSync } from 'node:child_process'
import { mkdirSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'

import { probePidNamespaces } from '../examples/pid-reuse.mjs'
import { carrying, delay, exitOf, testUnless, underEmulation, withoutPidfd } from './helpers.mts'

const ROOT = fileURLToPath(new URL('..', import.meta.url))
const CONCURRENTLY = '9.2.5'
const registry = spawnSync('npm', ['view', `concurrently@${CONCURRENTLY}`, 'version'], { encoding: 'utf8', timeout: 30_000 })
const noRegistry = registry.status === 0 ? null : 'the npm registry is out of reach'
const namespace = probePidNamespaces()
// npm install from the registry under an emulator takes minutes: natively only.
const emulated = namespace.ok ? underEmulation(namespace) : null

/** Live processes (not zombies) that carry this run's marker. */
const alive = (marker: string) => carrying('KILL_TARGET_E2E', marker)

testUnless([noRegistry, withoutPidfd(), emulated], `concurrently ${CONCURRENTLY} --kill-others, with tree-kill overridden to kill-target-tree-kill, leaves nothing of the trees it stops`, async (t) => {
  t.timeout(180_000)
  const project = mkdtempSync(join(tmpdir(), 'kill-target-concurrently-'))
  t.teardown(() => rmSync(project, { recursive: true, force: true }))
  const packed = execFileSync('npm', ['pack', '--silent', '--pack-destination', project, join(ROOT, 'compat/tree-kill')], { encoding: 'utf8' }).trim()
  const manifest = {
    name: 'uses-concurrently',
    version: '1.0.0',
    private: true,
    dependencies: { concurrently: CONCURRENTLY },
    // The README's line, with the packed stand-in for the registry's copy;
    // its kill-target is this checkout.
    overrides: { 'tree-kill': `file:${join(project, packed)}`, 'kill-target': `file:${ROOT}` },
  }
  writeFileSync(join(project, 'package.json'), JSON.stringify(manifest, null, 2))
  execFileSync('npm', ['install', '--no-audit', '--no-fund', '--loglevel=error'], { cwd: project, stdio: 'ignore', timeout: 120_000 })

  // What concurrently itself loads as tree-kill.
  const resolved = execFileSync(process.execPath, ['-p', "require(require.resolve('tree-kill/package.json', { paths: [require.resolve('concurrently')] })).name"], { cwd: project, encoding: 'utf8' }).trim()
  t.is(resolved, 'kill-target-tree-kill')

  // A PATH with no ps: tree-kill itself, and any fallback by number, would
  // fail there (spawn ps ENOENT) and leave the trees running.
  const bin = join(project, 'bin')
  mkdirSync(bin)
  // Its node is the one running these tests (under test:musl, musl's).
  symlinkSync(process.execPath, join(bin, 'node'))
  for (const tool of ['sh', 'sleep', 'setsid']) {
    symlinkSync(execFileSync('sh', ['-c', `command -v ${tool}`], { encoding: 'utf8' }).trim(), join(bin, tool))
  }
  t.not(spawnSync('/bin/sh', ['-c', 'command -v ps'], { env: { PATH: bin } }).status, 0, 'no ps on that PATH')

  const marker = String(process.pid) + Date.now()
  const tree = "sh -c 'sleep 60 & setsid sh -c \"sleep 60 & wait\" & wait'"
  const run = spawn(join(project, 'node_modules/.bin/concurrently'), ['--kill-others', tree, tree, 'sleep 1'], {
    cwd: project,
    env: { ...process.env, PATH: bin, KILL_TARGET_E2E: marker },
    stdio: 'ignore',
  })
  // Both trees up (concurrently's shell, then 5 members each) before
  // 'sleep 1' ends and --kill-others stops them: the run is not vacuous.
  let most = 0
  const exited = exitOf(run)
  for (const deadline = Date.now() + 10_000; most < 10 && Date.now() < deadline; ) {
    most = Math.max(most, alive(marker).length)
    await delay(20)
  }
  t.true(most >= 10, `${most} members seen up`)
  await exited
  // SIGTERM is out to every member; a moment for the last to die of it.
  for (let i = 0; i < 50 && alive(marker).length > 0; i++) await delay(20)
  t.deepEqual(alive(marker), [])
})
