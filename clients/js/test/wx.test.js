// The WeChat adapter against the real server, through a simulated wx that
// cuts every streamed body into random pieces of 1..5 bytes, in a process
// without TextDecoder (as on mini-program runtimes that lack it).
import { test, before, after } from 'node:test'
import assert from 'node:assert/strict'
import { Tidings } from '../index.js'
import { createWx } from './wx.js'
import { startServer, publishAll } from './server.js'
import { waitUntil, record, strictlyAscending } from './util.js'

globalThis.TextDecoder = undefined

let server
before(async () => {
  server = await startServer()
})
after(() => server && server.stop())

function subscribe(t, wx, opts) {
  const sub = new Tidings({ url: server.url, platform: 'wechat', wx, minDelay: 100, maxDelay: 1000, ...opts })
  const r = record(sub)
  t.after(() => sub.stop())
  return [sub, r]
}

const payloads = [
  '你好，世界！这是一条中文消息。',
  { text: '表情 🙂👍🏽👨‍👩‍👧‍👦🇨🇳 and 𝄞', n: 1 },
  '{"nested":"json \\"quoted\\" \\\\ backslash","arr":[1,"二",{"三":3}]}',
  { lines: 'one\ntwo\r\nthree\rfour', seps: '\u2028\u2029', tab: '\t', nul: '\u0000', ctrl: '\u001f' },
  ['数组', '🙂', { deep: { deeper: ['é', 'ß', '∑', 'data: not a field', 'id: 9', ': comment'] } }],
  '长'.repeat(6000) + '🙂'.repeat(500),
  null,
  0,
  '',
]

test('without TextDecoder, Chinese, emoji and escaped JSON arrive intact through tiny chunks', async (t) => {
  assert.equal(typeof TextDecoder, 'undefined')
  const wx = createWx({ maxChunk: 5 })
  const [sub, r] = subscribe(t, wx, { topics: ['chat:1'], transport: 'sse' })
  sub.start()
  await waitUntil(() => sub.state === 'open', 'open')
  const ids = await publishAll(server, 'chat:1', payloads, { type: 'chat.message' })
  await waitUntil(() => r.events.length === payloads.length, `${payloads.length} events`)
  assert.deepEqual(r.ids(), ids)
  assert.deepEqual(
    r.events.map((e) => e.data),
    payloads,
  )
  for (const e of r.events) {
    assert.equal(e.topic, 'chat:1')
    assert.equal(e.type, 'chat.message')
    assert.match(e.time, /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/)
  }
  assert.equal(sub.transport, 'sse')
  assert.equal(wx.stats.maxOpen, 1)
  assert.deepEqual(r.errors, [])
  assert.ok(wx.stats.cutInChar > 100, `${wx.stats.cutInChar} pieces ended inside a character`)
  assert.ok(wx.stats.cutInLine > 100, `${wx.stats.cutInLine} pieces ended inside a line`)
})

test('onHide, events published while hidden, onShow: each event once, in order', async (t) => {
  const wx = createWx()
  const topic = 'user:42'
  const app = () => subscribe(t, wx, { topics: [topic], cursor: 'storage' })
  let [sub, r] = app()
  sub.start() // App.onShow
  await waitUntil(() => sub.state === 'open', 'open')
  const want = await publishAll(server, topic, ['a', 'b', 'c'])
  await waitUntil(() => r.events.length === 3, 'the first 3 events')
  const got = r.events.splice(0)

  for (let round = 0; round < 3; round++) {
    sub.stop() // App.onHide
    assert.equal(sub.state, 'stopped')
    assert.equal(wx.stats.open, 0, 'no request stays open in the background')
    want.push(...(await publishAll(server, topic, [`hidden ${round} 一`, `hidden ${round} 二`])))
    // Some events race with the return to the foreground.
    const racing = publishAll(server, topic, [`racing ${round}`])
    sub.start() // App.onShow
    want.push(...(await racing))
    await waitUntil(() => got.length + r.events.length >= want.length, `${want.length} events`)
    got.push(...r.events.splice(0))
  }
  // The app is killed in the background and launched again: it resumes
  // from the cursor it stored.
  sub.stop()
  want.push(...(await publishAll(server, topic, ['while killed'])))
  ;[sub, r] = app()
  assert.equal(sub.cursor, got.at(-1).id)
  sub.start()
  await waitUntil(() => r.events.length === 1, 'the event published while killed')
  got.push(...r.events)
  assert.deepEqual(
    got.map((e) => e.id),
    want,
  )
  // The cursor is written at most once a second while running; stop
  // writes it at once (App.onHide).
  sub.stop()
  assert.equal(wx.getStorageSync(`tidings:cursor:${server.url}:${topic}`), String(want.at(-1)))
  assert.equal(wx.stats.maxOpen, 1)
})

test('bounded responses over many reconnects lose and double nothing', async (t) => {
  const bounded = await startServer({ TIDINGS_SSE_MAX_DURATION: '1s', TIDINGS_SSE_RETRY: '50ms' })
  t.after(() => bounded.stop())
  const wx = createWx({ maxChunk: 9 })
  const subs = [
    new Tidings({ url: bounded.url, topics: ['feed', 'other'], platform: 'wechat', wx, transport: 'sse' }),
    new Tidings({ url: bounded.url, topics: ['other', 'feed'], platform: 'wechat', wx: createWx(), transport: 'sse' }),
  ]
  const recs = subs.map(record)
  for (const s of subs) {
    t.after(() => s.stop())
    s.start()
  }
  await waitUntil(() => subs.every((s) => s.state === 'open'), 'both open')
  // Publish at a jittered pace for several bounded responses.
  const want = []
  const until = Date.now() + 4500
  for (let i = 0; Date.now() < until; i++) {
    const topic = i % 3 ? 'feed' : 'other'
    const r = await bounded.publish(topic, { i, s: '事件 ' + i })
    assert.equal(r.status, 201)
    want.push(r.body.id)
    await new Promise((res) => setTimeout(res, Math.random() * 20))
  }
  for (const r of recs) {
    await waitUntil(() => r.events.length >= want.length && r.events.at(-1).id === want.at(-1), 'all events')
    assert.ok(strictlyAscending(r.ids()))
    assert.deepEqual(r.ids(), want)
    assert.deepEqual(r.errors, [])
  }
  const streams = wx.stats.started.filter((s) => s.url.includes('/sse'))
  assert.ok(streams.length >= 4, `only ${streams.length} responses`)
  // Every reconnect after the first carries the cursor.
  assert.ok(streams.slice(1).every((s) => /[?&]cursor=\d+/.test(s.url)))
  assert.equal(wx.stats.maxOpen, 1)
})
