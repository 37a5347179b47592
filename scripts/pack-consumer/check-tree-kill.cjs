// The tree-kill stand-in as a project gets it through `overrides`: the name
// `tree-kill` resolves to kill-target-tree-kill, whose kill-target is the
// installed one, and a tree is stopped through it.
const { spawn } = require('node:child_process')
const treeKill = require('tree-kill')

const manifest = require('tree-kill/package.json')
if (manifest.name !== 'kill-target-tree-kill') throw new Error(`tree-kill resolved to ${manifest.name}`)
const root = spawn('sh', ['-c', 'sleep 30 & sleep 30 & wait'], { stdio: 'ignore' })
setTimeout(() => {
  treeKill(root.pid, 'SIGTERM', (error) => {
    if (error) throw error
  })
}, 200)
root.on('exit', (code, signal) => {
  if (signal !== 'SIGTERM') throw new Error(`the root ended with ${code ?? signal}`)
  console.log(`tree-kill ok: ${manifest.name} ${manifest.version}`)
})
