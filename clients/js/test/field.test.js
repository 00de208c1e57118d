// Paths real devices and networks take, against the real server: a wx that
// never delivers chunks, headers that arrive late, a network that drops and
// returns, the app going to the background, cursor writes on a busy stream.
import { test, before, after } from 'node:test'
import assert from 'node:assert/strict'
import { Tidings, Publisher } from '../index.js'
import { createWx } from './wx.js'
import { startServer, publishAll } from './server.js'
import { waitUntil, record, strictlyAscending } from './util.js'

let server
before(async () => {
  // Bounded responses of 1 s, shorter than any fallbackAfter below.
  server = await startServer({ TIDINGS_SSE_MAX_DURATION: '1s', TIDINGS_SSE_RETRY: '50ms' })
})
after(() => server && server.stop())

function subscribe(t, wx, opts) {
  const sub = new Tidings({ url: server.url, platform: 'wechat', wx, minDelay: 50, maxDelay: 500, ...opts })
  const r = record(sub)
  t.after(() => sub.stop())
  return [sub, r]
}

const sseStarts = (wx) => wx.stats.started.filter((s) => /\/sse\?/.test(s.url))

test('wx that never delivers chunks: each whole body is delivered, once and in order', async (t) => {
  const wx = createWx({ deliverChunks: false })
  const [sub, r] = subscribe(t, wx, { topics: ['f.whole'], fallbackAfter: 60000, cursor: 0 })
  sub.start()
  const want = []
  // Several rounds, so the events span several bounded responses.
  for (let round = 0; round < 3; round++) {
    want.push(...(await publishAll(server, 'f.whole', [`一 ${round}`, { round }], { type: 'order.paid' })))
    await waitUntil(() => r.events.length === want.length, `round ${round}`)
  }
  assert.deepEqual(r.ids(), want)
  assert.ok(strictlyAscending(r.ids()))
  assert.equal(sub.transport, 'sse', 'silence shorter than fallbackAfter keeps streaming')
  assert.ok(sseStarts(wx).length >= 2, 'more than one bounded response')
  assert.equal(wx.stats.maxOpen, 1)
  assert.deepEqual(r.errors, [])
})

test('wx that never delivers chunks: silent responses add up to the fallback, and the next start streams again', async (t) => {
  const wx = createWx({ deliverChunks: false })
  const [sub, r] = subscribe(t, wx, { topics: ['f.silent'], fallbackAfter: 2500, cursor: 0 })
  sub.start()
  const want = await publishAll(server, 'f.silent', ['a', 'b'])
  await waitUntil(() => sub.transport === 'poll', 'the fallback to long-poll')
  assert.ok(sseStarts(wx).length >= 2, 'the fallback came after several silent responses')
  want.push(...(await publishAll(server, 'f.silent', ['c'])))
  await waitUntil(() => r.events.length === want.length, 'every event')
  assert.deepEqual(r.ids(), want)

  sub.stop()
  const before = sseStarts(wx).length
  sub.start()
  assert.equal(sub.transport, 'sse')
  await waitUntil(() => sseStarts(wx).length > before, 'a stream request after start')
  want.push(...(await publishAll(server, 'f.silent', ['d'])))
  await waitUntil(() => r.events.length === want.length, 'the event after restart')
  assert.deepEqual(r.ids(), want)
})

test('wx: headers delayed past fallbackAfter do not cause a fallback', async (t) => {
  const wx = createWx({ headerDelay: 600 })
  const [sub, r] = subscribe(t, wx, { topics: ['f.slow'], fallbackAfter: 300, cursor: 0 })
  sub.start()
  await waitUntil(() => sub.state === 'open', 'open')
  const want = await publishAll(server, 'f.slow', ['x', 'y'])
  await waitUntil(() => r.events.length === want.length, 'the events')
  // Let several bounded responses, each with late headers, go by.
  await waitUntil(() => sseStarts(wx).length >= 3, 'three stream requests')
  assert.equal(sub.transport, 'sse')
  assert.ok(
    wx.stats.started.every((s) => /\/sse\?/.test(s.url)),
    'no long-poll request was made',
  )
  assert.deepEqual(r.ids(), want)
})

test('every wx.request asks for at most 60 s, and streams for at most 50 s of server time', async (t) => {
  const wx = createWx()
  const timeouts = []
  const request = wx.request
  wx.request = (o) => {
    timeouts.push(o.timeout)
    return request(o)
  }
  const [sub] = subscribe(t, wx, { topics: ['f.timeout'], pollTimeout: 55 })
  sub.start()
  await waitUntil(() => sub.state === 'open', 'open')
  const [poll] = subscribe(t, wx, { topics: ['f.timeout'], transport: 'poll', pollTimeout: 55 })
  poll.start()
  await waitUntil(() => timeouts.length >= 3, 'a waiting poll')
  await new Publisher({ url: server.url, platform: 'wechat', wx }).publish('f.timeout', 1).catch(() => {})
  assert.ok(
    timeouts.every((ms) => ms > 0 && ms <= 60000),
    `timeouts ${timeouts}`,
  )
  assert.match(sseStarts(wx)[0].url, /[?&]max_duration=50(&|$)/)
})

test('wx: a dead connection is replaced as soon as the network returns, with the backoff reset', async (t) => {
  const wx = createWx()
  // idleTimeout 0: only the network event can notice the dead socket.
  const [sub, r] = subscribe(t, wx, { topics: ['f.net'], idleTimeout: 0, minDelay: 60000, maxDelay: 60000 })
  sub.start()
  await waitUntil(() => sub.state === 'open', 'open')
  const first = await publishAll(server, 'f.net', ['before'])
  await waitUntil(() => r.events.length === 1, 'the first event')
  // Wi-Fi to 4G: the socket dies without a word.
  wx.setOnline(false, { freeze: true })
  const want = first.concat(await publishAll(server, 'f.net', ['while switching', 'two']))
  wx.setOnline(true)
  await waitUntil(() => r.events.length === want.length, 'the events sent while the network changed')
  assert.deepEqual(r.ids(), want)
  assert.equal(wx.stats.maxOpen, 1)
})

test('wx: appLifecycle stops on onAppHide and resumes on onAppShow; stop removes every wx listener', async (t) => {
  const wx = createWx()
  const [sub, r] = subscribe(t, wx, { topics: ['f.app'], appLifecycle: true })
  sub.start()
  await waitUntil(() => sub.state === 'open', 'open')
  assert.equal(wx.listeners.app.hide.length, 1)
  wx.app('hide')
  assert.equal(sub.state, 'stopped')
  const want = await publishAll(server, 'f.app', ['while hidden'])
  wx.app('show')
  await waitUntil(() => r.events.length === 1, 'the event published while hidden')
  assert.deepEqual(r.ids(), want)
  sub.stop()
  assert.deepEqual([wx.listeners.net.length, wx.listeners.app.hide.length, wx.listeners.app.show.length], [0, 0, 0])
  wx.app('show')
  assert.equal(sub.state, 'stopped', 'an explicit stop is not undone by the app showing')
})

test('wx: cursor writes are throttled, and stop writes the last one', async (t) => {
  const wx = createWx()
  let writes = 0
  const set = wx.setStorageSync
  wx.setStorageSync = (k, v) => {
    writes++
    set(k, v)
  }
  const [sub, r] = subscribe(t, wx, { topics: ['f.save'], cursor: 'storage', saveEvery: 60000 })
  sub.start()
  await waitUntil(() => sub.state === 'open', 'open')
  const base = writes
  const want = await publishAll(
    server,
    'f.save',
    Array.from({ length: 20 }, (_, i) => i),
  )
  await waitUntil(() => r.events.length === want.length, 'twenty events')
  // Bounded responses end every second and each end writes: far fewer
  // writes than events.
  assert.ok(writes - base < want.length / 2, `${writes - base} writes for ${want.length} events`)
  sub.stop()
  assert.equal(wx.getStorageSync(sub.key), String(want.at(-1)))
})

test('Publishers add no lasting network listener', async () => {
  const wx = createWx()
  for (let i = 0; i < 3; i++) new Publisher({ url: server.url, platform: 'wechat', wx })
  assert.equal(wx.listeners.net.length, 0)
  const pub = new Publisher({ url: server.url, platform: 'wechat', wx, minDelay: 60000, maxDelay: 60000 })
  wx.setOnline(false)
  const sent = pub.publish('f.pub', 'offline')
  await waitUntil(() => wx.listeners.net.length === 1, 'a listener while a send waits')
  wx.setOnline(true)
  const ack = await sent
  assert.ok(ack.id > 0)
  assert.equal(wx.listeners.net.length, 0)
})
