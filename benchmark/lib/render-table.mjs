// results.json → the README's benchmark table, which sits between two
// markers that `npm run bench -- --update-readme` rewrites and a test checks.

import { goalText, measured, meets } from './measures.mjs'

export const START = '<!-- bench:start -->'
export const END = '<!-- bench:end -->'

const day = (iso) => iso.slice(0, 10)

/** The machine and the date, in one line: the chart's caption says the same. */
export function machineLine(results) {
  const { cpuModel, cores, kernel, node } = results.machine
  const runs = results.runs === 1 ? 'one run' : `median of ${results.runs} runs`
  return `${cpuModel}, ${cores} cores · Linux ${kernel} · Node ${node} · ${day(results.date)} · ${runs}`
}

export function renderTable(results) {
  const lines = [
    `Generated from [\`benchmark/results.json\`](benchmark/results.json) by \`npm run bench -- --update-readme\`` +
      `${results.quick ? ' (a quick smoke pass: not meaningful)' : ''}. ${machineLine(results)}` +
      `${results.runs > 1 ? ', their range in brackets' : ''}.`,
    '',
    '| measure | against | goal | measured | |',
    '|---|---|---:|---:|---|',
  ]
  for (const m of results.measures) {
    lines.push(`| ${m.what} | ${m.baseline} | ${goalText(m)} | ${measured(m)} | ${meets(m, m.median) ? 'met' : 'missed'} |`)
  }
  return lines.join('\n')
}

function bounds(readme) {
  const start = readme.indexOf(START)
  const end = readme.indexOf(END)
  if (start < 0 || end < start) throw new Error(`the README has no ${START} … ${END} markers`)
  return { from: start + START.length, to: end }
}

/** What sits between the markers now, without the blank lines around it. */
export function tableInReadme(readme) {
  const { from, to } = bounds(readme)
  return readme.slice(from, to).trim()
}

/** The README with `table` between the markers, blank lines around it so it stays a table. */
export function withTable(readme, table) {
  const { from, to } = bounds(readme)
  return `${readme.slice(0, from)}\n\n${table}\n\n${readme.slice(to)}`
}
