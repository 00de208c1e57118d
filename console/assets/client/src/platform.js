// Platform adapters: the only code that touches fetch, EventSource, wx.request,
// storage and the page or app lifecycle. Each adapter has
//
//   stream(url, headers, h)  opens an event stream; returns an abort function,
//                            or is null when the platform cannot stream. It
//                            calls h.head() when the response headers arrive,
//                            then h.chunk(bytes) for raw bytes (a body that
//                            only arrives when the response completes is one
//                            chunk), or h.event(block) for blocks parsed by
//                            the platform (EventSource), then h.end(err)
//                            once, with err null for a clean end.
//   sseQuery                 extra query for the stream request, or undefined.
//   request(r, cb)           one request {url, method, headers, body, timeout};
//                            cb(err, status, text) once; returns an abort
//                            function. Callbacks after abort are ignored by the
//                            caller.
//   load(key) / save(key, v) storage; load returns '' when absent.
//   qtoken                   true when the token must travel in the query.
//   watch(fns, o)            calls fns.online when the network comes back,
//                            fns.visible when the page becomes visible,
//                            fns.hide / fns.show when the page is hidden and
//                            shown again (bfcache), or the app is (wx, with
//                            o.appLifecycle); returns a function that stops.
//
// An aborted request may still call back; callers ignore what comes after.
import { decodeUtf8 } from './utf8.js'

export function platform(o) {
  const w = o.wx || (typeof wx === 'object' && wx) // eslint-disable-line no-undef
  if (o.platform === 'wechat' || (o.platform !== 'browser' && w && w.request)) return wechat(w, o)
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
    watch(fns) {
      /* global document, removeEventListener */
      if (typeof addEventListener !== 'function') return () => {}
      const doc = typeof document === 'object' && document
      const on = {
        online: fns.online,
        pagehide: fns.hide,
        pageshow: fns.show,
        visibilitychange: () => doc && doc.visibilityState === 'visible' && fns.visible(),
      }
      for (const k in on) on[k] && addEventListener(k, on[k])
      return () => {
        for (const k in on) on[k] && removeEventListener(k, on[k])
      }
    },
    stream: null,
  }
  if (streams) {
    p.stream = (url, headers, h) => {
      const ac = new AbortController()
      F(url, { headers, signal: ac.signal, cache: 'no-store' })
        .then((res) => {
          if (res.status !== 200 || !isStream(res.headers.get('content-type')))
            return res.text().then((t) => h.end(httpError(res.status, t)))
          h.head()
          // A fetch without a readable body hands it over whole.
          if (!res.body || !res.body.getReader)
            return res.arrayBuffer().then((b) => {
              h.chunk(new Uint8Array(b))
              h.end(null)
            })
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
    // Untyped blocks reach onmessage whatever the event's type.
    p.sseQuery = 'untyped=1'
    p.stream = (url, headers, h) => {
      const es = new ES(url)
      const f = (m) => h.event({ type: m.type, data: m.data, id: m.lastEventId })
      es.onopen = h.head
      for (const t of ['message', 'tidings.cursor', 'tidings.reset']) es.addEventListener(t, f)
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

// WeChat caps every request at 60 s; a stream asks the server to end it well
// before that, whatever TIDINGS_SSE_MAX_DURATION says.
function wechat(w, o) {
  const header = (h, name) => {
    for (const k in h) if (k.toLowerCase() === name) return h[k]
  }
  const text = (d) => (typeof d === 'string' ? d : d instanceof ArrayBuffer ? decodeUtf8(new Uint8Array(d)) : JSON.stringify(d))
  const p = {
    sseQuery: 'max_duration=50',
    stream(url, headers, h) {
      let bad = false
      let chunks = false
      let head = false
      const headers_ = (r) => {
        if (head) return
        head = true
        // Developer tools leave statusCode out; the content type still tells.
        bad = (r.statusCode && r.statusCode !== 200) || !isStream(header(r.header, 'content-type'))
        if (!bad) h.head()
      }
      const body = [] // bytes of an error answer
      const task = w.request({
        url,
        header: headers,
        enableChunked: true,
        responseType: 'arraybuffer',
        timeout: 60000,
        success: (res) => {
          headers_(res)
          if (bad) return h.end(httpError(res.statusCode, chunks ? decodeUtf8(body) : text(res.data)))
          // A base library or device that ignored enableChunked hands the
          // whole body over here.
          if (!chunks && res.data && res.data.byteLength) h.chunk(new Uint8Array(res.data))
          h.end(null)
        },
        fail: (e) => h.end(new Error(e.errMsg || 'request failed')),
      })
      if (task && task.onHeadersReceived) task.onHeadersReceived(headers_)
      if (task && task.onChunkReceived)
        task.onChunkReceived((r) => {
          const b = new Uint8Array(r.data)
          chunks = true
          if (!bad) h.chunk(b)
          else if (body.length < 4096) body.push.apply(body, b)
        })
      return () => task && task.abort()
    },
    request(r, cb) {
      const task = w.request({
        url: r.url,
        method: r.method || 'GET',
        header: r.headers,
        data: r.body,
        dataType: 'text',
        responseType: 'text',
        timeout: Math.min(60000, r.timeout),
        success: (res) => cb(null, res.statusCode, text(res.data)),
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
    watch(fns, o) {
      const net = (r) => r.isConnected && fns.online()
      const on = [['NetworkStatusChange', net]]
      if (o.appLifecycle && fns.hide) on.push(['AppHide', fns.hide], ['AppShow', fns.show])
      for (const [k, f] of on) w['on' + k] && w['on' + k](f)
      return () => {
        for (const [k, f] of on) w['off' + k] && w['off' + k](f)
      }
    },
  }
  // Chunked reading needs base library 2.20.2.
  if (!(w.canIUse && w.canIUse('request.object.enableChunked'))) p.stream = null
  return p
}
