// Which backend the package's entry loads. Where no prebuilt binding exists
// for the platform (macOS, Windows, Linux on riscv64 here, each reported by
// fixtures/as-platform.cjs), require() and import give the portable
// backend. Where one should exist (Linux x64 and arm64) and does not load,
// it is an error: a broken install never becomes a silent downgrade. A
// binding that is there but broken is an error everywhere.
import { spawnSync } from 'node:child_process'
import { cpSync, copyFileSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath, pathToFileURL } from 'node:url'

import test, { type ExecutionContext } from 'ava'

const ROOT = fileURLToPath(new URL('..', import.meta.url))
const STUB = fileURLToPath(new URL('fixtures/as-platform.cjs', import.meta.url))

/** What loading `entry` gives as `platform`, from CommonJS or an ES module. */
function load(entry: string, platform: string, how: 'require' | 'import', env: Record<string, string> = {}) {
  const report = `({ backend: capabilities().backend ?? (capabilities().pidfd !== undefined ? 'native' : '?'), bindings: Object.keys(require.cache).filter((f) => f.endsWith('.node')).length, target: typeof KillTarget.fromPid })`
  const script =
    how === 'require'
      ? `const { KillTarget, capabilities } = require(${JSON.stringify(entry)}); console.log(JSON.stringify(${report}))`
      : `import { createRequire } from 'node:module'; import { KillTarget, capabilities } from ${JSON.stringify(pathToFileURL(entry).href)}; const require = createRequire(import.meta.url); console.log(JSON.stringify(${report}))`
  const args = ['--require', STUB, ...(how === 'import' ? ['--input-type=module'] : []), '-e', script]
  const run = spawnSync(process.execPath, args, { encoding: 'utf8', env: { ...process.env, KILL_TARGET_PORTABLE: '', KILL_TARGET_AS_PLATFORM: platform, ...env } })
  if (run.status !== 0) return { error: run.stderr.match(/Cannot find native binding[^\n]*/)?.[0] ?? run.stderr.match(/^\w*Error: [^\n]*/m)?.[0] ?? run.stderr }
  return JSON.parse(run.stdout)
}

/** The package as an install with no platform package would have it: the entry, the loader and the portable backend, no binding. */
function installedWithoutBinding(t: ExecutionContext): string {
  const dir = mkdtempSync(join(tmpdir(), 'kill-target-nobinding-'))
  t.teardown(() => rmSync(dir, { recursive: true, force: true }))
  for (const file of ['index.js', 'binding.js', 'package.json']) copyFileSync(join(ROOT, file), join(dir, file))
  cpSync(join(ROOT, 'portable/dist'), join(dir, 'portable/dist'), { recursive: true })
  return dir
}

const entry = join(ROOT, 'index.js')
const portable = { backend: 'portable', bindings: 0, target: 'function' }

for (const platform of ['darwin/arm64', 'darwin/x64', 'win32/x64', 'freebsd/x64', 'linux/riscv64']) {
  test(`${platform}: no prebuilt binding, so require() and import give the portable backend`, (t) => {
    t.deepEqual(load(entry, platform, 'require'), portable)
    t.deepEqual(load(entry, platform, 'import'), portable)
  })
}

test('this machine has a prebuilt: the native binding loads', (t) => {
  t.is(load(entry, '', 'require').backend, 'native')
})

test('linux x64 and arm64 with the binding missing: Cannot find native binding, as before; the opt-in for tests loads the portable backend', (t) => {
  const dir = installedWithoutBinding(t)
  for (const platform of ['linux/x64', 'linux/arm64']) {
    t.regex(load(join(dir, 'index.js'), platform, 'require').error, /Cannot find native binding/, platform)
    t.regex(load(join(dir, 'index.js'), platform, 'import').error, /Cannot find native binding/, platform)
  }
  t.deepEqual(load(join(dir, 'index.js'), 'linux/x64', 'require', { KILL_TARGET_PORTABLE: '1' }), portable)
})

test('a binding that is there but does not load is an error on any platform, never the portable backend', (t) => {
  const dir = installedWithoutBinding(t)
  writeFileSync(join(dir, 'kill-target.darwin-arm64.node'), 'not a shared object')
  // napi-rs's loader says it found none, with the real cause (the failed dlopen) in its chain.
  t.regex(load(join(dir, 'index.js'), 'darwin/arm64', 'require').error, /Cannot find native binding/)
  t.deepEqual(load(join(dir, 'index.js'), 'darwin/x64', 'require'), portable, 'the other macOS has no binding there: portable')
})
