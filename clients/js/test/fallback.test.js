// Falling back to long-poll behind a proxy that buffers event streams: the
// proxy passes poll requests through but holds every byte of an SSE
// response (or the whole response, headers included), as a buffering
// reverse proxy does. The fallback timer runs from the headers; a response
// whose bytes all came at its end counts its silence toward it too.
import { test, before, after } from 'node:test'
import assert from 'node:assert/strict'
import http from 'node:http'
import { Tidings } from '../index.js'
import { createWx } from './wx.js'
import { startServer, publishAll } from './server.js'
import { waitUntil, record } from './util.js'

let server
before(async () => {
  server = await startServer()
})
after(() => server && server.stop())

// bufferingProxy forwards to the server. hold is 'body' (status and headers
// pass, the body is kept back) or 'all' (nothing of the response passes)
// until the server ends the response.
async function bufferingProxy(target, hold) {
  const p = { requests: [], open: 0, maxOpen: 0 }
  const srv = http.createServer((req, res) => {
    const sse = /\/sse(\?|$)/.test(req.url)
    const info = { url: req.url, sse, at: Date.now(), closedAt: null }
    p.requests.push(info)
    p.open++
    p.maxOpen = Math.max(p.maxOpen, p.open)
    res.on('close', () => {
      p.open--
      info.closedAt = Date.now()
      up.destroy()
    })
    const up = http.request(target + req.url, { method: req.method, headers: req.headers })
    up.on('error', () => res.destroy())
    up.on('response', (ur) => {
      if (!sse) {
        res.writeHead(ur.statusCode, ur.headers)
        return ur.pipe(res)
      }
      const held = []
      if (hold === 'body') {
        res.writeHead(ur.statusCode, ur.headers)
        res.flushHeaders()
      }
      ur.on('data', (b) => held.push(b))
      ur.on('end', () => {
        if (hold === 'all') res.writeHead(ur.statusCode, ur.headers)
        res.end(Buffer.concat(held))
      })
    })
    req.pipe(up)
  })
  await new Promise((r) => srv.listen(0, '127.0.0.1', r))
  p.url = `http://127.0.0.1:${srv.address().port}`
  p.close = () =>
    new Promise((r) => {
      srv.closeAllConnections()
      srv.close(r)
    })
  return p
}

for (const platform of ['browser', 'wechat']) {
  for (const hold of ['body', 'all']) {
    test(`${platform}: a buffered stream (${hold} held) falls back to long-poll`, async (t) => {
      // With the headers held too, nothing tells a buffering proxy from a
      // slow network until the response ends with every byte at once: the
      // server's responses are kept short here so that comes soon.
      let target = server
      if (hold === 'all') {
        target = await startServer({ TIDINGS_SSE_MAX_DURATION: '2s' })
        t.after(() => target.stop())
      }
      const proxy = await bufferingProxy(target.url, hold)
      t.after(() => proxy.close())
      const topic = `fb.${platform}.${hold}`
      const sub = new Tidings({
        url: proxy.url,
        topics: [topic],
        platform,
        wx: createWx(),
        fallbackAfter: 800,
        pollTimeout: 5,
      })
      const r = record(sub)
      t.after(() => sub.stop())
      const started = Date.now()
      sub.start()
      assert.equal(sub.transport, 'sse')
      await waitUntil(() => sub.state === 'open', 'open by long-poll')
      assert.equal(sub.transport, 'poll')
      const want = await publishAll(target, topic, ['一', '二', '三', { four: 4 }])
      await waitUntil(() => r.events.length === want.length, `${want.length} events`)
      assert.deepEqual(r.ids(), want)
      assert.deepEqual(
        r.events.map((e) => e.data),
        ['一', '二', '三', { four: 4 }],
      )
      const [first, ...rest] = proxy.requests
      assert.ok(first.sse)
      assert.ok(rest.length >= 1 && rest.every((q) => !q.sse && /\/poll\?/.test(q.url)))
      assert.ok(rest[0].at - started >= 790, `polled after ${rest[0].at - started}ms`)
      assert.ok(first.closedAt !== null && first.closedAt <= rest[0].at + 50, 'the stream was abandoned before polling')
      assert.equal(proxy.maxOpen, 1)
      assert.deepEqual(r.resets, [])
    })
  }
}

test('transport sse never falls back', async (t) => {
  const proxy = await bufferingProxy(server.url, 'body')
  t.after(() => proxy.close())
  const sub = new Tidings({ url: proxy.url, topics: ['fb.strict'], platform: 'browser', fallbackAfter: 200, transport: 'sse', idleTimeout: 0 })
  t.after(() => sub.stop())
  sub.start()
  await waitUntil(() => proxy.requests.length === 1, 'the stream request')
  // The request stays open past several fallback periods with nothing else asked.
  await waitUntil(() => Date.now() - proxy.requests[0].at > 1000, 'a second')
  assert.equal(proxy.requests.length, 1)
  assert.equal(sub.transport, 'sse')
  assert.equal(sub.state, 'connecting')
})
