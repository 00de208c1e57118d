// The persisted publish queue against the real server: events published
// offline survive a new instance (the app killed and launched again), are
// sent once each, in order, and can be listed, cancelled and cleared.
import { test, before, after } from 'node:test'
import assert from 'node:assert/strict'
import { Outbox } from '../queue.js'
import { createWx } from './wx.js'
import { startServer } from './server.js'
import { waitUntil } from './util.js'

let server
before(async () => {
  server = await startServer()
})
after(() => server && server.stop())

const outbox = (wx, opts) => new Outbox({ url: server.url, platform: 'wechat', wx, minDelay: 50, maxDelay: 200, ...opts })

test('a queue published offline survives a new instance and is sent once, in order', async () => {
  const wx = createWx()
  wx.setOnline(false)
  const first = outbox(wx)
  const pending = ['一', '二', '三'].map((d) => first.publish('q.replay', d, { type: 'chat' }))
  pending.forEach((p) => p.catch(() => {})) // this instance is "killed"
  await waitUntil(() => JSON.parse(wx.getStorageSync(first.key) || '[]').length === 3, 'three stored')
  assert.deepEqual(
    first.list().map((q) => [q.topic, q.type, q.data]),
    [
      ['q.replay', 'chat', '一'],
      ['q.replay', 'chat', '二'],
      ['q.replay', 'chat', '三'],
    ],
  )
  // The app is killed (its wx stays offline for good) and launched again
  // with the same storage, online.
  const relaunched = createWx()
  for (const [k, v] of wx.storage) relaunched.storage.set(k, v)
  const second = outbox(relaunched)
  first.clear() // ends the dead instance's retries, in its own storage only
  const replayed = await second.start()
  assert.deepEqual(
    replayed.map((r) => r.ok),
    [true, true, true],
  )
  assert.equal(second.pending, 0)
  assert.equal(relaunched.getStorageSync(second.key), '[]')
  const got = await server.poll('q.replay', 0)
  assert.deepEqual(
    got.body.events.map((e) => e.data),
    ['一', '二', '三'],
  )
  // A third run replays nothing.
  assert.deepEqual(await outbox(relaunched).start(), [])
})

test('a replay of events the server already stored stores nothing twice', async () => {
  const wx = createWx()
  const a = outbox(wx, { name: 'dup' })
  const ack = await a.publish('q.dup', 'once', { key: 'k-1' })
  // As if the app was killed after the send but before the answer: the
  // event is still in storage.
  wx.setStorageSync(a.key, JSON.stringify([{ key: 'k-1', topic: 'q.dup', body: JSON.stringify({ data: 'once', key: 'k-1' }) }]))
  const [r] = await outbox(wx, { name: 'dup' }).start()
  assert.equal(r.ok, true)
  assert.equal(r.value.id, ack.id)
  assert.equal(r.value.duplicate, true)
  assert.equal((await server.poll('q.dup', 0)).body.events.length, 1)
})

test('cancel and clear reject the promises and empty the stored queue; a refusal rejects', async () => {
  const wx = createWx()
  wx.setOnline(false)
  const box = outbox(wx, { name: 'cancel' })
  const p1 = box.publish('q.cancel', 1)
  const p2 = box.publish('q.cancel', 2)
  const p3 = box.publish('q.cancel', 3)
  const key2 = box.list()[1].key
  assert.equal(box.cancel(key2), true)
  assert.equal(box.cancel(key2), false)
  await assert.rejects(p2, (e) => e.code === 'cancelled')
  assert.deepEqual(
    box.list().map((q) => q.data),
    [1, 3],
  )
  box.clear()
  await assert.rejects(p1, (e) => e.code === 'cancelled')
  await assert.rejects(p3, (e) => e.code === 'cancelled')
  assert.equal(wx.getStorageSync(box.key), '[]')
  wx.setOnline(true)
  box.flush()
  const ok = await box.publish('q.cancel', 4)
  assert.ok(ok.id > 0)
  await assert.rejects(box.publish('bad topic!', 5), (e) => e.status === 400)
  assert.equal(wx.getStorageSync(box.key), '[]')
  assert.deepEqual(
    (await server.poll('q.cancel', 0)).body.events.map((e) => e.data),
    [4],
  )
})
