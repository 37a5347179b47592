// The kill-target command end to end: id, stop (a process that ignores
// SIGTERM, a group, a tree), signal, the exit statuses, and a stale id left
// in a file as a CI step would find it.
import { execFile } from 'node:child_process'
import { mkdtempSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'

import test, { type ExecutionContext } from 'ava'

import { KillTarget, capabilities } from '../index.js'
import { exitOf, readPids, running, shell, sleeper, testUnless } from './helpers.mts'

const CLI = fileURLToPath(new URL('../cli.js', import.meta.url))

type Run = { status: number; stdout: string; stderr: string }

/** Runs `kill-target ...args` (through `sh -c` when given a script). */
function run(args: string[], script?: string, env: NodeJS.ProcessEnv = process.env): Promise<Run> {
  const [file, argv] = script === undefined ? [process.execPath, [CLI, ...args]] : ['sh', ['-c', script, 'sh', process.execPath, CLI, ...args]]
  return new Promise((resolve) => {
    execFile(file, argv, { encoding: 'utf8', env }, (error, stdout, stderr) => {
      resolve({ status: error ? Number(error.code) : 0, stdout, stderr })
    })
  })
}

/** A failure's one line on stderr. */
function failed(t: ExecutionContext, result: Run, status: number, pattern: RegExp) {
  t.is(result.status, status, result.stderr)
  t.regex(result.stderr, /^kill-target: [^\n]+\n$/)
  t.regex(result.stderr, pattern)
  t.is(result.stdout, '')
}

test('id <pid> prints the id of a live process, as target.id does', async (t) => {
  const child = sleeper(t, {}, 600)
  const result = await run(['id', String(child.pid)])
  t.deepEqual(result, { status: 0, stdout: `${KillTarget.fromChildProcess(child).id}\n`, stderr: '' })
})

test('stop <id> terminates the process: SIGTERM, exit status 0', async (t) => {
  const child = sleeper(t, {}, 600)
  const result = await run(['stop', KillTarget.fromChildProcess(child).id])
  t.deepEqual(result, { status: 0, stdout: '', stderr: '' })
  t.deepEqual(await exitOf(child), [null, 'SIGTERM'])
})

test('stop --timeout: a process that ignores SIGTERM gets SIGKILL after that many ms', async (t) => {
  const child = shell(t, "trap '' TERM; echo ready; while :; do sleep 1; done")
  await readPids(child, 1)
  const started = Date.now()
  const result = await run(['stop', KillTarget.fromChildProcess(child).id, '--timeout', '300'])
  t.is(result.status, 0, result.stderr)
  t.deepEqual(await exitOf(child), [null, 'SIGKILL'])
  t.true(Date.now() - started >= 300)
})

test('stop --tree stops the descendants too; --group the process group', async (t) => {
  const tree = shell(t, 'sleep 60 & echo $!; wait')
  const [grandchild] = await readPids(tree, 1)
  t.is((await run(['stop', KillTarget.fromChildProcess(tree).id, '--tree'])).status, 0)
  await exitOf(tree)
  t.false(running(grandchild), 'the descendant is gone')

  const group = shell(t, 'sleep 60 & echo $!; wait', { detached: true })
  const [member] = await readPids(group, 1)
  t.is((await run(['stop', KillTarget.fromChildProcess(group).id, '--group'])).status, 0)
  await exitOf(group)
  t.false(running(member), 'the group member is gone')
})

test('signal <id> <SIGNAL> sends one signal, by name, without SIG, or by number', async (t) => {
  for (const [signal, name] of [['SIGUSR1', 'SIGUSR1'], ['HUP', 'SIGHUP'], ['10', 'SIGUSR1']]) {
    const child = sleeper(t, {}, 600)
    const result = await run(['signal', KillTarget.fromChildProcess(child).id, signal])
    t.deepEqual(result, { status: 0, stdout: '', stderr: '' }, signal)
    t.deepEqual(await exitOf(child), [null, name])
  }
})

test('a stale id left in a file: stop and signal exit 3, as does id of a pid nobody has', async (t) => {
  const child = sleeper(t, {}, 600)
  const file = join(mkdtempSync(join(tmpdir(), 'kill-target-cli-')), 'server.id')
  writeFileSync(file, KillTarget.fromChildProcess(child).id)
  child.kill('SIGKILL')
  await exitOf(child)
  // As a CI step runs it: npx kill-target stop "$(cat server.id)"
  failed(t, await run([file], '"$1" "$2" stop "$(cat "$3")"'), 3, /is gone/)
  failed(t, await run([file], '"$1" "$2" signal "$(cat "$3")" SIGTERM'), 3, /is gone/)
  failed(t, await run(['id', String(child.pid)]), 3, /ESRCH|pidfd_open|kill/)
})

test('bad usage exits 2 with one line on stderr', async (t) => {
  const child = sleeper(t, {}, 600)
  const id = KillTarget.fromChildProcess(child).id
  const cases: [string[], RegExp][] = [
    [[], /command is missing/],
    [['kill', id], /unknown command/],
    [['id'], /id takes <pid>/],
    [['id', '0'], /not a pid/],
    [['id', '12x'], /not a pid/],
    [['id', '99999999'], /out of range/],
    [['stop'], /stop takes <id>/],
    [['stop', String(child.pid)], /not a process id/],
    [['stop', id, '--timeout', 'soon'], /--timeout takes milliseconds/],
    [['stop', id, '--force'], /Unknown option/],
    [['signal', id], /signal takes <id> <SIGNAL>/],
    [['signal', id, 'SIGFOO'], /Unknown signal/],
    [['signal', id, '65'], /out of range/],
    [['signal', id, 'SIGTERM', '--tree'], /--tree is an option of stop/],
  ]
  for (const [args, pattern] of cases) failed(t, await run(args), 2, pattern)
  t.true(running(child.pid!), 'nothing was sent')
})

testUnless(
  [capabilities().pidfs ? null : 'capabilities().pidfs is false: no id of the pidfs kind to hand a command without pidfds'],
  'any other failure exits 1 with one line on stderr: a pidfs id where the command has no pidfds',
  async (t) => {
    const child = sleeper(t, {}, 600)
    const id = KillTarget.fromChildProcess(child).id
    const withoutPidfds = { ...process.env, KILL_TARGET_DISABLE_PIDFD: '1' }
    for (const args of [['stop', id], ['signal', id, 'SIGTERM']]) {
      failed(t, await run(args, undefined, withoutPidfds), 1, /ERR_FEATURE_UNAVAILABLE_ON_PLATFORM|pidfs/)
    }
    t.true(running(child.pid!), 'nothing was sent')
  },
)

test('--help documents every command, option and exit status', async (t) => {
  const result = await run(['--help'])
  t.is(result.status, 0)
  for (const word of ['id <pid>', 'stop <id>', '--timeout', '--group', '--tree', 'signal <id> <SIGNAL>', 'starttime:', '  0  ', '  3  ', '  2  ', '  1  ']) {
    t.true(result.stdout.includes(word), word)
  }
  t.is((await run(['stop', '-h'])).stdout, result.stdout)
})
