// `npm test`: builds the server once for the whole run, then runs every
// test file with node's test runner. A file can also be run on its own with
// `node --test test/<name>.test.js`; it then builds the server itself.
import { spawnSync } from 'node:child_process'
import { readdirSync } from 'node:fs'
import path from 'node:path'
import { fileURLToPath } from 'node:url'
import { buildServer } from './server.js'

const dir = path.dirname(fileURLToPath(import.meta.url))
const files = readdirSync(dir)
  .filter((f) => f.endsWith('.test.js'))
  .sort()
  .map((f) => path.join(dir, f))
const env = { ...process.env, TIDINGS_TEST_BIN: buildServer() }
const r = spawnSync(process.execPath, ['--test', '--test-concurrency=2', ...process.argv.slice(2), ...files], {
  stdio: 'inherit',
  env,
})
process.exit(r.status ?? 1)
