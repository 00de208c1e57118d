// The TypeScript declarations compile under --strict in a mini-program
// project (ES2017, no DOM library) and in a browser project (DOM), and the
// fixtures' @ts-expect-error lines prove the type argument is used: were
// e.data `any`, those lines would be unused directives, which tsc reports.
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { spawnSync } from 'node:child_process'
import { createRequire } from 'node:module'
import path from 'node:path'
import { fileURLToPath } from 'node:url'

const dir = path.dirname(fileURLToPath(import.meta.url))
const tsc = createRequire(import.meta.url).resolve('typescript/bin/tsc')

for (const project of ['miniprogram', 'browser']) {
  test(`types: a ${project} project compiles under --strict`, () => {
    const r = spawnSync(process.execPath, [tsc, '-p', path.join(dir, 'types', project), '--pretty', 'false'], { encoding: 'utf8' })
    assert.equal(r.status, 0, r.stdout + r.stderr)
  })
}
