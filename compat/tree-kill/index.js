'use strict'

// tree-kill 1.2.2's interface, race-free. On Linux with pidfds the tree is
// walked and frozen as kill-target's terminate({ tree: true }) does it: the
// root is opened by pid in the call's own tick, each member is found in
// /proc, opened by pidfd and confirmed a child of a member already held,
// and stopped (SIGSTOP) as it is found, top down, until a pass finds nobody
// new. Then the one signal goes to every member through its pidfd, and the
// members stopped here are continued. No escalation (tree-kill has none),
// and never `ps` or any other process. Elsewhere, tree-kill's own algorithm
// by number (by-number.js).

const byNumber = require('./by-number.js')

/** kill-target, where it loads and has pidfds; null elsewhere. */
const native = (() => {
  try {
    const { KillTarget, capabilities } = require('kill-target')
    return capabilities().pidfd ? KillTarget : null
  } catch {
    return null
  }
})()

/** Signals that must not be undone by the SIGCONT that ends the freeze. */
const STOPPING = new Set(['SIGSTOP', 'SIGTSTP', 'SIGTTIN', 'SIGTTOU', 19, 20, 21, 22])

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
  if (native === null) return byNumber(pid, signal, callback)

  let error
  try {
    signalTree(pid, signal)
  } catch (thrown) {
    error = thrown
  }
  // After the signals, never within the call, as tree-kill's `ps` makes it.
  setImmediate(() => {
    if (callback) callback(error)
    else if (error) throw error
  })
}

/**
 * This process, when the tree holds it (treeKill(process.pid), or the pid
 * of an ancestor): never stopped, for it would never wake to continue the
 * others, and signalled last, for once it acts on the signal it may
 * continue nobody.
 */
const isThisProcess = (member) => member.pid === process.pid

/** Freezes the tree rooted at `pid`, signals each member, continues it. */
function signalTree(pid, signal) {
  let root
  try {
    root = native.fromPid(pid)
  } catch (error) {
    // tree-kill ignores a process that is gone already.
    if (error.code === 'ESRCH') return
    throw error
  }
  const members = [root]
  const freeze = (member) => isThisProcess(member) || member.signal('SIGSTOP')
  let first
  const send = (member) => {
    try {
      member.signal(signal)
    } catch (error) {
      first ??= error
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
    for (const member of members) {
      if (!STOPPING.has(signal) && !isThisProcess(member)) member.signal('SIGCONT')
    }
  }
  members.filter(isThisProcess).forEach(send)
  for (const member of members) member.close()
  if (first) throw first
}
