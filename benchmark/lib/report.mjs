// The printed table and the targets of docs/benchmarks.md.

import { median } from './harness.mjs'
import { format, goalText, hasGoal, label, meets, plain } from './measures.mjs'

const ns = (v) => (v >= 100 ? Math.round(v).toLocaleString('en-US') : v.toFixed(1))
const x = (v) => (v === undefined ? '—' : `${v.toFixed(2)}×`)
const bytes = (v) => `${Math.round(v).toLocaleString('en-US')} B`

/**
 * Each target of one pass, as data (see measures.mjs): what was measured
 * against which baseline, its unit, its goal and the comparison that meets
 * it, the value, and whether it is met; and its floor where the bench
 * measures one: the least the same work can cost, in the same unit (for a
 * ratio, against the same baseline). A measure bound by a floor holds its
 * goal against that floor (its baseline is the floor, at 1×); its old
 * comparison with Node's own call stays as a row with no goal, the floor
 * marked on it. The docs' table and the chart are drawn from this list alone.
 */
export function assess(results) {
  const signal = results.speed.groups[0].rows[0]
  const { baselines } = results.speed
  const { scale, latency, terminate, tree, killOnExit } = results
  const waiting = `${scale.targets.toLocaleString('en-US')} targets waiting`
  const idle = scale.idleCpuMs.overMs / 1000
  const floor = (what, value) => ({ floor: { what, value } })
  const ratio = (what, baseline, goal, value, extra) => ({ what, baseline, unit: 'ratio', compare: '<=', goal, value, ...extra })
  const shown = (what, baseline, value, extra) => ({ what, baseline, unit: 'ratio', compare: null, goal: null, value, ...extra })
  const other = (what, baseline, unit, goal, value, extra) => ({ what, baseline, unit, compare: '<=', goal, value, ...extra })
  const terminated = `\`terminate()\` × ${terminate.children.toLocaleString('en-US')}`
  const kernel = 'the kernel alone, from native code'
  const rawOpen = '`new RawTarget(pid)` + `close()`: a bare N-API class'
  return [
    shown('`signal(0)`', '`child.kill(0)`', signal.vsChildKill, floor('`RawTarget#signal(0)`', baselines.rawTargetVsChildKill)),
    ratio('`signal(0)`', '`RawTarget#signal(0)`: bare N-API, no checks', 1.15, baselines.signalVsRawTarget, floor('the baseline', 1)),
    ratio('exit → `waitForExit()`', "exit → `'exit'`", 1, latency.ratio),
    shown(terminated, "`child.kill()` + `'exit'`", terminate.ratio, floor('the kernel alone', terminate.floorVsKill)),
    ratio(terminated, kernel, 1.5, terminate.vsFloor, floor('the baseline', 1)),
    shown('`fromPid` + `close`', 'N-API `pidfdOpen` + `closeFd`', baselines.fromPidVsNapi, floor('`RawTarget`', baselines.rawTargetVsNapi)),
    ratio('`fromPid` + `close`', rawOpen, 1.5, baselines.fromPidVsRawTarget, floor('the baseline', 1)),
    ratio('`fromChildProcess` + `close`', '`fromPid` + `close`', 1.3, baselines.fromChildVsFromPid, floor('`fromPid` + `close` + the parentage check', baselines.checkedFromPidVsFromPid)),
    ratio(`\`terminate({ tree: true })\`, ${tree.members} processes`, '`tree-kill` on the same tree', 0.5, tree.ratio),
    ratio(`\`treeKill()\` of kill-target-tree-kill, ${tree.members} processes`, '`tree-kill` on the same tree', 0.1, tree.standInRatio),
    other('native memory per waiting target', 'C heap before the targets', 'bytes', 512, scale.perWaitingTarget.native),
    other(`extra threads, ${waiting}`, 'threads before the addon loads', 'count', 0, scale.threads.during - scale.threads.beforeAddon),
    other(`idle CPU over ${idle} s, ${waiting}`, `CPU over ${idle} idle s before the waits`, 'ms', 20, scale.idleCpuMs.waiting - scale.idleCpuMs.baseline),
    ...(killOnExit ? killOnExitMeasures(killOnExit, other, floor) : []),
  ].map((m) => ({ ...m, met: hasGoal(m) ? meets(m, m.value) : null }))
}

/** Item 7, absent from results.json files written before it. */
function killOnExitMeasures(k, other, floor) {
  const armed = `${k.armed} armed`
  return [
    other('`killOnExit()`, per call', '—', 'us', 20, k.armUs, k.roundTripUs && floor('the check and a round trip to another process, in native code', k.roundTripUs)),
    // Not given a floor: the SIGKILLs sent from here (k.deathMs.floor, in
    // the printed report) go through targets, from JavaScript, and are
    // not the least it can cost; the guardian's, from native code, can be
    // quicker.
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
      `child.kill() + 'exit': ${terminate.killMs.map((v) => v.toFixed(0)).join(' / ')} ms · ` +
      `the kernel alone: ${terminate.floorMs.map((v) => v.toFixed(0)).join(' / ')} ms · ratios of medians ${x(terminate.ratio)}, ${x(terminate.vsFloor)} the kernel's`,
  )
  const k = results.killOnExit
  line(
    `killOnExit(): guardian started in ${k.guardianStartMs.toFixed(1)} ms · arming ${k.armUs.toFixed(1)} µs per call · ` +
      `its floor (the check and a round trip, natively) ${k.roundTripUs.toFixed(1)} µs · guardian Pss ${bytes(k.guardianPss)} (${k.armed} armed) · idle CPU over 2 s ${k.idleCpuMs.flat.toFixed(1)} ms (${k.armed} armed), ${k.idleCpuMs.trees.toFixed(1)} ms (10 trees of 10)`,
  )
  line(
    `  program SIGKILL → the armed gone: ${k.deathMs.flat.toFixed(1)} ms for ${k.armed} sleepers, ${k.deathMs.trees.toFixed(1)} ms for 10 trees of 10 · ` +
      `${k.armed} SIGKILLs sent from here: ${k.deathMs.floor.toFixed(1)} ms`,
  )
  const bound = results.timeout
  if (bound) {
    const ms = (v) => (v === null ? 'n/a' : `${v.toFixed(1)} ms`)
    line(
      `timeout 10 true, over true: kill-target ${ms(bound.oursAddedMs)} (Node's startup alone ${ms(bound.nodeStartupMs)}) · GNU ${ms(bound.gnuAddedMs)} · ` +
        `tree of ${bound.tree.members}, limit to last exit: kill-target ${ms(bound.tree.oursMs)}, ${bound.tree.oursEscapees} left · GNU ${ms(bound.tree.gnuMs)}, ${bound.tree.gnuEscapees ?? 'n/a'} left`,
    )
  }
  line()
  line('targets')
  for (const a of assess(results)) {
    const verdict = a.met === null ? 'shown ' : a.met ? 'met   ' : 'MISSED'
    const floor = a.floor ? `   floor ${format(a.unit, a.floor.value)}` : ''
    line(`  ${verdict}  ${plain(label(a)).padEnd(46)} ${format(a.unit, a.value).padStart(9)}   goal ${goalText(a)}${floor}`)
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
