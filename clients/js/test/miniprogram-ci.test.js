// The package through WeChat's own npm build: the example mini-program with
// the packed tidings-client installed, built by miniprogram-ci's
// packNpmManually (what DevTools' "Build npm" does), then run against the
// real server with the simulated wx, requiring the built module the way the
// mini-program runtime resolves 'tidings-client': from miniprogram_npm.
import { test, after } from 'node:test'
import assert from 'node:assert/strict'
import { execFileSync } from 'node:child_process'
import { cpSync, mkdtempSync, readFileSync, writeFileSync, rmSync, existsSync } from 'node:fs'
import { createRequire } from 'node:module'
import { tmpdir } from 'node:os'
import path from 'node:path'
import { fileURLToPath } from 'node:url'
import { transformSync } from 'esbuild'
import { createWx } from './wx.js'
import { startServer, publishAll, repoRoot } from './server.js'
import { waitUntil } from './util.js'

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..')
const require = createRequire(import.meta.url)

test('miniprogram-ci builds the example with the packed package, and the result receives events', async (t) => {
  const tmp = mkdtempSync(path.join(tmpdir(), 'tidings-mpci-'))
  after(() => rmSync(tmp, { recursive: true, force: true }))
  const out = execFileSync('npm', ['pack', '--json', '--ignore-scripts', '--pack-destination', tmp], { cwd: root, encoding: 'utf8' })
  const tarball = path.join(tmp, JSON.parse(out)[0].filename)
  const project = path.join(tmp, 'miniprogram')
  cpSync(path.join(repoRoot, 'examples/miniprogram'), project, { recursive: true })
  execFileSync('npm', ['install', '--no-audit', '--no-fund', '--offline', '--ignore-scripts', tarball], { cwd: project, stdio: 'ignore' })

  const ci = require('miniprogram-ci')
  const packed = await ci.packNpmManually({ packageJsonPath: path.join(project, 'package.json'), miniprogramNpmDistDir: project })
  assert.deepEqual(packed.warnList, [])
  assert.equal(packed.miniProgramPackNum, 1, 'packed through its "miniprogram" field')
  const built = path.join(project, 'miniprogram_npm/tidings-client')
  for (const f of ['index.js', 'queue.js']) assert.ok(existsSync(path.join(built, f)), f)

  // The example's own files, compiled to CommonJS as DevTools' ES6
  // transform does, with 'tidings-client' resolved to miniprogram_npm.
  writeFileSync(path.join(project, 'package.json'), '{"type":"commonjs"}')
  const server = await startServer()
  t.after(() => server.stop())
  for (const f of ['app.js', 'config.js', 'pages/index/index.js']) {
    const src = readFileSync(path.join(project, f), 'utf8').replaceAll('http://127.0.0.1:8080', server.url)
    const { code } = transformSync(src, { format: 'cjs', target: 'es2015' })
    writeFileSync(path.join(project, f), code.replace(/require\("tidings-client"\)/g, JSON.stringify(path.join(built, 'index.js')).replace(/^/, 'require(') + ')'))
  }
  const wx = createWx()
  let app, page
  Object.assign(globalThis, { wx, App: (o) => (app = o), getApp: () => app, Page: (o) => (page = o) })
  t.after(() => {
    for (const k of ['wx', 'App', 'getApp', 'Page']) delete globalThis[k]
  })
  const load = createRequire(path.join(project, 'app.js'))
  load('./app.js')
  load('./pages/index/index.js')
  page.setData = function (d) {
    Object.assign(this.data, d)
  }
  app.onLaunch()
  app.onShow()
  page.onLoad()
  t.after(() => {
    page.onUnload()
    app.onHide()
  })
  await waitUntil(() => page.data.state === 'open', 'the page to show "open"')
  assert.ok(wx.stats.streams >= 1, 'the built module streamed with enableChunked')
  const want = await publishAll(server, 'room.lobby', ['构建 npm', { ok: true }], { type: 'chat' })
  await waitUntil(() => page.data.events.length === 2, 'two rows')
  assert.deepEqual(
    page.data.events.map((r) => r.id),
    want.slice().reverse(),
  )
  assert.equal(page.data.events[1].text, '"构建 npm"')
})
