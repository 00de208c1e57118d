// Bounded SSE responses and server restarts against the real server, with
// the fetch and EventSource adapters and long-poll side by side: each must
// hand over the same ids, once each, in order.
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import path from 'node:path'
import { EventSource } from 'eventsource'
import { Tidings } from '../index.js'
import { startServer } from './server.js'
import { waitUntil, record, strictlyAscending } from './util.js'

function subscribers(t, url, topics) {
  const common = { url, topics, platform: 'browser', minDelay: 100, maxDelay: 1000 }
  const subs = {
    fetch: new Tidings({ ...common, transport: 'sse' }),
    eventsource: new Tidings({ ...common, transport: 'sse', fetch: null, EventSource }),
    poll: new Tidings({ ...common, transport: 'poll', pollTimeout: 2 }),
  }
  const recs = {}
  for (const [name, s] of Object.entries(subs)) {
    recs[name] = record(s)
    t.after(() => s.stop())
    s.start()
  }
  return [subs, recs]
}

async function allReceived(recs, want) {
  for (const [name, r] of Object.entries(recs)) {
    await waitUntil(() => r.events.length >= want.length && r.events.at(-1).id === want.at(-1), `${name}: all events`)
    assert.ok(strictlyAscending(r.ids()), name)
    assert.deepEqual(r.ids(), want, name)
  }
}

test('bounded responses: fetch, EventSource and long-poll see the same ids', async (t) => {
  const server = await startServer({ TIDINGS_SSE_MAX_DURATION: '1s', TIDINGS_SSE_RETRY: '50ms' })
  t.after(() => server.stop())
  const [subs, recs] = subscribers(t, server.url, ['a', 'b'])
  await waitUntil(() => Object.values(subs).every((s) => s.state === 'open'), 'all open')
  const want = []
  const until = Date.now() + 4000
  for (let i = 0; Date.now() < until; i++) {
    const r = await server.publish(i % 2 ? 'a' : 'b', { i }, { type: 'tick' })
    assert.equal(r.status, 201)
    want.push(r.body.id)
    await new Promise((res) => setTimeout(res, Math.random() * 25))
  }
  await allReceived(recs, want)
  for (const r of Object.values(recs)) assert.deepEqual(r.errors, [])
  assert.equal(subs.fetch.transport, 'sse')
})

test('a server restart: streams end with shutting_down, clients come back and resume', async (t) => {
  const dir = mkdtempSync(path.join(tmpdir(), 'tidings-restart-'))
  t.after(() => rmSync(dir, { recursive: true, force: true }))
  let server = await startServer({}, { dir })
  const addr = server.addr
  const [subs, recs] = subscribers(t, server.url, ['r'])
  await waitUntil(() => Object.values(subs).every((s) => s.state === 'open'), 'all open')
  const want = []
  for (let i = 0; i < 3; i++) want.push((await server.publish('r', 'before ' + i, { type: 'tick' })).body.id)
  await allReceived(recs, want)

  const { code } = await server.stop()
  assert.equal(code, 0, 'exit status after SIGTERM')
  for (const [name, s] of Object.entries(subs))
    await waitUntil(() => s.state === 'waiting' || s.state === 'connecting', `${name} to notice the shutdown`)

  server = await startServer({ TIDINGS_ADDR: addr }, { dir })
  t.after(() => server.stop())
  for (let i = 0; i < 3; i++) want.push((await server.publish('r', 'after ' + i, { type: 'tick' })).body.id)
  await allReceived(recs, want)
  assert.ok(want[3] > want[2], 'ids keep increasing across a restart')
  for (const s of Object.values(subs)) assert.equal(s.state, 'open')
})
