// Runs examples/miniprogram against the real server with the simulated wx
// and stand-ins for App, Page and getApp: the page lists live events, and
// events published while the app is hidden appear once it shows again.
import { test, after } from 'node:test'
import assert from 'node:assert/strict'
import { readFile, writeFile, mkdtemp, mkdir, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import path from 'node:path'
import { pathToFileURL } from 'node:url'
import { createWx } from './wx.js'
import { startServer, publishAll, repoRoot, request } from './server.js'
import { waitUntil } from './util.js'

test('the mini-program example lists events and catches up after onHide/onShow', async (t) => {
  const server = await startServer()
  t.after(() => server.stop())
  const example = path.join(repoRoot, 'examples/miniprogram')
  const client = pathToFileURL(path.join(repoRoot, 'clients/js/index.js')).href
  // The example imports the package by name and names a placeholder server.
  const dir = await mkdtemp(path.join(tmpdir(), 'tidings-example-'))
  after(() => rm(dir, { recursive: true, force: true }))
  await mkdir(path.join(dir, 'pages/index'), { recursive: true })
  for (const f of ['app.js', 'config.js', 'pages/index/index.js']) {
    const src = (await readFile(path.join(example, f), 'utf8'))
      .replace(`from 'tidings-client'`, `from '${client}'`)
      .replace(`from './config.js'`, `from './config.mjs'`)
      .replaceAll('http://127.0.0.1:8080', server.url)
    await writeFile(path.join(dir, f.replace(/\.js$/, '.mjs')), src)
  }
  const appJson = JSON.parse(await readFile(path.join(example, 'app.json'), 'utf8'))
  assert.deepEqual(appJson.pages, ['pages/index/index'])

  const wx = createWx()
  let app, page
  Object.assign(globalThis, {
    wx,
    App: (o) => (app = o),
    getApp: () => app,
    Page: (o) => (page = o),
  })
  t.after(() => {
    for (const k of ['wx', 'App', 'getApp', 'Page']) delete globalThis[k]
  })
  await import(pathToFileURL(path.join(dir, 'app.mjs')).href)
  await import(pathToFileURL(path.join(dir, 'pages/index/index.mjs')).href)
  let setDataCalls = 0
  page.setData = function (d) {
    setDataCalls++
    Object.assign(this.data, d)
  }

  app.onLaunch()
  app.onShow()
  page.onLoad()
  await waitUntil(() => page.data.state === 'open', 'the page to show "open"')
  const want = await publishAll(server, 'room.lobby', ['大家好', { n: 2 }])
  await waitUntil(() => page.data.events.length === 2, 'two rows')

  app.onHide()
  assert.equal(page.data.state, 'stopped')
  assert.equal(wx.stats.open, 0)
  want.push(...(await publishAll(server, 'room.lobby', ['while hidden 🙂'])))
  app.onShow()
  await waitUntil(() => page.data.events.length === 3, 'the event published while hidden')
  assert.deepEqual(
    page.data.events.map((r) => r.id),
    want.slice().reverse(),
  )
  assert.equal(page.data.events[0].text, '"while hidden 🙂"')
  await waitUntil(() => wx.getStorageSync(app.sub.key) === String(want.at(-1)), 'the stored cursor')

  // Fifty events committed at once reach the page in a few setData calls,
  // not fifty.
  const before = setDataCalls
  const batch = await request('POST', `${server.url}/v1/events`, {
    events: Array.from({ length: 50 }, (_, i) => ({ topic: 'room.lobby', data: i })),
  })
  assert.equal(batch.status, 201)
  want.push(...batch.body.events.map((e) => e.id))
  await waitUntil(() => page.data.events.length === 53, 'fifty more rows')
  assert.ok(setDataCalls - before < 10, `${setDataCalls - before} setData calls for 50 events`)
  assert.deepEqual(
    page.data.events.map((r) => r.id),
    want.slice().reverse(),
  )

  page.onUnload()
  want.push(...(await publishAll(server, 'room.lobby', ['after unload'])))
  await waitUntil(() => app.sub.cursor === want.at(-1), 'the subscription to go on')
  assert.equal(page.data.events.length, 53, 'an unloaded page no longer listens')
  app.onHide()
})
