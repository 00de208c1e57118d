// Cursors the server cannot honour, against the real server: one whose
// events were pruned (cursor_expired) and one beyond the head
// (cursor_ahead), over every adapter and both transports.
import { test, before, after } from 'node:test'
import assert from 'node:assert/strict'
import { Tidings } from '../index.js'
import { createWx } from './wx.js'
import { startServer, publishAll } from './server.js'
import { waitUntil, record } from './util.js'

let server
let retained // ids still retained on topic "r" after pruning
before(async () => {
  server = await startServer({ TIDINGS_MAX_EVENTS_PER_TOPIC: '5', TIDINGS_PRUNE_INTERVAL: '100ms' })
  const ids = await publishAll(
    server,
    'r',
    Array.from({ length: 12 }, (_, i) => ({ n: i })),
  )
  retained = ids.slice(-5)
  await waitUntil(async () => {
    const r = await server.poll('r', 0)
    return r.body.events.length === 5
  }, 'the pruner to keep 5 events')
})
after(() => server && server.stop())

const ways = {
  'fetch SSE': { platform: 'browser', transport: 'sse' },
  'wx SSE': { platform: 'wechat', transport: 'sse' },
  'fetch poll': { platform: 'browser', transport: 'poll' },
  'wx poll': { platform: 'wechat', transport: 'poll' },
}

function subscribe(t, way, opts) {
  const sub = new Tidings({ url: server.url, topics: ['r'], wx: createWx(), pollTimeout: 5, ...ways[way], ...opts })
  const r = record(sub)
  t.after(() => sub.stop())
  sub.start()
  return [sub, r]
}

for (const way of Object.keys(ways)) {
  test(`${way}: an expired cursor is reset to just before the oldest retained event`, async (t) => {
    const [sub, r] = subscribe(t, way, { cursor: 2 })
    await waitUntil(() => r.events.length === retained.length, 'the retained events')
    assert.deepEqual(r.resets, [{ reason: 'cursor_expired', cursor: retained[0] - 1 }])
    assert.deepEqual(r.ids(), retained)
    // At least the last event: the server may move the cursor past ids of
    // other topics.
    assert.ok(sub.cursor >= retained.at(-1))
    assert.deepEqual(r.errors, [])
  })

  test(`${way}: cursor 0 means everything retained and never resets`, async (t) => {
    const [sub, r] = subscribe(t, way, { cursor: 0 })
    await waitUntil(() => r.events.length === retained.length, 'the retained events')
    assert.deepEqual(r.ids(), retained)
    assert.deepEqual(r.resets, [])
    assert.equal(sub.state, 'open')
  })

  test(`${way}: a cursor beyond the head is reset to the head`, async (t) => {
    // A topic of its own, so that publishing does not prune topic "r".
    const topic = 'ahead.' + way.replace(' ', '-')
    const head = (await server.poll(topic, null)).body.cursor
    const [sub, r] = subscribe(t, way, { cursor: head + 1000, topics: [topic] })
    await waitUntil(() => r.resets.length === 1 && sub.state === 'open', 'the reset')
    assert.deepEqual(r.resets, [{ reason: 'cursor_ahead', cursor: head }])
    assert.equal(sub.cursor, head)
    // Events after the reset are delivered although their ids are below the
    // cursor the subscription started with.
    const ids = await publishAll(server, topic, ['after reset'])
    await waitUntil(() => r.events.length === 1, 'the next event')
    assert.deepEqual(r.ids(), ids)
    assert.ok(ids[0] < head + 1000)
    assert.equal(r.resets.length, 1)
  })
}

test('a reset moves the stored cursor', async (t) => {
  const wx = createWx()
  const key = `tidings:cursor:${server.url}:r`
  wx.setStorageSync(key, '1')
  const [, r] = subscribe(t, 'wx SSE', { wx, cursor: 'storage' })
  await waitUntil(() => wx.getStorageSync(key) === String(retained.at(-1)), 'the stored cursor to reach the last event')
  assert.equal(r.resets.length, 1)
})
