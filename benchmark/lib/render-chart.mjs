// results.json → docs/bench.svg: one bar per measure, on one shared scale:
// a ratio measure as its median against its baseline, a measure in another
// unit (bytes, ms, µs) against its goal, so that 1× is the goal there. The
// range over the runs is a whisker, the goal a solid tick, the floor (the
// least the same work can cost, where the bench measures it) a dashed one.
// A measure shown for comparison only has no goal: a grey bar, its floor
// marked. A goal of 0 (no extra thread) gives nothing to divide by: that
// measure is in the docs' table alone.
//
// Self-contained (no fonts, images or scripts to fetch), on an opaque
// panel that reads on light and dark pages alike, with darker colours when
// the viewer prefers them.

import { goalText, hasGoal, label, measured, plain, verdict } from './measures.mjs'

const W = 760
const PAD = 24
const ROW = 50
const TOP = 84

export const STYLE = `
  .panel { fill: #ffffff; stroke: #d0d7de }
  .text { fill: #1f2328 }
  .muted { fill: #59636e }
  .grid { stroke: #d8dee4 }
  .one { stroke: #59636e; stroke-dasharray: 4 3 }
  .met { fill: #1a7f37 }
  .missed { fill: #cf222e }
  .range { stroke: #1f2328 }
  .shown { fill: #8c959f }
  .goal { stroke: #8250df; fill: #8250df }
  .floor { stroke: #bc4c00; fill: #bc4c00 }
  @media (prefers-color-scheme: dark) {
    .panel { fill: #0d1117; stroke: #30363d }
    .text { fill: #e6edf3 }
    .muted { fill: #9198a1 }
    .grid { stroke: #30363d }
    .one { stroke: #9198a1 }
    .met { fill: #3fb950 }
    .missed { fill: #f85149 }
    .range { stroke: #e6edf3 }
    .shown { fill: #6e7681 }
    .goal { stroke: #d2a8ff; fill: #d2a8ff }
    .floor { stroke: #f0883e; fill: #f0883e }
  }`

export const escape = (text) => text.replaceAll('&', '&amp;').replaceAll('<', '&lt;').replaceAll('>', '&gt;')

const text = (x, y, content, attrs = '') => `<text x="${x}" y="${y}" ${attrs}>${escape(plain(content))}</text>`
const n = (v) => Number(v.toFixed(1))

/** A tick step that puts at most 8 ticks on [0, top], and the rounded-up top. */
function scale(top) {
  const step = [0.1, 0.2, 0.25, 0.5, 1, 2, 2.5, 5, 10, 20, 25, 50, 100].find((s) => top / s <= 8) ?? Math.ceil(top / 8)
  return { step, max: Math.ceil(top / step) * step }
}

/** A measure in another unit as a ratio to its goal, its floor too; the label and the figures say which. */
function toGoal(m) {
  const of = (v) => v / m.goal
  const floor = m.floor && { ...m.floor, median: of(m.floor.median), min: of(m.floor.min), max: of(m.floor.max) }
  return { ...m, unit: 'ratio', median: of(m.median), min: of(m.min), max: of(m.max), goal: 1, floor, original: m }
}

/** The floor's mark: a dashed tick with a triangle on top, pointing down at the bar. */
const floorMark = (at, top, bottom) =>
  `<path class="floor" d="M${n(at - 4)} ${top - 3}H${n(at + 4)}L${n(at)} ${top + 3}Z"/>` +
  `<line class="floor" x1="${n(at)}" y1="${top + 3}" x2="${n(at)}" y2="${bottom}" stroke-width="2" stroke-dasharray="3 2"/>`

export function renderChart(results) {
  const ratios = [
    ...results.measures.filter((m) => m.unit === 'ratio'),
    ...results.measures.filter((m) => m.unit !== 'ratio' && hasGoal(m) && m.goal > 0).map(toGoal),
  ]
  const { step, max } = scale(Math.max(1, ...ratios.flatMap((m) => [m.max, m.goal ?? 0, m.floor?.median ?? 0])) * 1.04)
  const x = (v) => n(PAD + (Math.min(v, max) / max) * (W - 2 * PAD))
  const bottom = TOP + ratios.length * ROW
  const height = bottom + 84
  const { cpuModel, cores, kernel, node } = results.machine
  const runs = results.runs === 1 ? 'one run' : `median of ${results.runs} runs (whisker: min to max)`
  const out = [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${W}" height="${height}" viewBox="0 0 ${W} ${height}" ` +
      `font-family="-apple-system, BlinkMacSystemFont, 'Segoe UI', Helvetica, Arial, 'DejaVu Sans', sans-serif" font-size="13">`,
    `<title>kill-target benchmark: each measure against its baseline</title>`,
    `<style>${STYLE}\n</style>`,
    `<rect class="panel" x="0.5" y="0.5" width="${W - 1}" height="${height - 1}" rx="8"/>`,
    text(PAD, 34, 'kill-target: each measure ÷ its baseline, or ÷ its goal (lower is better)', 'class="text" font-size="16" font-weight="bold"'),
  ]
  // The legend: met, missed, no goal, goal, floor, and the 1× line.
  let lx = PAD
  const legend = (mark, words) => {
    out.push(mark(lx), text(lx + 18, 60, words, 'class="muted" font-size="12"'))
    lx += 18 + words.length * 6.6 + 18
  }
  legend((at) => `<rect class="met" x="${at}" y="50" width="12" height="12" rx="2"/>`, 'goal met')
  legend((at) => `<rect class="missed" x="${at}" y="50" width="12" height="12" rx="2"/>`, 'missed')
  legend((at) => `<rect class="shown" x="${at}" y="50" width="12" height="12" rx="2"/>`, 'no goal')
  legend((at) => `<line class="goal" x1="${at + 6}" y1="48" x2="${at + 6}" y2="64" stroke-width="3"/>`, 'goal')
  legend((at) => floorMark(at + 6, 48, 64), 'floor')
  legend((at) => `<line class="one" x1="${at}" y1="56" x2="${at + 12}" y2="56"/>`, '1× = baseline (or goal)')

  const ticks = Array.from({ length: Math.round(max / step) + 1 }, (_, k) => k * step)
  for (const v of ticks) out.push(text(x(v), bottom + 16, `${Number(v.toFixed(2))}×`, 'class="muted" font-size="11" text-anchor="middle"'))
  ratios.forEach((m, i) => {
    const y = TOP + i * ROW
    // Grid lines in the bar's band only, so that none crosses a label.
    const band = (v) => `M${x(v)} ${y + 18}V${i === ratios.length - 1 ? bottom : y + 42}`
    out.push(`<path class="grid" d="${ticks.map(band).join('')}"/>`, `<path class="one" d="${band(1)}"/>`)
    const shown = m.original ?? m
    // A measure with no goal gives its floor instead: where a goal would be.
    const figures = hasGoal(m) ? `goal ${goalText(shown)}` : shown.floor ? `floor ${measured({ unit: shown.unit, ...shown.floor })}` : 'no goal'
    out.push(text(PAD, y + 14, m.original ? `${label(shown)} ÷ goal` : label(m), 'class="text"'))
    out.push(text(W - PAD, y + 14, `${measured(shown)} · ${figures}`, 'class="text" text-anchor="end"'))
    // A value below 0 (idle CPU under its baseline) draws no bar.
    const bar = hasGoal(m) ? verdict(m) : 'shown'
    out.push(`<rect class="${bar}" x="${PAD}" y="${y + 22}" width="${Math.max(0, n(x(m.median) - PAD))}" height="16" rx="2"/>`)
    if (m.min !== m.max) {
      const [a, b] = [x(Math.max(0, m.min)), x(Math.max(0, m.max))]
      out.push(`<path class="range" d="M${a} ${y + 30}H${b}M${a} ${y + 25}V${y + 35}M${b} ${y + 25}V${y + 35}" stroke-width="1.5" fill="none"/>`)
    }
    if (hasGoal(m)) out.push(`<line class="goal" x1="${x(m.goal)}" y1="${y + 17}" x2="${x(m.goal)}" y2="${y + 43}" stroke-width="3"/>`)
    if (m.floor) out.push(floorMark(x(m.floor.median), y + 20, y + 43))
  })
  const quick = results.quick ? ' · quick smoke pass: not meaningful' : ''
  out.push(text(PAD, height - 34, `${cpuModel} · ${cores} cores · Linux ${kernel} · Node ${node}`, 'class="muted" font-size="12"'))
  out.push(text(PAD, height - 16, `${results.date.slice(0, 10)} · npm run bench, ${runs}${quick}`, 'class="muted" font-size="12"'))
  out.push('</svg>')
  return `${out.join('\n')}\n`
}
