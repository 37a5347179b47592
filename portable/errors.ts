// Every error the portable backend reports, with the class, code and
// message the native one gives for the same failure (src/errors.rs): a test
// compares the two, case by case.

/** The description strerror gives, as the native messages quote it. */
const DESCRIPTIONS: Record<string, string> = {
  EPERM: 'Operation not permitted',
  ESRCH: 'No such process',
  EINVAL: 'Invalid argument',
  ENOSYS: 'Function not implemented',
  EIO: 'Input/output error',
  EAGAIN: 'Resource temporarily unavailable',
  EACCES: 'Permission denied',
  ENOENT: 'No such file or directory',
  EMFILE: 'Too many open files',
}

type ErrorClass = ErrorConstructor | TypeErrorConstructor | RangeErrorConstructor

function shaped(Class: ErrorClass, code: string, message: string): NodeJS.ErrnoException {
  const error: NodeJS.ErrnoException = new Class(message)
  error.code = code
  return error
}

/** A value of the wrong JavaScript type. */
export function argType(name: string, expected: string, received: string) {
  return shaped(TypeError, 'ERR_INVALID_ARG_TYPE', `The "${name}" argument must be ${expected}. Received ${received}`)
}

/** A number outside what the argument accepts. */
export function outOfRange(name: string, range: string, received: string) {
  return shaped(RangeError, 'ERR_OUT_OF_RANGE', `The value of "${name}" is out of range. It must be ${range}. Received ${received}`)
}

export function unknownSignal(name: string) {
  return shaped(TypeError, 'ERR_UNKNOWN_SIGNAL', `Unknown signal: ${name}`)
}

export function notSpawned() {
  return shaped(TypeError, 'ERR_INVALID_ARG_VALUE', 'The "child" argument has no pid: the child process failed to spawn')
}

export function illegalConstructor() {
  return shaped(TypeError, 'ERR_ILLEGAL_CONSTRUCTOR', 'Illegal constructor: use KillTarget.fromChildProcess() or KillTarget.fromPid()')
}

export function invalidThis() {
  return shaped(TypeError, 'ERR_INVALID_THIS', 'Value of "this" must be of type KillTarget')
}

export function cannotTerminate(name: string, signal: string) {
  return shaped(TypeError, 'ERR_INVALID_ARG_VALUE', `The argument '${name}' cannot end a process. Received ${signal}`)
}

export function alreadyExited(pid: number) {
  return shaped(Error, 'ESRCH', `Child process ${pid} has already exited: its pid may belong to another process now`)
}

/** A failed system call (or the command standing in for one), as the native backend shapes it. */
export function sys(syscall: string, code: string, errno: number, pid: number) {
  const error = shaped(Error, code, `${syscall} ${code}: ${DESCRIPTIONS[code] ?? code} (pid ${pid})`)
  error.errno = errno
  error.syscall = syscall
  return error
}

/** Signals refused to some members of a tree, each named: every other member got them. */
export function denied(syscall: string, errno: number, pids: number[]) {
  const noun = pids.length === 1 ? 'pid' : 'pids'
  const error = shaped(Error, 'EPERM', `${syscall} EPERM: ${DESCRIPTIONS.EPERM} (${noun} ${pids.join(', ')})`)
  error.errno = errno
  error.syscall = syscall
  ;(error as NodeJS.ErrnoException & { pids: number[] }).pids = pids
  return error
}

export function invalidId(received: string) {
  return shaped(
    TypeError,
    'ERR_INVALID_ARG_VALUE',
    `The argument 'id' is not a process id (pidfs:PID:INODE:BOOT or starttime:PID:TICKS:BOOT). Received ${quoted(received)}`,
  )
}

export function noSuchId(id: string) {
  return shaped(Error, 'ESRCH', `No process has the id ${id}: it is gone, whoever has its pid now`)
}

export function idUnknown(pid: number) {
  return shaped(
    Error,
    'ESRCH',
    `Process ${pid} was reaped before its id was read, and without pidfs (Linux ≥ 6.9) its id cannot be made after`,
  )
}

export function needsPidfs() {
  return shaped(
    TypeError,
    'ERR_FEATURE_UNAVAILABLE_ON_PLATFORM',
    'An id of the pidfs kind needs pidfs (Linux ≥ 6.9), which this process does not have: capabilities().pidfs is false',
  )
}

/** Something this platform cannot do at all (Node's own code for it). */
export function unavailable(message: string) {
  return shaped(TypeError, 'ERR_FEATURE_UNAVAILABLE_ON_PLATFORM', message)
}

export function notGroupLeader(pid: number) {
  return shaped(
    Error,
    'ERR_NOT_GROUP_LEADER',
    `Process ${pid} does not lead a process group; spawn it with \`detached: true\` to give it one`,
  )
}

export function closed() {
  return shaped(Error, 'ERR_USE_AFTER_CLOSE', 'This KillTarget is closed')
}

export function closedWhileWaiting(pid: number) {
  return shaped(Error, 'ERR_USE_AFTER_CLOSE', `The KillTarget for process ${pid} was closed while waiting for it to exit`)
}

export function killOnExitUnsupported(reason: string) {
  return shaped(Error, 'ERR_KILL_ON_EXIT_UNSUPPORTED', `killOnExit() cannot keep its guarantee here: ${reason}`)
}

export function aborted(cause: unknown) {
  const error = shaped(Error, 'ABORT_ERR', 'The operation was aborted')
  error.name = 'AbortError'
  ;(error as Error & { cause: unknown }).cause = cause
  return error
}

/** A string as Node's messages quote it: on one line, cut short as `util.inspect` cuts long ones. */
function quoted(text: string): string {
  const SHOWN = 100
  const chars = Array.from(text)
  const escape = (c: string) => {
    const code = c.codePointAt(0)!
    if (!isControl(code)) return c
    switch (c) {
      case '\t':
        return '\\t'
      case '\r':
        return '\\r'
      case '\n':
        return '\\n'
      case '\0':
        return '\\0'
      default:
        return `\\u{${code.toString(16)}}`
    }
  }
  const shown = chars.slice(0, SHOWN).map(escape).join('')
  const more = Math.max(chars.length - SHOWN, 0)
  return more === 0 ? `'${shown}'` : `'${shown}'... ${more} more characters`
}

/** Rust's `char::is_control`: the Unicode general category Cc. */
function isControl(code: number): boolean {
  return code <= 0x1f || (code >= 0x7f && code <= 0x9f)
}
