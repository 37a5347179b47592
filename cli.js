#!/usr/bin/env node
// The kill-target command: process ids (target.id) for shell scripts and CI
// steps, with the same guarantee as the library. See `kill-target --help`.
'use strict'

const { signals: NODE_SIGNALS } = require('node:os').constants
const { parseArgs } = require('node:util')

const HELP = `Usage:
  kill-target id <pid>
      Print the id of the live process <pid>: a string that names that
      process and no other, on this machine, ever. Keep it in a file, in
      place of a pidfile.
  kill-target stop <id> [--timeout <ms>] [--group] [--tree]
      Stop the process <id> names: SIGTERM (and SIGCONT), then SIGKILL if it
      is still there after --timeout ms (default 5000), and wait until it is
      gone. --group sends the signals to the process group it leads as well,
      --tree to all of its descendants as well.
  kill-target signal <id> <SIGNAL>
      Send one signal: a name (SIGHUP, or HUP) or a number (0 only checks
      that the process is there).
  kill-target timeout [OPTION] DURATION COMMAND [ARG]...
      GNU timeout's interface: run COMMAND, and stop it, with every process
      it started, after DURATION. Its own options and exit statuses:
      kill-target timeout --help.
  kill-target --help
      This text.

An id whose process is gone never reaches another process, whoever has its
pid now. Ids are "pidfs:<pid>:<inode>:<boot>" (Linux >= 6.9), or elsewhere
"starttime:<pid>:<ticks>:<boot>", a weaker kind: a process that took the pid
within the same clock tick as the first one started would match it.

Exit status (of id, stop and signal):
  0  it acted on the process (printed its id, stopped it, signalled it)
  3  the process was already gone
  2  bad usage: unknown command or option, or an argument that is not a pid,
     an id or a signal
  1  any other failure
Each failure prints one line on stderr.
`

const EXIT = { done: 0, failed: 1, usage: 2, gone: 3 }

/** A failure the command reports with its own exit status. */
class Exit extends Error {
  constructor(status, message) {
    super(message)
    this.status = status
  }
}

const usage = (message) => new Exit(EXIT.usage, `${message} (see kill-target --help)`)

/** The library's argument errors: what the command line gave was wrong. */
const USAGE_CODES = new Set(['ERR_INVALID_ARG_TYPE', 'ERR_INVALID_ARG_VALUE', 'ERR_OUT_OF_RANGE', 'ERR_UNKNOWN_SIGNAL'])

function statusOf(error) {
  if (error instanceof Exit) return error.status
  if (error?.code === 'ESRCH') return EXIT.gone
  if (USAGE_CODES.has(error?.code)) return EXIT.usage
  return EXIT.failed
}

function parse(argv) {
  const { values, positionals } = parseArgs({
    args: argv,
    allowPositionals: true,
    options: {
      timeout: { type: 'string' },
      group: { type: 'boolean' },
      tree: { type: 'boolean' },
      help: { type: 'boolean', short: 'h' },
    },
  })
  return { options: values, command: positionals[0], operands: positionals.slice(1) }
}

function expect(command, operands, names) {
  if (operands.length !== names.length) {
    throw usage(`${command} takes ${names.map((name) => `<${name}>`).join(' ')}`)
  }
}

/** `--timeout` is for stop only; `--group` and `--tree` too. */
function onlyFor(command, options) {
  const misplaced = ['timeout', 'group', 'tree'].find((name) => options[name] !== undefined)
  if (misplaced && command !== 'stop') throw usage(`--${misplaced} is an option of stop`)
}

function pid(text) {
  if (!/^[1-9][0-9]*$/.test(text)) throw usage(`not a pid: ${JSON.stringify(text)}`)
  return Number(text)
}

function milliseconds(text) {
  if (text === undefined) return undefined
  if (!/^(0|[1-9][0-9]*)$/.test(text)) throw usage(`--timeout takes milliseconds, not ${JSON.stringify(text)}`)
  return Number(text)
}

/** A name as Node spells it (SIGTERM), without SIG (TERM), or a number. */
function signal(text) {
  if (/^[0-9]+$/.test(text)) return Number(text)
  return text.startsWith('SIG') ? text : `SIG${text}`
}

const commands = {
  id({ KillTarget }, [text]) {
    const target = KillTarget.fromPid(pid(text))
    try {
      process.stdout.write(`${target.id}\n`)
    } finally {
      target.close()
    }
  },

  async stop({ KillTarget }, [id], options) {
    const forceKillAfterDelay = milliseconds(options.timeout)
    const target = KillTarget.fromId(id)
    try {
      const { exited, processes } = await target.terminate({
        ...(forceKillAfterDelay === undefined ? {} : { forceKillAfterDelay }),
        group: Boolean(options.group),
        tree: Boolean(options.tree),
      })
      if (processes === 0) throw new Exit(EXIT.gone, `no process has the id ${id}: it is already gone`)
      if (!exited) throw new Exit(EXIT.failed, `process ${target.pid} outlived SIGKILL (uninterruptible sleep?)`)
    } finally {
      target.close()
    }
  },

  signal({ KillTarget }, [id, name]) {
    const number = signal(name)
    const target = KillTarget.fromId(id)
    try {
      if (!target.signal(number)) throw new Exit(EXIT.gone, `no process has the id ${id}: it is already gone`)
    } finally {
      target.close()
    }
  },
}

const OPERANDS = { id: ['pid'], stop: ['id'], signal: ['id', 'SIGNAL'] }

async function main(argv) {
  let parsed
  try {
    parsed = parse(argv)
  } catch (error) {
    throw usage(error.message)
  }
  const { options, command, operands } = parsed
  if (options.help) {
    process.stdout.write(HELP)
    return
  }
  if (command === undefined) throw usage('a command is missing')
  if (!Object.hasOwn(commands, command)) throw usage(`unknown command ${JSON.stringify(command)}`)
  expect(command, operands, OPERANDS[command])
  onlyFor(command, options)
  // Loaded only for a command that will use it.
  await commands[command](require('./index.js'), operands, options)
}

// ---------------------------------------------------------------------------
// kill-target timeout: GNU coreutils' timeout(1), whose interface, exit
// statuses and diagnostics it keeps, over this package's tree kill and
// kill-on-exit. See docs/timeout.md.

const TIMEOUT_HELP = `Usage: kill-target timeout [OPTION] DURATION COMMAND [ARG]...
  or:  kill-target timeout [OPTION]
Start COMMAND, and kill it if still running after DURATION.
Unlike GNU timeout, the signal reaches every descendant of COMMAND, in
whatever session or process group, and nothing COMMAND started outlives
this command, however it ends.

Mandatory arguments to long options are mandatory for short options too.
  -f, --foreground
                 when not running timeout directly from a shell prompt,
                   allow COMMAND to read from the TTY and get TTY signals;
                   in this mode, children of COMMAND will not be timed out
  -k, --kill-after=DURATION
                 also send a KILL signal if COMMAND is still running
                   this long after the initial signal was sent
  -p, --preserve-status
                 exit with the same status as COMMAND, even when the
                   command times out
  -s, --signal=SIGNAL
                 specify the signal to be sent on timeout;
                   SIGNAL may be a name like 'HUP' or a number;
                   see 'kill -l' for a list of signals
  -v, --verbose  diagnose to stderr any signal sent upon timeout
      --help        display this help and exit
      --version     output version information and exit

DURATION is a floating point number with an optional suffix:
's' for seconds (the default), 'm' for minutes, 'h' for hours or 'd' for days.
A duration of 0 disables the associated timeout.

Upon timeout, send the TERM signal to COMMAND and its descendants, if no
other SIGNAL specified. The TERM signal kills any process that does not
block or catch that signal. It may be necessary to use the KILL signal,
since this signal can't be caught.

Exit status:
  124  if COMMAND times out, and --preserve-status is not specified
  125  if the timeout command itself fails
  126  if COMMAND is found but cannot be invoked
  127  if COMMAND cannot be found
  137  if COMMAND (or timeout itself) is sent the KILL (9) signal (128+9)
  -    the exit status of COMMAND otherwise
`

const TIMED_OUT = 124
const CANCELED = 125
const CANNOT_INVOKE = 126
const ENOENT_STATUS = 127

/** What this command's process title starts with: how an enclosing
 * kill-target timeout knows a nested one, whose subtree it leaves to it. */
const TITLE = 'kill-target timeout'

/** A quoted operand in diagnostics, as GNU's quote() writes it in the
 * C locale ('x'), or in a UTF-8 one (‘x’). */
function quote(text) {
  const locale = process.env.LC_ALL || process.env.LC_CTYPE || process.env.LANG || ''
  if (/utf-?8/i.test(locale)) return `\u2018${text}\u2019`
  return `'${text.replaceAll("'", "'\\''")}'`
}

class Canceled extends Error {}

/** Signal names as GNU's sig2str spells them, without SIG, by number. */
const SIGNAL_NAMES = ['HUP', 'INT', 'QUIT', 'ILL', 'TRAP', 'ABRT', 'BUS', 'FPE', 'KILL', 'USR1', 'SEGV', 'USR2', 'PIPE', 'ALRM', 'TERM', 'STKFLT', 'CHLD', 'CONT', 'STOP', 'TSTP', 'TTIN', 'TTOU', 'URG', 'XCPU', 'XFSZ', 'VTALRM', 'PROF', 'WINCH', 'IO', 'PWR', 'SYS', 'EMT', 'INFO', 'LOST']
const ALIASES = { IOT: 'ABRT', CLD: 'CHLD', POLL: 'IO' }

function signalNumbers() {
  const byName = new Map([['EXIT', 0]])
  const byNumber = new Map([[0, 'EXIT']])
  for (const name of SIGNAL_NAMES) {
    const number = NODE_SIGNALS[`SIG${name}`]
    if (number === undefined || byNumber.has(number)) continue
    byName.set(name, number)
    byNumber.set(number, name)
  }
  for (const [alias, name] of Object.entries(ALIASES)) if (byName.has(name)) byName.set(alias, byName.get(name))
  // Real-time signals, on Linux as glibc numbers them: RTMIN+n in the lower
  // half, RTMAX-n in the upper.
  if (process.platform === 'linux') {
    const [min, max] = [34, 64]
    for (let number = min; number <= max; number++) {
      const name = number - min <= (max - min) / 2 ? (number === min ? 'RTMIN' : `RTMIN+${number - min}`) : number === max ? 'RTMAX' : `RTMAX-${max - number}`
      byName.set(name, number)
      byNumber.set(number, name)
    }
  }
  return { byName, byNumber, max: Math.max(...byNumber.keys()) }
}

const SIGNALS = signalNumbers()
/** As GNU's diagnostics name a signal: 0 and unnamed ones as numbers. */
const signalName = (number) => (number === 0 ? '0' : (SIGNALS.byNumber.get(number) ?? String(number)))

/** GNU's operand2sig: a number (an exit status such as 137 stands for its
 * signal), or a name, any case, with or without SIG. */
function parseSignal(text) {
  let number = -1
  if (/^[0-9]/.test(text)) {
    if (/^[0-9]+$/.test(text) && Number(text) <= 2 ** 31 - 1) {
      number = Number(text)
      number &= number >= 0xff ? 0xff : 0x7f
    }
  } else {
    const upper = text.replace(/[a-z]/g, (c) => c.toUpperCase())
    number = SIGNALS.byName.get(upper) ?? (upper.startsWith('SIG') ? SIGNALS.byName.get(upper.slice(3)) : undefined) ?? -1
  }
  // Any number up to the highest signal is one, named or not (32 and 33,
  // which glibc keeps for itself, are spelled as numbers).
  if (number < 0 || number > SIGNALS.max || (!SIGNALS.byNumber.has(number) && Number.isNaN(Number(text)))) {
    process.stderr.write(`timeout: ${quote(text)}: invalid signal\n${TRY_HELP}`)
    throw new Canceled()
  }
  return number
}

/** The longest prefix of `text` that C's strtod reads, and its value:
 * white space, a sign, then a decimal or hexadecimal float, inf[inity] or
 * nan. */
function strtod(text) {
  const match = /^[ \t\n\v\f\r]*([+-]?)(?:(0[xX](?:[0-9a-fA-F]+\.?[0-9a-fA-F]*|\.[0-9a-fA-F]+)(?:[pP][+-]?[0-9]+)?)|((?:[0-9]+\.?[0-9]*|\.[0-9]+)(?:[eE][+-]?[0-9]+)?)|(inf(?:inity)?)|(nan(?:\([0-9A-Za-z_]*\))?))/i.exec(text)
  if (!match) return undefined
  const [whole, sign, hex, decimal, infinity] = match
  let value
  if (hex !== undefined) {
    const [, digits, exponent] = /^0[xX]([0-9a-fA-F.]*)(?:[pP]([+-]?[0-9]+))?$/.exec(hex)
    const [int, frac = ''] = digits.split('.')
    value = (Number.parseInt(int || '0', 16) + (frac ? Number.parseInt(frac, 16) / 16 ** frac.length : 0)) * 2 ** Number(exponent ?? 0)
  } else if (decimal !== undefined) {
    value = Number(decimal)
  } else {
    value = infinity !== undefined ? Infinity : NaN
  }
  // A number too small for a double is the smallest one, not zero (GNU's
  // dtimespec_bound): 1e-10000 is a limit of a nanosecond, not none, and
  // -1e-10000 is negative.
  if (value === 0 && /[1-9a-fA-F]/.test((hex ?? decimal ?? '').replace(/^0[xX]/, '').replace(/[pPeE].*$/, ''))) value = Number.MIN_VALUE
  return { value: sign === '-' ? -value : value, rest: text.slice(whole.length) }
}

const SUFFIXES = { '': 1, s: 1, m: 60, h: 60 * 60, d: 60 * 60 * 24 }

/** GNU's parse_duration: seconds, from a non-negative float with an
 * optional s, m, h or d. */
function parseDuration(text) {
  const read = strtod(text)
  if (read && read.value >= 0 && Object.hasOwn(SUFFIXES, read.rest)) return read.value * SUFFIXES[read.rest]
  process.stderr.write(`timeout: invalid time interval ${quote(text)}\n${TRY_HELP}`)
  throw new Canceled()
}

const TRY_HELP = "Try 'kill-target timeout --help' for more information.\n"

/** getopt_long("+fk:ps:v") with timeout's long options: options stop at
 * the first operand; long ones may be abbreviated. */
function parseTimeoutArgs(argv) {
  const LONG = {
    'kill-after': 'k',
    signal: 's',
    verbose: 'v',
    foreground: 'f',
    'preserve-status': 'p',
    help: 'help',
    version: 'version',
  }
  const WITH_ARGUMENT = new Set(['k', 's'])
  const seen = []
  let index = 0
  const fail = (message) => {
    process.stderr.write(`timeout: ${message}\n${TRY_HELP}`)
    throw new Canceled()
  }
  while (index < argv.length) {
    const arg = argv[index]
    if (arg === '--') {
      index++
      break
    }
    if (arg.startsWith('--')) {
      const [name, value] = arg.includes('=') ? [arg.slice(2, arg.indexOf('=')), arg.slice(arg.indexOf('=') + 1)] : [arg.slice(2), undefined]
      const matches = Object.hasOwn(LONG, name) ? [name] : Object.keys(LONG).filter((long) => long.startsWith(name))
      if (matches.length === 0) fail(`unrecognized option '--${name}'`)
      if (matches.length > 1) fail(`option '--${name}' is ambiguous; possibilities:${matches.map((m) => ` '--${m}'`).join('')}`)
      const option = LONG[matches[0]]
      index++
      if (WITH_ARGUMENT.has(option)) {
        if (value !== undefined) seen.push([option, value])
        else if (index < argv.length) seen.push([option, argv[index++]])
        else fail(`option '--${matches[0]}' requires an argument`)
      } else {
        if (value !== undefined) fail(`option '--${matches[0]}' doesn't allow an argument`)
        seen.push([option])
        if (option === 'help' || option === 'version') return { seen, operands: [] }
      }
      continue
    }
    if (!arg.startsWith('-') || arg === '-') break
    index++
    for (let at = 1; at < arg.length; at++) {
      const option = arg[at]
      if (WITH_ARGUMENT.has(option)) {
        if (at + 1 < arg.length) seen.push([option, arg.slice(at + 1)])
        else if (index < argv.length) seen.push([option, argv[index++]])
        else fail(`option requires an argument -- '${option}'`)
        break
      }
      if (!'fpv'.includes(option)) fail(`invalid option -- '${option}'`)
      seen.push([option])
    }
  }
  return { seen, operands: argv.slice(index) }
}

function timeoutOptions(argv) {
  const { seen, operands } = parseTimeoutArgs(argv)
  const options = { signal: SIGNALS.byName.get('TERM'), killAfter: 0, foreground: false, preserveStatus: false, verbose: false }
  for (const [option, value] of seen) {
    if (option === 'help') {
      process.stdout.write(TIMEOUT_HELP)
      return null
    }
    if (option === 'version') {
      process.stdout.write(`timeout (kill-target) ${require('./package.json').version}\n`)
      return null
    }
    if (option === 'k') options.killAfter = parseDuration(value)
    else if (option === 's') options.signal = parseSignal(value)
    else if (option === 'v') options.verbose = true
    else if (option === 'f') options.foreground = true
    else if (option === 'p') options.preserveStatus = true
  }
  if (operands.length < 2) {
    process.stderr.write(TRY_HELP)
    throw new Canceled()
  }
  options.duration = parseDuration(operands[0])
  options.command = operands[1]
  options.args = operands.slice(2)
  return options
}

/** Calls `action` after `seconds`, rounded up to the millisecond; past
 * what one timer can hold, in steps; an infinite duration never. */
function after(seconds, action) {
  const MAX = 2 ** 31 - 1
  let remaining = Math.max(1, Math.ceil(seconds * 1000))
  let timer
  const step = () => {
    if (remaining <= MAX) {
      timer = setTimeout(action, remaining)
    } else {
      remaining -= MAX
      timer = setTimeout(step, MAX)
    }
    timer.unref?.()
  }
  if (Number.isFinite(remaining)) step()
  return () => clearTimeout(timer)
}

/** What strerror says for the spawn errors a command can meet. */
const STRERROR = {
  ENOENT: 'No such file or directory',
  EACCES: 'Permission denied',
  ENOEXEC: 'Exec format error',
  ENOTDIR: 'Not a directory',
  ELOOP: 'Too many levels of symbolic links',
  ENAMETOOLONG: 'File name too long',
  E2BIG: 'Argument list too long',
  ENOMEM: 'Cannot allocate memory',
  EAGAIN: 'Resource temporarily unavailable',
  ETXTBSY: 'Text file busy',
  EISDIR: 'Is a directory',
  EPERM: 'Operation not permitted',
}

/** Signals whose default action dumps core: GNU's timeout re-raises them
 * only once it has disabled its own core dumps, which Node cannot. */
const CORE_SIGNALS = new Set(['QUIT', 'ILL', 'TRAP', 'ABRT', 'BUS', 'FPE', 'SEGV', 'XCPU', 'XFSZ', 'SYS'])

/** Whether `number` ends no process: 0 sends nothing, and the others stop
 * or continue it. */
function endsNothing(number) {
  return number === 0 || ['STOP', 'CONT', 'TSTP', 'TTIN', 'TTOU'].includes(signalName(number))
}

/** The signals that end a process by default, which timeout passes on to
 * its command as GNU's does (term-sig.h), less those Node cannot take
 * safely in JavaScript: the faults a bad instruction raises (a listener
 * would return into the fault), SIGSYS (a seccomp denial of Node's own),
 * and the real-time signals, for which Node has no names. */
const TERMINATING = ['ALRM', 'INT', 'QUIT', 'HUP', 'TERM', 'PIPE', 'USR1', 'USR2', 'ABRT', 'XCPU', 'XFSZ', 'VTALRM', 'PROF', 'IO', 'PWR', 'STKFLT']
const UNCATCHABLE = new Set(['KILL', 'STOP', 'ILL', 'TRAP', 'BUS', 'FPE', 'SEGV', 'SYS'])

/** How long the guardian waits, when timeout itself is gone, between the
 * timeout signal and SIGKILL to what is left of the tree. */
const ORPHAN_GRACE_MS = 200

/** Is this member another kill-target timeout, which owns its subtree?
 * Its title says so, or, before it has set one, its arguments (node
 * .../cli.js timeout, or .../kill-target timeout). Where there is no /proc
 * to read, nothing is. */
function isNestedTimeout(target) {
  try {
    const args = require('node:fs').readFileSync(`/proc/${target.pid}/cmdline`, 'latin1').split('\0')
    const started = args.findIndex((arg) => /(^|\/)(cli\.js|kill-target)$/.test(arg))
    return (args[0].startsWith(TITLE) || (started >= 0 && started <= 1 && args[started + 1] === 'timeout')) && target.isAlive()
  } catch {
    return false
  }
}

function timeout(argv) {
  process.title = `${TITLE} ${argv.join(' ')}`.slice(0, 200)
  let options
  try {
    options = timeoutOptions(argv)
  } catch (error) {
    if (!(error instanceof Canceled)) process.stderr.write(`timeout: ${error?.message ?? error}\n`)
    process.exit(CANCELED)
  }
  if (options === null) process.exit(0)
  const { spawn } = require('node:child_process')
  const { KillTarget } = require('./index.js')

  const KILL = SIGNALS.byName.get('KILL')
  let root = null
  let child = null
  let timedOut = false
  let killAfter = options.killAfter
  let cancelKill = () => {}
  const say = (message) => process.stderr.write(`timeout: ${message}\n`)
  // A diagnostic written to a closed pipe fails quietly, as GNU's does
  // (timeout -v 1 sleep 10 2>&1 | :).
  process.stderr.on('error', () => {})

  /** Sends `number` to every process the command's tree holds. Signals
   * terminate() cannot send (0, stop and continue signals) go one by one,
   * as do trees that hold another kill-target timeout: its subtree is left
   * to it, as GNU's timeout leaves the group of a nested one. */
  function sendToTree(number, escalateMs) {
    const name = signalName(number)
    // A name Node knows, or the number (real-time signals, 32, 33).
    const nodeName = NODE_SIGNALS[`SIG${name}`] === number ? `SIG${name}` : number
    const members = []
    let nested = false
    const each = endsNothing(number)
    let descendants = []
    try {
      descendants = root.descendants()
      nested = isNestedTimeout(root) || descendants.some(isNestedTimeout)
    } catch {
      // gone, or the walk failed: the terminate below reports nothing either
    }
    for (const target of descendants) {
      if (signalled.has(target.pid)) target.close()
      else signalled.set(target.pid, target)
    }
    if (!nested && !each) {
      root.terminate({ tree: true, killSignal: nodeName, forceKillAfterDelay: escalateMs ?? false }).catch(() => {})
      return
    }
    if (isNestedTimeout(root)) {
      members.push(root)
    } else {
      const skipped = new Set()
      for (const target of descendants) {
        if (skipped.has(target.pid)) continue
        if (isNestedTimeout(target)) for (const below of target.descendants()) skipped.add(below.pid)
      }
      members.push(root, ...descendants.filter((target) => !skipped.has(target.pid)))
    }
    for (const target of members) {
      try {
        if (number !== 0) target.signal(number)
        if (number !== KILL && name !== 'CONT') target.signal('SIGCONT')
      } catch {
        // another user's member: GNU's kill() fails on it just the same
      }
    }
    if (escalateMs !== undefined) {
      setTimeout(() => {
        for (const target of members) {
          try {
            target.signal(KILL)
          } catch {}
        }
      }, escalateMs).unref()
    }
  }

  /** The members of the tree when it was first signalled, by pid. */
  const signalled = new Map()
  let armed = null

  /** What timeout leaves behind, as it exits: nothing. Whatever of the
   * tree it signalled is still alive gets what the guardian gives the
   * rest: the guardian walks the tree every 100 ms, and a member younger
   * than that, or orphaned since, is only in this list. */
  function leaveNothing() {
    for (const target of signalled.values()) {
      try {
        if (!target.isAlive()) continue
        if (armed) target.killOnExit({ ...armed, tree: true })
        else target.signal(KILL)
      } catch {
        // gone since, or another user's
      }
    }
  }

  /** GNU's cleanup(): the limit (SIGALRM), or a signal sent to timeout. */
  function cleanup(number) {
    const alarm = SIGNALS.byName.get('ALRM')
    if (number === alarm) {
      timedOut = true
      number = options.signal
    }
    if (root === null) process.exit(128 + number)
    if (child.exitCode !== null || child.signalCode !== null) return
    let escalateMs
    if (killAfter) {
      escalateMs = Math.min(2 ** 31 - 1, Math.max(1, Math.ceil(killAfter * 1000)))
      cancelKill = after(killAfter, () => {
        options.signal = KILL
        cleanup(alarm)
      })
      killAfter = 0
    }
    if (options.verbose) say(`sending signal ${signalName(number)} to command ${quote(options.command)}`)
    if (options.foreground) {
      try {
        if (number !== 0) root.signal(number)
      } catch {}
      return
    }
    sendToTree(number, escalateMs)
  }

  const handled = new Map()
  for (const name of new Set([...TERMINATING, signalName(options.signal)])) {
    const number = SIGNALS.byName.get(name)
    if (number === undefined || !/^[A-Z]+[12]?$/.test(name) || UNCATCHABLE.has(name)) continue
    const listener = () => cleanup(number)
    try {
      process.on(`SIG${name}`, listener)
      handled.set(`SIG${name}`, listener)
    } catch {
      // a signal Node cannot listen for
    }
  }
  // As GNU's: a timeout in a background group is not stopped by the TTY.
  for (const name of ['SIGTTIN', 'SIGTTOU']) process.on(name, () => {})

  try {
    child = spawn(options.command, options.args, { stdio: 'inherit' })
  } catch (error) {
    say(`failed to run command ${quote(options.command)}: ${STRERROR[error.code] ?? error.message}`)
    process.exit(error.code === 'ENOENT' ? ENOENT_STATUS : CANNOT_INVOKE)
  }
  if (child.pid === undefined) {
    child.once('error', (error) => {
      say(`failed to run command ${quote(options.command)}: ${STRERROR[error.code] ?? error.message}`)
      process.exit(error.code === 'ENOENT' ? ENOENT_STATUS : CANNOT_INVOKE)
    })
    return
  }
  try {
    root = KillTarget.fromChildProcess(child)
  } catch (error) {
    // Gone already (killed at once): its status below tells.
  }
  if (root !== null) {
    try {
      // However timeout ends, what is left gets the timeout signal (as
      // GNU's PR_SET_PDEATHSIG gives it to the command), then SIGKILL.
      const signal = endsNothing(options.signal) ? KILL : options.signal
      const orphans = { signal, forceKillAfterDelay: ORPHAN_GRACE_MS }
      root.killOnExit({ ...orphans, tree: !options.foreground })
      armed = orphans
    } catch {
      // No guardian here (capabilities().killOnExit is false): the command
      // runs, as GNU's does, without the guarantee.
    }
  }
  const cancelLimit = options.duration > 0 ? after(options.duration, () => cleanup(SIGNALS.byName.get('ALRM'))) : () => {}
  if (root === null) root = { descendants: () => [], terminate: async () => {}, signal: () => false, pid: child.pid, isAlive: () => false }

  child.once('exit', (exitCode, signalCode) => {
    cancelLimit()
    cancelKill()
    leaveNothing()
    // Node reports a death by a signal it has no name for (real-time ones,
    // 32, 33) as exit code 0; the kernel, where it can tell, does not.
    let known = null
    try {
      known = root.exitStatus?.() ?? null
    } catch {}
    const { code, signal } = known ?? { code: exitCode, signal: signalCode }
    let status
    if (code !== null) {
      status = code
    } else {
      const name = signal.replace(/^SIG/, '')
      const number = NODE_SIGNALS[signal] ?? SIGNALS.byName.get(name) ?? Number(name)
      if (!timedOut && !CORE_SIGNALS.has(name)) {
        // Exit with the signal the command did: its default action back
        // (a listener added and removed leaves SIG_DFL, even for SIGPIPE,
        // which Node ignores), then raised.
        for (const [event, listener] of handled) process.off(event, listener)
        const noop = () => {}
        try {
          if (NODE_SIGNALS[signal] !== undefined) {
            process.on(signal, noop)
            process.off(signal, noop)
          }
          process.kill(process.pid, number)
        } catch {}
        setTimeout(() => process.exit(128 + number), 100)
        return
      }
      if (timedOut && number === KILL) options.preserveStatus = true
      status = 128 + number
    }
    if (timedOut && !options.preserveStatus) status = TIMED_OUT
    process.exit(status)
  })
}

if (process.argv[2] === 'timeout') {
  timeout(process.argv.slice(3))
} else {
  main(process.argv.slice(2)).then(
    () => process.exit(EXIT.done),
    (error) => {
      process.stderr.write(`kill-target: ${error?.message ?? error}\n`)
      process.exit(statusOf(error))
    },
  )
}
