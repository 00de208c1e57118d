// `npm test` of the Node suites: builds the server once for the whole run,
// then runs node's test runner on the given files with the binary's path in
// TIDINGS_TEST_BIN, so that every test file (each its own process) uses the
// same build. Arguments: node --test options (starting with "-", in any
// position, so that `npm test -- --test-name-pattern=x` works) and files.
import { spawnSync } from 'node:child_process'
import { buildServer } from './server.mjs'

const args = process.argv.slice(2)
const options = args.filter((a) => a.startsWith('-'))
const files = args.filter((a) => !a.startsWith('-'))
const env = { ...process.env, TIDINGS_TEST_BIN: buildServer() }
const r = spawnSync(process.execPath, ['--test', ...options, ...files], { stdio: 'inherit', env })
process.exit(r.status ?? 1)
