// The generated index.d.ts, checked by the compiler: tsc over
// fixtures/types/api.mts, whose @ts-expect-error lines must each fail and
// whose other lines must compile. Its exit status is the assertion, so a
// missing or wrong declaration file fails this test.
import { spawnSync } from 'node:child_process'
import { createRequire } from 'node:module'
import { fileURLToPath } from 'node:url'

import test from 'ava'

const tsc = createRequire(import.meta.url).resolve('typescript/bin/tsc')
const project = fileURLToPath(new URL('fixtures/types/tsconfig.json', import.meta.url))

test('index.d.ts accepts the API as documented and refuses what the API refuses (tsc exit status)', (t) => {
  const run = spawnSync(process.execPath, [tsc, '-p', project], { encoding: 'utf8' })
  t.is(run.status, 0, run.stdout + run.stderr)
})
