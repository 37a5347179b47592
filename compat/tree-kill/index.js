'use strict'

// tree-kill 1.2.2's interface, race-free. On Linux with pidfds the tree is
// walked and frozen as kill-target's terminate({ tree: true }) does it: the
// root is opened by pid in the call's own tick, each member is found in
// /proc, opened by pidfd and confirmed a child of a member already held,
// and stopped (SIGSTOP) as it is found, top down, until a pass finds nobody
// new. Then the one signal goes to every member through its pidfd, and the
// members stopped here are continued. No escalation (tree-kill has none),
// and never `ps` or any other process. On Windows, tree-kill's `taskkill`
// (windows.js); elsewhere, or where kill-target cannot be loaded (a bundle
// copied away from node_modules), tree-kill's own algorithm by number
// (by-number.js). Arguments, errors and the callback's timing are
// tree-kill's; README.md lists what differs, and why.

const { createRequire } = require('node:module')
const { errno: ERRNO, signals: SIGNALS } = require('node:os').constants

const byNumber = require('./by-number.js')
const windows = require('./windows.js')

/** kill-target's KillTarget where it loads and has pidfds, else null; undefined until asked. */
let native

/**
 * Loads kill-target on first use. Its name is built here and it is
 * required through createRequire, so that a bundler that inlines this
 * package does not follow it into kill-target's native loader (which it
 * cannot bundle): at run time it resolves from where the code runs, and
 * a bundle that is not beside a node_modules holding kill-target falls
 * back to the algorithm by number.
 */
function loadNative() {
  if (native !== undefined) return native
  native = null
  try {
    const name = ['kill', 'target'].join('-')
    const { KillTarget, capabilities } = createRequire(__filename)(name)
    if (capabilities().pidfd) native = KillTarget
  } catch {
    // not installed, no binding for this platform, or no __filename (an ES module bundle)
  }
  return native
}

/** Signals that must reach a running member: the SIGCONT that ends the freeze would discard them. */
const STOPPING = new Set([SIGNALS.SIGTSTP, SIGNALS.SIGTTIN, SIGNALS.SIGTTOU])

module.exports = function treeKill(pid, signal, callback) {
  if (typeof signal === 'function' && callback === undefined) {
    callback = signal
    signal = undefined
  }
  pid = parseInt(pid)
  if (Number.isNaN(pid)) {
    if (callback) return callback(new Error('pid must be a number'))
    throw new Error('pid must be a number')
  }
  if (process.platform === 'win32') return void windows.treeKill(pid, callback)
  const KillTarget = process.platform === 'linux' ? loadNative() : null
  if (KillTarget === null) return void byNumber(pid, signal, callback)

  let error
  try {
    signalTree(KillTarget, pid, signal)
  } catch (thrown) {
    error = thrown
  }
  // After the signals, never within the call, as tree-kill's `ps` makes it.
  setImmediate(() => {
    if (callback) {
      if (error) callback(error)
      else callback()
    } else if (error) throw error
  })
}

/**
 * The signal as process.kill reads it, where tree-kill sends it: an
 * integer goes to the kernel as it is; anything else falsy is SIGTERM; a
 * name Node does not know is Node's own ERR_UNKNOWN_SIGNAL, which
 * process.kill throws before it signals anything.
 */
function signalNumber(signal, pid) {
  if (signal === (signal | 0)) return signal
  const name = signal || 'SIGTERM'
  if (SIGNALS[name]) return SIGNALS[name]
  process.kill(pid, signal)
  throw new Error('unreachable: process.kill accepted an unknown signal')
}

/** Node's error for a failed kill(2), as tree-kill gets it from process.kill. */
function killError(code) {
  return Object.assign(new Error(`kill ${code}`), { errno: -ERRNO[code], code, syscall: 'kill' })
}

/**
 * This process, when the tree holds it (treeKill(process.pid), or the pid
 * of an ancestor): never stopped, for it would never wake to continue the
 * others, and signalled last, for once it acts on the signal it may
 * continue nobody.
 */
const isThisProcess = (member) => member.pid === process.pid

/** Freezes the tree rooted at `pid`, signals each member, continues it. */
function signalTree(KillTarget, pid, signal) {
  // A pid process.kill refuses (2 ** 31 and up): Node's own error, as in
  // tree-kill, which passes it to process.kill.
  if (pid > 0 && pid !== (pid | 0)) process.kill(pid, signal)
  const number = signalNumber(signal, pid)
  let root
  try {
    root = KillTarget.fromPid(pid)
  } catch (error) {
    // tree-kill ignores a process that is gone already, or was never there
    // (a pid above the kernel's limit). 0 and negative pids are refused.
    if (error.code === 'ESRCH' || (pid > 0 && error.code === 'ERR_OUT_OF_RANGE')) return
    throw error
  }
  // kill(2) refuses a signal outside 0..64 (EINVAL) before it signals anyone.
  if (number < 0 || number > 64) {
    root.close()
    process.kill(pid, number)
  }
  // Signal 0 only asks whether the process is there: tree-kill's sends
  // nothing, so nothing is frozen.
  if (number === 0) return void root.close()

  const members = [root]
  // Members stopped here: each is continued. A member that cannot be
  // stopped (EPERM: another user's) is walked past, and its error is the
  // call's, as tree-kill's would be; the others still get the signal.
  const frozen = new Set()
  let first
  const fail = (error) => {
    first ??= error.code === 'EPERM' ? killError('EPERM') : error
  }
  const freeze = (member) => {
    if (isThisProcess(member)) return
    try {
      member.signal('SIGSTOP')
      frozen.add(member)
    } catch (error) {
      if (error.code !== 'ESRCH') fail(error)
    }
  }
  const send = (member) => {
    try {
      // A stopping signal (SIGTSTP, SIGTTIN, SIGTTOU) a member may catch or
      // ignore: it runs again first, as in tree-kill, where nothing froze
      // it; SIGCONT would discard it if it came after.
      if (STOPPING.has(number) && frozen.delete(member)) member.signal('SIGCONT')
      member.signal(number)
    } catch (error) {
      if (error.code !== 'ESRCH') fail(error)
    }
  }
  try {
    freeze(root)
    const held = new Set([root.pid])
    for (let found = true; found; ) {
      found = false
      for (const member of root.descendants()) {
        if (held.has(member.pid)) {
          member.close()
          continue
        }
        freeze(member)
        held.add(member.pid)
        members.push(member)
        found = true
      }
    }
    for (const member of members.slice().reverse()) if (!isThisProcess(member)) send(member)
  } finally {
    if (number !== SIGNALS.SIGSTOP) {
      for (const member of frozen) {
        try {
          member.signal('SIGCONT')
        } catch {
          // gone (SIGKILL), or not ours to continue
        }
      }
    }
  }
  members.filter(isThisProcess).forEach(send)
  for (const member of members) member.close()
  if (first) throw first
}
