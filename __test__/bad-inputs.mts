// The bad inputs of the README's error table, each with the error class and
// code it must be refused with: errors.spec checks the backend that loads,
// portable-contract.spec that the native and portable backends refuse each
// alike, down to the message.

export type Expected = [klass: ErrorConstructor, code: string]
export const TYPE: Expected = [TypeError, 'ERR_INVALID_ARG_TYPE']
export const RANGE: Expected = [RangeError, 'ERR_OUT_OF_RANGE']
export const SIGNAL: Expected = [TypeError, 'ERR_UNKNOWN_SIGNAL']
export const VALUE: Expected = [TypeError, 'ERR_INVALID_ARG_VALUE']

export const badPids: [string, unknown, Expected][] = [
  ['0 (would be the caller\'s group)', 0, RANGE],
  ['-1 (would be every process)', -1, RANGE],
  ['-2', -2, RANGE],
  ['-0', -0, RANGE],
  ['NaN', NaN, RANGE],
  ['1.5', 1.5, RANGE],
  ['0.5', 0.5, RANGE],
  ['2 ** 31', 2 ** 31, RANGE],
  ['4194305 (above PID_MAX_LIMIT)', 4194305, RANGE],
  ['Number.MAX_SAFE_INTEGER', Number.MAX_SAFE_INTEGER, RANGE],
  ['1e21', 1e21, RANGE],
  ['Infinity', Infinity, RANGE],
  ['-Infinity', -Infinity, RANGE],
  ["'123'", '123', TYPE],
  ["''", '', TYPE],
  ['null', null, TYPE],
  ['undefined', undefined, TYPE],
  ['{}', {}, TYPE],
  ['[]', [], TYPE],
  ['[1]', [1], TYPE],
  ['true', true, TYPE],
  ['123n', 123n, TYPE],
  ['Symbol()', Symbol('pid'), TYPE],
  ['a function', () => 1, TYPE],
  ['new Number(5)', new Number(5), TYPE],
]

export const badSignals: [string, unknown, Expected][] = [
  ["'SIGFOO'", 'SIGFOO', SIGNAL],
  ["'sigterm' (names are case-sensitive, as in process.kill)", 'sigterm', SIGNAL],
  ["'TERM'", 'TERM', SIGNAL],
  ["''", '', SIGNAL],
  ["'SIGTERM '", 'SIGTERM ', SIGNAL],
  ["'15'", '15', SIGNAL],
  ["'SIGBREAK' (not a Linux signal)", 'SIGBREAK', SIGNAL],
  ['65', 65, RANGE],
  ['-1', -1, RANGE],
  ['1.5 (would be SIGHUP if truncated)', 1.5, RANGE],
  ['NaN', NaN, RANGE],
  ['Infinity', Infinity, RANGE],
  ['2 ** 32 + 15 (would be SIGTERM if wrapped)', 2 ** 32 + 15, RANGE],
  ['null', null, TYPE],
  ['{}', {}, TYPE],
  ['[]', [], TYPE],
  ['true', true, TYPE],
  ['15n', 15n, TYPE],
  ['Symbol()', Symbol('SIGTERM'), TYPE],
]

export const badChildren: [string, unknown, Expected][] = [
  ['null', null, TYPE],
  ['undefined', undefined, TYPE],
  ['a number', 123, TYPE],
  ['a string', 'child', TYPE],
  ['an object without pid (spawn failed)', {}, VALUE],
  ['{ pid: undefined }', { pid: undefined, exitCode: null, signalCode: null }, VALUE],
  ['{ pid: 0 }', { pid: 0, exitCode: null, signalCode: null }, RANGE],
  ['{ pid: -1 }', { pid: -1, exitCode: null, signalCode: null }, RANGE],
  ["{ pid: '1' }", { pid: '1', exitCode: null, signalCode: null }, TYPE],
  ['{ pid: 1.5 }', { pid: 1.5, exitCode: null, signalCode: null }, RANGE],
]

export const badWaitOptions: [string, unknown, Expected][] = [
  ['null', null, TYPE],
  ["'fast'", 'fast', TYPE],
  ['{ timeout: -1 }', { timeout: -1 }, RANGE],
  ['{ timeout: 1.5 }', { timeout: 1.5 }, RANGE],
  ['{ timeout: NaN }', { timeout: NaN }, RANGE],
  ['{ timeout: 2 ** 31 }', { timeout: 2 ** 31 }, RANGE],
  ["{ timeout: '10' }", { timeout: '10' }, TYPE],
  ['{ timeout: null }', { timeout: null }, TYPE],
  ['{ signal: {} }', { signal: {} }, TYPE],
  ["{ signal: 'abort' }", { signal: 'abort' }, TYPE],
  ['{ signal: null }', { signal: null }, TYPE],
  ['{ signal: { aborted: false } } (no EventTarget methods)', { signal: { aborted: false } }, TYPE],
]

export const badTerminateOptions: [string, unknown, Expected][] = [
  ['null', null, TYPE],
  ["{ killSignal: 'SIGFOO' }", { killSignal: 'SIGFOO' }, SIGNAL],
  ["{ killSignal: 'sigkill' }", { killSignal: 'sigkill' }, SIGNAL],
  ['{ killSignal: 99 }', { killSignal: 99 }, RANGE],
  ['{ killSignal: null }', { killSignal: null }, TYPE],
  ['{ forceKillAfterDelay: true }', { forceKillAfterDelay: true }, TYPE],
  ['{ forceKillAfterDelay: -5 }', { forceKillAfterDelay: -5 }, RANGE],
  ["{ forceKillAfterDelay: '5' }", { forceKillAfterDelay: '5' }, TYPE],
  ["{ group: 'yes' }", { group: 'yes' }, TYPE],
  ['{ signal: 42 }', { signal: 42 }, TYPE],
]

export const badKillOnExitOptions: [string, unknown, Expected][] = [
  ['null', null, TYPE],
  ["'yes'", 'yes', TYPE],
  ['0', 0, TYPE],
  ["{ signal: 'SIGSTOP' }", { signal: 'SIGSTOP' }, VALUE],
  ['{ signal: 0 }', { signal: 0 }, VALUE],
  ["{ signal: 'SIGCONT' }", { signal: 'SIGCONT' }, VALUE],
  ['{ signal: 99 }', { signal: 99 }, RANGE],
  ["{ signal: 'kill' }", { signal: 'kill' }, SIGNAL],
  ['{ forceKillAfterDelay: true }', { forceKillAfterDelay: true }, TYPE],
  ['{ forceKillAfterDelay: 1.5 }', { forceKillAfterDelay: 1.5 }, RANGE],
  ['{ tree: 1 }', { tree: 1 }, TYPE],
]

const BOOT = '0123456789abcdef0123456789abcdef'
export const badIds: [string, unknown, Expected][] = [
  ['123', 123, TYPE],
  ['null', null, TYPE],
  ['undefined', undefined, TYPE],
  ['{}', {}, TYPE],
  ["''", '', VALUE],
  ["'pidfs:1:2'", 'pidfs:1:2', VALUE],
  ["'pidfd:1:2:BOOT'", `pidfd:1:2:${BOOT}`, VALUE],
  ["'starttime:0:1:BOOT' (pid 0)", `starttime:0:1:${BOOT}`, VALUE],
  ["'starttime:01:1:BOOT' (a leading zero)", `starttime:01:1:${BOOT}`, VALUE],
  ["'starttime:4194305:1:BOOT'", `starttime:4194305:1:${BOOT}`, VALUE],
  ["'starttime:1:18446744073709551616:BOOT' (above u64)", `starttime:1:18446744073709551616:${BOOT}`, VALUE],
  ["'starttime:1:1:BOOT:' (a fifth field)", `starttime:1:1:${BOOT}:`, VALUE],
  ['an upper-case boot', `starttime:1:1:${BOOT.toUpperCase()}`, VALUE],
  ['a long string', 'x'.repeat(150), VALUE],
  ['control characters', 'starttime:1:\n\t\r\0\u0007:x', VALUE],
  ['a lone surrogate', 'pidfs:\uD800:1', VALUE],
]
