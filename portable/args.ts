// Checks JavaScript arguments before anything reaches the system, with the
// rules, order and messages of the native backend (src/js/args.rs), which
// follows Node's own validators.

import { argType, cannotTerminate, outOfRange, unknownSignal } from './errors'
import { signalNamed, signalNumber, PID_MAX, MAX_SIGNAL } from './signals'

/** A signal number, checked. */
export type Signal = number

/** The grace period before SIGKILL when none is given, as in execa. */
export const DEFAULT_FORCE_KILL_AFTER = 5000

/** Node's `String()` of a value, as N-API's coercion makes it; lone surrogates become U+FFFD. */
function stringOf(value: unknown): string {
  return wellFormed(String(value))
}

export function wellFormed(text: string): string {
  const native = (text as string & { toWellFormed?: () => string }).toWellFormed
  if (native) return native.call(text)
  return text.replace(/[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/g, '\uFFFD')
}

/** `value.constructor.name`, when there is one. */
function constructorName(value: object): string | undefined {
  try {
    const constructor = (value as { constructor?: unknown }).constructor
    if (typeof constructor !== 'function') return undefined
    const name = (constructor as { name?: unknown }).name
    return typeof name === 'string' && name !== '' ? name : undefined
  } catch {
    return undefined
  }
}

/** How Node's `ERR_INVALID_ARG_TYPE` describes the value it received. */
export function received(value: unknown): string {
  if (value === null) return 'null'
  switch (typeof value) {
    case 'undefined':
      return 'undefined'
    case 'function':
      return 'function'
    case 'object': {
      const name = constructorName(value)
      return name === undefined ? '[Object: null prototype]' : `an instance of ${name}`
    }
    case 'string': {
      const chars = Array.from(wellFormed(value))
      const shown = chars.slice(0, 25).join('')
      return `type string ('${shown}'${chars.length > 25 ? '...' : ''})`
    }
    case 'bigint':
      return `type bigint (${stringOf(value)}n)`
    case 'symbol':
      return 'type symbol'
    case 'number':
      return `type number (${stringOf(value)})`
    case 'boolean':
      return `type boolean (${stringOf(value)})`
    default:
      return 'a value of unknown type'
  }
}

function wrongType(value: unknown, name: string, expected: string) {
  return argType(name, expected, received(value))
}

/** The integer check and range check of `validateInteger`. */
function inRange(number: number, name: string, min: number, max: number): number {
  if (!Number.isInteger(number)) throw outOfRange(name, 'an integer', stringOf(number))
  if (number < min || number > max) throw outOfRange(name, `>= ${min} && <= ${max}`, stringOf(number))
  return number
}

/** Node's `validateInteger`: a number, an integer, within `min..=max`. */
function integer(value: unknown, name: string, min: number, max: number): number {
  if (typeof value !== 'number') throw wrongType(value, name, 'of type number')
  return inRange(value, name, min, max)
}

/** A pid: an integer in 1..=4194304. 0 and negative numbers would signal whole groups. */
export function pid(value: unknown, name: string): number {
  return integer(value, name, 1, PID_MAX)
}

/** A string. */
export function string(value: unknown, name: string): string {
  if (typeof value !== 'string') throw wrongType(value, name, 'of type string')
  return wellFormed(value)
}

/** A signal name or number; `undefined` means `fallback`. */
export function signal(value: unknown, name: string, fallback: Signal): Signal {
  if (typeof value === 'number') return inRange(value, name, 0, MAX_SIGNAL)
  if (value === undefined) return fallback
  if (typeof value === 'string') {
    const number = signalNamed(value)
    if (number === undefined) throw unknownSignal(wellFormed(value))
    return number
  }
  throw wrongType(value, name, 'one of type string or number')
}

/** False for 0 and for the signals that stop or continue a process. */
export function canTerminate(signal: Signal): boolean {
  if (signal === 0) return false
  return !['SIGSTOP', 'SIGCONT', 'SIGTSTP', 'SIGTTIN', 'SIGTTOU'].some((name) => signalNumber(name) === signal)
}

/** A signal that can end a process, for `terminate()` and `killOnExit()`. */
export function killSignal(value: unknown, name: string): Signal {
  const number = signal(value, name, signalNumber('SIGTERM')!)
  if (canTerminate(number)) return number
  throw cannotTerminate(name, typeof value === 'string' ? `'${wellFormed(value)}'` : stringOf(value))
}

/** An object (not `null`, not a function). */
export function object(value: unknown, name: string): object {
  if (typeof value === 'object' && value !== null) return value
  throw wrongType(value, name, 'of type object')
}

/** An options object, or `undefined` for none. */
export function options(value: unknown): object | undefined {
  return value === undefined ? undefined : object(value, 'options')
}

/** `killOnExit`'s argument: `null` for `false`, `undefined` for `true` or none, or an options object. */
export function switchOrOptions(value: unknown): object | undefined | null {
  if (typeof value === 'boolean') return value ? undefined : null
  if (value === undefined) return undefined
  if (typeof value === 'object' && value !== null) return value
  throw wrongType(value, 'options', 'of type boolean or object')
}

/** Reads a property: `undefined` when missing; the caller's getter may throw, and that is what the call throws. */
export function property(options: object | undefined, key: string): unknown {
  return options === undefined ? undefined : (options as Record<string, unknown>)[key]
}

/** A delay in milliseconds: an integer from 0 to the longest delay `setTimeout` honours. */
export function millis(value: unknown, name: string): number {
  return integer(value, name, 0, 2 ** 31 - 1)
}

/** `forceKillAfterDelay`: milliseconds (default 5000), or `false` (`null` here) for never. */
export function delayOrNever(value: unknown, name: string): number | null {
  if (value === undefined) return DEFAULT_FORCE_KILL_AFTER
  if (value === false) return null
  if (typeof value === 'number') return millis(value, name)
  throw wrongType(value, name, 'of type number or false')
}

/** A boolean option. */
export function flag(value: unknown, name: string): boolean {
  if (value === undefined) return false
  if (typeof value === 'boolean') return value
  throw wrongType(value, name, 'of type boolean')
}

/** The EventTarget face of an AbortSignal this package uses. */
export interface SignalLike {
  aborted: unknown
  reason?: unknown
  addEventListener(type: string, listener: () => void): void
  removeEventListener(type: string, listener: () => void): void
}

/**
 * An AbortSignal: an object with an `aborted` property, as Node's
 * `validateAbortSignal` asks, and the EventTarget methods this package
 * listens with.
 */
export function abortSignal(value: unknown): SignalLike | undefined {
  if (value === undefined) return undefined
  const notASignal = () => wrongType(value, 'options.signal', 'an instance of AbortSignal')
  if (typeof value !== 'object' || value === null) throw notASignal()
  const isMethod = (key: string) => typeof (value as Record<string, unknown>)[key] === 'function'
  if ('aborted' in value && isMethod('addEventListener') && isMethod('removeEventListener')) return value as SignalLike
  throw notASignal()
}
