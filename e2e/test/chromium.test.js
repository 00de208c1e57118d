// Headless Chromium's native EventSource against the real server, from a
// page on another origin (the server allows any origin in open mode): it
// subscribes "from now" while 200 events are published across many 1 s
// bounded responses, and must see every event once, in order. The
// tidings.cursor blocks move its last event id without firing onmessage.
import { test, before, after } from 'node:test'
import assert from 'node:assert/strict'
import http from 'node:http'
import { chromium } from 'playwright-core'
import { startServer, publishAll } from '../../testing/server.mjs'
import { launchChromium } from '../../testing/chromium.mjs'
import { publishPaced, timeRE } from './helpers.js'

const N = 200

const page = `<!doctype html>
<meta charset="utf-8">
<title>tidings EventSource</title>
<script>
window.received = []
window.messages = []
window.cursorBlocks = []
window.opens = 0
const server = new URLSearchParams(location.search).get('server')
const es = new EventSource(server + '/v1/topics/e2e/sse')
es.onopen = () => window.opens++
es.onmessage = (e) => {
  window.messages.push({ data: e.data, lastEventId: e.lastEventId, type: e.type })
  try { window.received.push(JSON.parse(e.data)) } catch {}
}
es.addEventListener('tidings.cursor', (e) => window.cursorBlocks.push({ data: e.data, lastEventId: e.lastEventId }))
</script>`

let server, pages, chrome
before(async () => {
  server = await startServer({ TIDINGS_SSE_MAX_DURATION: '1s' })
  pages = http.createServer((req, res) => {
    res.writeHead(200, { 'content-type': 'text/html; charset=utf-8' })
    res.end(page)
  })
  await new Promise((r) => pages.listen(0, '127.0.0.1', r))
  chrome = await launchChromium(chromium)
})
after(async () => {
  await chrome?.close()
  pages?.close()
  await server?.stop()
})

test('native EventSource resumes across bounded responses with no loss and no repeat', async (t) => {
  const tab = chrome.browser.pages()[0] ?? (await chrome.browser.newPage())
  const streamRequests = [] // Last-Event-ID of each stream request, null for none
  tab.on('request', (req) => {
    if (req.resourceType() !== 'eventsource') return
    const lastEventId = req.allHeaders().then((h) => h['last-event-id'] ?? null)
    // A reconnect that races the browser's close after the test has read
    // the list must not become an unhandled rejection.
    lastEventId.catch(() => {})
    streamRequests.push(lastEventId)
  })
  const { port } = pages.address()
  await tab.goto(`http://127.0.0.1:${port}/?server=${encodeURIComponent(server.url)}`)

  // Subscribed "from now": publish only once the starting block is in.
  await tab.waitForFunction(() => window.cursorBlocks.length > 0, null, { timeout: 10000 })
  const published = await publishPaced(server, 'e2e', N, 20)
  // A sentinel published last: once it is in, every repeat would be too.
  const [sentinelId] = await publishAll(server, 'e2e', [{ sentinel: true }])
  await tab.waitForFunction((id) => window.received.at(-1)?.id === id, sentinelId, { timeout: 30000 })
  const got = await tab.evaluate(() => ({
    received: window.received,
    messages: window.messages,
    cursorBlocks: window.cursorBlocks,
    opens: window.opens,
  }))

  got.received.pop()
  got.messages.pop()
  assert.deepEqual(
    got.received.map((e) => e.id),
    published,
    'every event once, in id order',
  )
  got.received.forEach((e, i) => {
    assert.equal(e.topic, 'e2e')
    assert.equal(e.type, 'message')
    assert.deepEqual(e.data, { n: i })
    assert.match(e.time, timeRE)
  })
  // onmessage fired for events only: never for a cursor block.
  assert.equal(got.messages.length, got.received.length)
  for (const m of got.messages) {
    assert.equal(m.type, 'message')
    assert.ok(!m.data.includes('"cursor"'), `onmessage got a control block: ${m.data}`)
    assert.equal(m.lastEventId, String(JSON.parse(m.data).id))
  }
  // Cursor blocks reached their own listener, and the stream was cut into
  // several responses that all reopened.
  assert.ok(got.opens >= 3, `at least 3 responses, got ${got.opens}`)
  assert.ok(got.cursorBlocks.length >= 2 * (got.opens - 1), `cursor blocks: ${got.cursorBlocks.length} for ${got.opens} responses`)
  for (const c of got.cursorBlocks) assert.equal(c.lastEventId, String(JSON.parse(c.data).cursor))

  const lastEventIds = await Promise.all(streamRequests)
  assert.equal(lastEventIds[0], null, 'the first request subscribes from now')
  assert.ok(lastEventIds.length >= 3, `stream requests: ${lastEventIds.length}`)
  for (const [i, id] of lastEventIds.slice(1).entries()) {
    assert.match(String(id), /^\d+$/, `reconnect ${i + 1} carries Last-Event-ID`)
  }
  t.diagnostic(`${N} events over ${got.opens} responses, ${got.cursorBlocks.length} cursor blocks`)
})
