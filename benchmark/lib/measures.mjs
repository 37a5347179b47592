// A measure is one line of results.json: what was measured against what
// (its baseline), in which unit, and the goal it is held to. Everything that
// shows measures (the printed report, the docs' table, the chart) formats
// them here, so a new measure needs no change anywhere else.
//
// Labels may hold `code` spans: the docs show them as code, the chart
// and the terminal as plain text.

const COMPARE = { '<=': '≤', '>=': '≥' }

export const plain = (text) => text.replaceAll('`', '')

/** `signal(0) ÷ child.kill(0)` for a ratio; the measure alone otherwise. */
export const label = (m) => (m.unit === 'ratio' ? `${m.what} ÷ ${m.baseline}` : m.what)

const number = (v, digits, least = 0) => v.toLocaleString('en-US', { minimumFractionDigits: least, maximumFractionDigits: digits })

/** A value in its unit: 2.04×, 1,974 B, 1, 0.5 ms, 12.3 µs, 85 ns. */
export function format(unit, v) {
  if (unit === 'ratio') return `${v.toFixed(2)}×`
  if (unit === 'bytes') return `${number(Math.round(v), 0)} B`
  if (unit === 'ms') return `${number(v, 1)} ms`
  if (unit === 'us') return `${number(v, 1)} µs`
  if (unit === 'ns') return `${number(v, v >= 100 ? 0 : 1)} ns`
  if (unit === 'count') return number(v, 1)
  throw new Error(`unknown unit: ${unit}`)
}

/**
 * A measure shown for comparison only (the package against Node's own call,
 * where a floor below both decides): no goal, neither met nor missed.
 */
export const hasGoal = (m) => m.goal !== null && m.goal !== undefined

/** `≤ 1.2×`: the goal as written, without trailing zeros; `—` for none. */
export const goalText = (m) =>
  hasGoal(m) ? `${COMPARE[m.compare]} ${m.unit === 'ratio' ? `${number(m.goal, 2, 1)}×` : format(m.unit, m.goal)}` : '—'

/** `met`, `missed`, or `for comparison` for a measure with no goal. */
export const verdict = (m) => (hasGoal(m) ? (meets(m, m.median) ? 'met' : 'missed') : 'for comparison')

export function meets(m, value) {
  if (m.compare === '<=') return value <= m.goal
  if (m.compare === '>=') return value >= m.goal
  throw new Error(`unknown comparison: ${m.compare}`)
}

/** `2.04×`, or `2.04× (1.98–2.10)` when the runs differ. */
export function measured(m) {
  const median = format(m.unit, m.median)
  if (m.min === m.max) return median
  // An en dash reads as a minus after a negative bound: `to` then.
  const to = m.min < 0 ? ' to ' : '–'
  return `${median} (${format(m.unit, m.min).replace(/[× ].*$/, '')}${to}${format(m.unit, m.max)})`
}
