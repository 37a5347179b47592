// What a smoke script needs: TAP-like `ok` / `not ok` lines counted as they
// go, a watchdog, and the summary that sets the exit code. Imported by
// scripts/arm64-smoke.mjs (an arm64 Node under qemu-user, from the repo).
// node: builtins only, so a smoke runs wherever Node does.

let passed = 0
let failed = 0

export function check(name, ok, detail = '') {
  if (ok) passed++
  else failed++
  console.log(`${ok ? 'ok' : 'not ok'} - ${name}${detail ? ` (${detail})` : ''}`)
}

// For a smoke's catch: an exception is a failed check, with its stack.
export function checkNoException(error) {
  check('no exception', false, error && error.stack ? error.stack : String(error))
}

// Emulation is slow, but a hang must fail, not stall CI: after `seconds`
// this says so, with the counts so far, and exits 1. Unref'd, so it never
// keeps a finished smoke alive.
export function startWatchdog(seconds) {
  const watchdog = setTimeout(() => {
    console.log(`not ok - smoke timed out after ${seconds} s (${passed} passed, ${failed} failed so far)`)
    process.exit(1)
  }, seconds * 1000)
  watchdog.unref()
}

// Prints `LABEL: N passed, M failed` and sets the exit code: 0 only if
// nothing failed and something passed (a smoke that checked nothing did not
// pass).
export function finish(label) {
  console.log(`${label}: ${passed} passed, ${failed} failed`)
  process.exitCode = failed === 0 && passed > 0 ? 0 : 1
}
