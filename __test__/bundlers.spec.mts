// Clients that bundle their dependencies. A project that requires
// tree-kill as concurrently does, with the README's `overrides` line
// pointed at this checkout's packed compat/tree-kill, must still build with
// esbuild (as concurrently builds itself: bundle, platform node) and with
// ncc, and each bundle must still run: beside its node_modules the tree is
// walked through pidfds (no ps on the PATH, and nothing of the tree left),
// copied away from it the stand-in falls back to tree-kill's algorithm by
// number (it needs ps there, and fails as tree-kill does without it). Then
// a client of kill-target itself, built with the esbuild settings
// docs/bundlers.md gives.
import { execFileSync, spawn, spawnSync } from 'node:child_process'
import { copyFileSync, mkdirSync, mkdtempSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs'
import { createRequire } from 'node:module'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'

import test, { type ExecutionContext } from 'ava'

import { KillTarget } from '../index.js'
import { probePidNamespaces } from '../examples/pid-reuse.mjs'
import { carrying, delay, exitOf, killAll, testUnless, underEmulation, withoutPidfd } from './helpers.mts'

const ROOT = fileURLToPath(new URL('..', import.meta.url))
const FIXTURES = fileURLToPath(new URL('fixtures/bundle/', import.meta.url))
const require = createRequire(import.meta.url)
// esbuild ships a binary per platform, and npm installs the host's only:
// natively only (the arm64 suite runs under an emulator). Not probed
// without pidfds, where the tests do not run.
const namespace = withoutPidfd() ? null : probePidNamespaces()
const emulated = namespace?.ok ? underEmulation(namespace) : null

type Esbuild = typeof import('esbuild')
const esbuild = require('esbuild') as Esbuild
const ncc = require('@vercel/ncc') as (entry: string, options: Record<string, unknown>) => Promise<{ code: string }>

/** The project: a client of tree-kill, installed with the override, offline. */
let project = ''
/** A PATH holding node, sh, sleep and setsid, and no ps; and one with ps as well. */
let noPs = ''
let withPs = ''

test.before(() => {
  if (emulated || withoutPidfd()) return
  project = mkdtempSync(join(tmpdir(), 'kill-target-bundlers-'))
  const packed = execFileSync('npm', ['pack', '--silent', '--pack-destination', project, join(ROOT, 'compat/tree-kill')], { encoding: 'utf8' }).trim()
  // A library that depends on tree-kill 1.2.2, as concurrently does, and
  // the project that uses it, with the README's line.
  const library = join(project, 'library')
  mkdirSync(library)
  writeFileSync(join(library, 'package.json'), JSON.stringify({ name: 'uses-tree-kill', version: '1.0.0', main: 'index.js', dependencies: { 'tree-kill': '1.2.2' } }))
  copyFileSync(join(FIXTURES, 'tree-kill-client.js'), join(library, 'index.js'))
  const manifest = {
    name: 'bundles-tree-kill',
    version: '1.0.0',
    private: true,
    dependencies: { 'uses-tree-kill': 'file:library' },
    overrides: { 'tree-kill': `file:${join(project, packed)}`, 'kill-target': `file:${ROOT}` },
  }
  writeFileSync(join(project, 'package.json'), JSON.stringify(manifest, null, 2))
  execFileSync('npm', ['install', '--offline', '--no-audit', '--no-fund', '--loglevel=error'], { cwd: project, stdio: 'ignore', timeout: 120_000 })
  writeFileSync(join(project, 'index.js'), "require('uses-tree-kill')\n")
  copyFileSync(join(FIXTURES, 'kill-target-client.js'), join(project, 'uses-kill-target.js'))
  for (const [bin, tools] of [
    [(noPs = join(project, 'bin-no-ps')), ['sh', 'sleep', 'setsid']],
    [(withPs = join(project, 'bin')), ['sh', 'sleep', 'setsid', 'ps']],
  ] as const) {
    mkdirSync(bin)
    symlinkSync(process.execPath, join(bin, 'node'))
    for (const tool of tools) symlinkSync(execFileSync('sh', ['-c', `command -v ${tool}`], { encoding: 'utf8' }).trim(), join(bin, tool))
  }
})
test.after.always(() => {
  if (project) rmSync(project, { recursive: true, force: true })
})

/** Runs a bundle with `PATH`; resolves with its parsed report, its stderr, and the tree's members left. */
async function run(t: ExecutionContext, bundle: string, path: string) {
  const marker = `${process.pid}-${Date.now()}-${Math.random()}`
  const left = () => carrying('KILL_TARGET_BUNDLE', marker)
  t.teardown(() => killAll(left()))
  const child = spawn(process.execPath, [bundle], { env: { PATH: path, KILL_TARGET_BUNDLE: marker }, stdio: ['ignore', 'pipe', 'pipe'] })
  let stdout = ''
  let stderr = ''
  child.stdout.on('data', (chunk) => (stdout += chunk))
  child.stderr.on('data', (chunk) => (stderr += chunk))
  const [code] = await exitOf(child)
  // SIGTERM is out to every member; a moment for the last to die of it.
  for (let i = 0; i < 100 && left().length > 0; i++) await delay(20)
  const last = stdout.trim().split('\n').pop()
  return { code, report: last ? JSON.parse(last) : null, stderr, left: left() }
}

/** Beside node_modules, and copied away from it. */
async function runsBothWays(t: ExecutionContext, bundle: string) {
  const library = createRequire(bundle).resolve('uses-tree-kill')
  t.is(JSON.parse(readFileSync(createRequire(library).resolve('tree-kill/package.json'), 'utf8')).name, 'kill-target-tree-kill', 'the override resolved')

  const beside = await run(t, bundle, noPs)
  t.deepEqual(beside.report, { callback: 'no error', root: 'SIGTERM' }, `stderr: ${beside.stderr}`)
  t.deepEqual(beside.left, [], 'beside node_modules, without ps: the whole tree ended, through pidfds')

  const away = mkdtempSync(join(tmpdir(), 'kill-target-bundle-away-'))
  t.teardown(() => rmSync(away, { recursive: true, force: true }))
  const copy = join(away, 'bundle.js')
  copyFileSync(bundle, copy)
  t.throws(() => createRequire(copy).resolve('kill-target'), undefined, 'kill-target cannot be found from there')
  const byNumber = await run(t, copy, withPs)
  t.is(byNumber.code, 0, byNumber.stderr)
  t.is(byNumber.report?.callback, 'no error')
  t.deepEqual(byNumber.left, [], 'copied away, with ps: the tree ended, by number')
  const noList = await run(t, copy, noPs)
  t.not(noList.code, 0)
  t.regex(noList.stderr, /spawn ps ENOENT/, "copied away, without ps: tree-kill's algorithm, and tree-kill's failure")
}

const skip = () => [emulated, withoutPidfd()]

testUnless(skip(), "esbuild (bundle, platform node, as concurrently builds itself) bundles a client of tree-kill with the override; the bundle kills the tree beside node_modules and away from it", async (t) => {
  t.timeout(120_000)
  const outfile = join(project, 'dist-esbuild', 'index.js')
  const result = await esbuild.build({ entryPoints: [join(project, 'index.js')], bundle: true, platform: 'node', outfile, logLevel: 'silent' })
  t.deepEqual(result.errors, [])
  t.false(readFileSync(outfile, 'utf8').includes('linux-x64-gnu'), "kill-target's loader is not in the bundle")
  await runsBothWays(t, outfile)
})

testUnless(skip(), '@vercel/ncc bundles a client of tree-kill with the override; the bundle kills the tree beside node_modules and away from it', async (t) => {
  t.timeout(120_000)
  const { code } = await ncc(join(project, 'index.js'), { quiet: true, cache: false })
  const outfile = join(project, 'dist-ncc', 'index.js')
  mkdirSync(join(project, 'dist-ncc'))
  writeFileSync(outfile, code)
  await runsBothWays(t, outfile)
})

testUnless(skip(), "a client of kill-target builds with docs/bundlers.md's esbuild settings, and runs beside node_modules; without them the build fails", async (t) => {
  const docs = readFileSync(join(ROOT, 'docs/bundlers.md'), 'utf8')
  const block = /```js\n\/\/ build\.mjs \(esbuild\)\n([\s\S]*?)```/.exec(docs)?.[1]
  const external = block && /external: (\[.*\]),/.exec(block)?.[1]
  t.truthy(external, "docs/bundlers.md's esbuild block names what is external")
  const settings = { bundle: true, platform: 'node' as const, external: JSON.parse(external!.replaceAll("'", '"')) as string[] }
  t.true(block!.includes('bundle: true') && block!.includes("platform: 'node'"))

  const outfile = join(project, 'dist-kill-target', 'main.js')
  await esbuild.build({ entryPoints: [join(project, 'uses-kill-target.js')], outfile, logLevel: 'silent', ...settings })
  const ran = spawnSync(process.execPath, [outfile], { encoding: 'utf8', timeout: 30_000 })
  t.deepEqual(JSON.parse(ran.stdout.trim()), { ended: 'SIGTERM' }, ran.stderr)

  const failed = await t.throwsAsync(esbuild.build({ entryPoints: [join(project, 'uses-kill-target.js')], outfile, logLevel: 'silent', bundle: true, platform: 'node' }))
  t.regex(failed!.message, /No loader is configured for "\.node" files/)
})
