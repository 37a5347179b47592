// The tree-kill stand-in under its second real client: a project that
// installs start-server-and-test from the registry (it pins tree-kill
// 1.2.2), with the README's `overrides` line pointed at this checkout's
// packed compat/tree-kill. Its command line starts a server (a tree with a
// member in a new session), waits for its URL on 127.0.0.1, runs a command,
// then stops the server's tree with tree-kill (SIGINT). Run end to end: a
// command that passes, one that fails (the failure must reach the exit
// status), and a server that exits by itself before the command ends
// (start-server-and-test then takes no error, or ESRCH, from tree-kill).
// No ps on its PATH: tree-kill itself, or a fallback by number, would
// fail. Nothing of any server may be left, found by a marker each member
// inherits. Needs the npm registry; says so in its title where it is out
// of reach.
import { execFileSync, spawn, spawnSync } from 'node:child_process'
import { mkdirSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from 'node:fs'
import { createServer } from 'node:net'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'

import test, { type ExecutionContext } from 'ava'

import { KillTarget } from '../index.js'
import { probePidNamespaces } from '../examples/pid-reuse.mjs'
import { carrying, delay, exitOf, killAll, testUnless, underEmulation, withoutPidfd } from './helpers.mts'

const ROOT = fileURLToPath(new URL('..', import.meta.url))
const FIXTURES = fileURLToPath(new URL('fixtures/start-server-and-test/', import.meta.url))
const VERSION = '3.0.12'
/** Why these tests cannot run here, or null; each probe only if the ones before found nothing (the seccomp reruns have no pidfds). */
function cannotRun(): string | null {
  const noPidfd = withoutPidfd()
  if (noPidfd) return noPidfd
  const namespace = probePidNamespaces()
  // npm install from the registry under an emulator takes minutes: natively only.
  const emulated = namespace.ok ? underEmulation(namespace) : null
  if (emulated) return emulated
  const registry = spawnSync('npm', ['view', `start-server-and-test@${VERSION}`, 'version'], { encoding: 'utf8', timeout: 30_000 })
  return registry.status === 0 ? null : 'the npm registry is out of reach'
}
const skip = [cannotRun()]

/** The installed project and a PATH without ps; set up once, by the first test to ask. */
let installed: Promise<{ project: string; bin: string; resolved: string }> | undefined

function install() {
  installed ??= (async () => {
    const project = mkdtempSync(join(tmpdir(), 'kill-target-ssat-'))
    const packed = execFileSync('npm', ['pack', '--silent', '--pack-destination', project, join(ROOT, 'compat/tree-kill')], { encoding: 'utf8' }).trim()
    const manifest = {
      name: 'uses-start-server-and-test',
      version: '1.0.0',
      private: true,
      dependencies: { 'start-server-and-test': VERSION },
      // The README's line, with the packed stand-in for the registry's copy;
      // its kill-target is this checkout.
      overrides: { 'tree-kill': `file:${join(project, packed)}`, 'kill-target': `file:${ROOT}` },
    }
    writeFileSync(join(project, 'package.json'), JSON.stringify(manifest, null, 2))
    await new Promise<void>((resolve, reject) => {
      const npm = spawn('npm', ['install', '--no-audit', '--no-fund', '--loglevel=error'], { cwd: project, stdio: 'ignore', timeout: 150_000 })
      npm.on('error', reject)
      npm.on('close', (code) => (code === 0 ? resolve() : reject(new Error(`npm install exited with ${code}`))))
    })
    // What start-server-and-test itself loads as tree-kill.
    const resolved = execFileSync(process.execPath, ['-p', "require(require.resolve('tree-kill/package.json', { paths: [require.resolve('start-server-and-test')] })).name"], { cwd: project, encoding: 'utf8' }).trim()
    const bin = join(project, 'bin')
    mkdirSync(bin)
    symlinkSync(process.execPath, join(bin, 'node'))
    for (const tool of ['sh', 'sleep']) symlinkSync(execFileSync('sh', ['-c', `command -v ${tool}`], { encoding: 'utf8' }).trim(), join(bin, tool))
    return { project, bin, resolved }
  })()
  return installed
}
test.after.always(async () => {
  if (!installed) return
  const { project } = await installed.catch(() => ({ project: '' }))
  if (project) rmSync(project, { recursive: true, force: true })
})

/** A port free on 127.0.0.1 a moment ago. */
function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer()
    server.on('error', reject)
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as { port: number }
      server.close(() => resolve(port))
    })
  })
}

/**
 * Runs `start-server-and-test SERVER URL COMMAND` with the command in
 * `mode`; resolves with its exit status, its output, how many members of
 * the server's tree the command saw up, and what is left after of anything
 * it started.
 */
async function startServerAndTest(t: ExecutionContext, mode: 'pass' | 'fail' | 'exits') {
  t.timeout(240_000)
  const { project, bin, resolved } = await install()
  t.is(resolved, 'kill-target-tree-kill', 'the override resolved')
  t.not(spawnSync('/bin/sh', ['-c', 'command -v ps'], { env: { PATH: bin } }).status, 0, 'no ps on that PATH')

  const marker = `${process.pid}-${mode}-${Date.now()}`
  const alive = () => carrying('KILL_TARGET_SSAT', marker)
  t.teardown(() => killAll(alive()))
  const url = `http://127.0.0.1:${await freePort()}`
  const run = spawn(
    process.execPath,
    [join(project, 'node_modules/start-server-and-test/src/bin/start.js'), `node ${join(FIXTURES, 'server.mjs')} ${url.split(':').pop()}`, url, `node ${join(FIXTURES, 'command.mjs')} ${url} ${mode}`],
    {
      cwd: project,
      env: { PATH: bin, KILL_TARGET_SSAT: marker, WAIT_ON_INTERVAL: '100', WAIT_ON_TIMEOUT: '60000' },
      stdio: ['ignore', 'pipe', 'pipe'],
    },
  )
  let output = ''
  run.stdout.on('data', (chunk) => (output += chunk))
  run.stderr.on('data', (chunk) => (output += chunk))
  const [code] = await exitOf(run)
  // The server's tree up (its node and two sleeps, and a shell if the
  // shell does not exec), so that the run cannot pass vacuously: the
  // command counts it once the server answers.
  const members = Number(/server members: (\d+)/.exec(output)?.[1] ?? 0)
  // SIGINT is out to every member; a moment for the last to die of it.
  for (let i = 0; i < 100 && alive().length > 0; i++) await delay(20)
  return { code, output, members, left: alive() }
}

testUnless(skip, `start-server-and-test ${VERSION} with the override: a command that passes, then the server's tree is stopped, members in a new session included`, async (t) => {
  const { code, output, members, left } = await startServerAndTest(t, 'pass')
  t.is(code, 0, output)
  t.true(members >= 3, `${members} members of the server seen up`)
  t.deepEqual(left, [], 'nothing of the server is left')
})

testUnless(skip, `start-server-and-test ${VERSION} with the override: a command that fails (exit 3) fails the run, and the server's tree is stopped`, async (t) => {
  const { code, output, members, left } = await startServerAndTest(t, 'fail')
  t.is(code, 1, output)
  t.regex(output, /exit code 3/)
  t.true(members >= 3, `${members} members of the server seen up`)
  t.deepEqual(left, [], 'nothing of the server is left')
})

testUnless(skip, `start-server-and-test ${VERSION} with the override: a server that exits by itself before the command ends is no error (tree-kill's answer for a pid already gone)`, async (t) => {
  const { code, output, members, left } = await startServerAndTest(t, 'exits')
  t.is(code, 0, output)
  t.true(members >= 3, `${members} members of the server seen up`)
  t.deepEqual(left, [])
})
