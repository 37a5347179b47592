// `using` and `await using` as the runtime itself parses them (Node 24 and
// later): runtimes/using.mjs runs in a plain Node, without the loader that
// compiles these .mts files, so nothing lowers the syntax first.
import { spawnSync } from 'node:child_process'
import { fileURLToPath } from 'node:url'

import test from 'ava'

import { testUnless } from './helpers.mts'

const FIXTURE = fileURLToPath(new URL('runtimes/using.mjs', import.meta.url))

function usingUnparsed(): string | null {
  const probe = spawnSync(process.execPath, ['-e', '{ using x = null }'], { encoding: 'utf8' })
  return probe.status === 0 ? null : `Node ${process.version} does not parse \`using\` (Node 24 and later do)`
}

testUnless([usingUnparsed()], '`using` closes a target at the end of its block; `await using` terminates, then closes', (t) => {
  const run = spawnSync(process.execPath, [FIXTURE], { encoding: 'utf8', timeout: 30_000 })
  t.is(run.status, 0, run.stderr)
  const checks: [string, boolean, string][] = JSON.parse(run.stdout)
  t.is(checks.length, 3)
  for (const [name, passed, detail] of checks) t.true(passed, `${name} ${detail}`)
})
