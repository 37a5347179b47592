// results.json → the benchmark tables of docs/benchmarks.md, each between two
// markers that `npm run bench -- --update-docs` rewrites and a test checks.

import { goalText, measured, verdict } from './measures.mjs'

export const START = '<!-- bench:start -->'
export const END = '<!-- bench:end -->'
export const PROFILE_START = '<!-- profile:start -->'
export const PROFILE_END = '<!-- profile:end -->'

const day = (iso) => iso.slice(0, 10)

/** The machine and the date, in one line: the chart's caption says the same. */
export function machineLine(results) {
  const { cpuModel, cores, kernel, node } = results.machine
  const runs = results.runs === 1 ? 'one run' : `median of ${results.runs} runs`
  return `${cpuModel}, ${cores} cores · Linux ${kernel} · Node ${node} · ${day(results.date)} · ${runs}`
}

export function renderTable(results) {
  const lines = [
    `Generated from [\`benchmark/results.json\`](../benchmark/results.json) by \`npm run bench -- --update-docs\`` +
      `${results.quick ? ' (a quick smoke pass: not meaningful)' : ''}. ${machineLine(results)}` +
      `${results.runs > 1 ? ', their range in brackets' : ''}.`,
    '',
    '| measure | against | floor | goal | measured | |',
    '|---|---|---:|---:|---:|---|',
  ]
  for (const m of results.measures) {
    const floor = m.floor ? measured({ unit: m.unit, ...m.floor }) : '—'
    lines.push(`| ${m.what} | ${m.baseline} | ${floor} | ${goalText(m)} | ${measured(m)} | ${verdict(m)} |`)
  }
  return lines.join('\n')
}

/**
 * The profile: each path's steps, from the kernel's own cost up, as
 * measured in the same rounds (profile.mjs). Absent from results.json files
 * written before it.
 */
export function renderProfile(results) {
  const lines = [
    `Generated with the table above, from the same runs. ${results.runs > 1 ? 'Median, the range in brackets.' : ''}`.trim(),
    '',
    '| path | step | measured |',
    '|---|---|---:|',
  ]
  for (const step of results.profile ?? []) lines.push(`| ${step.path} | ${step.what} | ${measured(step)} |`)
  return lines.join('\n')
}

function bounds(page, start = START, end = END) {
  const from = page.indexOf(start)
  const to = page.indexOf(end)
  if (from < 0 || to < from) throw new Error(`docs/benchmarks.md has no ${start} … ${end} markers`)
  return { from: from + start.length, to }
}

/** What sits between the markers now, without the blank lines around it. */
export function tableInPage(page, start = START, end = END) {
  const { from, to } = bounds(page, start, end)
  return page.slice(from, to).trim()
}

/** The page with `table` between the markers, blank lines around it so it stays a table. */
export function withTable(page, table, start = START, end = END) {
  const { from, to } = bounds(page, start, end)
  return `${page.slice(0, from)}\n\n${table}\n\n${page.slice(to)}`
}
