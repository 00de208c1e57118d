// Tokens against the real server run with a secret: the header where the
// platform can send one, ?token= for EventSource, a token function asked
// again after a 401, and the answers that stop a subscription.
import { test, before, after } from 'node:test'
import assert from 'node:assert/strict'
import { EventSource } from 'eventsource'
import { Tidings, Publisher } from '../index.js'
import { createWx } from './wx.js'
import { startServer } from './server.js'
import { waitUntil, record, signToken } from './util.js'

const secret = 'a-test-secret-that-is-long-enough-0123456789'
const jwt = (claims) => signToken(secret, claims)

let server, publisher
before(async () => {
  server = await startServer({ TIDINGS_SECRET: secret, TIDINGS_PUBLIC_TOPICS: 'news.*' })
  publisher = new Publisher({ url: server.url, platform: 'browser', token: () => jwt({ publish: ['*'] }) })
})
after(() => server && server.stop())

function subscribe(t, opts) {
  const sub = new Tidings({ url: server.url, minDelay: 50, maxDelay: 300, wx: createWx(), ...opts })
  const r = record(sub)
  t.after(() => sub.stop())
  sub.start()
  return [sub, r]
}

const ways = {
  fetch: { platform: 'browser' },
  eventsource: { platform: 'browser', fetch: null, EventSource },
  wx: { platform: 'wechat' },
  poll: { platform: 'browser', transport: 'poll' },
}

for (const [way, opts] of Object.entries(ways)) {
  test(`${way}: a token covering the topic opens the subscription`, async (t) => {
    const topic = `user:${way}`
    const [sub, r] = subscribe(t, { ...opts, topics: [topic, 'news.today'], token: jwt({ subscribe: [topic] }) })
    await waitUntil(() => sub.state === 'open', 'open')
    const ids = await Promise.all([publisher.publish(topic, 'private'), publisher.publish('news.today', 'public')])
    await waitUntil(() => r.events.length === 2, 'both events')
    // Published at once, so either may commit first: delivered in id order.
    assert.deepEqual(
      r.ids(),
      ids.map((e) => e.id).sort((a, b) => a - b),
    )
    assert.deepEqual(r.errors, [])
  })
}

test('no token for a private topic: 401, and a fixed token gives up', async (t) => {
  const [sub, r] = subscribe(t, { platform: 'browser', topics: ['user:1'] })
  await waitUntil(() => sub.state === 'stopped', 'stopped')
  assert.equal(r.errors.length, 1)
  assert.equal(r.errors[0].status, 401)
  assert.equal(r.errors[0].code, 'unauthorized')
})

test('a token that does not cover every topic: 403 and stopped', async (t) => {
  const [sub, r] = subscribe(t, { platform: 'wechat', topics: ['user:1', 'user:2'], token: jwt({ subscribe: ['user:1'] }) })
  await waitUntil(() => sub.state === 'stopped', 'stopped')
  assert.equal(r.errors.length, 1)
  assert.equal(r.errors[0].status, 403)
  assert.equal(r.errors[0].code, 'forbidden')
})

test('a token function is asked again after a 401', async (t) => {
  const given = [jwt({ subscribe: ['user:9'], ttl: -60 }), jwt({ subscribe: ['user:9'] })]
  let asked = 0
  const [sub, r] = subscribe(t, { platform: 'browser', topics: ['user:9'], token: () => given[Math.min(asked++, 1)] })
  await waitUntil(() => sub.state === 'open', 'open with the fresh token')
  assert.equal(asked, 2)
  assert.deepEqual(
    r.errors.map((e) => e.status),
    [401],
  )
  const e = await publisher.publish('user:9', 'x')
  await waitUntil(() => r.events.length === 1, 'the event')
  assert.deepEqual(r.ids(), [e.id])
})

test('publishing without a token is refused', async () => {
  const pub = new Publisher({ url: server.url, platform: 'browser' })
  await assert.rejects(pub.publish('user:1', 'x'), (err) => err.status === 401)
  const other = new Publisher({ url: server.url, platform: 'browser', token: jwt({ publish: ['room.*'] }) })
  await assert.rejects(other.publish('user:1', 'x'), (err) => err.status === 403)
  const ok = await other.publish('room.a', 'x')
  assert.equal(ok.topic, 'room.a')
})
