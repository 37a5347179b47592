// Both consumers must run the installed copy: the package from this
// project's node_modules, and the binding from its platform package there,
// the one for this Node's CPU and libc (a glibc Node reports its glibc; a
// musl Node reports none, as npm reads it). Where npm installed no platform
// package (macOS, with npm --os=darwin), no binding at all: the package's
// portable backend.
const { join } = require('node:path')

exports.check = (resolved) => {
  const modules = join(process.cwd(), 'node_modules')
  const loaded = Object.keys(require.cache).filter((file) => file.endsWith('.node'))
  if (!resolved.startsWith(`${modules}/kill-target/`)) throw new Error(`kill-target resolved to ${resolved}`)
  const { backend } = require('kill-target').capabilities()
  if (process.platform !== 'linux') {
    if (loaded.length !== 0 || backend !== 'portable') throw new Error(`on ${process.platform}: backend ${backend}, bindings ${loaded.join(', ')}`)
    return
  }
  const libc = process.report.getReport().header.glibcVersionRuntime ? 'gnu' : 'musl'
  const platform = `linux-${process.arch}-${libc}`
  const binding = join(modules, `kill-target-${platform}`, `kill-target.${platform}.node`)
  if (loaded.length !== 1 || loaded[0] !== binding) throw new Error(`loaded ${loaded.join(', ')}, not ${binding}`)
  if (backend !== 'native') throw new Error(`the ${backend} backend loaded beside ${binding}`)
}
