// Signal names and numbers as this platform's Node knows them
// (`os.constants.signals`): a name must be spelled exactly so, as
// `process.kill` requires; a number is sent as it is.

import { constants } from 'node:os'

/** The highest signal number the native backend accepts (Linux's SIGRTMAX); kept for one contract. */
export const MAX_SIGNAL = 64

/** The largest pid Linux hands out (`PID_MAX_LIMIT`). */
export const PID_MAX = 4_194_304

const SIGNALS = constants.signals as Record<string, number>

/** The number of a signal this platform names, or `undefined`. */
export function signalNamed(name: string): number | undefined {
  return Object.prototype.hasOwnProperty.call(SIGNALS, name) ? SIGNALS[name] : undefined
}

/** The number of a signal by name, where this platform has it. */
export function signalNumber(name: string): number | undefined {
  return signalNamed(name)
}

/** Each number's first name in Node's list: its primary one (SIGABRT before SIGIOT). */
const NAMES = new Map<number, string>()
for (const [name, number] of Object.entries(SIGNALS)) if (!NAMES.has(number) && name !== 'SIGUNUSED') NAMES.set(number, name)

/** The name Node uses; real-time signals as `kill -l` spells them (`SIGRTMIN+2`), as the native backend does. */
export function signalName(number: number): string {
  const known = NAMES.get(number)
  if (known !== undefined) return known
  if (process.platform === 'linux') {
    const SIGRTMIN = 34
    if (number === SIGRTMIN) return 'SIGRTMIN'
    if (number === MAX_SIGNAL) return 'SIGRTMAX'
    if (number > SIGRTMIN) return `SIGRTMIN+${number - SIGRTMIN}`
  }
  return `SIG${number}`
}
