// The npm eventsource package (4.x: an ES module exporting {EventSource},
// built on fetch) against the real server: it subscribes "from now" while
// 200 events are published across many 1 s bounded responses, and must see
// every event once, in order, resuming by itself with Last-Event-ID.
import { test, before, after } from 'node:test'
import assert from 'node:assert/strict'
import { EventSource } from 'eventsource'
import { startServer, publishAll } from '../../testing/server.mjs'
import { publishPaced, waitUntil, timeRE } from './helpers.js'

const N = 200

let server
before(async () => {
  server = await startServer({ TIDINGS_SSE_MAX_DURATION: '1s' })
})
after(async () => {
  await server?.stop()
})

test('eventsource resumes across bounded responses with no loss and no repeat', async (t) => {
  const requests = [] // the Last-Event-ID of each request, null for none
  const received = []
  const cursors = []
  const errors = []
  const es = new EventSource(`${server.url}/v1/topics/e2e/sse`, {
    fetch: (input, init) => {
      requests.push(init.headers?.['Last-Event-ID'] ?? null)
      return fetch(input, init)
    },
  })
  try {
    es.onmessage = (e) => received.push({ lastEventId: e.lastEventId, event: JSON.parse(e.data) })
    es.addEventListener('tidings.cursor', (e) => cursors.push(JSON.parse(e.data)))
    es.onerror = (e) => errors.push(e.message ?? 'error')

    // Subscribed "from now": publish only once the starting block is in.
    await waitUntil(() => cursors.length > 0, 10000, 'the starting cursor block')
    const published = await publishPaced(server, 'e2e', N, 20)
    // A sentinel published last: once it is in, every repeat would be too.
    const [sentinelId] = await publishAll(server, 'e2e', [{ sentinel: true }])
    await waitUntil(() => received.at(-1)?.event.id === sentinelId, 30000, `the sentinel (got ${received.length} events)`)
    received.pop()

    assert.deepEqual(
      received.map((r) => r.event.id),
      published,
      'every event once, in id order',
    )
    received.forEach(({ lastEventId, event }, i) => {
      assert.equal(lastEventId, String(event.id), 'the block id is the event id')
      assert.equal(event.topic, 'e2e')
      assert.equal(event.type, 'message')
      assert.deepEqual(event.data, { n: i })
      assert.match(event.time, timeRE)
      assert.deepEqual(Object.keys(event).sort(), ['data', 'id', 'time', 'topic', 'type'])
    })

    // The stream was cut into several responses, and every reconnect
    // carried the last id the library had seen (cursor blocks included).
    assert.ok(requests.length >= 3, `at least 3 responses, got ${requests.length}`)
    assert.equal(requests[0], null, 'the first request subscribes from now')
    for (const [i, id] of requests.slice(1).entries()) {
      assert.match(String(id), /^\d+$/, `reconnect ${i + 1} carries Last-Event-ID`)
    }
    const sent = requests.slice(1).map(Number)
    assert.deepEqual(sent, [...sent].sort((a, b) => a - b), 'Last-Event-ID never goes back')
    const ended = cursors.filter((c) => c.end)
    assert.ok(ended.length >= 2, 'responses ended with a final cursor block')
    assert.ok(ended.every((c) => c.end === 'max_duration'), JSON.stringify(ended))
    t.diagnostic(`${N} events over ${requests.length} responses, ${errors.length} reconnect notices`)
  } finally {
    es.close()
  }
})
