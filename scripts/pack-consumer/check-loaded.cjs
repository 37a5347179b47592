// Both consumers must run the installed copy: the package from this
// project's node_modules, and the binding from its platform package there.
const { join } = require('node:path')

exports.check = (resolved) => {
  const modules = join(process.cwd(), 'node_modules')
  const binding = join(modules, `kill-target-linux-${process.arch}-gnu`, `kill-target.linux-${process.arch}-gnu.node`)
  const loaded = Object.keys(require.cache).filter((file) => file.endsWith('.node'))
  if (!resolved.startsWith(`${modules}/kill-target/`)) throw new Error(`kill-target resolved to ${resolved}`)
  if (loaded.length !== 1 || loaded[0] !== binding) throw new Error(`loaded ${loaded.join(', ')}, not ${binding}`)
}
