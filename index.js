'use strict'

// The package's entry. Where a prebuilt binding exists (Linux on x64 and
// arm64, glibc or musl) this is the native addon, through binding.js, the
// loader napi-rs generates; if it does not load there, that is an error, as
// a broken install must be: nothing falls back to holding processes by
// number in its place. Anywhere else the native loader is tried first (a
// binding built from source), and where it finds none for the platform,
// the portable backend (portable/, compiled to portable/dist/) loads: the
// same class, arguments and errors, every process held by its pid.
// `capabilities().backend` says which loaded.
//
// KILL_TARGET_PORTABLE=1 loads the portable backend anywhere: for tests.

/** Whether npm installs a platform package with a binding for this system. */
function prebuilt() {
  return process.platform === 'linux' && (process.arch === 'x64' || process.arch === 'arm64')
}

/** Whether the loader failed only because no binding exists for this platform (nothing found, nothing broken). */
function noBindingFound(error) {
  if (!error || !String(error.message).startsWith('Cannot find native binding')) return false
  for (let cause = error.cause; cause; cause = cause.cause) {
    const message = String(cause.message)
    if (!/^(Cannot find module |Unsupported architecture |Unsupported OS: )/.test(message)) return false
  }
  return true
}

function load() {
  if (process.env.KILL_TARGET_PORTABLE === '1') return require('./portable/dist/index.js')
  if (prebuilt()) return require('./binding.js')
  try {
    return require('./binding.js')
  } catch (error) {
    if (!noBindingFound(error)) throw error
  }
  return require('./portable/dist/index.js')
}

const backend = load()
module.exports.KillTarget = backend.KillTarget
module.exports.capabilities = backend.capabilities
module.exports.__napiBindingTarget = backend.__napiBindingTarget
