'use strict'

// tree-kill 1.2.2's own algorithm on Unix, for where kill-target cannot
// work (no pidfds, no native binding for this platform, or a bundle that
// cannot load it): list the tree by number (`pgrep -P` on macOS, `ps
// --ppid` elsewhere), then signal each number. It races pid reuse as
// tree-kill does; it is here so that this package can stand in for
// tree-kill everywhere, without depending on it (an `overrides` entry
// would point that dependency back here). Windows is windows.js.
// From tree-kill 1.2.2, MIT, Copyright (c) 2010 Peteris Krumins.

const { spawn } = require('node:child_process')

module.exports = function byNumber(pid, signal, callback) {
  const tree = { [pid]: [] }
  const pending = { [pid]: 1 }
  const lister =
    process.platform === 'darwin'
      ? (parent) => spawn('pgrep', ['-P', parent])
      : (parent) => spawn('ps', ['-o', 'pid', '--no-headers', '--ppid', parent])
  buildTree(pid, tree, pending, lister, () => killAll(tree, signal, callback))
}

function killAll(tree, signal, callback) {
  const killed = {}
  try {
    for (const pid of Object.keys(tree)) {
      for (const child of tree[pid]) {
        if (!killed[child]) {
          killPid(child, signal)
          killed[child] = 1
        }
      }
      if (!killed[pid]) {
        killPid(pid, signal)
        killed[pid] = 1
      }
    }
  } catch (error) {
    if (callback) return callback(error)
    throw error
  }
  if (callback) return callback()
}

function killPid(pid, signal) {
  try {
    process.kill(parseInt(pid, 10), signal)
  } catch (error) {
    if (error.code !== 'ESRCH') throw error
  }
}

function buildTree(parent, tree, pending, lister, done) {
  const list = lister(parent)
  let text = ''
  list.stdout.on('data', (data) => (text += data.toString('ascii')))
  list.on('close', (code) => {
    delete pending[parent]
    if (code != 0) {
      if (Object.keys(pending).length === 0) done()
      return
    }
    for (const found of text.match(/\d+/g)) {
      const pid = parseInt(found, 10)
      tree[parent].push(pid)
      tree[pid] = []
      pending[pid] = 1
      buildTree(pid, tree, pending, lister, done)
    }
  })
}
