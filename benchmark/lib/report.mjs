// The printed table and the targets of docs/benchmarks.md.

import { median } from './harness.mjs'
import { format, goalText, label, meets, plain } from './measures.mjs'

const ns = (v) => (v >= 100 ? Math.round(v).toLocaleString('en-US') : v.toFixed(1))
const x = (v) => (v === undefined ? '—' : `${v.toFixed(2)}×`)
const bytes = (v) => `${Math.round(v).toLocaleString('en-US')} B`

/**
 * Each target of one pass, as data (see measures.mjs): what was measured
 * against which baseline, its unit, its goal and the comparison that meets
 * it, the value, and whether it is met. The docs' table and the chart are
 * drawn from this list alone.
 */
export function assess(results) {
  const signal = results.speed.groups[0].rows[0]
  const { baselines } = results.speed
  const { scale, latency, terminate, tree, killOnExit } = results
  const waiting = `${scale.targets.toLocaleString('en-US')} targets waiting`
  const idle = scale.idleCpuMs.overMs / 1000
  const ratio = (what, baseline, goal, value) => ({ what, baseline, unit: 'ratio', compare: '<=', goal, value })
  const other = (what, baseline, unit, goal, value) => ({ what, baseline, unit, compare: '<=', goal, value })
  return [
    ratio('`signal(0)`', '`child.kill(0)`', 1.3, signal.vsChildKill),
    ratio('`signal(0)`', 'a bare N-API class method (`RawTarget`)', 1.05, baselines.signalVsRawTarget),
    ratio('exit → `waitForExit()`', "exit → `'exit'`", 1, latency.ratio),
    ratio(`\`terminate()\` × ${terminate.children.toLocaleString('en-US')}`, "`child.kill()` + `'exit'`", 1, terminate.ratio),
    ratio('`fromPid` + `close`', 'N-API `pidfdOpen` + `closeFd`', 1.5, baselines.fromPidVsNapi),
    ratio('`fromChildProcess` + `close`', '`fromPid` + `close`', 1.3, baselines.fromChildVsFromPid),
    ratio(`\`terminate({ tree: true })\`, ${tree.members} processes`, '`tree-kill` on the same tree', 0.5, tree.ratio),
    ratio(`\`treeKill()\` of kill-target-tree-kill, ${tree.members} processes`, '`tree-kill` on the same tree', 0.1, tree.standInRatio),
    other('native memory per waiting target', 'C heap before the targets', 'bytes', 512, scale.perWaitingTarget.native),
    other(`extra threads, ${waiting}`, 'threads before the addon loads', 'count', 0, scale.threads.during - scale.threads.beforeAddon),
    other(`idle CPU over ${idle} s, ${waiting}`, `CPU over ${idle} idle s before the waits`, 'ms', 20, scale.idleCpuMs.waiting - scale.idleCpuMs.baseline),
    ...(killOnExit ? killOnExitMeasures(killOnExit, other) : []),
  ].map((m) => ({ ...m, met: meets(m, m.value) }))
}

/** Item 7, absent from results.json files written before it. */
function killOnExitMeasures(k, other) {
  const armed = `${k.armed} armed`
  return [
    other('`killOnExit()`, per call', '—', 'us', 20, k.armUs),
    other(`program SIGKILL → its ${armed} sleepers gone`, '—', 'ms', 50, k.deathMs.flat),
    other(`guardian memory (Pss), ${armed}`, '—', 'bytes', 4 * 1024 * 1024, k.guardianPss),
    other('idle CPU over 2 s, guardian + keeper, 10 armed trees of 10', '—', 'ms', 20, k.idleCpuMs.trees),
  ]
}

export function report(results) {
  const lines = []
  const line = (text = '') => lines.push(text)
  const { machine: m, config, latency, scale, terminate } = results
  line(
    `kill-target bench${config.quick ? ' (quick smoke pass: figures are not meaningful)' : ''} · node ${m.node} · ` +
      `linux ${m.kernel} · ${m.cpus} cpus (${m.cpuModel}) · pidfd ${m.capabilities.pidfd}`,
  )
  line(`ns/op: median of ${config.rounds} interleaved rounds; a ratio is the median of same-round ratios.`)
  line()
  const cols = [16, 36, 9, 16, 8]
  const cells = (c) => c.map((v, i) => (i < 2 ? String(v).padEnd(cols[i]) : String(v).padStart(cols[i]))).join('')
  line(cells(['', '', 'ns/op', '÷child.kill(0)', '÷floor']))
  for (const group of results.speed.groups) {
    line(`${group.title} — floor: ${group.floor}`)
    for (const r of group.rows) {
      const who = r.who.startsWith('▸') ? r.who : `  ${r.who}`
      line(cells([who, r.name, ns(median(r.samples)), x(r.vsChildKill), r.isFloor ? 'floor' : x(r.vsFloor)]))
    }
  }
  line()
  line(
    `exit → notified, median of ${latency.trials} each: waitForExit() ${latency.waitForExitUs.toFixed(0)} µs · ` +
      `'exit' event ${latency.exitUs.toFixed(0)} µs · ratio ${x(latency.ratio)}`,
  )
  const t = scale.threads
  line(
    `${scale.targets} targets waiting: threads ${t.beforeAddon} before loading the addon, ${t.before} loaded, ` +
      `${t.during} with every wait pending`,
  )
  line(
    `  CPU over 2 idle s: ${scale.idleCpuMs.waiting.toFixed(1)} ms with the waits, ` +
      `${scale.idleCpuMs.baseline.toFixed(1)} ms before them · all resolved ${scale.allResolvedMs.toFixed(0)} ms after the kills`,
  )
  for (const [label, per] of [
    ['per open target', scale.perOpenTarget],
    ['per waiting target', scale.perWaitingTarget],
  ]) {
    line(`  ${label.padEnd(19)} native ${bytes(per.native).padStart(7)} · RSS ${bytes(per.rss).padStart(7)} · JS heap ${bytes(per.heap).padStart(7)}`)
  }
  line(
    `terminate({ tree: true }) of ${results.tree.members} processes: ${results.tree.terminateMs.map((v) => v.toFixed(0)).join(' / ')} ms · ` +
      `kill-target-tree-kill: ${results.tree.standInMs.map((v) => v.toFixed(0)).join(' / ')} ms · ` +
      `tree-kill: ${results.tree.treeKillMs.map((v) => v.toFixed(0)).join(' / ')} ms · ratio of medians ${x(results.tree.ratio)}`,
  )
  line(
    `terminate() × ${terminate.children}: ${terminate.terminateMs.map((v) => v.toFixed(0)).join(' / ')} ms · ` +
      `child.kill() + 'exit': ${terminate.killMs.map((v) => v.toFixed(0)).join(' / ')} ms · ratio of medians ${x(terminate.ratio)}`,
  )
  const k = results.killOnExit
  line(
    `killOnExit(): guardian started in ${k.guardianStartMs.toFixed(1)} ms · arming ${k.armUs.toFixed(1)} µs per call · ` +
      `guardian Pss ${bytes(k.guardianPss)} (${k.armed} armed) · idle CPU over 2 s ${k.idleCpuMs.flat} ms (${k.armed} armed), ${k.idleCpuMs.trees} ms (10 trees of 10)`,
  )
  line(
    `  program SIGKILL → the armed gone: ${k.deathMs.flat.toFixed(1)} ms for ${k.armed} sleepers, ${k.deathMs.trees.toFixed(1)} ms for 10 trees of 10 · ` +
      `${k.armed} SIGKILLs sent from here: ${k.deathMs.floor.toFixed(1)} ms`,
  )
  line()
  line('targets')
  for (const a of assess(results)) {
    line(`  ${a.met ? 'met   ' : 'MISSED'}  ${plain(label(a)).padEnd(46)} ${format(a.unit, a.value).padStart(9)}   goal ${goalText(a)}`)
  }
  line()
  line(`total ${results.seconds.toFixed(1)} s`)
  if (results.failures.length) {
    line()
    line('CHECK FAILED:')
    for (const failure of results.failures) line(`  - ${failure}`)
  }
  return lines.join('\n')
}
