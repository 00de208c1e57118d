// The package as people install it: the built files are current, `npm pack`
// ships what the entry points need (and no tests), the CommonJS and ES
// entry points of the packed copy load under Node, the mini-program build
// receives events from the real server under the simulated wx, and the core
// stays within 5 KB minified and gzipped.
import { test, before, after } from 'node:test'
import assert from 'node:assert/strict'
import { execFileSync } from 'node:child_process'
import { mkdtempSync, readFileSync, readdirSync, rmSync, mkdirSync, writeFileSync } from 'node:fs'
import { createRequire } from 'node:module'
import { tmpdir } from 'node:os'
import path from 'node:path'
import { fileURLToPath, pathToFileURL } from 'node:url'
import { buildAll } from '../scripts/build.js'
import { sizes } from '../scripts/size.js'
import { createWx } from './wx.js'
import { startServer, publishAll } from './server.js'
import { waitUntil } from './util.js'

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..')
// Built by prepare and prepack: nothing built is committed.
const built = ['dist/index.cjs', 'dist/queue.cjs', 'miniprogram_dist/index.js', 'miniprogram_dist/queue.js']

let tmp, pkg, packed
before(async () => {
  tmp = mkdtempSync(path.join(tmpdir(), 'tidings-pack-'))
  // Packed as npm publish would: prepack's build first, then the pack.
  await buildAll()
  const out = execFileSync('npm', ['pack', '--json', '--ignore-scripts', '--pack-destination', tmp], { cwd: root, encoding: 'utf8' })
  const [info] = JSON.parse(out)
  // An installed copy: node_modules/tidings-client in a project of its own.
  pkg = path.join(tmp, 'app/node_modules/tidings-client')
  mkdirSync(pkg, { recursive: true })
  execFileSync('tar', ['-xzf', path.join(tmp, info.filename), '-C', pkg, '--strip-components=1'])
  packed = info.files.map((f) => f.path).sort()
})
after(() => tmp && rmSync(tmp, { recursive: true, force: true }))

test('package: npm pack ships the entry points, license and docs, and no tests', () => {
  for (const f of ['LICENSE', 'README.md', 'CHANGELOG.md', 'package.json', 'index.js', 'index.d.ts', 'queue.js', 'queue.d.ts', 'src/parser.js', 'src/platform.js', 'src/utf8.js', ...built])
    assert.ok(packed.includes(f), `${f} is in the package`)
  assert.deepEqual(
    packed.filter((f) => /(^|\/)test|node_modules|scripts\//.test(f)),
    [],
  )
  const meta = JSON.parse(readFileSync(path.join(pkg, 'package.json'), 'utf8'))
  assert.equal(meta.miniprogram, 'miniprogram_dist')
  assert.equal(meta.repository.url, 'git+https://github.com/tidings/tidings.git')
  assert.ok(meta.homepage.startsWith('https://') && meta.bugs.url.startsWith('https://'))
  // Links on the registry page must not be relative.
  const readme = readFileSync(path.join(pkg, 'README.md'), 'utf8')
  const links = [...readme.matchAll(/\]\(([^)]+)\)/g)].map((m) => m[1])
  assert.ok(links.length > 0)
  assert.deepEqual(
    links.filter((l) => !/^https:\/\//.test(l)),
    [],
  )
})

test('package: require and import of the packed copy give the same API', async () => {
  const app = path.join(tmp, 'app')
  writeFileSync(path.join(app, 'package.json'), '{"name":"app","private":true}')
  const req = createRequire(path.join(app, 'index.js'))
  const cjs = req('tidings-client')
  const cjsQueue = req('tidings-client/queue')
  assert.equal(req.resolve('tidings-client'), path.join(pkg, 'dist/index.cjs'))
  const esm = await import(pathToFileURL(path.join(pkg, 'index.js')).href)
  for (const name of ['Tidings', 'Publisher', 'Parser', 'decodeUtf8']) {
    assert.equal(typeof cjs[name], 'function', `require: ${name}`)
    assert.equal(typeof esm[name], 'function', `import: ${name}`)
  }
  assert.equal(typeof cjsQueue.Outbox, 'function')
  // The CommonJS queue extends the CommonJS core, not a copy of it.
  assert.ok(new cjsQueue.Outbox({ url: 'http://x', fetch: () => new Promise(() => {}) }) instanceof cjs.Publisher)
})

test('package: the mini-program build receives events under the simulated wx', async (t) => {
  const server = await startServer()
  t.after(() => server.stop())
  // As DevTools' "Build npm" lays it out: miniprogram_npm/tidings-client/
  // holds the contents of miniprogram_dist, required by CommonJS.
  const npmDir = path.join(tmp, 'mp/miniprogram_npm/tidings-client')
  mkdirSync(npmDir, { recursive: true })
  for (const f of readdirSync(path.join(pkg, 'miniprogram_dist')))
    writeFileSync(path.join(npmDir, f), readFileSync(path.join(pkg, 'miniprogram_dist', f)))
  // Its own package.json keeps Node from reading the files as ES modules.
  writeFileSync(path.join(tmp, 'mp/package.json'), '{"type":"commonjs"}')
  const wx = createWx()
  globalThis.wx = wx
  t.after(() => delete globalThis.wx)
  const req = createRequire(path.join(tmp, 'mp/app.js'))
  const { Tidings } = req('./miniprogram_npm/tidings-client/index.js')
  const { Outbox } = req('./miniprogram_npm/tidings-client/queue.js')
  const sub = new Tidings({ url: server.url, topics: ['mp.dist'], cursor: 'storage' })
  const got = []
  sub.on('event', (e) => got.push(e))
  t.after(() => sub.stop())
  sub.start()
  await waitUntil(() => sub.state === 'open', 'open')
  assert.ok(wx.stats.streams >= 1, 'it streamed with enableChunked')
  const want = await publishAll(server, 'mp.dist', ['小程序', { n: 2 }])
  const ack = await new Outbox({ url: server.url }).publish('mp.dist', '队列')
  want.push(ack.id)
  await waitUntil(() => got.length === want.length, 'the events')
  assert.deepEqual(
    got.map((e) => e.id),
    want,
  )
  assert.deepEqual(
    got.map((e) => e.data),
    ['小程序', { n: 2 }, '队列'],
  )
})

test('size: the core is within 5 KB minified and gzipped', async () => {
  const s = await sizes('index.js')
  assert.ok(s.gzipped <= 5120, `${s.gzipped} bytes`)
})
