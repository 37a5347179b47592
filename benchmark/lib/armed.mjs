// The program that section kill-on-exit.mjs kills. `node armed.mjs flat N`
// arms N sleeping children one by one; `node armed.mjs trees T M` arms T
// shells with `tree: true`, each with M - 1 sleeping children. Prints the
// pids of every process armed, one line of JSON, once they are armed (and,
// for trees, once the keeper has had time to hand every member over), then
// waits to be killed.
import { spawn } from 'node:child_process'
import { readFileSync } from 'node:fs'
import { createRequire } from 'node:module'

const { KillTarget } = createRequire(import.meta.url)('../..')
const [shape, count, members] = [process.argv[2], Number(process.argv[3]), Number(process.argv[4])]
const childrenOf = (pid) => readFileSync(`/proc/${pid}/task/${pid}/children`, 'utf8').split(' ').filter(Boolean).map(Number)
const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms))

if (shape === 'trees') {
  const roots = Array.from({ length: count }, () =>
    spawn('sh', ['-c', `for i in $(seq ${members - 1}); do sleep 1000 & done; wait`], { stdio: 'ignore' }),
  )
  for (const root of roots) KillTarget.fromChildProcess(root).killOnExit({ tree: true })
  while (roots.some((root) => childrenOf(root.pid).length < members - 1)) await sleep(10)
  // The trees are walked every 100 ms: three walks.
  await sleep(300)
  console.log(JSON.stringify(roots.flatMap((root) => [root.pid, ...childrenOf(root.pid)])))
} else {
  const children = Array.from({ length: count }, () => spawn('sleep', ['1000'], { stdio: 'ignore' }))
  for (const child of children) KillTarget.fromChildProcess(child).killOnExit()
  console.log(JSON.stringify(children.map((child) => child.pid)))
}
setInterval(() => {}, 1 << 30)
