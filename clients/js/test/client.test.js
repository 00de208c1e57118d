// Client behaviour against a scripted stub server: ordering and dedupe,
// reconnect timing, backoff, stop/start, reset, fallback, tokens, cursor
// storage. The real server is exercised by the integration tests.
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { EventSource } from 'eventsource'
import { Tidings } from '../index.js'
import { createWx } from './wx.js'
import { waitUntil, record, stub, startSSE, json, ev, sseEvent, sseCursor, sseReset } from './util.js'

function client(t, s, opts) {
  const sub = new Tidings({ url: s.url + '/', topics: ['t'], platform: 'browser', minDelay: 50, maxDelay: 400, ...opts })
  const r = record(sub)
  t.after(() => sub.stop())
  t.after(() => s.close())
  return [sub, r]
}

const isSSE = (info) => info.url.pathname.endsWith('/sse')

// waits records every delay the client schedules before its next request.
// Timing asserts check these exactly and the clock only from below, so a
// busy machine cannot fail them.
function waits(sub) {
  const delays = []
  const wait = sub._wait
  sub._wait = function (d, announce) {
    delays.push(d)
    return wait.call(this, d, announce)
  }
  return delays
}

test('delivers in order, drops ids at or below the cursor, reconnects with the cursor', async (t) => {
  const s = await stub((req, res, info) => {
    startSSE(res, 0)
    if (info.n === 0) {
      res.write(sseCursor(5))
      res.write(sseEvent(ev(6, 'a')) + sseEvent(ev(7, { b: [1, 2] }, 'order.paid')))
      res.write(sseEvent(ev(6, 'a again')) + sseEvent(ev(5, 'old')))
      res.write(sseEvent(ev(8, null)))
      res.end(sseCursor(8, 'max_duration'))
    } else {
      res.write(sseCursor(Number(info.cursor)))
      res.write(sseEvent(ev(8, 'replayed')) + sseEvent(ev(9, 'd')))
    }
  })
  const [sub, r] = client(t, s)
  assert.equal(sub.cursor, null)
  sub.start()
  await waitUntil(() => r.events.length >= 4, '4 events')
  assert.deepEqual(r.ids(), [6, 7, 8, 9])
  assert.deepEqual(r.events[1], ev(7, { b: [1, 2] }, 'order.paid'))
  assert.equal(r.events[2].data, null)
  assert.equal(sub.cursor, 9)
  assert.equal(s.requests[0].cursor, null, 'first request is "from now"')
  assert.equal(s.requests[1].cursor, '8')
  assert.match(s.requests[0].url.pathname, /^\/v1\/topics\/t\/sse$/)
  assert.equal(s.maxOpen, 1)
  assert.deepEqual(r.states, ['connecting', 'open'])
  assert.deepEqual(r.errors, [])
  sub.stop()
  assert.deepEqual(r.states, ['connecting', 'open', 'stopped'])
})

test('after a clean end it waits the retry hint, not the backoff', async (t) => {
  let endedAt
  const s = await stub((req, res, info) => {
    startSSE(res, 300)
    res.write(sseCursor(1))
    if (info.n === 0) {
      endedAt = Date.now()
      res.end(sseCursor(1, 'max_duration'))
    }
  })
  const [sub, r] = client(t, s, { minDelay: 5000, maxDelay: 5000 })
  const delays = waits(sub)
  sub.start()
  await waitUntil(() => s.requests.length >= 2, 'the reconnect')
  assert.deepEqual(delays, [300])
  const gap = s.requests[1].at - endedAt
  assert.ok(gap >= 295, `reconnected after ${gap}ms, want the 300ms hint`)
  assert.deepEqual(r.errors, [])
  assert.deepEqual(r.states, ['connecting', 'open'], 'a planned reconnect is not a state change')
})

test('after a clean end with no retry hint it reconnects at once', async (t) => {
  const s = await stub((req, res, info) => {
    res.writeHead(200, { 'content-type': 'text/event-stream' })
    res.write(sseCursor(1))
    if (info.n === 0) res.end(sseCursor(1, 'max_duration'))
  })
  const [sub] = client(t, s, { minDelay: 5000, maxDelay: 5000 })
  const delays = waits(sub)
  sub.start()
  await waitUntil(() => s.requests.length >= 2, 'the reconnect')
  assert.deepEqual(delays, [0])
  assert.equal(s.requests[1].cursor, '1')
})

test('an overloaded answer is a pause of at least the retry hint', async (t) => {
  let endedAt
  const s = await stub((req, res, info) => {
    startSSE(res, 400)
    if (info.n === 0) {
      endedAt = Date.now()
      return res.end(sseCursor(3, 'overloaded'))
    }
    res.write(sseCursor(3))
  })
  const [sub, r] = client(t, s)
  const delays = waits(sub)
  sub.start()
  await waitUntil(() => s.requests.length >= 2 && r.states.at(-1) === 'open', 'the second response')
  assert.equal(delays.length, 1)
  assert.ok(delays[0] >= 400 && delays[0] < 600, `waits ${delays[0]}ms, want the 400ms hint plus up to half`)
  const gap = s.requests[1].at - endedAt
  assert.ok(gap >= delays[0] - 5, `came back after ${gap}ms`)
  assert.deepEqual(r.states, ['connecting', 'open', 'waiting', 'connecting', 'open'])
  assert.equal(s.requests[1].cursor, '3')
})

test('failures back off exponentially with jitter', async (t) => {
  const s = await stub((req, res, info) => {
    if (info.n < 5) return json(res, 500, { error: { code: 'internal', message: 'boom' } })
    startSSE(res)
    res.write(sseCursor(0))
  })
  const [sub, r] = client(t, s, { minDelay: 100, maxDelay: 800 })
  const delays = waits(sub)
  sub.start()
  await waitUntil(() => r.states.at(-1) === 'open', 'open after the failures', 30000)
  // Failure n waits in [d/2, d) with d = min(800, 100 * 2^n).
  const want = [100, 200, 400, 800, 800]
  assert.equal(delays.length, 5)
  for (let i = 0; i < 5; i++) {
    assert.ok(delays[i] >= want[i] / 2 && delays[i] < want[i], `wait ${i}: ${delays[i]}ms, want [${want[i] / 2}, ${want[i]})`)
    const gap = s.requests[i + 1].at - s.requests[i].at
    assert.ok(gap >= delays[i] - 5, `gap ${i}: ${gap}ms, shorter than the ${delays[i]}ms wait`)
  }
  assert.ok(new Set(delays.map((d, i) => d / want[i])).size > 1, 'jitter varies the delays')
  assert.equal(r.errors.length, 5)
  assert.equal(r.errors[0].status, 500)
  assert.equal(r.errors[0].code, 'internal')
  assert.equal(s.maxOpen, 1)
  assert.deepEqual(r.states.slice(0, 3), ['connecting', 'waiting', 'connecting'])
})

test('a request that can never succeed stops the subscription', async (t) => {
  const s = await stub((req, res) => json(res, 400, { error: { code: 'bad_topic', message: 'bad topic' } }))
  const [sub, r] = client(t, s)
  sub.start()
  await waitUntil(() => r.states.at(-1) === 'stopped', 'stopped')
  assert.equal(r.errors.length, 1)
  assert.equal(r.errors[0].status, 400)
  assert.equal(r.errors[0].code, 'bad_topic')
  assert.equal(sub.state, 'stopped')
  assert.deepEqual(r.states, ['connecting', 'stopped'])
  assert.equal(s.requests.length, 1)
})

test('repeated overload answers without a retry hint back off further each time', async (t) => {
  const s = await stub((req, res, info) => {
    res.writeHead(200, { 'content-type': 'text/event-stream' })
    if (info.n < 4) return res.end(sseCursor(3, 'overloaded'))
    res.write(sseCursor(3))
  })
  const [sub, r] = client(t, s, { minDelay: 100, maxDelay: 2000 })
  const delays = waits(sub)
  sub.start()
  await waitUntil(() => s.requests.length === 5 && r.states.at(-1) === 'open', 'the fifth answer')
  const want = [100, 200, 400, 800]
  assert.equal(delays.length, 4)
  for (let i = 0; i < 4; i++) {
    assert.ok(delays[i] >= want[i] / 2 && delays[i] < want[i], `wait ${i}: ${delays[i]}ms, want [${want[i] / 2}, ${want[i]})`)
    const gap = s.requests[i + 1].at - s.requests[i].at
    assert.ok(gap >= delays[i] - 5, `gap ${i}: ${gap}ms`)
  }
  assert.deepEqual(r.errors, [], 'overload is not an error')
})

test('a listener that stops the subscription stops it at once', async (t) => {
  const s = await stub((req, res, info) => {
    startSSE(res, 0)
    if (info.n === 0) {
      // One chunk: an event, the one that makes the listener stop, another.
      return res.write(sseCursor(1) + sseEvent(ev(2, 'a')) + sseEvent(ev(3, 'stop')) + sseEvent(ev(4, 'late')))
    }
    res.end(sseCursor(Number(info.cursor), 'max_duration'))
  })
  // Counts requests as they are made, not as they arrive.
  let calls = 0
  const [sub, r] = client(t, s, { fetch: (...a) => (calls++, fetch(...a)) })
  sub.on('event', (e) => e.data === 'stop' && sub.stop())
  sub.start()
  await waitUntil(() => sub.state === 'stopped', 'stopped')
  assert.deepEqual(r.ids(), [2, 3])
  assert.equal(sub.cursor, 3)
  await waitUntil(() => s.open === 0, 'the request closed')
  // Restarted from a state listener, on a response that ends at once.
  sub.on('state', (st) => st === 'open' && sub.stop())
  sub.start()
  await waitUntil(() => sub.state === 'stopped' && s.requests.length === 2, 'stopped again')
  // A reconnect would have been made in the same turn as the final block.
  await new Promise((res) => setImmediate(res))
  assert.equal(calls, 2, 'no reconnect after the final block')
  assert.equal(s.requests[1].cursor, '3')
  assert.deepEqual(r.states, ['connecting', 'open', 'stopped', 'connecting', 'open', 'stopped'])
})

test('an invalid topic is refused at once', () => {
  for (const topics of [['a b'], ['a,b'], [''], ['x/y'], ['.dot'], ['ok', 'a'.repeat(129)]])
    assert.throws(() => new Tidings({ url: 'http://127.0.0.1:9', topics }), TypeError, JSON.stringify(topics))
  assert.doesNotThrow(() => new Tidings({ url: 'http://127.0.0.1:9', topics: ['user:42', 'room.lobby', '_a-b', 'a'.repeat(128)] }))
})

test('stop aborts the request and keeps the cursor; start resumes from it', async (t) => {
  const s = await stub((req, res, info) => {
    startSSE(res)
    res.write(sseCursor(info.cursor ? Number(info.cursor) : 10))
    if (info.n === 0) res.write(sseEvent(ev(11, 'x')))
  })
  const [sub, r] = client(t, s)
  sub.start()
  await waitUntil(() => r.events.length === 1, 'the first event')
  sub.stop()
  await waitUntil(() => s.open === 0, 'the server to see the request closed')
  assert.equal(sub.cursor, 11)
  sub.start()
  await waitUntil(() => s.requests.length === 2 && r.states.at(-1) === 'open', 'reopened')
  assert.equal(s.requests[1].cursor, '11')
  assert.deepEqual(r.states, ['connecting', 'open', 'stopped', 'connecting', 'open'])
})

test('an SSE reset moves the cursor, even backwards, and is reported', async (t) => {
  const s = await stub((req, res, info) => {
    startSSE(res)
    res.write(sseReset('cursor_ahead', 3))
    res.write(sseEvent(ev(4, 'after reset')))
  })
  const [sub, r] = client(t, s, { cursor: 10 })
  sub.start()
  await waitUntil(() => r.events.length === 1, 'the event after the reset')
  assert.equal(s.requests[0].cursor, '10')
  assert.deepEqual(r.resets, [{ reason: 'cursor_ahead', cursor: 3 }])
  assert.deepEqual(r.ids(), [4])
  assert.equal(sub.cursor, 4)
  assert.deepEqual(r.states, ['connecting', 'open'])
})

test('a poll reset reports the cursor just below the first event', async (t) => {
  const s = await stub((req, res, info) => {
    if (info.n === 0)
      return json(res, 200, { events: [ev(6, 'a'), ev(7, 'b')], cursor: 7, more: false, reset: true, reset_reason: 'cursor_expired' })
    if (info.n === 1) return json(res, 200, { events: [], cursor: 9, more: false, reset: false })
    // Later polls wait, as the server does when nothing is new.
  })
  const [sub, r] = client(t, s, { transport: 'poll', cursor: 2, pollTimeout: 7 })
  sub.start()
  await waitUntil(() => s.requests.length >= 3, 'the third poll')
  assert.deepEqual(r.resets, [{ reason: 'cursor_expired', cursor: 5 }])
  assert.deepEqual(r.ids(), [6, 7])
  assert.equal(sub.cursor, 9)
  assert.equal(s.requests[0].url.pathname, '/v1/topics/t/poll')
  assert.deepEqual(
    s.requests.map((q) => q.url.searchParams.get('timeout')),
    ['0', '7', '7'],
    'the first poll answers at once',
  )
  assert.deepEqual(
    s.requests.map((q) => q.cursor),
    ['2', '7', '9'],
  )
  assert.deepEqual(r.states, ['connecting', 'open'])
  assert.equal(s.maxOpen, 1)
})

test('a silent stream falls back to long-poll', async (t) => {
  const s = await stub((req, res, info) => {
    if (isSSE(info)) {
      // Headers only, as from a proxy that buffers the body.
      res.writeHead(200, { 'content-type': 'text/event-stream' })
      res.flushHeaders()
      return
    }
    if (info.cursor === null) return json(res, 200, { events: [], cursor: 20, more: false, reset: false })
    if (info.cursor === '20') return json(res, 200, { events: [ev(21, 'via poll')], cursor: 21, more: false, reset: false })
  })
  const [sub, r] = client(t, s, { fallbackAfter: 300 })
  const started = Date.now()
  sub.start()
  assert.equal(sub.transport, 'sse')
  await waitUntil(() => r.events.length === 1, 'an event by poll')
  assert.equal(sub.transport, 'poll')
  assert.ok(isSSE(s.requests[0]))
  assert.ok(s.requests.slice(1).every((q) => !isSSE(q)))
  assert.ok(s.requests[1].at - started >= 295, 'waited fallbackAfter')
  assert.equal(s.maxOpen, 1, 'the stream was closed before polling')
  assert.deepEqual(r.ids(), [21])
})

test('a stream that goes silent after opening is replaced', async (t) => {
  const s = await stub((req, res, info) => {
    startSSE(res)
    res.write(sseCursor(1))
  })
  const [sub, r] = client(t, s, { idleTimeout: 300, transport: 'sse' })
  sub.start()
  await waitUntil(() => s.requests.length >= 2, 'a new request')
  assert.ok(s.requests[1].at - s.requests[0].at >= 295)
  assert.match(r.errors[0].message, /silent/)
  assert.equal(s.maxOpen, 1)
})

test('a string token travels as a bearer header', async (t) => {
  const s = await stub((req, res) => {
    startSSE(res)
    res.write(sseCursor(1))
  })
  const [sub, r] = client(t, s, { token: 'tok.en' })
  sub.start()
  await waitUntil(() => r.states.at(-1) === 'open', 'open')
  assert.equal(s.requests[0].headers.authorization, 'Bearer tok.en')
  assert.equal(s.requests[0].url.searchParams.get('token'), null)
})

test('a token function is asked before every request, and may be async', async (t) => {
  let n = 0
  const s = await stub((req, res, info) => {
    startSSE(res, 0)
    res.write(sseCursor(1))
    if (info.n < 2) res.end(sseCursor(1, 'max_duration'))
  })
  const [sub, r] = client(t, s, { token: async () => 'k' + ++n })
  sub.start()
  await waitUntil(() => s.requests.length === 3, 'three requests')
  assert.deepEqual(
    s.requests.map((q) => q.headers.authorization),
    ['Bearer k1', 'Bearer k2', 'Bearer k3'],
  )
  assert.deepEqual(r.errors, [])
})

test('EventSource: untyped stream, token in the query, every type, reconnect with the cursor', async (t) => {
  const s = await stub((req, res, info) => {
    startSSE(res, 0)
    // As the server does: ?untyped=1 leaves the event line out of events.
    const untyped = info.url.searchParams.get('untyped') === '1'
    const event = (e) => sseEvent(untyped ? { ...e, type: 'message' } : e).replace('"type":"message"', `"type":"${e.type}"`)
    if (info.n === 0) {
      res.write(sseCursor(1) + event(ev(2, 'm')) + event(ev(3, 'x', 'order.paid')) + event(ev(4, 'y', 'other')))
      res.end(sseCursor(4, 'max_duration'))
    } else {
      res.write(sseCursor(Number(info.cursor)) + event(ev(5, 'z', 'late')))
    }
  })
  const [sub, r] = client(t, s, { fetch: null, EventSource, token: 'a b' })
  sub.start()
  await waitUntil(() => r.events.length === 4, 'four events')
  assert.deepEqual(r.ids(), [2, 3, 4, 5])
  assert.deepEqual(
    r.events.map((e) => e.type),
    ['message', 'order.paid', 'other', 'late'],
  )
  assert.equal(s.requests[0].url.searchParams.get('untyped'), '1')
  assert.equal(s.requests[0].url.searchParams.get('token'), 'a b')
  assert.equal(s.requests[0].headers.authorization, undefined)
  assert.equal(s.requests[1].cursor, '4')
  assert.equal(s.maxOpen, 1)
})

test('cursor storage: key format, value, and resuming from it (browser)', async (t) => {
  const store = new Map()
  globalThis.localStorage = { getItem: (k) => store.get(k) ?? null, setItem: (k, v) => store.set(k, v) }
  t.after(() => delete globalThis.localStorage)
  const s = await stub((req, res, info) => {
    startSSE(res)
    res.write(sseCursor(info.cursor ? Number(info.cursor) : 40))
    if (info.n === 0) res.write(sseEvent(ev(41, 'a')))
  })
  const key = `tidings:cursor:${s.url}:a:1,b,t`
  const [sub, r] = client(t, s, { cursor: 'storage', topics: ['t', 'a:1', 'b'] })
  sub.start()
  await waitUntil(() => store.get(key) === '41', 'the stored cursor')
  assert.deepEqual([...store.keys()], [key])
  assert.equal(s.requests[0].url.pathname, '/v1/topics/t,a:1,b/sse')
  sub.stop()
  const [again] = client(t, s, { cursor: 'storage', topics: ['b', 't', 'a:1'] })
  assert.equal(again.cursor, 41)
  again.start()
  await waitUntil(() => s.requests.length === 2, 'the second subscription')
  assert.equal(s.requests[1].cursor, '41')
  assert.equal(r.events.length, 1)
})

test('cursor storage in wx storage, a number cursor option is used as given', async (t) => {
  const wx = createWx()
  const s = await stub((req, res, info) => {
    startSSE(res)
    res.write(sseCursor(Number(info.cursor)))
    res.write(sseEvent(ev(Number(info.cursor) + 1, '一')))
  })
  const [sub, r] = client(t, s, { platform: 'auto', wx, cursor: 'storage' })
  wx.setStorageSync(sub.key, '') // nothing stored
  const [fixed, rf] = client(t, s, { platform: 'wechat', wx, cursor: 7 })
  fixed.start()
  await waitUntil(() => rf.events.length === 1, 'event 8')
  assert.equal(wx.getStorageSync(`tidings:cursor:${s.url}:t`), '', 'a number cursor is not persisted')
  fixed.stop()
  wx.setStorageSync(`tidings:cursor:${s.url}:t`, '30')
  const [stored, rs] = client(t, s, { platform: 'wechat', wx, cursor: 'storage' })
  stored.start()
  await waitUntil(() => rs.events.length === 1, 'event 31')
  assert.equal(rs.events[0].data, '一')
  // Writes are throttled; stop writes what is pending.
  stored.stop()
  assert.equal(wx.getStorageSync(`tidings:cursor:${s.url}:t`), '31')
  assert.equal(r.events.length, 0)
})

test('wx where canIUse says no chunked reading (base library before 2.20.2) long-polls', async (t) => {
  const wx = createWx({ chunked: false })
  const s = await stub((req, res, info) => {
    if (info.cursor === null) return json(res, 200, { events: [], cursor: 5, more: false, reset: false })
    if (info.cursor === '5') return json(res, 200, { events: [ev(6, '旧')], cursor: 6, more: false, reset: false })
  })
  const [sub, r] = client(t, s, { platform: 'wechat', wx })
  sub.start()
  await waitUntil(() => r.events.length === 1, 'an event by poll')
  assert.equal(sub.transport, 'poll')
  assert.equal(r.events[0].data, '旧')
  assert.ok(s.requests.every((q) => !isSSE(q)), 'no stream reached the server')
  assert.equal(wx.stats.maxOpen, 1)
})

test('a fetch without a readable body: each whole body is delivered, and its silence counts toward the fallback', async (t) => {
  const s = await stub((req, res, info) => {
    if (isSSE(info)) {
      startSSE(res, 0)
      const c = Number(info.cursor ?? 10)
      res.write(sseCursor(c) + sseEvent(ev(c + 1, 'whole ' + c, 'order.paid')))
      // Bounded responses of 150 ms, far shorter than fallbackAfter.
      return setTimeout(() => res.end(sseCursor(c + 1, 'max_duration')), 150)
    }
    const c = Number(info.cursor)
    json(res, 200, { events: [ev(c + 1, 'poll ' + c)], cursor: c + 1, more: false, reset: false })
  })
  // As a fetch of a runtime whose Response has no readable body.
  const wholeFetch = (url, init) =>
    fetch(url, init).then((res) => ({ status: res.status, headers: res.headers, body: null, text: () => res.text(), arrayBuffer: () => res.arrayBuffer() }))
  const [sub, r] = client(t, s, { fetch: wholeFetch, fallbackAfter: 2000 })
  sub.start()
  await waitUntil(() => sub.transport === 'poll', 'the fallback')
  await waitUntil(() => r.events.length >= 6, 'events by poll too')
  const streamed = s.requests.filter(isSSE).length
  assert.ok(streamed >= 2, `${streamed} whole bodies before the fallback`)
  assert.deepEqual(
    r.ids(),
    r.ids().map((_, i) => 11 + i),
    'every id once, in order',
  )
  assert.equal(r.events[0].data, 'whole 10')
  assert.equal(r.events[0].type, 'order.paid')
  sub.stop()
  sub.start()
  assert.equal(sub.transport, 'sse', 'start() streams again')
})

test('headers delayed past fallbackAfter: the stream is kept (browser)', async (t) => {
  const s = await stub((req, res, info) => {
    setTimeout(() => {
      startSSE(res, 0)
      res.write(sseCursor(5) + sseEvent(ev(6, 'late but streamed')))
    }, 600)
  })
  const [sub, r] = client(t, s, { fallbackAfter: 300 })
  sub.start()
  await waitUntil(() => r.events.length === 1, 'the event')
  assert.equal(sub.transport, 'sse')
  assert.equal(s.requests.length, 1)
  assert.ok(s.requests.every(isSSE))
})
