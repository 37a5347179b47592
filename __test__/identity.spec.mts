// Process ids: target.id names one process, KillTarget.fromId opens it
// again (here, in another Node process, in a worker thread) and refuses
// what is not an id or names a process that is gone. Ids are of the pidfs
// kind where capabilities().pidfs is true (Linux >= 6.9), of the start-time
// kind elsewhere; fixtures/identity-cycles.mjs forces pid reuse at them.
import { execFileSync, spawn } from 'node:child_process'
import { readFileSync } from 'node:fs'
import { fileURLToPath } from 'node:url'
import { Worker } from 'node:worker_threads'

import test from 'ava'

import { KillTarget, capabilities } from '../index.js'
import { exitOf, sleeper, testUnless } from './helpers.mts'

const caps = capabilities()
const PACKAGE = fileURLToPath(new URL('../index.js', import.meta.url))
const KIND = caps.pidfs ? 'pidfs' : 'starttime'
const BOOT = readFileSync('/proc/sys/kernel/random/boot_id', 'utf8').trim().replaceAll('-', '')
const ID = /^(pidfs|starttime):([1-9][0-9]*):(0|[1-9][0-9]*):([0-9a-f]{32})$/
const noPidfs = caps.pidfs ? null : 'capabilities().pidfs is false: no pidfs here (Linux < 6.9, or no pidfds)'
const withPidfs = caps.pidfs ? 'capabilities().pidfs is true: ids here are of the pidfs kind (Linux ≥ 6.9)' : null

/** Field 22 of /proc/<pid>/stat: the start time, in clock ticks. */
function startTime(pid: number): string {
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8')
  return stat.slice(stat.lastIndexOf(')') + 2).split(' ')[19]
}

/** The start-time id of a live process, made by hand as the README spells it. */
const startTimeId = (pid: number) => `starttime:${pid}:${startTime(pid)}:${BOOT}`

/** The same id with one field changed. */
function withField(id: string, index: number, value: string): string {
  const fields = id.split(':')
  fields[index] = value
  return fields.join(':')
}

test(`target.id is ${KIND}:<pid>:<n>:<boot>, the same from every target on a process, another for another`, (t) => {
  const [a, b] = [sleeper(t), sleeper(t)]
  const id = KillTarget.fromChildProcess(a).id
  const [, kind, pid, stamp, boot] = ID.exec(id) ?? []
  t.deepEqual([kind, Number(pid), boot], [KIND, a.pid, BOOT], id)
  if (kind === 'starttime') t.is(stamp, startTime(a.pid!))
  t.is(KillTarget.fromPid(a.pid!).id, id)
  t.not(KillTarget.fromPid(b.pid!).id, id)
})

test('target.id is readable after close(), read before or not', (t) => {
  const child = sleeper(t)
  const id = KillTarget.fromPid(child.pid!).id
  const [readFirst, neverRead] = [KillTarget.fromPid(child.pid!), KillTarget.fromPid(child.pid!)]
  t.is(readFirst.id, id)
  readFirst.close()
  neverRead.close()
  t.is(readFirst.id, id)
  t.is(neverRead.id, id)
})

test('fromId opens the process the id names; its signals reach that process', async (t) => {
  const child = sleeper(t)
  const id = KillTarget.fromChildProcess(child).id
  const target = KillTarget.fromId(id)
  // An id of the start-time kind opens a target that says it is not race-free.
  t.like(target, { pid: child.pid, id, raceFree: caps.pidfs })
  t.true(target.signal('SIGTERM'))
  t.deepEqual(await exitOf(child), [null, 'SIGTERM'])
  target.close()
})

test('the id of a reaped process opens nothing: ESRCH', async (t) => {
  const child = spawn('true', { stdio: 'ignore' })
  const target = KillTarget.fromChildProcess(child)
  const id = target.id
  await exitOf(child)
  t.throws(() => KillTarget.fromId(id), { instanceOf: Error, code: 'ESRCH', message: new RegExp(`^No process has the id ${id}`) })
  target.close()
})

test(`an id first read after the reap: ${caps.pidfs ? 'the pidfs kind still answers' : 'the start-time kind is ESRCH'}`, async (t) => {
  const child = spawn('true', { stdio: 'ignore' })
  const target = KillTarget.fromChildProcess(child)
  await exitOf(child)
  if (caps.pidfs) t.regex(target.id, new RegExp(`^pidfs:${child.pid}:`))
  else t.throws(() => target.id, { code: 'ESRCH' })
  target.close()
})

// Two processes started in one clock tick share a start time: only a
// pidfs id names the process of one pid and not the other's.
test(`an id of another boot, or with another ${caps.pidfs ? 'pid or ' : ''}stamp, is ESRCH`, (t) => {
  const child = sleeper(t)
  const id = KillTarget.fromChildProcess(child).id
  const other = sleeper(t)
  const stamp = BigInt(id.split(':')[2])
  for (const changed of [
    withField(id, 3, '0'.repeat(32)),
    withField(id, 3, BOOT.replace(/.$/, (c) => (c === 'f' ? 'e' : 'f'))),
    ...(caps.pidfs ? [withField(id, 1, String(other.pid))] : []),
    withField(id, 2, String(stamp + 1n)),
    withField(id, 2, String(stamp - 1n)),
  ]) {
    t.throws(() => KillTarget.fromId(changed), { code: 'ESRCH' }, changed)
  }
  t.true(KillTarget.fromId(id).signal(0), 'the process is still there')
})

test('a string that is not an id is ERR_INVALID_ARG_VALUE; anything but a string ERR_INVALID_ARG_TYPE', (t) => {
  const id = KillTarget.fromPid(process.pid).id
  const notIds = [
    '',
    String(process.pid),
    id.toUpperCase(),
    ` ${id}`,
    `${id}\n`,
    `${id}:`,
    id.replace(/^[a-z]+/, 'pidfd'),
    withField(id, 1, `0${process.pid}`),
    withField(id, 1, '4194305'),
    withField(id, 2, '18446744073709551616'),
    withField(id, 3, BOOT.slice(1)),
    `pidfs:${process.pid}:1:${readFileSync('/proc/sys/kernel/random/boot_id', 'utf8').trim()}`,
    'x'.repeat(10_000),
  ]
  for (const text of notIds) {
    const error = t.throws(() => KillTarget.fromId(text), { instanceOf: TypeError, code: 'ERR_INVALID_ARG_VALUE' }, text.slice(0, 80))
    t.false(error?.message.includes('\n'))
  }
  for (const value of [undefined, null, process.pid, 1n, {}, [id], new String(id), Symbol('id')]) {
    t.throws(() => KillTarget.fromId(value as any), { instanceOf: TypeError, code: 'ERR_INVALID_ARG_TYPE' }, String(typeof value))
  }
})

test('an id of the start-time kind, made by hand, opens its process here too, and says it is not race-free', (t) => {
  const child = sleeper(t)
  const id = startTimeId(child.pid!)
  const target = KillTarget.fromId(id)
  t.like(target, { pid: child.pid, id, raceFree: false })
  t.true(target.signal(0))
  if (caps.pidfs) t.not(KillTarget.fromChildProcess(child).id, id, 'the two kinds are never equal')
  t.throws(() => KillTarget.fromId(withField(id, 2, String(Number(startTime(child.pid!)) + 1))), { code: 'ESRCH' })
})

testUnless([withPidfs], 'where pidfs is absent, target.id is of the start-time kind and fromId returns raceFree false', (t) => {
  const child = sleeper(t)
  const target = KillTarget.fromChildProcess(child)
  t.is(target.id, startTimeId(child.pid!))
  t.like(KillTarget.fromId(target.id), { pid: child.pid, raceFree: false })
  t.throws(() => KillTarget.fromId(`pidfs:${child.pid}:1:${BOOT}`), { instanceOf: TypeError, code: 'ERR_FEATURE_UNAVAILABLE_ON_PLATFORM' })
})

test('without pidfds (KILL_TARGET_DISABLE_PIDFD=1) ids are of the start-time kind, and open with raceFree false', (t) => {
  const child = sleeper(t)
  const strong = caps.pidfs ? KillTarget.fromChildProcess(child).id : null
  const script = `const { KillTarget, capabilities } = require(${JSON.stringify(PACKAGE)})
    const id = KillTarget.fromPid(Number(process.argv[1])).id
    const opened = KillTarget.fromId(id)
    let strong
    try { KillTarget.fromId(process.argv[2]) } catch (error) { strong = error.code }
    console.log(JSON.stringify({ pidfs: capabilities().pidfs, id, raceFree: opened.raceFree, strong }))`
  const out = execFileSync(process.execPath, ['-e', script, String(child.pid), strong ?? ''], {
    encoding: 'utf8',
    env: { ...process.env, KILL_TARGET_DISABLE_PIDFD: '1' },
  })
  const report = JSON.parse(out)
  t.deepEqual(report, {
    pidfs: false,
    id: startTimeId(child.pid!),
    raceFree: false,
    strong: strong ? 'ERR_FEATURE_UNAVAILABLE_ON_PLATFORM' : 'ERR_INVALID_ARG_VALUE',
  })
})

test('an id handed to another Node process opens the same process there', async (t) => {
  const child = sleeper(t)
  const id = KillTarget.fromChildProcess(child).id
  const script = `const target = require(${JSON.stringify(PACKAGE)}).KillTarget.fromId(process.argv[1])
    console.log(JSON.stringify({ pid: target.pid, id: target.id, sent: target.signal('SIGUSR1') }))`
  const out = execFileSync(process.execPath, ['-e', script, id], { encoding: 'utf8' })
  t.deepEqual(JSON.parse(out), { pid: child.pid, id, sent: true })
  t.deepEqual(await exitOf(child), [null, 'SIGUSR1'])
})

test('an id posted to a worker thread opens the same process there', async (t) => {
  const child = sleeper(t)
  const id = KillTarget.fromChildProcess(child).id
  const worker = new Worker(
    `const { parentPort } = require('node:worker_threads')
    const { KillTarget } = require(${JSON.stringify(PACKAGE)})
    parentPort.once('message', (id) => {
      const target = KillTarget.fromId(id)
      parentPort.postMessage({ pid: target.pid, id: target.id, sent: target.signal('SIGUSR2') })
      target.close()
    })`,
    { eval: true },
  )
  const reply = new Promise((resolve, reject) => {
    worker.once('message', resolve)
    worker.once('error', reject)
  })
  worker.postMessage(id)
  t.deepEqual(await reply, { pid: child.pid, id, sent: true })
  t.deepEqual(await exitOf(child), [null, 'SIGUSR2'])
  await worker.terminate()
})
