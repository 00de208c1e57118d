// Shared test helpers: waiting with a deadline, recording a subscription,
// and a tiny scripted SSE/poll server for unit-level tests.
import http from 'node:http'
import { createHmac } from 'node:crypto'

// waitUntil polls cond until it is true or the deadline passes. The deadline
// is generous for a busy machine; the normal case returns within
// milliseconds of cond becoming true.
export async function waitUntil(cond, what, ms = 20000) {
  const end = Date.now() + ms
  for (;;) {
    const v = await cond()
    if (v) return v
    if (Date.now() > end) throw new Error(`timed out after ${ms}ms waiting for ${what}`)
    await new Promise((r) => setTimeout(r, 5))
  }
}

// record collects what a subscription emits.
export function record(sub) {
  const r = { events: [], resets: [], states: [], errors: [] }
  sub.on('event', (e) => r.events.push(e))
  sub.on('reset', (x) => r.resets.push(x))
  sub.on('state', (s) => r.states.push(s))
  sub.on('error', (e) => r.errors.push(e))
  r.ids = () => r.events.map((e) => e.id)
  return r
}

// assertAscendingOnce checks ids strictly increase (so none is repeated).
export function strictlyAscending(ids) {
  for (let i = 1; i < ids.length; i++) if (!(ids[i] > ids[i - 1])) return false
  return true
}

export const ev = (id, data, type = 'message', topic = 't') => ({ id, topic, type, data, time: new Date(0).toISOString() })

// sse frames an event the way the server does.
export const sseEvent = (e) => `id: ${e.id}\n${e.type === 'message' ? '' : `event: ${e.type}\n`}data: ${JSON.stringify(e)}\n\n`
export const sseCursor = (n, end) =>
  `id: ${n}\nevent: tidings.cursor\ndata: ${JSON.stringify(end ? { cursor: n, end } : { cursor: n })}\n\n`
export const sseReset = (reason, n) => `id: ${n}\nevent: tidings.reset\ndata: ${JSON.stringify({ reason, cursor: n })}\n\n`

// stub starts an HTTP server whose every request goes to handler(req, res,
// info), info being {n, url, cursor} with n counting from 0. It records each
// request and how many were open at once.
export async function stub(handler) {
  const s = {
    requests: [],
    open: 0,
    maxOpen: 0,
  }
  const server = http.createServer((req, res) => {
    const url = new URL(req.url, 'http://x')
    const info = { n: s.requests.length, url, cursor: url.searchParams.get('cursor'), at: Date.now(), headers: req.headers }
    s.requests.push(info)
    s.open++
    s.maxOpen = Math.max(s.maxOpen, s.open)
    res.on('close', () => s.open--)
    handler(req, res, info)
  })
  await new Promise((r) => server.listen(0, '127.0.0.1', r))
  s.url = `http://127.0.0.1:${server.address().port}`
  s.close = () =>
    new Promise((r) => {
      server.closeAllConnections()
      server.close(r)
    })
  return s
}

export function startSSE(res, retry = 1000) {
  res.writeHead(200, { 'content-type': 'text/event-stream; charset=utf-8', 'cache-control': 'no-cache' })
  res.write(`retry: ${retry}\n`)
}

export function json(res, status, body) {
  res.writeHead(status, { 'content-type': 'application/json' })
  res.end(JSON.stringify(body))
}

// signToken makes an HS256 token with the claims docs/auth.md defines.
export function signToken(secret, { subscribe = [], publish = [], ttl = 3600 }) {
  const b64 = (x) => Buffer.from(JSON.stringify(x)).toString('base64url')
  const head = b64({ alg: 'HS256', typ: 'JWT' })
  const body = b64({ exp: Math.floor(Date.now() / 1000) + ttl, 'tidings.subscribe': subscribe, 'tidings.publish': publish })
  const sig = createHmac('sha256', secret).update(`${head}.${body}`).digest('base64url')
  return `${head}.${body}.${sig}`
}
