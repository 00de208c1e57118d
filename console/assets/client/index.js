// tidings-client: subscribe to a tidings server over bounded SSE or long-poll
// from browsers, WeChat mini-programs and anything with fetch, and publish
// in order with retries. See docs/client.md.
import { Parser } from './src/parser.js'
import { platform, httpError } from './src/platform.js'

export { Parser } from './src/parser.js'
export { decodeUtf8 } from './src/utf8.js'

const defaults = {
  transport: 'auto',
  platform: 'auto',
  fallbackAfter: 5000,
  pollTimeout: 25,
  idleTimeout: 45000,
  minDelay: 1000,
  maxDelay: 30000,
  saveEvery: 1000,
}

// backoff is exponential with jitter: a delay in [d/2, d) where d doubles per
// failure up to maxDelay.
const backoff = (o, n) => {
  const d = Math.min(o.maxDelay, o.minDelay * Math.pow(2, n))
  return d / 2 + (Math.random() * d) / 2
}

const tokenOf = (t) => new Promise((ok) => ok(typeof t === 'function' ? t() : t))

class Emitter {
  constructor() {
    this._l = {}
  }

  // on adds a listener and returns a function that removes it.
  on(type, fn) {
    ;(this._l[type] = this._l[type] || []).push(fn)
    return () => this.off(type, fn)
  }

  // once adds a listener that is removed before its first call.
  once(type, fn) {
    const off = this.on(type, (v) => {
      off()
      fn(v)
    })
    return off
  }

  off(type, fn) {
    this._l[type] = (this._l[type] || []).filter((g) => g !== fn)
    return this
  }

  // emit calls every listener; one that throws does not stop the others or
  // the client, and its exception is reported as uncaught.
  emit(type, v) {
    for (const fn of (this._l[type] || []).slice()) {
      try {
        fn(v)
      } catch (e) {
        setTimeout(() => {
          throw e
        })
      }
    }
  }
}

// Tidings is one subscription. It holds at most one request open at a time;
// every callback of an earlier request is recognised by its generation
// number and ignored.
export class Tidings extends Emitter {
  constructor(opts) {
    super()
    const o = (this.o = Object.assign({}, defaults, opts))
    this.url = String(o.url).replace(/\/+$/, '')
    this.topics = [].concat(o.topics)
    for (const t of this.topics)
      if (!/^[A-Za-z0-9_][A-Za-z0-9_.:-]{0,127}$/.test(t)) throw new TypeError('tidings: invalid topic ' + JSON.stringify(t))
    this.p = platform(o)
    this.key = 'tidings:cursor:' + this.url + ':' + this.topics.slice().sort().join(',')
    let c = o.cursor
    if (c === 'storage') {
      this.persist = true
      c = this.p.load(this.key)
    }
    // null: not known yet, the first request starts from the head.
    this.cursor = /^[0-9]+$/.test(String(c)) ? +c : null
    this.state = 'stopped'
    this.gen = 0
    this.fails = 0
    this.retry = null
    this._stream()
  }

  // _stream chooses streaming again, unless told to poll or unable to stream.
  _stream() {
    this.transport = this.o.transport === 'poll' || !this.p.stream ? 'poll' : 'sse'
    this.silent = 0
  }

  start() {
    if (this.state === 'stopped') {
      if (!this.unwatch)
        this.unwatch = this.p.watch(
          {
            online: () => this._now(true),
            visible: () => this._now(),
            hide: () => this._pause(true),
            show: () => this.paused && this.start(),
          },
          this.o,
        )
      this.paused = false
      this.fails = 0
      this._stream()
      this._open(true)
    }
    return this
  }

  // stop aborts the open request and keeps the cursor; start resumes from it.
  stop() {
    if (this.unwatch) this.unwatch()
    this.unwatch = null
    return this._pause()
  }

  // _pause stops for a while (page or app hidden) and remembers to resume.
  _pause(resume) {
    if (this.state !== 'stopped') {
      this.paused = resume
      this._abort()
      this._save(true)
      this._set('stopped')
    }
    return this
  }

  // _now reconnects at once, with the backoff reset: after the network came
  // back (online, even an open stream may sit on a dead socket) or when the
  // page is visible again (only if waiting).
  _now(online) {
    if (this.state === 'waiting' || (online && this.state !== 'stopped')) {
      this.fails = 0
      this._open(true)
    }
  }

  _set(s) {
    if (s !== this.state) {
      this.state = s
      this.emit('state', s)
    }
  }

  _abort() {
    this.gen++
    clearTimeout(this.tw)
    clearTimeout(this.tf)
    clearTimeout(this.ti)
    const abort = this.req
    this.req = null
    if (abort) abort()
  }

  _open(announce) {
    this._abort()
    const gen = this.gen
    if (announce) this._set('connecting')
    // A token function that throws or rejects, or a platform call that
    // throws, counts as a failed request.
    tokenOf(this.o.token)
      .then((token) => {
        if (gen === this.gen) this.transport === 'poll' ? this._poll(gen, token) : this._sse(gen, token)
      })
      .then(null, (err) => this._fail(gen, err))
  }

  _target(kind, token, inQuery, extra) {
    const q = []
    const headers = {}
    if (this.cursor != null) q.push('cursor=' + this.cursor)
    if (extra) q.push(extra)
    if (token) {
      if (inQuery) q.push('token=' + encodeURIComponent(token))
      else headers.Authorization = 'Bearer ' + token
    }
    return [this.url + '/v1/topics/' + this.topics.join(',') + '/' + kind + (q.length ? '?' + q.join('&') : ''), headers]
  }

  _sse(gen, token) {
    const p = this.p
    const [url, headers] = this._target('sse', token, p.qtoken, p.sseQuery)
    headers.Accept = 'text/event-stream'
    const live = () => gen === this.gen
    this.t0 = Date.now()
    this.t1 = 0
    const arrived = () => {
      this.t2 = Date.now()
      if (!this.t1) this.t1 = this.t2
      clearTimeout(this.tf)
      this._idle(gen)
    }
    const parser = new Parser(
      (b) => live() && this._block(gen, b),
      (ms) => (this.retry = ms),
    )
    this.req = p.stream(url, headers, {
      // The fallback timer starts at the headers (a slow network is not a
      // buffering one), less the silence of earlier responses.
      head: () => {
        if (live() && this._auto())
          this.tf = setTimeout(() => {
            if (live() && !this.t1) {
              this.transport = 'poll'
              this._open()
            }
          }, Math.max(0, this.o.fallbackAfter - this.silent))
      },
      chunk: (bytes) => {
        if (!live()) return
        arrived()
        parser.push(bytes)
        this._save()
      },
      event: (b) => {
        if (!live()) return
        arrived()
        this._block(gen, b)
        this._save()
      },
      end: (err) => this._fail(gen, err || new Error('stream ended without a final cursor')),
    })
    this._idle(gen)
  }

  _auto() {
    return this.o.transport === 'auto' && this.o.fallbackAfter > 0
  }

  // _quiet runs when a stream ends. A stream whose bytes all came at once
  // in the last tenth of its life was held back by something on the way (a
  // buffering proxy, a wx.request that ignores enableChunked): its silence
  // adds up with that of such streams before it, and once it reaches
  // fallbackAfter the subscription long-polls until the next start().
  _quiet() {
    const t0 = this.t0
    if (!t0) return
    const t1 = this.t1 || Date.now()
    const t2 = this.t1 ? this.t2 : t1
    this.t0 = 0
    if (t2 - t1 > (t2 - t0) / 10) return (this.silent = 0)
    this.silent += t1 - t0
    if (this._auto() && this.silent >= this.o.fallbackAfter) this.transport = 'poll'
  }

  // _idle restarts the watchdog that gives up on a stream that has gone
  // silent for longer than any heartbeat (a connection dropped without a
  // reset, as mobile networks do).
  _idle(gen) {
    clearTimeout(this.ti)
    if (this.o.idleTimeout > 0)
      this.ti = setTimeout(() => this._fail(gen, new Error('stream went silent')), this.o.idleTimeout)
  }

  _block(gen, b) {
    const type = b.type.toLowerCase()
    if (type.indexOf('tidings.') === 0) {
      let d
      try {
        d = JSON.parse(b.data)
      } catch (e) {
        return
      }
      // Listeners may stop (and restart) the subscription: after each emit,
      // go on only if this is still the current request.
      if (type === 'tidings.reset') {
        this._opened(true)
        if (gen === this.gen) this._reset(d.reason, d.cursor)
      } else if (type === 'tidings.cursor') {
        this._advance(d.cursor)
        // An answer that is only "come back later" does not end a series
        // of failures.
        this._opened(!d.end || d.end === 'max_duration')
        if (d.end && gen === this.gen) this._ended(d.end)
      }
      return
    }
    let e
    try {
      e = JSON.parse(b.data)
    } catch (err) {
      return this.emit('error', err)
    }
    this._deliver(e)
  }

  _opened(ok) {
    if (ok) this.fails = 0
    this._set('open')
  }

  _deliver(e) {
    if (!e || typeof e.id !== 'number' || (this.cursor != null && e.id <= this.cursor)) return
    this.cursor = e.id
    this.dirty = true
    this.emit('event', e)
  }

  _advance(n) {
    if (typeof n === 'number' && (this.cursor == null || n > this.cursor)) {
      this.cursor = n
      this.dirty = true
    }
  }

  _reset(reason, n) {
    this.cursor = n
    this.dirty = true
    this.emit('reset', { reason, cursor: n })
  }

  // _save stores the cursor at most once per saveEvery ms (a storage write
  // is a synchronous bridge call on wx), and at once when forced (at the
  // end of a response, on stop). The cursor is stored after the listeners
  // ran, so across an app kill delivery is at-least-once.
  _save(force) {
    if (!this.persist) return
    if (force || this.o.saveEvery <= 0) {
      clearTimeout(this.ts)
      this.ts = null
      if (this.dirty) {
        this.dirty = false
        this.p.save(this.key, String(this.cursor))
      }
    } else if (this.dirty && !this.ts) this.ts = setTimeout(() => this._save(true), this.o.saveEvery)
  }

  // _ended handles the final cursor block of a bounded response: reconnect
  // after the server's retry hint, at once when there is none. Only a
  // response ended for overload or shutdown counts as a pause (with jitter,
  // so that clients do not all return at the same instant).
  _ended(why) {
    this._quiet()
    this._abort()
    this._save(true)
    let d = this.retry
    const pause = why !== 'max_duration'
    if (d == null) d = pause ? backoff(this.o, this.fails++) : 0
    else if (pause) d += (Math.random() * d) / 2
    this._wait(d, pause)
  }

  _wait(d, announce) {
    if (d > 0) {
      if (announce) this._set('waiting')
      this.tw = setTimeout(() => this._open(announce), d)
    } else this._open(announce)
  }

  _fail(gen, err) {
    if (gen !== this.gen) return
    this._quiet()
    this._abort()
    this._save(true)
    err = err || new Error('request failed')
    const s = err.status
    // A request that can never succeed as sent: retrying only adds load.
    const fatal = s === 400 || s === 403 || (s === 401 && typeof this.o.token !== 'function')
    if (!fatal) this._set('waiting')
    const g = this.gen
    this.emit('error', err)
    if (g !== this.gen || this.state === 'stopped') return
    if (fatal) return this.stop()
    this._wait(backoff(this.o, this.fails++), true)
  }

  _poll(gen, token) {
    // Until the first answer, ask for one at once: it opens the subscription
    // and tells the cursor of a subscription "from now" without waiting.
    const t = this.state === 'open' ? this.o.pollTimeout : 0
    const [url, headers] = this._target('poll', token, false, 'timeout=' + t)
    // WeChat caps a request at 60 s.
    this.req = this.p.request({ url, headers, timeout: Math.min(60000, (t + 10) * 1000) }, (err, status, text) => {
      if (gen !== this.gen) return
      this.req = null
      let a
      if (!err && status !== 200) err = httpError(status, text)
      if (!err) {
        try {
          a = JSON.parse(text)
        } catch (e) {
          err = e
        }
      }
      if (err) return this._fail(gen, err)
      this._opened(true)
      if (gen !== this.gen) return
      const events = a.events || []
      // N, the cursor the server continued from, is just below the first
      // event it sent, or its answer's cursor when it sent none.
      if (a.reset) this._reset(a.reset_reason, events.length ? events[0].id - 1 : a.cursor)
      for (const e of events) if (gen === this.gen) this._deliver(e)
      if (gen !== this.gen) return
      this._advance(a.cursor)
      this._save()
      this._open()
    })
  }
}

const newKey = () =>
  Date.now().toString(36) + Math.random().toString(36).slice(2, 12) + Math.random().toString(36).slice(2, 12)

// Publisher sends events in order through a queue that survives network
// failures: each event carries an idempotency key, and a send whose outcome
// is unknown is repeated with the same key, so the server stores it once.
// publish resolves with the server's answer (the stored event, with
// duplicate: true when an earlier attempt had already stored it) and rejects
// when the server refuses the event (4xx other than 408 and 429). It
// listens for the network coming back only while a send waits to be
// retried.
export class Publisher {
  constructor(opts) {
    this.o = Object.assign({}, defaults, opts)
    this.url = String(this.o.url).replace(/\/+$/, '')
    this.p = platform(this.o)
    this.q = []
    this.fails = 0
  }

  publish(topic, data, opts) {
    opts = opts || {}
    return new Promise((resolve, reject) => {
      const key = opts.key || newKey()
      this._add({ key, topic, body: JSON.stringify({ data, type: opts.type, key }), resolve, reject })
    })
  }

  _add(it) {
    this.q.push(it)
    this._next()
  }

  // pending is the number of events not yet acknowledged by the server.
  get pending() {
    return this.q.length
  }

  // flush retries the queue now instead of waiting for the backoff timer,
  // e.g. when the application knows the network is back.
  flush() {
    clearTimeout(this.t)
    this.fails = 0
    this._next()
  }

  // _done settles the first queued item; the queue goes on with the next.
  _done(it, ok, v) {
    if (this.q[0] === it) this.q.shift()
    ;(ok ? it.resolve : it.reject)(v)
  }

  _next() {
    const it = this.q[0]
    if (!it && this.unwatch) {
      this.unwatch()
      this.unwatch = null
    }
    if (this.busy || !it) return
    this.busy = true
    clearTimeout(this.t)
    const done = (err, status, text) => {
      this.busy = false
      let res
      try {
        res = JSON.parse(text)
      } catch (e) {}
      if (!err && status >= 200 && status < 300) {
        this.fails = 0
        this._done(it, 1, res)
      } else if (!err && status < 500 && status !== 408 && status !== 429) this._done(it, 0, httpError(status, text))
      else {
        if (!this.unwatch) this.unwatch = this.p.watch({ online: () => this.flush() }, {})
        this.t = setTimeout(() => this._next(), backoff(this.o, this.fails++))
        return
      }
      this._next()
    }
    tokenOf(this.o.token).then((token) => {
      const headers = { 'Content-Type': 'application/json' }
      if (token) headers.Authorization = 'Bearer ' + token
      this.p.request(
        { url: this.url + '/v1/topics/' + encodeURIComponent(it.topic) + '/events', method: 'POST', headers, body: it.body, timeout: 30000 },
        done,
      )
    }, done)
  }
}
