// The README's pictures and figures: the benchmark table and chart must be
// what benchmark/results.json renders (no number typed by hand), and each
// SVG must parse and draw something in a real renderer, with nothing to
// fetch from elsewhere.
import { readFileSync } from 'node:fs'
import { fileURLToPath } from 'node:url'

import { Resvg } from '@resvg/resvg-js'
import test from 'ava'

import { renderChart } from '../benchmark/lib/render-chart.mjs'
import { END, START, renderTable, tableInReadme } from '../benchmark/lib/render-table.mjs'

const ROOT = fileURLToPath(new URL('..', import.meta.url))
const read = (path: string) => readFileSync(`${ROOT}/${path}`, 'utf8')
const readme = read('README.md')
const results = JSON.parse(read('benchmark/results.json'))
const REDRAW = 'redraw it from benchmark/results.json: npm run bench -- --render --update-readme'

test(`the README's benchmark table, between ${START} and ${END}, is the one results.json renders`, (t) => {
  t.is(tableInReadme(readme), renderTable(results), REDRAW)
})

test('docs/bench.svg is the chart results.json renders', (t) => {
  t.is(read('docs/bench.svg'), renderChart(results), REDRAW)
})

test('the README shows the race before its example, and the chart in its Benchmarks section', (t) => {
  const race = readme.indexOf('](docs/race.svg)')
  t.true(race > 0 && race < readme.indexOf('```js'), 'docs/race.svg, above the first example')
  const chart = readme.indexOf('](docs/bench.svg)')
  t.true(chart > readme.indexOf('## Benchmarks') && chart < readme.indexOf(START), 'docs/bench.svg, above the table')
})

test('a document that does not parse fails to render (what the checks below rely on)', (t) => {
  t.throws(() => new Resvg('<svg xmlns="http://www.w3.org/2000/svg"><rect'))
})

for (const [path, maxBytes] of [
  ['docs/race.svg', 30_000],
  ['docs/bench.svg', 30_000],
] as const) {
  test(`${path} parses, draws a picture, and needs nothing from elsewhere`, (t) => {
    const svg = read(path)
    t.true(svg.length <= maxBytes, `${svg.length} bytes, at most ${maxBytes}`)
    for (const external of [/href\s*=\s*["']?\s*(https?:|\/\/)/i, /@import/i, /<script/i, /<image/i, /<foreignObject/i, /url\(/i]) {
      t.notRegex(svg, external)
    }
    const image = new Resvg(svg).render()
    t.true(image.width >= 300 && image.height >= 150, `${image.width} × ${image.height}`)
    // Blank is one colour, or next to nothing on the background: count the
    // pixels that differ from the commonest colour, and the colours seen.
    const colours = new Map<number, number>()
    const pixels = image.pixels
    for (let i = 0; i < pixels.length; i += 4) {
      const rgba = pixels.readUInt32BE(i)
      colours.set(rgba, (colours.get(rgba) ?? 0) + 1)
    }
    const total = image.width * image.height
    const background = Math.max(...colours.values())
    t.true(colours.size >= 8, `${colours.size} colours`)
    t.true(total - background >= total * 0.05, `${total - background} of ${total} pixels differ from the background`)
  })
}
