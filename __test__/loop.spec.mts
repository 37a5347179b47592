// Waits live in the event loop of the JavaScript thread that made them
// (libuv's under Node; a helper thread's where KILL_TARGET_WAIT_THREAD=1,
// as under Bun and Deno): threads that end with waits pending, programs
// that exit with waits pending, and receivers that are not targets.
import { spawnSync } from 'node:child_process'
import { fileURLToPath } from 'node:url'

import test from 'ava'

import { KillTarget, capabilities } from '../index.js'
import { sleeper } from './helpers.mts'

const addon = fileURLToPath(new URL('../index.js', import.meta.url))
const teardown = fileURLToPath(new URL('fixtures/teardown.mjs', import.meta.url))

/** Runs a Node program to its end: its status, stdout and stderr. */
function node(args: string[]) {
  return spawnSync(process.execPath, args, { encoding: 'utf8', timeout: 60_000 })
}

test('waits are served where capabilities().waitPath says, and a thread starts none under libuv', (t) => {
  const script = `const { KillTarget, capabilities } = require(${JSON.stringify(addon)})
    const fs = require('node:fs')
    const threads = () => fs.readdirSync('/proc/self/task').length
    const before = threads()
    const child = require('node:child_process').spawn('sleep', ['60'])
    const target = KillTarget.fromChildProcess(child)
    const waits = Array.from({ length: 100 }, () => target.waitForExit())
    setTimeout(() => {
      const during = threads()
      target.signal('SIGKILL')
      Promise.all(waits).then((all) => console.log(JSON.stringify({ path: capabilities().waitPath, extra: during - before, all })))
    }, 200)`
  const run = node(['-e', script])
  t.is(run.stderr, '')
  const { path, extra, all } = JSON.parse(run.stdout)
  t.true(all.every((exited: boolean) => exited))
  t.is(path, capabilities().waitPath)
  if (path === 'libuv') t.is(extra, 0, 'no thread of its own')
  else t.true(extra >= 1, 'the helper thread')
})

for (const [workers, waits, terminates] of [
  [8, 1000, 0],
  [1, 50, 50],
]) {
  test(`${workers} worker(s) with ${waits} waits and ${terminates} terminations pending are terminated: every pidfd is released within 1 s and nothing is printed`, (t) => {
    const run = node([teardown, String(workers), String(waits), String(terminates)])
    t.is(run.stderr, '')
    t.is(run.status, 0)
    const { before, during, after } = JSON.parse(run.stdout)
    if (capabilities().pidfd) t.true(during >= before + workers, `${during} pidfds while waiting, ${before} before`)
    t.is(after, before)
  })
}

test('a program that exits with waits and terminations pending exits with its own code, silently', (t) => {
  const script = `const { KillTarget } = require(${JSON.stringify(addon)})
    const child = require('node:child_process').spawn('sh', ['-c', "trap '' TERM; exec sleep 60"])
    const target = KillTarget.fromChildProcess(child)
    target.waitForExit()
    target.waitForExit({ timeout: 60_000, signal: new AbortController().signal })
    target.terminate({ forceKillAfterDelay: false })
    setTimeout(() => { child.kill('SIGKILL'); process.exit(7) }, 100)`
  const run = node(['-e', script])
  t.is(run.stderr, '')
  t.is(run.status, 7)
})

test('a program whose waits all ended (one by its time limit) ends by itself with code 0', (t) => {
  const script = `const { KillTarget } = require(${JSON.stringify(addon)})
    const child = require('node:child_process').spawn('sleep', ['60'])
    const target = KillTarget.fromChildProcess(child)
    target.waitForExit({ timeout: 20 }).then((exited) => {
      console.log(exited)
      child.kill('SIGKILL')
    })`
  const run = node(['-e', script])
  t.is(run.stderr, '')
  t.is(run.stdout.trim(), 'false')
  t.is(run.status, 0)
})

test('a method called on anything but a target is a TypeError, and nothing is sent', (t) => {
  const child = sleeper(t)
  const target = KillTarget.fromChildProcess(child)
  class Other {}
  for (const receiver of [{}, new Other(), Object.create(KillTarget.prototype), new URL('file:///')]) {
    t.throws(() => KillTarget.prototype.signal.call(receiver, 'SIGKILL'), { instanceOf: TypeError })
    t.throws(() => KillTarget.prototype.isAlive.call(receiver), { instanceOf: TypeError })
    t.throws(() => Reflect.get(KillTarget.prototype, 'pid', receiver), { instanceOf: TypeError })
  }
  t.throws(() => Reflect.construct(KillTarget, [], Other), { instanceOf: TypeError, code: 'ERR_ILLEGAL_CONSTRUCTOR' })
  t.true(target.isAlive())
  target.close()
  t.throws(() => target.signal('SIGKILL'), { code: 'ERR_USE_AFTER_CLOSE' })
  t.is(child.exitCode, null)
})

test('new KillTarget() is a TypeError: targets come from the factories', (t) => {
  // @ts-expect-error the constructor is private
  t.throws(() => new KillTarget(), { instanceOf: TypeError, code: 'ERR_ILLEGAL_CONSTRUCTOR' })
})
