// A simulated WeChat `wx` for tests, built on node:http. It keeps to what the
// mini-program base library documents for wx.request and RequestTask:
// callbacks are asynchronous, onHeadersReceived comes before any chunk, with
// enableChunked every chunk is an ArrayBuffer and `success` fires once the
// response ends, abort() ends in `fail` with "request:fail abort".
//
// Options for the devices and base libraries seen in the field:
// chunked: false is a base library before 2.20.2 (canIUse says no);
// deliverChunks: false is one that accepts enableChunked but never calls
// onChunkReceived, handing the whole body to success; headerDelay holds
// the headers (and so everything) back for that many ms.
//
// Chunked bodies are re-cut into random pieces of 1..maxChunk bytes, so
// pieces end inside lines and inside multi-byte characters, whatever the
// server flushed.
import http from 'node:http'

export function createWx({ maxChunk = 5, chunked = true, deliverChunks = true, headerDelay = 0 } = {}) {
  const storage = new Map()
  const netListeners = []
  const live = new Set() // requests in flight
  const appListeners = { hide: [], show: [] }
  const off = (list, f) => {
    const i = list.indexOf(f)
    if (i >= 0) list.splice(i, 1)
  }
  // cutInChar and cutInLine count pieces that end inside a multi-byte
  // character or inside a line.
  const stats = { open: 0, maxOpen: 0, started: [], streams: 0, pieces: 0, cutInChar: 0, cutInLine: 0 }
  const w = {
    offline: false,
    stats,
    request(o) {
      const chunkListeners = []
      const headerListeners = []
      let done = false
      // A frozen request sits on a dead socket: nothing more arrives, no
      // callback fires until its timeout or abort.
      const entry = { frozen: false }
      let req
      let timer
      const path = new URL(o.url).pathname
      // A subscription request: the client must never hold two at once.
      const sub = /\/(sse|poll)$/.test(path)
      if (sub) {
        stats.open++
        stats.maxOpen = Math.max(stats.maxOpen, stats.open)
        stats.started.push({ url: o.url, at: Date.now(), header: { ...o.header } })
      }
      const finish = (ok, res) => {
        if (done) return
        done = true
        live.delete(entry)
        clearTimeout(timer)
        if (sub) stats.open--
        setImmediate(() => {
          if (ok) o.success && o.success(res)
          else o.fail && o.fail(res)
          o.complete && o.complete(res)
        })
      }
      const task = {
        abort() {
          if (done) return
          entry.frozen = false
          if (req) req.destroy()
          finish(false, { errMsg: 'request:fail abort' })
        },
        onHeadersReceived: (f) => headerListeners.push(f),
        offHeadersReceived: (f) => headerListeners.splice(headerListeners.indexOf(f) >>> 0, 1),
        onChunkReceived: (f) => chunkListeners.push(f),
        offChunkReceived: (f) => chunkListeners.splice(chunkListeners.indexOf(f) >>> 0, 1),
      }
      if (w.offline) {
        setImmediate(() => finish(false, { errMsg: 'request:fail net::ERR_INTERNET_DISCONNECTED' }))
        return task
      }
      if (o.enableChunked) stats.streams++
      let body
      if (o.data != null) body = Buffer.from(typeof o.data === 'string' ? o.data : JSON.stringify(o.data))
      req = http.request(o.url, { method: o.method || 'GET', headers: { ...o.header } })
      live.add(entry)
      entry.kill = () => {
        entry.frozen = true
        req.destroy()
      }
      timer = setTimeout(() => {
        req.destroy()
        finish(false, { errMsg: 'request:fail timeout' })
      }, o.timeout || 60000)
      req.on('error', (e) => entry.frozen || finish(false, { errMsg: 'request:fail ' + e.message }))
      req.on('response', (res) => {
        // wx hands over headers with the server's spelling.
        const header = {}
        for (let i = 0; i < res.rawHeaders.length; i += 2) header[res.rawHeaders[i]] = res.rawHeaders[i + 1]
        const parts = []
        const chunks = o.enableChunked && deliverChunks
        setTimeout(() => {
          if (done || entry.frozen) return
          for (const f of headerListeners) f({ header, statusCode: res.statusCode, cookies: [] })
          res.on('data', (buf) => {
            if (done || entry.frozen) return
            if (!chunks) return parts.push(buf)
            for (let i = 0; i < buf.length; ) {
              const n = 1 + Math.floor(Math.random() * maxChunk)
              const piece = new Uint8Array(buf.subarray(i, i + n)) // a copy, its own ArrayBuffer
              i += n
              stats.pieces++
              if (i < buf.length && (buf[i] & 0xc0) === 0x80) stats.cutInChar++
              if (piece[piece.length - 1] !== 10) stats.cutInLine++
              for (const f of chunkListeners) if (!done) f({ data: piece.buffer })
            }
          })
          res.on('end', () => {
            if (entry.frozen) return
            const all = Buffer.concat(parts)
            let data
            if (chunks) data = new ArrayBuffer(0)
            else if (o.responseType === 'arraybuffer') data = new Uint8Array(all).buffer
            else {
              data = all.toString('utf8')
              if (o.dataType === undefined || o.dataType === 'json') {
                try {
                  data = JSON.parse(data)
                } catch {}
              }
            }
            finish(true, { data, statusCode: res.statusCode, header, errMsg: 'request:ok' })
          })
          res.on('error', (e) => entry.frozen || finish(false, { errMsg: 'request:fail ' + e.message }))
          res.on('aborted', () => entry.frozen || finish(false, { errMsg: 'request:fail connection reset' }))
        }, headerDelay)
      })
      req.end(body)
      return task
    },
    getStorageSync: (k) => (storage.has(k) ? storage.get(k) : ''),
    setStorageSync: (k, v) => void storage.set(k, v),
    removeStorageSync: (k) => void storage.delete(k),
    canIUse: (what) => (what === 'request.object.enableChunked' ? chunked : true),
    onNetworkStatusChange: (f) => void netListeners.push(f),
    offNetworkStatusChange: (f) => off(netListeners, f),
    onAppHide: (f) => void appListeners.hide.push(f),
    offAppHide: (f) => off(appListeners.hide, f),
    onAppShow: (f) => void appListeners.show.push(f),
    offAppShow: (f) => off(appListeners.show, f),
    // app switches the simulated app to the background ('hide') or back.
    app(what) {
      for (const f of appListeners[what].slice()) f({})
    },
    listeners: { net: netListeners, app: appListeners },
    // setOnline switches the simulated network; requests made while offline
    // fail at once, as on a phone in flight mode. With freeze, the requests
    // in flight lose their connection silently, as after a switch from
    // Wi-Fi to 4G.
    setOnline(on, { freeze = false } = {}) {
      w.offline = !on
      if (freeze) for (const e of live) e.kill()
      for (const f of netListeners) setImmediate(() => f({ isConnected: on, networkType: on ? 'wifi' : 'none' }))
    },
    storage,
  }
  return w
}
