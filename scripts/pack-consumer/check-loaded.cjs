// Both consumers must run the installed copy: the package from this
// project's node_modules, and the binding from its platform package there,
// the one for this Node's CPU and libc (a glibc Node reports its glibc; a
// musl Node reports none, as npm reads it).
const { join } = require('node:path')

exports.check = (resolved) => {
  const modules = join(process.cwd(), 'node_modules')
  const libc = process.report.getReport().header.glibcVersionRuntime ? 'gnu' : 'musl'
  const platform = `linux-${process.arch}-${libc}`
  const binding = join(modules, `kill-target-${platform}`, `kill-target.${platform}.node`)
  const loaded = Object.keys(require.cache).filter((file) => file.endsWith('.node'))
  if (!resolved.startsWith(`${modules}/kill-target/`)) throw new Error(`kill-target resolved to ${resolved}`)
  if (loaded.length !== 1 || loaded[0] !== binding) throw new Error(`loaded ${loaded.join(', ')}, not ${binding}`)
}
