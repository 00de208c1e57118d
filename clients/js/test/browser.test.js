// The browser adapters in headless Chromium against the real server, from a
// page on another origin (so through the server's CORS answers): fetch
// streaming, the native EventSource and long-poll, over bounded responses;
// then with tokens, which make the browser send CORS preflights.
import { test, before, after } from 'node:test'
import assert from 'node:assert/strict'
import http from 'node:http'
import { readFile } from 'node:fs/promises'
import { existsSync } from 'node:fs'
import path from 'node:path'
import { fileURLToPath } from 'node:url'
import { chromium } from 'playwright-core'
import { launchChromium, chromiumPath } from '../../../testing/chromium.mjs'
import { startServer, publishAll } from './server.js'
import { signToken } from './util.js'

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..')

// The page subscribes once per adapter and records what each one emits.
const page = `<!doctype html>
<meta charset="utf-8">
<title>tidings client test</title>
<script>
// ?nostream: a browser whose fetch cannot stream, so the client must pick
// EventSource by itself.
if (new URLSearchParams(location.search).has('nostream')) {
  delete Response.prototype.body
  window.ReadableStream = undefined
}
</script>
<script type="module">
import { Tidings, Publisher } from '/index.js'
const q = new URLSearchParams(location.search)
const url = q.get('server')
const token = q.get('token') || undefined
const topics = ['web', 'web.other']
window.results = {}
window.publish = (topic, data) => new Publisher({ url, token }).publish(topic, data, { type: 'chat' })
const kinds = q.has('nostream')
  ? { auto: {} }
  : {
      fetch: { transport: 'sse', cursor: 'storage' },
      eventsource: { transport: 'sse', fetch: null },
      poll: { transport: 'poll', pollTimeout: 2 },
    }
for (const [name, opts] of Object.entries(kinds)) {
  const r = (window.results[name] = { events: [], states: [], errors: [] })
  const sub = new Tidings({ url, topics, token, minDelay: 100, maxDelay: 1000, ...opts })
  sub.on('event', (e) => r.events.push(e))
  sub.on('state', (s) => r.states.push(s))
  sub.on('error', (e) => r.errors.push(String(e && e.message)))
  r.transport = () => sub.transport
  sub.start()
}
</script>`

let server, statics, chrome, browser
before(async () => {
  if (!existsSync(chromiumPath)) return
  server = await startServer({ TIDINGS_SSE_MAX_DURATION: '2s', TIDINGS_SSE_RETRY: '100ms' })
  // Serves the package's own files, and the page, from another origin.
  statics = http.createServer(async (req, res) => {
    const p = new URL(req.url, 'http://x').pathname
    if (p === '/test.html') {
      res.writeHead(200, { 'content-type': 'text/html; charset=utf-8' })
      return res.end(page)
    }
    const file = path.join(root, path.normalize(p))
    if (!/^\/(index\.js|src\/[a-z0-9]+\.js)$/.test(p) || !file.startsWith(root)) {
      res.writeHead(404)
      return res.end()
    }
    res.writeHead(200, { 'content-type': 'text/javascript; charset=utf-8' })
    res.end(await readFile(file))
  })
  await new Promise((r) => statics.listen(0, '127.0.0.1', r))
  chrome = await launchChromium(chromium)
  browser = chrome.browser
})

after(async () => {
  if (chrome) await chrome.close()
  if (statics) {
    statics.closeAllConnections()
    statics.close()
  }
  if (server) await server.stop()
})

// Outside CI a machine without Chromium skips (and says so); in CI a
// missing browser is a failure, never a pass.
const skip = !existsSync(chromiumPath) && !process.env.CI && `no browser at ${chromiumPath}`

test('Chromium: fetch, EventSource and long-poll receive published events in order', { skip }, async () => {
  const tab = await browser.newPage()
  const pageErrors = []
  tab.on('pageerror', (e) => pageErrors.push(e))
  const kinds = new Set()
  tab.on('request', (r) => {
    const u = new URL(r.url())
    if (u.origin === server.url) kinds.add(`${r.resourceType()} ${u.pathname.split('/').pop()}`)
  })
  const origin = `http://127.0.0.1:${statics.address().port}`
  await tab.goto(`${origin}/test.html?server=${encodeURIComponent(server.url)}`)
  await tab.waitForFunction(
    () => window.results && Object.values(window.results).every((r) => r.states.at(-1) === 'open'),
    null,
    { timeout: 30000 },
  )
  const payloads = ['你好', { emoji: '🙂👍🏽', quote: '"q"\n' }, [1, '二', null], 'a'.repeat(3000)]
  const want = []
  // Spread over more than one bounded response.
  for (let round = 0; round < 3; round++) {
    want.push(...(await publishAll(server, round % 2 ? 'web.other' : 'web', payloads, { type: 'chat' })))
    await new Promise((r) => setTimeout(r, 700))
  }
  await tab.waitForFunction(
    (n) => Object.values(window.results).every((r) => r.events.length >= n),
    want.length,
    { timeout: 30000 },
  )
  const results = await tab.evaluate(() =>
    Object.fromEntries(
      Object.entries(window.results).map(([k, r]) => [k, { events: r.events, errors: r.errors, transport: r.transport() }]),
    ),
  )
  for (const [name, r] of Object.entries(results)) {
    assert.deepEqual(
      r.events.map((e) => e.id),
      want,
      name,
    )
    assert.deepEqual(
      r.events.map((e) => e.data),
      [...payloads, ...payloads, ...payloads],
      name,
    )
    assert.deepEqual(r.errors, [], name)
  }
  assert.equal(results.fetch.transport, 'sse')
  assert.equal(results.eventsource.transport, 'sse')
  // Cursor writes are throttled (one a second at most): wait for the last.
  await tab.waitForFunction(
    ([key, last]) => Number(localStorage.getItem(key)) >= last,
    [`tidings:cursor:${server.url}:web,web.other`, want.at(-1)],
    { timeout: 30000 },
  )
  assert.deepEqual(pageErrors, [])
  // The page really used each of the browser's mechanisms.
  assert.deepEqual([...kinds].sort(), ['eventsource sse', 'fetch poll', 'fetch sse'])
})

test('Chromium: with tokens, through CORS preflights, subscribe and publish from the page', { skip }, async (t) => {
  const secret = 'browser-test-secret-0123456789abcdefghijkl'
  const origin = `http://127.0.0.1:${statics.address().port}`
  const guarded = await startServer({ TIDINGS_SECRET: secret, TIDINGS_CORS_ORIGINS: origin })
  t.after(() => guarded.stop())
  const token = signToken(secret, { subscribe: ['web*'], publish: ['web*'] })
  const tab = await browser.newPage()
  t.after(() => tab.close())
  await tab.goto(`${origin}/test.html?server=${encodeURIComponent(guarded.url)}&token=${token}`)
  await tab.waitForFunction(() => Object.values(window.results).every((r) => r.states.at(-1) === 'open'), null, { timeout: 30000 })
  const answers = await tab.evaluate(() => Promise.all([window.publish('web', '一'), window.publish('web.other', '二')]))
  assert.deepEqual(
    answers.map((a) => a.topic),
    ['web', 'web.other'],
  )
  assert.ok(answers.every((a) => Number.isSafeInteger(a.id) && a.id > 0), 'every publish is answered with its id')
  await tab.waitForFunction(() => Object.values(window.results).every((r) => r.events.length >= 2), null, { timeout: 30000 })
  const got = await tab.evaluate(() => Object.fromEntries(Object.entries(window.results).map(([k, r]) => [k, r.events.map((e) => e.data)])))
  // The two publishes ran at once, so either may commit first: every
  // transport must deliver them in the order of the ids they were given.
  const inIdOrder = answers
    .map((a, i) => ({ id: a.id, data: ['一', '二'][i] }))
    .sort((x, y) => x.id - y.id)
    .map((x) => x.data)
  // fetch and long-poll send the token in a header and the publisher posts
  // JSON: none of it is possible across origins without a preflight.
  assert.deepEqual(got, { fetch: inIdOrder, eventsource: inIdOrder, poll: inIdOrder })
})

test('Chromium without streaming fetch: the client picks EventSource and receives every type', { skip }, async (t) => {
  const tab = await browser.newPage()
  t.after(() => tab.close())
  const kinds = new Set()
  tab.on('request', (r) => {
    const u = new URL(r.url())
    if (u.origin === server.url) kinds.add(`${r.resourceType()} ${u.pathname.split('/').pop()} ${u.searchParams.get('untyped')}`)
  })
  const origin = `http://127.0.0.1:${statics.address().port}`
  await tab.goto(`${origin}/test.html?nostream&server=${encodeURIComponent(server.url)}`)
  await tab.waitForFunction(() => window.results.auto.states.at(-1) === 'open', null, { timeout: 30000 })
  const want = []
  for (const type of ['order.paid', 'message', 'chat', 'x-y_z']) {
    const r = await server.publish('web', type, { type })
    want.push(r.body.id)
  }
  await tab.waitForFunction((n) => window.results.auto.events.length >= n, want.length, { timeout: 30000 })
  const got = await tab.evaluate(() => ({ events: window.results.auto.events, errors: window.results.auto.errors, transport: window.results.auto.transport() }))
  assert.deepEqual(
    got.events.map((e) => e.id),
    want,
  )
  assert.deepEqual(
    got.events.map((e) => e.type),
    ['order.paid', 'message', 'chat', 'x-y_z'],
  )
  assert.equal(got.transport, 'sse')
  assert.deepEqual(got.errors, [])
  assert.deepEqual([...kinds], ['eventsource sse 1'])
})
