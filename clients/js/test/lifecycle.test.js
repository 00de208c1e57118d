// The browser lifecycle against the real server, in Node with a stand-in
// for the window's events: online reconnects at once, pagehide stops and
// pageshow resumes, a visible page stops waiting, stop removes every
// listener.
import { test, before, after } from 'node:test'
import assert from 'node:assert/strict'
import { Tidings } from '../index.js'
import { startServer, publishAll } from './server.js'
import { waitUntil, record } from './util.js'

let server
before(async () => {
  server = await startServer()
})
after(() => server && server.stop())

// A window: addEventListener and removeEventListener on the global object,
// and a document whose visibility the test sets.
const win = new EventTarget()
const listeners = new Map()
before(() => {
  globalThis.addEventListener = (type, f) => {
    listeners.set(f, type)
    win.addEventListener(type, f)
  }
  globalThis.removeEventListener = (type, f) => {
    listeners.delete(f)
    win.removeEventListener(type, f)
  }
  globalThis.document = { visibilityState: 'visible' }
})
after(() => {
  delete globalThis.addEventListener
  delete globalThis.removeEventListener
  delete globalThis.document
})
const fire = (type) => win.dispatchEvent(new Event(type))

test('browser: online reconnects at once, pagehide stops, pageshow resumes, stop unwires', async (t) => {
  // Counts the stream requests the client makes.
  let streams = 0
  const fetchCounting = (url, init) => {
    if (/\/sse/.test(url)) streams++
    return fetch(url, init)
  }
  const sub = new Tidings({ url: server.url, topics: ['life'], platform: 'browser', fetch: fetchCounting, idleTimeout: 0 })
  const r = record(sub)
  t.after(() => sub.stop())
  sub.start()
  assert.deepEqual([...listeners.values()].sort(), ['online', 'pagehide', 'pageshow', 'visibilitychange'])
  await waitUntil(() => sub.state === 'open', 'open')
  const want = await publishAll(server, 'life', ['a'])
  await waitUntil(() => r.events.length === 1, 'a')

  fire('online')
  assert.equal(streams, 1)
  await waitUntil(() => streams === 2, 'a new stream at once after online')
  await waitUntil(() => sub.state === 'open', 'open again')

  fire('pagehide')
  assert.equal(sub.state, 'stopped')
  want.push(...(await publishAll(server, 'life', ['while in bfcache'])))
  fire('pageshow')
  await waitUntil(() => r.events.length === 2, 'the event sent while hidden')
  assert.deepEqual(r.ids(), want)

  sub.stop()
  assert.equal(listeners.size, 0)
  fire('pageshow')
  assert.equal(sub.state, 'stopped', 'an explicit stop is not undone by pageshow')
})

test('browser: a page that becomes visible stops waiting out the backoff', async (t) => {
  let down = true
  const flaky = (url, init) => (down ? Promise.reject(new TypeError('network down')) : fetch(url, init))
  const sub = new Tidings({ url: server.url, topics: ['life.vis'], platform: 'browser', fetch: flaky, minDelay: 60000, maxDelay: 60000 })
  const r = record(sub)
  t.after(() => sub.stop())
  sub.start()
  await waitUntil(() => sub.state === 'waiting', 'waiting after a failure')
  down = false
  globalThis.document.visibilityState = 'visible'
  fire('visibilitychange')
  await waitUntil(() => sub.state === 'open', 'open at once, not after a minute')
  const want = await publishAll(server, 'life.vis', ['seen'])
  await waitUntil(() => r.events.length === 1, 'the event')
  assert.deepEqual(r.ids(), want)
})
