// killOnExit() where users break it: a tree that holds the program and its
// guardian, escalations that wait, options changed, the descriptor limit on
// either side, and an exec of the program. Each program is a fresh Node
// (helpers' program()), and what is left is found by its mark.
import { execFileSync, spawnSync, type SpawnSyncReturns } from 'node:child_process'
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'

import { capabilities } from '../index.js'
import { cpuTicks, delay, exitOf, guardianOf, heldBy, program, stateOf, testUnless, until } from './helpers.mts'

const unsupported = [capabilities().killOnExit ? null : 'capabilities().killOnExit is false here']

testUnless(unsupported, 'a tree armed at the program itself dies whole with the program; the guardian is no member and nothing is left stopped', async (t) => {
  const run = program(
    t,
    `spawn('sh', ['-c', 'sleep 60 & exec sleep 60'], { stdio: 'ignore' })
    KillTarget.fromPid(process.pid).killOnExit({ tree: true })
    report('armed')
    await delay(60_000)`,
  )
  await run.next()
  t.is(run.left().length, 2)
  const guardian = guardianOf(run.child.pid!)!
  t.true(await until(() => heldBy(guardian, run.child.pid!) >= 2), 'the guardian holds both sleeps')
  run.child.kill('SIGKILL')
  t.true(await until(() => run.left().length === 0), `left: ${run.left().map((pid) => `${pid} ${stateOf(pid)}`)}`)
  t.true(await until(() => [null, 'Z'].includes(stateOf(guardian))), `the guardian is ${stateOf(guardian)}`)
})

for (const how of ['terminate', 'treeKill'] as const) {
  testUnless(unsupported, `${how} of the program's own tree leaves its guardian alone: the same one guards it after, and descendants() does not list it`, async (t) => {
    const stop = how === 'terminate'
      ? `KillTarget.fromPid(process.pid).terminate({ tree: true, forceKillAfterDelay: false }).catch(() => {})`
      : `treeKill(process.pid, 'SIGTERM')`
    const run = program(
      t,
      `process.on('SIGTERM', () => {}) // the program outlives its own tree's signal
      const child = spawn('sleep', ['60'], { stdio: 'ignore' })
      KillTarget.fromChildProcess(child).killOnExit()
      report('armed')
      const { guardian } = await new Promise((resolve) => process.stdin.once('data', (line) => resolve(JSON.parse(line))))
      const listed = KillTarget.fromPid(process.pid).descendants().map((member) => member.pid)
      ${stop}
      await delay(300)
      report({ listed: listed.includes(guardian) })
      await delay(60_000)`,
    )
    await run.next()
    const guardian = guardianOf(run.child.pid!)!
    run.child.stdin!.write(JSON.stringify({ guardian }) + '\n')
    t.deepEqual(await run.next(), { listed: false })
    t.is(guardianOf(run.child.pid!), guardian, 'the same guardian')
    // Neither stopped (T) nor dead (Z, gone); running (R) when load has it mid-wake.
    const state = stateOf(guardian)
    t.true(state === 'S' || state === 'R', `the guardian is ${state}`)
  })
}

testUnless(unsupported, 'a guardian waiting to escalate sleeps: it uses no CPU until forceKillAfterDelay, then sends SIGKILL', async (t) => {
  const run = program(
    t,
    `const child = spawn('sh', ['-c', 'trap "" TERM; echo ready; exec sleep 60'], { stdio: ['ignore', 'pipe', 'ignore'] })
    KillTarget.fromChildProcess(child).killOnExit({ signal: 'SIGTERM', forceKillAfterDelay: 5000 })
    // Not a time: under emulation the shell can take longer than any guess to set its trap.
    await new Promise((resolve) => child.stdout.once('data', resolve))
    report('armed')
    await delay(60_000)`,
  )
  await run.next()
  const guardian = guardianOf(run.child.pid!)!
  const killed = performance.now()
  run.child.kill('SIGKILL')
  await delay(300)
  const before = cpuTicks(guardian)
  await delay(1000)
  const used = cpuTicks(guardian) - before
  // A spinning guardian uses every tick of the second (100 or more).
  t.true(used <= 10, `${used} ticks of CPU in 1 s`)
  t.true(await until(() => run.left().length === 0), 'SIGKILL after the delay')
  // A lower bound only, which load cannot break: the child ignores SIGTERM,
  // so it can have ended no sooner than the delay after the program.
  const ended = performance.now() - killed
  t.true(ended >= 5000, `the child ended ${Math.round(ended)} ms after the program`)
})

testUnless(unsupported, 'killOnExit({ tree: false }) after { tree: true } lets the members go: only the process armed dies with the program', async (t) => {
  const run = program(
    t,
    `const child = spawn('sh', ['-c', 'KT_MARK=$KT_MARK-member sleep 60 & exec sleep 60'], { stdio: 'ignore' })
    const target = KillTarget.fromChildProcess(child)
    target.killOnExit({ tree: true })
    report('armed')
    await new Promise((resolve) => process.stdin.once('data', resolve))
    target.killOnExit({ tree: false })
    report('untreed')
    await delay(60_000)`,
  )
  await run.next()
  t.is(run.left('-member').length, 1)
  const guardian = guardianOf(run.child.pid!)!
  t.true(await until(() => heldBy(guardian, run.child.pid!) === 2), 'the member was walked and held')
  run.child.stdin!.write('go\n')
  t.is(await run.next(), 'untreed')
  t.is(heldBy(guardian, run.child.pid!), 1, 'only the process armed is held')
  run.child.kill('SIGKILL')
  // The member carries its own mark: left() is the process armed alone.
  t.true(await until(() => run.left().length === 0), 'the process armed is gone')
  await delay(300)
  t.is(run.left('-member').length, 1, 'the member let go lives')
})

const INDEX = JSON.stringify(fileURLToPath(new URL('../index.js', import.meta.url)))

/**
 * Builds the LD_PRELOAD shim fixtures/`name`.c and tries it with `probe`,
 * a script Node runs with the shim and `env`: the reason it cannot work
 * here, or its path.
 */
function buildShim(name: string, probe: { script: string; env: Record<string, string>; works: (run: SpawnSyncReturns<string>) => boolean }): { reason: string } | { path: string } {
  if (spawnSync('cc', ['--version']).error) return { reason: `no C compiler (cc) to build fixtures/${name}.c` }
  const dir = mkdtempSync(join(tmpdir(), `${name}-`))
  process.on('exit', () => rmSync(dir, { recursive: true, force: true }))
  const path = join(dir, `${name}.so`)
  // A shim that does not compile is a failure, not a reason to skip.
  execFileSync('cc', ['-O2', '-Wall', '-Werror', '-shared', '-fPIC', '-o', path, fileURLToPath(new URL(`fixtures/${name}.c`, import.meta.url)), '-ldl'])
  const run = spawnSync(process.execPath, ['-e', probe.script], { encoding: 'utf8', env: { ...process.env, ...probe.env, LD_PRELOAD: path } })
  return probe.works(run) ? { path } : { reason: `the LD_PRELOAD shim ${name}.so does not reach this Node's libc (${run.stdout.trim() || run.stderr.trim()})` }
}

const shim = capabilities().killOnExit
  ? buildShim('emfile-pidfd', {
    script: `console.log(require(${INDEX}).KillTarget.fromPid(process.pid).raceFree)`,
    env: { EMFILE_PIDFD_WHILE: '/' },
    works: (run) => run.stdout.trim() === 'false',
  })
  : { reason: 'unused' }

testUnless([...unsupported, 'reason' in shim ? shim.reason : null], 'a member found while pidfd_open fails (EMFILE) is not held by number, and Node does not abort; once it succeeds the member is held', async (t) => {
  const flag = join(tmpdir(), `emfile-pidfd-${process.pid}-${Math.random()}`)
  t.teardown(() => {
    rmSync(flag, { force: true })
    rmSync(`${flag}.denied`, { force: true })
  })
  const run = program(
    t,
    `import { existsSync, writeFileSync, rmSync } from 'node:fs'
    const child = spawn('sh', ['-c', 'read go; KT_MARK=$KT_MARK-late sleep 60; :'], { stdio: ['pipe', 'ignore', 'ignore'] })
    const target = KillTarget.fromChildProcess(child)
    target.killOnExit({ tree: true })
    writeFileSync(process.env.EMFILE_PIDFD_WHILE, '')
    child.stdin.write('go\\n') // a new member, which no pidfd can be opened for now
    // Until a walk has tried it: the shim says so in a file of its own.
    while (!existsSync(process.env.EMFILE_PIDFD_WHILE + '.denied')) await delay(10)
    target.killOnExit(false)
    rmSync(process.env.EMFILE_PIDFD_WHILE)
    target.killOnExit({ tree: true })
    report('armed')
    await delay(60_000)`,
    { env: { LD_PRELOAD: 'path' in shim ? shim.path : '', EMFILE_PIDFD_WHILE: flag } },
  )
  t.is(await run.next(), 'armed', run.errors())
  t.is(run.left('-late').length, 1)
  const guardian = guardianOf(run.child.pid!)!
  t.true(await until(() => heldBy(guardian, run.child.pid!) === 2), 'the root and the late member are held')
  run.child.kill('SIGKILL')
  t.true(await until(() => run.left().length + run.left('-late').length === 0), 'the late member was held, and killed')
})

const noPrlimit = spawnSync('prlimit', ['--version']).status === 0 ? null : 'prlimit (util-linux) is not installed'

testUnless([...unsupported, noPrlimit], 'a guardian that cannot take a descriptor refuses the arming: killOnExit() throws EMFILE instead of arming nothing', async (t) => {
  const run = program(
    t,
    `KillTarget.fromChildProcess(spawn('sleep', ['60'], { stdio: 'ignore' })).killOnExit()
    report('started')
    await new Promise((resolve) => process.stdin.once('data', resolve))
    let armed = 0
    let error
    for (; armed < 40 && !error; armed++) {
      try {
        KillTarget.fromChildProcess(spawn('sleep', ['60'], { stdio: 'ignore' })).killOnExit()
      } catch (thrown) {
        error = { code: thrown.code, syscall: thrown.syscall }
      }
    }
    report({ armed, error })
    await delay(60_000)`,
  )
  await run.next()
  const guardian = guardianOf(run.child.pid!)!
  // Its stdio, socket, epoll set, the program's pidfd and the child's: 7.
  const { status } = spawnSync('prlimit', [`--pid=${guardian}`, '--nofile=16:16'])
  t.is(status, 0)
  run.child.stdin!.write('go\n')
  const { armed, error } = await run.next()
  t.deepEqual(error, { code: 'EMFILE', syscall: 'sendmsg' })
  t.true(armed < 40)
  t.is(run.left().length, armed + 1)
  run.child.kill('SIGKILL')
  t.true(await until(() => run.left().length === 1), 'every armed child died; the one refused lives')
})

testUnless(
  [...unsupported, typeof (process as { execve?: unknown }).execve === 'function' ? null : 'process.execve() needs Node ≥ 22.15 or 23.11'],
  'process.execve() ends the program for kill-on-exit: its armed child dies, and the new image goes on under the same pid',
  async (t) => {
    const run = program(
      t,
      `KillTarget.fromChildProcess(spawn('sleep', ['60'], { stdio: 'ignore' })).killOnExit()
      report('armed')
      process.execve('/bin/sh', ['sh', '-c', 'echo \\'"exec"\\'; exec sleep 60'])`,
    )
    t.is(await run.next(), 'armed')
    t.is(await run.next(), 'exec')
    t.true(await until(() => run.left().length === 0), 'the armed child is gone')
    t.is(stateOf(run.child.pid!), 'S', 'the program, exec\'d, goes on')
  },
)

const unread = capabilities().killOnExit
  ? buildShim('unread-answer', {
    script: `require(${INDEX}).KillTarget.fromPid(process.pid).killOnExit(); console.log('lived')`,
    env: { UNREAD_ANSWER_AT: '1' },
    works: (run) => run.signal === 'SIGKILL',
  })
  : { reason: 'unused' }

testUnless([...unsupported, 'reason' in unread ? unread.reason : null], 'a program that dies inside killOnExit(), the guardian\'s answer unread, still has what the guardian holds killed', async (t) => {
  const run = program(
    t,
    `// Answer 1 is the guardian's to the program's own pidfd; the shim
    // kills the program at answer 2, which says the guardian holds the child.
    KillTarget.fromChildProcess(spawn('sleep', ['60'], { stdio: 'ignore' })).killOnExit()
    report('lived')`,
    { env: { LD_PRELOAD: 'path' in unread ? unread.path : '', UNREAD_ANSWER_AT: '2' } },
  )
  const [, signal] = await exitOf(run.child)
  t.is(signal, 'SIGKILL', run.errors())
  t.true(await until(() => run.left().length === 0), `left: ${run.left()}`)
})
