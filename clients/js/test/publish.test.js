// The publishing queue against the real server: events sent while offline,
// or whose answers were lost on the way back, are stored exactly once and
// in order.
import { test, before, after } from 'node:test'
import assert from 'node:assert/strict'
import http from 'node:http'
import { Publisher } from '../index.js'
import { createWx } from './wx.js'
import { startServer } from './server.js'
import { waitUntil } from './util.js'

let server
before(async () => {
  server = await startServer()
})
after(() => server && server.stop())

const within = (p, ms = 20000) =>
  Promise.race([p, new Promise((_, reject) => setTimeout(() => reject(new Error(`not settled within ${ms}ms`)), ms).unref())])

const stored = async (topic) => (await server.poll(topic, 0)).body.events

test('wx: events published offline are delivered once each, in order, when the network returns', async () => {
  const wx = createWx()
  let attempts = 0
  const request = wx.request
  wx.request = (o) => {
    attempts++
    return request(o)
  }
  const pub = new Publisher({ url: server.url, platform: 'wechat', wx, minDelay: 50, maxDelay: 200 })
  wx.setOnline(false)
  const sent = ['一', { 二: [2] }, '三 🙂'].map((d) => pub.publish('pub.offline', d, { type: 'note' }))
  await waitUntil(() => attempts >= 3, 'a few attempts while offline')
  assert.equal(pub.pending, 3)
  assert.deepEqual(await stored('pub.offline'), [])
  wx.setOnline(true)
  const answers = await within(Promise.all(sent))
  assert.equal(pub.pending, 0)
  const events = await stored('pub.offline')
  assert.deepEqual(
    events.map((e) => e.data),
    ['一', { 二: [2] }, '三 🙂'],
  )
  assert.deepEqual(
    answers.map((a) => a.id),
    events.map((e) => e.id),
  )
  assert.ok(events.every((e) => e.type === 'note'))
})

test('an answer lost on the way back is retried with the same key and stored once', async (t) => {
  // A proxy that lets the first two publishes reach the server but cuts the
  // connection instead of passing the answer back.
  const bodies = []
  let cut = 2
  const proxy = http.createServer((req, res) => {
    const parts = []
    req.on('data', (b) => parts.push(b))
    req.on('end', () => {
      const body = Buffer.concat(parts)
      bodies.push(JSON.parse(body))
      const up = http.request(server.url + req.url, { method: req.method, headers: req.headers })
      up.on('response', (ur) => {
        const out = []
        ur.on('data', (b) => out.push(b))
        ur.on('end', () => {
          if (cut-- > 0) return res.socket.destroy()
          res.writeHead(ur.statusCode, { 'content-type': ur.headers['content-type'] })
          res.end(Buffer.concat(out))
        })
      })
      up.end(body)
    })
  })
  await new Promise((r) => proxy.listen(0, '127.0.0.1', r))
  t.after(() => {
    proxy.closeAllConnections()
    proxy.close()
  })
  const pub = new Publisher({ url: `http://127.0.0.1:${proxy.address().port}`, platform: 'browser', minDelay: 50, maxDelay: 200 })
  const answer = await within(pub.publish('pub.lost', { once: true }))
  assert.equal(answer.duplicate, true)
  assert.equal(bodies.length, 3)
  assert.ok(bodies[0].key, 'a key is generated')
  assert.ok(bodies.every((b) => b.key === bodies[0].key), 'every attempt carries the same key')
  const events = await stored('pub.lost')
  assert.equal(events.length, 1)
  assert.equal(events[0].id, answer.id)
  assert.deepEqual(events[0].data, { once: true })
})

test('a refused event rejects without holding up the queue', async () => {
  const pub = new Publisher({ url: server.url, platform: 'browser' })
  const bad = pub.publish('no,commas', 'x')
  const good = pub.publish('pub.after', 'y', { type: 'kind' })
  await assert.rejects(within(bad), (err) => err.status === 400 && typeof err.code === 'string')
  const ok = await within(good)
  assert.equal(ok.type, 'kind')
  assert.equal(ok.topic, 'pub.after')
})

test('an explicit key makes a repeated publish a duplicate', async () => {
  const pub = new Publisher({ url: server.url, platform: 'browser', token: () => 'ignored-in-open-mode' })
  const a = await within(pub.publish('pub.key', 1, { key: 'order-77' }))
  const b = await within(pub.publish('pub.key', 2, { key: 'order-77' }))
  assert.equal(b.id, a.id)
  assert.equal(b.duplicate, true)
  assert.ok(!a.duplicate)
  assert.equal((await stored('pub.key')).length, 1)
})
