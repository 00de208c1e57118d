// Platform adapters: the only code that touches fetch, EventSource, wx.request
// or storage. Each adapter has
//
//   stream(url, headers, h)  opens an event stream; returns an abort function,
//                            or null when the platform cannot stream. It calls
//                            h.chunk(bytes) for raw bytes or h.event(block) for
//                            blocks parsed by the platform (EventSource), then
//                            h.end(err) once, with err null for a clean end.
//   request(r, cb)           one request {url, method, headers, body, timeout};
//                            cb(err, status, text) once; returns an abort
//                            function. Callbacks after abort are ignored by the
//                            caller.
//   load(key) / save(key, v) cursor storage; load returns '' when absent.
//   qtoken                   true when the token must travel in the query.
//   online(fn)               calls fn when the network comes back.
//
// An aborted request may still call back; callers ignore what comes after.
import { decodeUtf8 } from './utf8.js'

export function platform(o) {
  const w = o.wx || (typeof wx === 'object' && wx) // eslint-disable-line no-undef
  if (o.platform === 'wechat' || (o.platform !== 'browser' && w && w.request)) return wechat(w)
  return browser(o)
}

export function httpError(status, text) {
  let code = 'http_' + status
  let msg = 'HTTP ' + status
  try {
    const e = JSON.parse(text).error
    code = e.code
    msg = e.message
  } catch (e) {}
  const err = new Error(msg)
  err.status = status
  err.code = code
  return err
}

const isStream = (ct) => /^text\/event-stream/i.test(ct || '')

function browser(o) {
  /* global fetch, EventSource, ReadableStream, Response, localStorage, addEventListener */
  const F = o.fetch !== undefined ? o.fetch : typeof fetch === 'function' ? fetch : null
  const ES = o.EventSource !== undefined ? o.EventSource : typeof EventSource === 'function' ? EventSource : null
  const streams =
    F && (o.fetch || (typeof ReadableStream === 'function' && typeof Response === 'function' && 'body' in Response.prototype))
  const p = {
    request(r, cb) {
      const ac = new AbortController()
      const t = r.timeout && setTimeout(() => ac.abort(), r.timeout)
      F(r.url, { method: r.method || 'GET', headers: r.headers, body: r.body, signal: ac.signal, cache: 'no-store' })
        .then((res) => res.text().then((text) => [res.status, text]))
        .then(
          (a) => {
            clearTimeout(t)
            cb(null, a[0], a[1])
          },
          (e) => {
            clearTimeout(t)
            cb(e)
          },
        )
      return () => ac.abort()
    },
    load(k) {
      try {
        return localStorage.getItem(k) || ''
      } catch (e) {
        return ''
      }
    },
    save(k, v) {
      try {
        localStorage.setItem(k, v)
      } catch (e) {}
    },
    online(fn) {
      if (typeof addEventListener === 'function') addEventListener('online', fn)
    },
    stream: null,
  }
  if (streams) {
    p.stream = (url, headers, h) => {
      const ac = new AbortController()
      F(url, { headers, signal: ac.signal, cache: 'no-store' })
        .then((res) => {
          if (res.status !== 200 || !res.body || !isStream(res.headers.get('content-type')))
            return res.text().then((t) => h.end(httpError(res.status, t)))
          const rd = res.body.getReader()
          const pump = () =>
            rd.read().then((r) => {
              if (r.done) return h.end(null)
              h.chunk(r.value)
              return pump()
            })
          return pump()
        })
        .catch(h.end)
      return () => ac.abort()
    }
  } else if (ES) {
    p.qtoken = true
    p.stream = (url, headers, h, types) => {
      const es = new ES(url)
      const f = (m) => h.event({ type: m.type, data: m.data, id: m.lastEventId })
      for (const t of ['message', 'tidings.cursor', 'tidings.reset'].concat(types)) es.addEventListener(t, f)
      // EventSource reconnects by itself after an error; the client decides
      // instead, so close at once.
      es.onerror = () => {
        es.close()
        h.end(new Error('event stream failed'))
      }
      return () => es.close()
    }
  }
  if (!F) p.request = null
  return p
}

function wechat(w) {
  const header = (h, name) => {
    for (const k in h) if (k.toLowerCase() === name) return h[k]
  }
  return {
    stream(url, headers, h) {
      let bad = false
      const body = [] // bytes of an error answer
      const task = w.request({
        url,
        header: headers,
        enableChunked: true,
        responseType: 'arraybuffer',
        timeout: 120000,
        success: (res) => h.end(bad || res.statusCode !== 200 ? httpError(res.statusCode, decodeUtf8(body)) : null),
        fail: (e) => h.end(new Error(e.errMsg || 'request failed')),
      })
      if (!task || !task.onChunkReceived) {
        if (task) task.abort()
        return null
      }
      task.onHeadersReceived((r) => {
        // Developer tools leave statusCode out; the content type still tells.
        bad = (r.statusCode && r.statusCode !== 200) || !isStream(header(r.header, 'content-type'))
      })
      task.onChunkReceived((r) => {
        const b = new Uint8Array(r.data)
        if (!bad) h.chunk(b)
        else if (body.length < 4096) body.push.apply(body, b)
      })
      return () => task.abort()
    },
    request(r, cb) {
      const task = w.request({
        url: r.url,
        method: r.method || 'GET',
        header: r.headers,
        data: r.body,
        dataType: 'text',
        responseType: 'text',
        timeout: r.timeout,
        success: (res) => cb(null, res.statusCode, typeof res.data === 'string' ? res.data : JSON.stringify(res.data)),
        fail: (e) => cb(new Error(e.errMsg || 'request failed')),
      })
      return () => task && task.abort()
    },
    load(k) {
      try {
        return String(w.getStorageSync(k) || '')
      } catch (e) {
        return ''
      }
    },
    save(k, v) {
      try {
        w.setStorageSync(k, v)
      } catch (e) {}
    },
    online(fn) {
      if (w.onNetworkStatusChange) w.onNetworkStatusChange((r) => r.isConnected && fn())
    },
  }
}
