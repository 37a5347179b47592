// The README is a front page, in the order it promises and no longer than
// 200 lines; the figures it and docs/ show are generated: the benchmark
// tables of docs/benchmarks.md and its chart must be what
// benchmark/results.json renders (no number typed by hand), a comparison
// shown with no goal must stand beside the same measure held to its floor,
// and each SVG must parse and draw something in a real renderer, with
// nothing to fetch from elsewhere; docs/api.md names what index.d.ts
// declares. (Links: links.spec.)
import { readFileSync, readdirSync } from 'node:fs'
import { fileURLToPath } from 'node:url'

import { Resvg } from '@resvg/resvg-js'
import test from 'ava'

import { renderChart } from '../benchmark/lib/render-chart.mjs'
import { END, PROFILE_END, PROFILE_START, START, renderProfile, renderTable, tableInPage } from '../benchmark/lib/render-table.mjs'

const ROOT = fileURLToPath(new URL('..', import.meta.url))
const read = (path: string) => readFileSync(`${ROOT}/${path}`, 'utf8')
const readme = read('README.md')
const benchmarks = read('docs/benchmarks.md')
const platforms = read('docs/platforms.md')
const results = JSON.parse(read('benchmark/results.json'))
const REDRAW = 'redraw it from benchmark/results.json: npm run bench -- --render --update-docs'

test(`docs/benchmarks.md's table, between ${START} and ${END}, is the one results.json renders`, (t) => {
  t.is(tableInPage(benchmarks), renderTable(results), REDRAW)
})

test(`docs/benchmarks.md's profile, between ${PROFILE_START} and ${PROFILE_END}, is the one results.json renders`, (t) => {
  t.true((results.profile ?? []).length > 0, 'results.json has a profile')
  t.is(tableInPage(benchmarks, PROFILE_START, PROFILE_END), renderProfile(results), REDRAW)
})

test('docs/bench.svg is the chart results.json renders', (t) => {
  t.is(read('docs/bench.svg'), renderChart(results), REDRAW)
})

test('each comparison shown without a goal stands beside the same measure held to its floor, and each floor is in the chart', (t) => {
  const shown = results.measures.filter((m: any) => m.goal === null)
  t.true(shown.length > 0, 'results.json shows comparisons with no goal')
  for (const m of shown) {
    t.truthy(m.floor, `${m.what} against ${m.baseline}: a floor`)
    const held = results.measures.find((g: any) => g.what === m.what && g.goal !== null && g.floor?.median === 1)
    t.truthy(held, `${m.what}: a goal against the floor itself`)
  }
  // One mark per measure drawn with a floor, and one in the legend.
  const drawn = results.measures.filter((m: any) => m.floor && (m.unit === 'ratio' || m.goal > 0))
  t.is(read('docs/bench.svg').match(/<line class="floor"/g)?.length, drawn.length + 1)
})

test('the README leads with the commands, then the race, a ten-line example and Install', (t) => {
  const at = (marker: string) => readme.indexOf(marker)
  const order = ['## Quick start', '```sh', '](docs/race.svg)', '```js', '## Install']
  const found = order.map(at)
  t.false(found.includes(-1), `each of ${order.join(', ')}`)
  t.deepEqual(
    [...found].sort((a, b) => a - b),
    found,
    order.join(' before '),
  )
  const example = readme.slice(at('```js') + 5, readme.indexOf('```', at('```js') + 5)).trim()
  t.true(example.split('\n').length <= 10, example)
})

test('the README is a front page: 200 lines at most', (t) => {
  const lines = readme.split('\n').length - (readme.endsWith('\n') ? 1 : 0)
  t.true(lines <= 200, `${lines} lines`)
})

test('the Quick start holds the two commands .ci/run reads from it, the way it reads them', (t) => {
  // .ci/run's awk: from `## Quick start`, the lines of the first ```sh block.
  const from = readme.indexOf('## Quick start')
  const open = readme.indexOf('```sh\n', from)
  const block = readme.slice(open + '```sh\n'.length, readme.indexOf('```', open + 3))
  const commands = block.split('\n').filter((line, i, all) => i < all.length - 1 || line !== '')
  t.is(commands.length, 2, block)
  t.regex(commands[0], /npm run demo/)
  t.regex(commands[1], /npm test/)
  t.true(read('.ci/run').includes("awk '/^## Quick start/{q=1} q&&/^```sh/{b=1;next} b&&/^```/{exit} b' README.md"))
})

test('the chart is in docs/benchmarks.md, above its table', (t) => {
  const chart = benchmarks.indexOf('](bench.svg)')
  t.true(chart > 0 && chart < benchmarks.indexOf(START), 'bench.svg, above the table')
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
    const bytes = Buffer.byteLength(svg)
    t.true(bytes <= maxBytes, `${bytes} bytes, at most ${maxBytes}`)
    // Any reference but one within the document (#id) would be fetched.
    for (const external of [/href\s*=\s*["']?\s*(?!#)/i, /@import/i, /<script/i, /<image/i, /<foreignObject/i, /url\(/i]) {
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

// The other figures docs/platforms.md quotes are facts of the scripts:
// checked against them, not typed twice.
const script = (path: string) => read(`scripts/${path}`)
const section = (heading: string) => {
  const at = platforms.indexOf(`\n${heading}\n`)
  const next = platforms.indexOf('\n## ', at + 1)
  return platforms.slice(at, next < 0 ? undefined : next)
}

test('the versions of the Runtimes table and the musl note are the ones the scripts pin', (t) => {
  const pinned = [...script('runtimes.sh').matchAll(/^\s*"\S+ \S+@(\d+\.\d+\.\d+) /gm)].map((m) => m[1])
  const wheel = /^NODE_WHEEL_VERSION=(\S+)/m.exec(script('musl.sh'))![1]
  const musl = /^MUSL_VERSION=(\d+\.\d+\.\d+)/m.exec(script('musl.sh'))![1]
  t.is(pinned.length, 6, 'runtimes.sh pins six runtimes')
  const quoted = [...section('## Runtimes').matchAll(/^\|[^|]+\| (\d+\.\d+\.\d+)/gm)].map((m) => m[1])
  const sorted = (versions: string[]) => [...new Set(versions)].sort()
  t.deepEqual(sorted(quoted), sorted([...pinned, wheel]))
  t.true(section('## Prebuilt packages').includes(`musl ${musl}`), `musl ${musl}`)
})

test('the kernels docs/platforms.md names as tested are the ones test:kernels boots', (t) => {
  const booted = /^KERNELS=\(([^)]*)\)/m.exec(script('kernels.sh'))![1].split(' ')
  const row = /^\| tested kernels \| ([^|]+) \|/m.exec(platforms)![1]
  t.deepEqual(row.split(', ').map((v) => v.replace(/\.x$/, '')), booted)
})

test('the tree-kill override line names this version, wherever `npm version` edits it', (t) => {
  const { version, scripts } = JSON.parse(read('package.json'))
  const docs = ['README.md', ...readdirSync(`${ROOT}/docs`).filter((f) => f.endsWith('.md')).map((f) => `docs/${f}`)]
  const withLine = [...docs, 'compat/tree-kill/README.md'].filter((doc) => read(doc).includes('kill-target-tree-kill@'))
  t.true(withLine.includes('docs/tree-kill.md') && withLine.includes('compat/tree-kill/README.md'), withLine.join(', '))
  for (const doc of withLine) {
    // The version script's sed and git add name each file that has the line.
    t.is(scripts.version.split(` ${doc}`).length, 3, `package.json's version script edits and adds ${doc}`)
    const ranges = [...read(doc).matchAll(/kill-target-tree-kill@([^"\s]+)/g)].map((m) => m[1])
    for (const range of ranges) t.is(range, `^${version}`, doc)
  }
})

// docs/api.md's reference is written by hand; index.d.ts, generated from the
// Rust sources, is what exists. Each must name what the other does.
const dts = read('index.d.ts')
const declaration = (opening: string) => {
  const at = dts.indexOf(opening)
  return dts.slice(at, dts.indexOf('\n}\n', at))
}

test('docs/api.md describes every member index.d.ts declares, and no other', (t) => {
  const declared = new Set<string>()
  const cls = declaration('export declare class KillTarget ')
  for (const m of cls.matchAll(/^ {2}(?:private |static |get )?(\w+)\(/gm)) declared.add(m[1])
  for (const m of cls.matchAll(/^ {2}\[globalThis\.Symbol\.(\w+)\]\(/gm)) declared.add(`Symbol.${m[1]}`)
  for (const m of dts.matchAll(/^export declare function (\w+)\(/gm)) declared.add(m[1])

  const api = read('docs/api.md')
  const reference = api.slice(api.indexOf('\n## Reference\n'), api.indexOf('\n## ', api.indexOf('\n## Reference\n') + 1))
  const described = new Set<string>()
  for (const [, cell] of reference.matchAll(/^\| ([^|]+) \|/gm)) {
    for (const [, code] of cell.matchAll(/`([^`]+)`/g)) {
      const name = /^(?:new )?(?:KillTarget\.|\.|\[)?(Symbol\.\w+|\w+)/.exec(code)![1]
      described.add(name === 'KillTarget' ? 'constructor' : name)
    }
  }
  const sorted = (names: Set<string>) => [...names].sort()
  t.deepEqual(sorted(described), sorted(declared))
})

test("docs/api.md's capabilities() lists the fields of index.d.ts's Capabilities", (t) => {
  const fields = [...declaration('export interface Capabilities ').matchAll(/^ {2}(\w+):/gm)].map((m) => m[1])
  const row = /^\| `capabilities\(\)` \| `\{ ([^}]+) \}`/m.exec(read('docs/api.md'))
  t.truthy(row, 'a capabilities() row that starts with its fields')
  t.deepEqual(row![1].split(', '), fields)
})
