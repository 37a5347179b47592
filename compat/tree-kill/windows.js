'use strict'

// Windows: the tree of `pid` ended as tree-kill 1.2.2 ends it there, by
// `taskkill /pid N /T /F`, with the callback handed to exec() as it is
// (exec's (error, stdout, stderr)). A signal means nothing to taskkill: /F
// ends every member. Self-contained (node:child_process only), so that
// any other backend that needs Windows can require this file alone.

const childProcess = require('node:child_process')

/** The command tree-kill runs for `pid` on Windows. */
const command = (pid) => `taskkill /pid ${pid} /T /F`

/**
 * Ends the tree of `pid` (a number, already parsed as tree-kill parses it):
 * exec(command(pid), callback), called at run time, so that a stubbed
 * child_process is the one used.
 */
function treeKill(pid, callback) {
  childProcess.exec(command(pid), callback)
}

module.exports = { command, treeKill }
