// Property-based: values of every JavaScript type as pids, signals, children
// and options. Each call either works as documented or throws (rejects) one
// of the documented errors; argument errors are thrown before any system
// call. Sentinels in this worker's own process group must survive it all: a
// pid of 0 or -1 reaching kill(2) would take them down, and this worker too.
import { constants } from 'node:os'

import test, { type ExecutionContext } from 'ava'
import fc from 'fast-check'

import { KillTarget } from '../index.js'
import { delay, readPids, scaled, shell, sleeper, testUnless, unsendableSignals } from './helpers.mts'

const RUNS = scaled(2000, 50_000)
const PID_MAX = 4_194_304
const NAMES = Object.keys(constants.signals)

/** Every documented error, as [class name, code]. */
const DOCUMENTED = new Set(
  [
    ['TypeError', 'ERR_INVALID_ARG_TYPE'],
    ['RangeError', 'ERR_OUT_OF_RANGE'],
    ['TypeError', 'ERR_UNKNOWN_SIGNAL'],
    ['TypeError', 'ERR_INVALID_ARG_VALUE'],
    ['Error', 'ERR_NOT_GROUP_LEADER'],
    ['Error', 'ESRCH'],
    ['TypeError', 'ERR_FEATURE_UNAVAILABLE_ON_PLATFORM'],
  ].map(String),
)
const TYPE = 'TypeError,ERR_INVALID_ARG_TYPE'
const RANGE = 'RangeError,ERR_OUT_OF_RANGE'
const SIGNAL = 'TypeError,ERR_UNKNOWN_SIGNAL'

/** A thrown value as 'Class,code', checked against the documented set. */
function shape(error: unknown): string {
  const described = error instanceof Error ? `${error.constructor.name},${(error as NodeJS.ErrnoException).code}` : `non-error ${String(error)}`
  if (!DOCUMENTED.has(described)) throw new Error(`undocumented error ${described}: ${error}`)
  if (described.includes('ERR_') && (error as NodeJS.ErrnoException).syscall !== undefined) {
    throw new Error(`argument error ${described} after a system call`)
  }
  return described
}

const signalNames = fc.oneof(
  fc.constantFrom(...NAMES, 'SIGUNUSED', 'SIGEMT', 'SIGINFO', 'SIGLOST', 'SIGBREAK', 'SIGCLD', 'SIGRTMIN', 'SIGRTMAX', 'SIGRTMIN+1', 'SIG0'),
  fc
    .constantFrom(...NAMES)
    .chain((name) => fc.constantFrom(name.toLowerCase(), name.slice(3), `${name} `, ` ${name}`, `${name}\0`, name.replace('SIG', 'sig'))),
)

/** Values of every JavaScript type, weighted towards the edges of the valid ranges. */
const anything = fc.oneof(
  fc.anything({ withBigInt: true, withBoxedValues: true, withDate: true, withMap: true, withSet: true, withTypedArray: true, withNullPrototype: true, withObjectString: true }),
  fc.integer({ min: -70, max: 70 }),
  fc.integer({ min: PID_MAX - 3, max: PID_MAX + 3 }),
  fc.integer(),
  fc.double(),
  fc.bigInt(),
  fc.constantFrom(-0, NaN, Infinity, -Infinity, 0.5, -1, 2 ** 31, 2 ** 32, 2 ** 32 + 15, 2 ** 53, Number.MIN_VALUE, Number.EPSILON),
  signalNames,
  fc.string(),
  fc.constantFrom(undefined, null, true, false, Symbol('hostile'), () => 15, new Number(15), new String('SIGTERM'), [15], ['SIGTERM'], { valueOf: () => 15 }),
)

/** What a documented argument check makes of a pid: an error, or 'valid'. */
function pidVerdict(value: unknown): string {
  if (typeof value !== 'number') return TYPE
  return Number.isInteger(value) && value >= 1 && value <= PID_MAX ? 'valid' : RANGE
}

/** The same for a signal (undefined is the default, SIGTERM). */
function signalVerdict(value: unknown): string {
  if (value === undefined) return 'valid'
  if (typeof value === 'number') return Number.isInteger(value) && value >= 0 && value <= 64 ? 'valid' : RANGE
  if (typeof value === 'string') return NAMES.includes(value) ? 'valid' : SIGNAL
  return TYPE
}

/** Sentinels in this worker's process group, and a check that they live. */
function sentinels(t: ExecutionContext) {
  const children = Array.from({ length: 3 }, () => sleeper(t))
  const targets = children.map((child) => KillTarget.fromChildProcess(child))
  return async () => {
    await delay(100) // a stray signal would have landed by now
    for (const [i, child] of children.entries()) {
      t.is(child.exitCode, null, `sentinel ${child.pid}`)
      t.is(child.signalCode, null, `sentinel ${child.pid}`)
      t.true(targets[i].isAlive(), `sentinel ${child.pid}`)
    }
  }
}

/**
 * A target whose process takes any signal harmlessly: an exited group
 * leader that nobody reaps (a zombie), in a session of its own.
 */
async function zombieLeader(t: ExecutionContext): Promise<KillTarget> {
  // The leader exits only once its parent has become `sleep`, which never
  // reaps: the shell before it might. The sleep outlasts any run, however
  // long other tests block this worker's event loop (when it ends, init
  // reaps the leader).
  const leader = 'until read name < /proc/$PPID/comm && [ "$name" = sleep ]; do :; done'
  const parent = shell(t, `setsid sh -c '${leader}' & echo $!; exec sleep 3600`)
  const [pid] = await readPids(parent, 1)
  const target = KillTarget.fromPid(pid)
  t.true(await target.waitForExit({ timeout: 5000 }), 'the leader has exited')
  t.true(target.signalGroup(0), 'and still leads its group')
  return target
}

test(`fromPid: ${RUNS} values of every type are a target, ESRCH, or the documented argument error`, async (t) => {
  const survived = sentinels(t)
  fc.assert(
    fc.property(anything, (pid) => {
      const verdict = pidVerdict(pid)
      let target: KillTarget
      try {
        target = KillTarget.fromPid(pid as number)
      } catch (error) {
        const got = shape(error)
        return got === verdict || (verdict === 'valid' && got === 'Error,ESRCH')
      }
      target.close()
      return verdict === 'valid' && target.pid === pid
    }),
    { numRuns: RUNS },
  )
  t.pass()
  await survived()
})

test(`fromId: ${RUNS} strings, and a live id with a field changed, open nothing else and throw only documented errors`, async (t) => {
  const survived = sentinels(t)
  const live = sleeper(t)
  const id = KillTarget.fromChildProcess(live).id
  const changed = fc
    .tuple(fc.nat({ max: 4 }), fc.oneof(fc.string(), fc.nat().map(String), fc.constantFrom('', '0', 'pidfs', 'starttime', id)))
    .map(([index, value]) => {
      const fields = id.split(':')
      fields[index] = value
      return fields.join(':')
    })
  const value = fc.oneof(fc.string(), fc.string({ unit: 'binary' }), changed, changed, anything)
  fc.assert(
    fc.property(value, (text) => {
      let target: KillTarget
      try {
        target = KillTarget.fromId(text as string)
      } catch (error) {
        const got = shape(error)
        return typeof text === 'string' ? got !== TYPE : got === TYPE
      }
      target.close()
      if (text === id) return target.pid === live.pid
      // A start-time id names whichever process has its pid and start time.
      return id.startsWith('starttime:') && !target.raceFree && String(target.pid) === (text as string).split(':')[1]
    }),
    { numRuns: RUNS },
  )
  t.pass()
  await survived()
  t.is(live.exitCode ?? live.signalCode, null, 'the process the id names was sent nothing either')
})

testUnless([unsendableSignals()], `signal and signalGroup: ${RUNS} values of every type are sent, or refused with the documented error`, async (t) => {
  const survived = sentinels(t)
  const target = await zombieLeader(t)
  fc.assert(
    fc.property(anything, (signal) => {
      const verdict = signalVerdict(signal)
      for (const send of [() => target.signal(signal as any), () => target.signalGroup(signal as any)]) {
        let sent: boolean
        try {
          sent = send()
        } catch (error) {
          if (shape(error) !== verdict) return false
          continue
        }
        if (verdict !== 'valid' || sent !== true) return false
      }
      return true
    }),
    { numRuns: RUNS },
  )
  t.pass()
  await survived()
})

test(`fromChildProcess: ${RUNS} values and child look-alikes of every type throw only documented errors`, async (t) => {
  const survived = sentinels(t)
  const child = fc.oneof(
    anything,
    fc.record({ pid: anything, exitCode: anything, signalCode: anything }, { requiredKeys: [] }),
  )
  fc.assert(
    fc.property(child, (value) => {
      try {
        KillTarget.fromChildProcess(value as any).close()
      } catch (error) {
        shape(error)
        return true
      }
      // Only a live child of this process may be opened; none is generated.
      return false
    }),
    { numRuns: RUNS },
  )
  t.pass()
  await survived()
})

test(`waitForExit and terminate: ${RUNS / 4} options of every type resolve or reject with documented errors`, async (t) => {
  const survived = sentinels(t)
  const target = await zombieLeader(t)
  const options = fc.oneof(
    anything,
    fc.record(
      { timeout: anything, killSignal: anything, forceKillAfterDelay: anything, group: anything, signal: anything },
      { requiredKeys: [] },
    ),
  )
  await fc.assert(
    fc.asyncProperty(options, async (value) => {
      for (const call of [() => target.waitForExit(value as any), () => target.terminate(value as any)]) {
        let promise: Promise<unknown>
        try {
          promise = call()
        } catch (error) {
          throw new Error(`a promise API threw instead of rejecting: ${error}`)
        }
        try {
          const result = await promise
          // The zombie has exited: a wait resolves true, terminate sees it exit.
          if (result !== true && (result as { exited?: boolean }).exited !== true) return false
        } catch (error) {
          shape(error)
        }
      }
      return true
    }),
    { numRuns: RUNS / 4 },
  )
  t.pass()
  await survived()
})
