// What results.json holds: the machine, the date, and each target of the
// passes (see measures.mjs) with its min, median and max over them.

// Pure (no harness import, whose exit hooks a reader of results.json does not want).
const median = (sorted) => {
  const mid = sorted.length >> 1
  return sorted.length % 2 ? sorted[mid] : (sorted[mid - 1] + sorted[mid]) / 2
}

export function summarize(passes) {
  const [first] = passes
  const measures = first.targets.map(({ value, met, ...measure }, i) => {
    const values = passes.map((pass) => pass.targets[i])
    for (const other of values) {
      // Passes of one script measure the same things; anything else is a bug.
      if (other.what !== measure.what || other.baseline !== measure.baseline) throw new Error('passes differ in their measures')
    }
    const sorted = values.map((target) => target.value).sort((a, b) => a - b)
    return { ...measure, min: sorted[0], median: median(sorted), max: sorted.at(-1) }
  })
  const { node, kernel, cpus, cpuModel, capabilities, date } = first.machine
  return {
    date,
    machine: { cpuModel, cores: cpus, kernel, node, capabilities },
    runs: passes.length,
    quick: first.config.quick,
    config: first.config,
    measures,
  }
}
