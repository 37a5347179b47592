// Older systems imitated with a seccomp filter (fixtures/deny-pidfd.c, built
// here with the system's C compiler) that answers the pidfd system calls as
// they do: ENOSYS (kernels before 5.3), EPERM (older container runtimes),
// EINVAL for the process-group flag only (kernels before 6.9). The package
// must find no pidfds and fall back, and the whole suite must pass under
// the filter: every test that needs pidfds says so and skips.
import { execFileSync, spawn, spawnSync } from 'node:child_process'
import { mkdtempSync, readdirSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'

import test from 'ava'

import { testUnless } from './helpers.mts'

const ROOT = fileURLToPath(new URL('..', import.meta.url))
const PACKAGE = JSON.stringify(join(ROOT, 'index.js'))

/** Builds the launcher; the reason it cannot run here, or its path. */
function buildLauncher(): { reason: string } | { path: string } {
  if (spawnSync('cc', ['--version']).error) return { reason: 'no C compiler (cc) to build fixtures/deny-pidfd.c' }
  const dir = mkdtempSync(join(tmpdir(), 'deny-pidfd-'))
  process.on('exit', () => rmSync(dir, { recursive: true, force: true }))
  const path = join(dir, 'deny-pidfd')
  // A launcher that does not compile is a failure, not a reason to skip.
  execFileSync('cc', ['-O2', '-Wall', '-Werror', '-o', path, join(ROOT, '__test__/fixtures/deny-pidfd.c')])
  const probe = spawnSync(path, ['all:ENOSYS', 'true'], { encoding: 'utf8' })
  return probe.status === 0 ? { path } : { reason: probe.stderr.trim() || `the launcher exited ${probe.status}` }
}

const launcher = buildLauncher()
const noLauncher = 'reason' in launcher ? launcher.reason : null

/** Runs `node -e script` under the filter and parses the JSON it prints. */
function underFilter(mode: string, script: string): any {
  if (!('path' in launcher)) throw new Error('unreachable: gated above')
  const output = execFileSync(launcher.path, [mode, process.execPath, '-e', script], {
    encoding: 'utf8',
    env: { ...process.env, KILL_TARGET_DISABLE_PIDFD: '' },
  })
  return JSON.parse(output)
}

for (const errno of ['ENOSYS', 'EPERM']) {
  testUnless(
    [noLauncher],
    `pidfd calls answered ${errno}: the probe finds no pidfds and every method works by pid`,
    (t) => {
      const report = underFilter(
        `all:${errno}`,
        `const { spawn } = require('node:child_process')
        const { KillTarget, capabilities } = require(${PACKAGE})
        const child = spawn('sleep', ['60'])
        const exit = new Promise((resolve) => child.on('exit', (code, signal) => resolve(signal)))
        const target = KillTarget.fromChildProcess(child)
        const report = { capabilities: capabilities(), raceFree: target.raceFree, alive: target.signal(0) }
        Promise.all([target.terminate({ forceKillAfterDelay: 1000 }), exit]).then(
          ([result, signal]) => console.log(JSON.stringify({ ...report, result, signal })),
          (error) => console.log(JSON.stringify({ ...report, error: error.message })))`,
      )
      // The SIGCONT after SIGTERM is listed only if the child was not reaped in between.
      const { signals, ...result } = report.result
      t.true(['SIGTERM,SIGCONT', 'SIGTERM'].includes(signals.join()), `signals: ${signals}`)
      t.deepEqual({ ...report, result }, {
        capabilities: { pidfd: false, groupSignal: false, exitInfo: false, pidfdInfo: false, pidfs: false, waitPath: 'libuv', killOnExit: false, backend: 'native' },
        raceFree: false,
        alive: true,
        result: { exited: true, forced: false, processes: 1 },
        signal: 'SIGTERM',
      })
    },
  )
}

testUnless(
  [noLauncher],
  'a kernel without PIDFD_SIGNAL_PROCESS_GROUP (EINVAL, as before 6.9): signalGroup falls back to killpg and still works',
  (t) => {
    const report = underFilter(
      'group:EINVAL',
      `const { spawn } = require('node:child_process')
      const { KillTarget, capabilities } = require(${PACKAGE})
      const leader = spawn('sleep', ['60'], { detached: true })
      const exit = new Promise((resolve) => leader.on('exit', (code, signal) => resolve(signal)))
      const target = KillTarget.fromChildProcess(leader)
      const report = { capabilities: capabilities(), raceFree: target.raceFree, sent: target.signalGroup('SIGTERM') }
      exit.then((signal) => console.log(JSON.stringify({ ...report, signal })))`,
    )
    t.like(report.capabilities, { pidfd: true, groupSignal: false })
    t.like(report, { raceFree: true, sent: true, signal: 'SIGTERM' })
  },
)

// The rest of the suite, in a process under the filter. KILL_TARGET_SECCOMP
// tells it so (target.spec then insists on capabilities().pidfd === false);
// this file is left out, so it does not run itself again.
// KILL_TARGET_SECCOMP_SPECS="NAME..." names the specs instead, where the
// whole suite twice costs too much (under an emulator).
const CHOSEN = process.env.KILL_TARGET_SECCOMP_SPECS?.split(/\s+/).filter(Boolean)
const SUITE = (
  CHOSEN?.map((name) => `${name}.spec.mts`) ??
  readdirSync(join(ROOT, '__test__')).filter((name) => name.endsWith('.spec.mts') && name !== 'seccomp.spec.mts')
).map((name) => join('__test__', name))
const SCOPE = CHOSEN ? `the specs ${CHOSEN.join(', ')}` : 'the whole suite'
// Enough that a suite which skipped nearly everything cannot pass for one.
const AT_LEAST = CHOSEN ? 10 : 50
const AVA = join(ROOT, 'node_modules', 'ava', 'entrypoints', 'cli.mjs')

for (const errno of ['ENOSYS', 'EPERM']) {
  testUnless(
    [noLauncher],
    `${SCOPE}, with pidfd calls answered ${errno}: all pass, skipping what needs pidfds`,
    async (t) => {
      if (!('path' in launcher)) throw new Error('unreachable: gated above')
      t.timeout(15 * 60_000)
      const child = spawn(launcher.path, [`all:${errno}`, process.execPath, AVA, '--tap', ...SUITE], {
        cwd: ROOT,
        env: { ...process.env, KILL_TARGET_DISABLE_PIDFD: '', KILL_TARGET_SECCOMP: errno },
        stdio: ['ignore', 'pipe', 'pipe'],
      })
      let output = ''
      child.stdout.setEncoding('utf8').on('data', (chunk) => (output += chunk))
      child.stderr.setEncoding('utf8').on('data', (chunk) => (output += chunk))
      const [code, signal] = await new Promise<[number | null, string | null]>((resolve) =>
        child.on('close', (code, signal) => resolve([code, signal])),
      )
      const lines = output.split('\n')
      const skipped = lines.filter((line) => /^ok .*# SKIP/.test(line))
      const passed = lines.filter((line) => /^ok /.test(line)).length - skipped.length
      t.log(`${passed} passed, ${skipped.length} skipped:\n${skipped.join('\n')}`)
      t.deepEqual(
        lines.filter((line) => line.startsWith('not ok')),
        [],
        output,
      )
      t.is(code, 0, `exit ${code ?? signal}\n${output}`)
      t.true(passed > AT_LEAST, `${passed} tests passed`)
    },
    { serial: true },
  )
}
