// What results.json holds: the machine, the date, and each target of the
// passes (see measures.mjs), with its floor where it has one, and each step
// of the profile (profile.mjs), each value as its min, median and max over
// them.

// Pure (no harness import, whose exit hooks a reader of results.json does not want).
const median = (sorted) => {
  const mid = sorted.length >> 1
  return sorted.length % 2 ? sorted[mid] : (sorted[mid - 1] + sorted[mid]) / 2
}

/** Values as their min, median and max. */
function spread(values) {
  const sorted = [...values].sort((a, b) => a - b)
  return { min: sorted[0], median: median(sorted), max: sorted.at(-1) }
}

/** Each item of `key` in the passes, with its value's (and its floor's) min, median and max over them. */
function across(passes, key) {
  return passes[0][key].map(({ value, met, floor, ...item }, i) => {
    const values = passes.map((pass) => pass[key][i])
    for (const other of values) {
      // Passes of one script measure the same things; anything else is a bug.
      if (other.what !== item.what || other.baseline !== item.baseline || other.floor?.what !== floor?.what) {
        throw new Error(`passes differ in their ${key}`)
      }
    }
    const summary = { ...item, ...spread(values.map((v) => v.value)) }
    if (floor) summary.floor = { what: floor.what, ...spread(values.map((v) => v.floor.value)) }
    return summary
  })
}

export function summarize(passes) {
  const [first] = passes
  const { node, kernel, cpus, cpuModel, capabilities, date } = first.machine
  return {
    date,
    machine: { cpuModel, cores: cpus, kernel, node, capabilities },
    runs: passes.length,
    quick: first.config.quick,
    config: first.config,
    measures: across(passes, 'targets'),
    profile: across(passes, 'profile'),
  }
}
