// A simulated WeChat `wx` for tests, built on node:http. It keeps to what the
// mini-program base library documents for wx.request and RequestTask:
// callbacks are asynchronous, onHeadersReceived comes before any chunk, with
// enableChunked every chunk is an ArrayBuffer and `success` fires once the
// response ends, abort() ends in `fail` with "request:fail abort".
//
// Chunked bodies are re-cut into random pieces of 1..maxChunk bytes, so
// pieces end inside lines and inside multi-byte characters, whatever the
// server flushed.
import http from 'node:http'

export function createWx({ maxChunk = 5 } = {}) {
  const storage = new Map()
  const netListeners = []
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
      timer = setTimeout(() => {
        req.destroy()
        finish(false, { errMsg: 'request:fail timeout' })
      }, o.timeout || 60000)
      req.on('error', (e) => finish(false, { errMsg: 'request:fail ' + e.message }))
      req.on('response', (res) => {
        // wx hands over headers with the server's spelling.
        const header = {}
        for (let i = 0; i < res.rawHeaders.length; i += 2) header[res.rawHeaders[i]] = res.rawHeaders[i + 1]
        const parts = []
        setImmediate(() => {
          if (done) return
          for (const f of headerListeners) f({ header, statusCode: res.statusCode, cookies: [] })
          res.on('data', (buf) => {
            if (done) return
            if (!o.enableChunked) return parts.push(buf)
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
            const all = Buffer.concat(parts)
            let data
            if (o.enableChunked) data = new ArrayBuffer(0)
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
          res.on('error', (e) => finish(false, { errMsg: 'request:fail ' + e.message }))
          res.on('aborted', () => finish(false, { errMsg: 'request:fail connection reset' }))
        })
      })
      req.end(body)
      return task
    },
    getStorageSync: (k) => (storage.has(k) ? storage.get(k) : ''),
    setStorageSync: (k, v) => void storage.set(k, v),
    removeStorageSync: (k) => void storage.delete(k),
    onNetworkStatusChange: (f) => void netListeners.push(f),
    // setOnline switches the simulated network; requests made while offline
    // fail at once, as on a phone in flight mode.
    setOnline(on) {
      w.offline = !on
      for (const f of netListeners) setImmediate(() => f({ isConnected: on, networkType: on ? 'wifi' : 'none' }))
    },
    storage,
  }
  return w
}
