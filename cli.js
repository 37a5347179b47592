#!/usr/bin/env node
// The kill-target command: process ids (target.id) for shell scripts and CI
// steps, with the same guarantee as the library. See `kill-target --help`.
'use strict'

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
  kill-target --help
      This text.

An id whose process is gone never reaches another process, whoever has its
pid now. Ids are "pidfs:<pid>:<inode>:<boot>" (Linux >= 6.9), or elsewhere
"starttime:<pid>:<ticks>:<boot>", a weaker kind: a process that took the pid
within the same clock tick as the first one started would match it.

Exit status:
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

main(process.argv.slice(2)).then(
  () => process.exit(EXIT.done),
  (error) => {
    process.stderr.write(`kill-target: ${error?.message ?? error}\n`)
    process.exit(statusOf(error))
  },
)
