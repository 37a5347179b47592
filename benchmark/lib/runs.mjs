// `npm run bench [-- options]`: runs the passes, each a process of its own
// (bench.mjs --pass), then writes what they measured and draws it.
//
//   --runs N          N full passes (default 1); results.json keeps each
//                     measure's min, median and max over them
//   --update-docs     also rewrite the tables (targets, profile) between
//                     their markers in docs/benchmarks.md
//   --render          measure nothing: redraw docs/bench.svg (and, with
//                     --update-docs, the tables) from benchmark/results.json
//   --quick           a short smoke pass; writes only under benchmark/results/,
//                     never the committed results.json, chart or docs/benchmarks.md
//
// A pass that fails its checks (wrong answers, leaked descriptors) fails the
// run before anything is written.

import { spawnSync } from 'node:child_process'
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs'
import { dirname, join, relative } from 'node:path'
import { fileURLToPath } from 'node:url'

import { label, measured, plain } from './measures.mjs'
import { renderChart } from './render-chart.mjs'
import { PROFILE_END, PROFILE_START, renderProfile, renderTable, withTable } from './render-table.mjs'
import { summarize } from './summary.mjs'

const BENCH = join(dirname(fileURLToPath(import.meta.url)), '..')
const ROOT = join(BENCH, '..')
export const PATHS = {
  results: join(BENCH, 'results.json'),
  chart: join(ROOT, 'docs', 'bench.svg'),
  page: join(ROOT, 'docs', 'benchmarks.md'),
  scratch: join(BENCH, 'results'),
}

function options(args) {
  if (args.includes('--update-readme')) return '--update-readme is now --update-docs: the tables are in docs/benchmarks.md'
  const runsAt = args.indexOf('--runs')
  const runs = runsAt < 0 ? 1 : Number(args[runsAt + 1])
  if (!Number.isInteger(runs) || runs < 1) return '--runs takes a whole number of passes, 1 or more'
  return {
    runs,
    quick: args.includes('--quick') || process.env.BENCH_QUICK === '1',
    render: args.includes('--render'),
    updateDocs: args.includes('--update-docs'),
  }
}

const write = (path, text) => {
  mkdirSync(dirname(path), { recursive: true })
  writeFileSync(path, text)
  process.stdout.write(`written: ${relative(ROOT, path)}\n`)
}

/** Runs `bench.mjs` (`self`) as asked by `args`; resolves with the exit code. */
export function main(self, args) {
  const opts = options(args)
  if (typeof opts === 'string' || (opts.quick && opts.updateDocs)) {
    process.stderr.write(`bench: ${typeof opts === 'string' ? opts : '--quick figures never go into docs/benchmarks.md'}\n`)
    return 2
  }
  let results
  if (opts.render) {
    results = JSON.parse(readFileSync(PATHS.results, 'utf8'))
  } else {
    const passes = []
    for (let i = 1; i <= opts.runs; i++) {
      if (opts.runs > 1) process.stderr.write(`\n=== pass ${i} of ${opts.runs}\n`)
      const out = join(PATHS.scratch, `pass-${i}.json`)
      const pass = ['--expose-gc', self, '--pass', out, ...(opts.quick ? ['--quick'] : [])]
      const { status } = spawnSync(process.execPath, pass, { stdio: 'inherit' })
      if (status !== 0) return status ?? 1
      passes.push(JSON.parse(readFileSync(out, 'utf8')))
    }
    results = summarize(passes)
    const json = `${JSON.stringify(results, null, 2)}\n`
    process.stdout.write(`\n${opts.runs} pass${opts.runs > 1 ? 'es' : ''}, median (range):\n`)
    for (const m of results.measures) process.stdout.write(`  ${plain(label(m)).padEnd(52)} ${measured(m)}\n`)
    process.stdout.write('\n')
    write(opts.quick ? join(PATHS.scratch, 'quick.json') : PATHS.results, json)
  }
  write(opts.quick ? join(PATHS.scratch, 'quick.svg') : PATHS.chart, renderChart(results))
  if (opts.updateDocs) {
    const page = withTable(readFileSync(PATHS.page, 'utf8'), renderTable(results))
    write(PATHS.page, withTable(page, renderProfile(results), PROFILE_START, PROFILE_END))
  }
  return 0
}
