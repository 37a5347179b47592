// compat/tree-kill against the real tree-kill 1.2.2, call by call. Every
// argument form goes through both, each on a fresh tree of its own (root,
// child, grandchild in a new session), in fixtures/tree-kill-differential.mjs:
// what each member caught or became, what was thrown, what reached the
// callback and when, what was uncaught, what was tried outside the tree.
// Every call whose outcome differs must be a row of the stand-in README's
// table, with both outcomes as this file renders them, and every row of
// that table must be such a call: the README cannot drift from the code.
// Then the same on Windows, with the platform stubbed and nothing spawned.
import { spawn } from 'node:child_process'
import { readFileSync } from 'node:fs'
import { createRequire } from 'node:module'
import { fileURLToPath } from 'node:url'

import test from 'ava'

import { probePidNamespaces } from '../examples/pid-reuse.mjs'
import { standIn, testUnless, underEmulation, withoutPidfd } from './helpers.mts'

const ROOT = fileURLToPath(new URL('..', import.meta.url))
const COMPAT = standIn()
const FIXTURE = fileURLToPath(new URL('fixtures/tree-kill-differential.mjs', import.meta.url))
const TREE_KILL = createRequire(import.meta.url).resolve('tree-kill')
// Each call builds a tree and waits for its signals: natively only, where
// that takes milliseconds (the arm64 suite runs under an emulator). Not
// probed without pidfds, where the test does not run.
const namespace = withoutPidfd() ? null : probePidNamespaces()
const emulated = namespace?.ok ? underEmulation(namespace) : null

type Arg = 'cb' | string | number | boolean | null | { expression: string } | { undefined: true } | { nan: true } | { infinity: true } | { object: true }
interface Call {
  /** As the README's table names it. */
  name: string
  args: Arg[]
  /** The tree the call is given: a fresh one, one whose child is stopped before, one on a PATH without ps, a gone pid, or none. */
  tree?: 'fresh' | 'stopped' | 'no-ps' | 'gone' | 'none'
}
interface Described {
  class: string
  name: string
  code?: string
  message: string
  errno?: number
  syscall?: string
}
type Value = Described | string
interface Outcome {
  name: string
  thrown?: Described
  value: string
  callbacks: { when: string; args: Value[] }[]
  uncaught: Described[]
  outside: string[]
  spawned: string[]
  exec: string[]
  members?: Record<string, { caught: string[]; state: string }>
}

const pid = { expression: 'pid' }
const cb = 'cb' as const
const CALLS: Call[] = [
  { name: 'treeKill(pid)', args: [pid] },
  { name: 'treeKill(pid, cb)', args: [pid, cb] },
  { name: 'treeKill(String(pid), cb)', args: [{ expression: 'String(pid)' }, cb] },
  { name: 'treeKill(`${pid}abc`, cb)', args: [{ expression: '`${pid}abc`' }, cb] },
  { name: "treeKill(' ' + pid, cb)", args: [{ expression: "' ' + pid" }, cb] },
  { name: 'treeKill(pid + 0.75, cb)', args: [{ expression: 'pid + 0.75' }, cb] },
  { name: "treeKill(pid + '.9', cb)", args: [{ expression: "pid + '.9'" }, cb] },
  { name: "treeKill('0x' + pid.toString(16), cb)", args: [{ expression: "'0x' + pid.toString(16)" }, cb] },
  { name: 'treeKill([pid], cb)', args: [{ expression: '[pid]' }, cb] },
  { name: "treeKill(pid, 'SIGKILL', cb)", args: [pid, 'SIGKILL', cb] },
  { name: 'treeKill(pid, 9, cb)', args: [pid, 9, cb] },
  { name: "treeKill(pid, 'SIGINT', cb)", args: [pid, 'SIGINT', cb] },
  { name: "treeKill(pid, 'SIGHUP')", args: [pid, 'SIGHUP'] },
  { name: "treeKill(pid, 'SIGUSR1', cb)", args: [pid, 'SIGUSR1', cb] },
  { name: "treeKill(pid, 'SIGSTOP', cb)", args: [pid, 'SIGSTOP', cb] },
  { name: "treeKill(pid, 'SIGTSTP', cb)", args: [pid, 'SIGTSTP', cb] },
  { name: "treeKill(pid, 'SIGTTIN', cb)", args: [pid, 'SIGTTIN', cb] },
  { name: "treeKill(pid, 'SIGCONT', cb)", args: [pid, 'SIGCONT', cb] },
  { name: 'treeKill(pid, 0, cb)', args: [pid, 0, cb] },
  { name: 'treeKill(pid, 34, cb)', args: [pid, 34, cb] },
  { name: 'treeKill(pid, undefined, cb)', args: [pid, { undefined: true }, cb] },
  { name: 'treeKill(pid, null, cb)', args: [pid, null, cb] },
  { name: "treeKill(pid, '', cb)", args: [pid, '', cb] },
  { name: 'treeKill(pid, false, cb)', args: [pid, false, cb] },
  { name: 'treeKill(pid, NaN, cb)', args: [pid, { nan: true }, cb] },
  { name: "treeKill(pid, '9', cb)", args: [pid, '9', cb] },
  { name: 'treeKill(pid, 9.5, cb)', args: [pid, 9.5, cb] },
  { name: 'treeKill(pid, 100, cb)', args: [pid, 100, cb] },
  { name: 'treeKill(pid, -1, cb)', args: [pid, -1, cb] },
  { name: "treeKill(pid, 'sigterm', cb)", args: [pid, 'sigterm', cb] },
  { name: "treeKill(pid, 'SIGFOO', cb)", args: [pid, 'SIGFOO', cb] },
  { name: "treeKill(pid, 'SIGFOO')", args: [pid, 'SIGFOO'] },
  { name: 'treeKill(pid, 100)', args: [pid, 100] },
  { name: "treeKill(pid, 'SIGTERM', 'not a function')", args: [pid, 'SIGTERM', 'not a function'] },
  { name: 'treeKill(pid, cb), its child stopped before', args: [pid, cb], tree: 'stopped' },
  { name: 'treeKill(pid, cb), no ps on the PATH', args: [pid, cb], tree: 'no-ps' },
  { name: 'treeKill(gone, cb)', args: [pid, cb], tree: 'gone' },
  { name: 'treeKill(gone)', args: [pid], tree: 'gone' },
  { name: "treeKill(gone, 'SIGFOO', cb)", args: [pid, 'SIGFOO', cb], tree: 'gone' },
  { name: 'treeKill(gone, 100, cb)', args: [pid, 100, cb], tree: 'gone' },
  { name: 'treeKill(gone, 9.5, cb)', args: [pid, 9.5, cb], tree: 'gone' },
  { name: "treeKill('abc', cb)", args: ['abc', cb], tree: 'none' },
  { name: "treeKill('abc')", args: ['abc'], tree: 'none' },
  { name: 'treeKill(undefined, cb)', args: [{ undefined: true }, cb], tree: 'none' },
  { name: 'treeKill(null)', args: [null], tree: 'none' },
  { name: 'treeKill({}, cb)', args: [{ object: true }, cb], tree: 'none' },
  { name: 'treeKill(Infinity, cb)', args: [{ infinity: true }, cb], tree: 'none' },
  { name: 'treeKill(0, cb)', args: [0, cb], tree: 'none' },
  { name: 'treeKill(-1, cb)', args: [-1, cb], tree: 'none' },
  { name: "treeKill(0, 'SIGFOO', cb)", args: [0, 'SIGFOO', cb], tree: 'none' },
  { name: 'treeKill(4194305, cb)', args: [4194305, cb], tree: 'none' },
  { name: 'treeKill(2 ** 31, cb)', args: [2 ** 31, cb], tree: 'none' },
  { name: "treeKill(2 ** 31, 'SIGFOO', cb)", args: [2 ** 31, 'SIGFOO', cb], tree: 'none' },
]
/** On Windows (stubbed): tree-kill runs taskkill, whatever the signal. */
const WINDOWS: Call[] = [
  { name: 'Windows: treeKill(4242)', args: [4242] },
  { name: 'Windows: treeKill(4242, cb)', args: [4242, cb] },
  { name: "Windows: treeKill('4242', 'SIGKILL', cb)", args: ['4242', 'SIGKILL', cb] },
  { name: "Windows: treeKill(4242, 'SIGFOO', cb)", args: [4242, 'SIGFOO', cb] },
  { name: 'Windows: treeKill(0, cb)', args: [0, cb] },
  { name: "Windows: treeKill('abc', cb)", args: ['abc', cb] },
]

/** Runs `calls` through the implementation at `path`, in the fixture. */
function outcomes(path: string, mode: 'linux' | 'win32', calls: Call[]): Promise<Outcome[]> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [FIXTURE, path, mode, ROOT], { stdio: ['pipe', 'pipe', 'inherit'] })
    let text = ''
    child.stdout.on('data', (chunk) => (text += chunk))
    child.on('error', reject)
    child.on('close', (code) => {
      const lines = text.split('\n').filter(Boolean)
      if (code !== 0 || lines.length !== calls.length) reject(new Error(`fixture exited with ${code} after ${lines.length} of ${calls.length} calls`))
      else resolve(lines.map((line) => JSON.parse(line) as Outcome))
    })
    child.stdin.end(JSON.stringify(calls.map((call) => ({ tree: mode === 'win32' ? 'none' : 'fresh', ...call }))))
  })
}

const error = (e: Described) => `${e.class}${e.code ? ` ${e.code}` : ''}: ${e.message}${e.syscall ? ` (errno ${e.errno}, syscall ${e.syscall})` : ''}`
const value = (v: Value) => (typeof v === 'string' ? v : error(v))

/** What the members caught and became, one phrase per member, or one for all. */
function members(tree: NonNullable<Outcome['members']>) {
  const each = Object.entries(tree).map(([role, { caught, state }]) => [role, [caught.join('+'), state === 'running' ? '' : state].filter(Boolean).join(' ') || 'untouched'])
  if (each.every(([, phrase]) => phrase === each[0][1])) return `members: ${each[0][1]}`
  return each.map(([role, phrase]) => `${role} ${phrase}`).join(', ')
}

/** An outcome as the README's table writes it. */
function render(outcome: Outcome): string {
  const parts: string[] = []
  if (outcome.thrown) parts.push(`throws ${error(outcome.thrown)}`)
  if (outcome.value !== 'undefined') parts.push(`returns ${outcome.value}`)
  for (const call of outcome.callbacks) parts.push(`callback(${call.args.map(value).join(', ')}) ${call.when}`)
  for (const uncaught of outcome.uncaught) parts.push(`uncaught ${error(uncaught)}`)
  if (outcome.outside.length) parts.push(`outside the tree: ${outcome.outside.join(', ')}`)
  if (outcome.exec.length) parts.push(`exec ${outcome.exec.join(', ')}`)
  if (outcome.spawned.length) parts.push(`spawn ${outcome.spawned.join(', ')}`)
  if (outcome.members) parts.push(members(outcome.members))
  return parts.join('; ') || 'nothing observable'
}

/** Everything compared: the rendering, and each error's own keys. */
const full = ({ name: _, ...outcome }: Outcome) => JSON.stringify(outcome)

/** The README's table of differences: call → [tree-kill, stand-in, why]. */
function readmeTable(): Map<string, [string, string, string]> {
  const text = readFileSync(`${COMPAT}README.md`, 'utf8')
  const start = text.indexOf('| call | tree-kill 1.2.2 | kill-target-tree-kill | why |')
  if (start < 0) throw new Error('the README has no table of differences')
  const rows = text.slice(start).split('\n\n')[0].trim().split('\n').slice(2)
  return new Map(
    rows.map((row) => {
      const cells = row
        .slice(1, -1)
        .split(' | ')
        .map((cell) => cell.trim().replaceAll('`', ''))
      if (cells.length !== 4) throw new Error(`a row of the table has ${cells.length} cells: ${row}`)
      return [cells[0], [cells[1], cells[2], cells[3]]]
    }),
  )
}

/**
 * Both implementations' outcomes of `calls`, each in `shards` fixtures at
 * once (the calls mostly wait for signals to land), and the calls whose
 * outcomes differ.
 */
async function differences(mode: 'linux' | 'win32', calls: Call[], shards = 1) {
  const size = Math.ceil(calls.length / shards)
  const parts = Array.from({ length: shards }, (_, i) => calls.slice(i * size, (i + 1) * size)).filter((part) => part.length)
  const run = async (path: string) => (await Promise.all(parts.map((part) => outcomes(path, mode, part)))).flat()
  const [real, stand] = await Promise.all([run(TREE_KILL), run(COMPAT)])
  const differing = calls.filter((_, i) => full(real[i]) !== full(stand[i]))
  return { real, stand, differing }
}

testUnless([withoutPidfd(), emulated], "every argument form through tree-kill 1.2.2 and the stand-in: what differs is exactly the README's table", async (t) => {
  t.timeout(240_000)
  const table = readmeTable()
  const { real, stand } = await differences('linux', CALLS, 2)
  // As the README says: the same outcome where it lists nothing, and its
  // two outcomes where it lists the call.
  const asListed = (i: number) => {
    const row = table.get(CALLS[i].name)
    return row ? row[0] === render(real[i]) && row[1] === render(stand[i]) : full(real[i]) === full(stand[i])
  }
  // A call that is not as listed is measured again once, so that a signal
  // caught late on a loaded machine is not taken for a difference.
  const again = CALLS.filter((_, i) => !asListed(i))
  if (again.length) {
    const second = await differences('linux', again)
    for (const [i, call] of again.entries()) {
      real[CALLS.indexOf(call)] = second.real[i]
      stand[CALLS.indexOf(call)] = second.stand[i]
    }
  }
  const differing = CALLS.filter((_, i) => full(real[i]) !== full(stand[i]))
  const found = new Map(differing.map((call) => [call.name, [render(real[CALLS.indexOf(call)]), render(stand[CALLS.indexOf(call)])]]))
  for (const [name, [treeKill, standIn]] of found) {
    // The row it would take, for whoever writes it.
    if (!table.has(name)) t.log(`| \`${name}\` | ${treeKill} | ${standIn} | |`)
    t.deepEqual(table.get(name)?.slice(0, 2), [treeKill, standIn], `${name} differs; the README's table must say so, as measured`)
  }
  for (const [name, [, , why]] of table) {
    if (name.startsWith('Windows: ')) continue
    t.true(found.has(name), `the README lists ${name}, which does not differ (or is not a call here)`)
    t.true(why.length > 0, `the README gives no reason for ${name}`)
  }
  // The rows the issue measured, as tree-kill gives them.
  const at = (name: string) => render(stand[CALLS.findIndex((call) => call.name === name)])
  t.is(at("treeKill(pid, '', cb)"), 'callback() later; members: SIGTERM')
  t.is(at('treeKill(pid, false, cb)'), 'callback() later; members: SIGTERM')
  t.is(at("treeKill(gone, 'SIGFOO', cb)"), 'callback(TypeError ERR_UNKNOWN_SIGNAL: Unknown signal: SIGFOO) later')
  t.is(at('treeKill(pid, 100, cb)'), 'callback(Error EINVAL: kill EINVAL (errno -22, syscall kill)) later; members: untouched')
  t.is(at('treeKill(pid, 9.5, cb)'), 'callback(TypeError ERR_UNKNOWN_SIGNAL: Unknown signal: 9.5) later; members: untouched')
})

test('on Windows (platform stubbed), taskkill /pid N /T /F runs as in tree-kill, with its callback semantics, and nothing is spawned', async (t) => {
  const { real, stand, differing } = await differences('win32', WINDOWS)
  t.deepEqual(
    differing.map((call) => call.name),
    [...readmeTable().keys()].filter((name) => name.startsWith('Windows: ')),
  )
  for (const [i, call] of WINDOWS.entries()) t.deepEqual(stand[i], real[i], call.name)
  t.deepEqual(stand[0].exec, ['taskkill /pid 4242 /T /F'])
  t.deepEqual(stand[2].exec, ['taskkill /pid 4242 /T /F'])
  t.deepEqual(stand[2].callbacks, [{ when: 'later', args: ['null', '""', '""'] }], "exec's own (error, stdout, stderr)")
  t.deepEqual(
    stand.flatMap((outcome) => outcome.spawned),
    [],
    'no ps, nothing spawned',
  )
  t.deepEqual(stand.flatMap((outcome) => outcome.uncaught), [])
})
