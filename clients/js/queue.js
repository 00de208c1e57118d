// tidings-client/queue: an Outbox is a Publisher whose queue is kept in
// storage (localStorage or wx storage), so events published offline survive
// the app being killed and are sent on the next start(). Each event keeps
// its idempotency key, so replaying one the server had already stored
// stores nothing twice. See docs/client.md.
import { Publisher } from './index.js'

const never = () => {}

export class Outbox extends Publisher {
  constructor(opts) {
    super(opts)
    // The storage key: one outbox per server, or per name.
    this.key = 'tidings:outbox:' + this.url + (this.o.name ? ':' + this.o.name : '')
  }

  // start queues the events a previous run left in storage, behind any
  // published since, and resolves once each has settled: [{key, topic,
  // ok, value}] where value is the server's answer or the error.
  start() {
    let stored = []
    try {
      stored = JSON.parse(this.p.load(this.key) || '[]')
    } catch (e) {}
    const have = {}
    for (const it of this.q) have[it.key] = 1
    return Promise.all(
      stored
        .filter((it) => !have[it.key])
        .map(
          (it) =>
            new Promise((done) => {
              const settle = (ok) => (value) => done({ key: it.key, topic: it.topic, ok, value })
              this._add({ key: it.key, topic: it.topic, body: it.body, resolve: settle(true), reject: settle(false) })
            }),
        ),
    )
  }

  // list describes the events not yet acknowledged, oldest first.
  list() {
    return this.q.map((it) => {
      const b = JSON.parse(it.body)
      return { key: it.key, topic: it.topic, type: b.type, data: b.data }
    })
  }

  // cancel removes the event with this idempotency key and rejects its
  // promise; false when there is none. An event already on its way may
  // still be stored by the server.
  cancel(key) {
    const it = this.q.filter((x) => x.key === key)[0]
    if (!it) return false
    this.q = this.q.filter((x) => x !== it)
    this._store()
    const err = new Error('tidings: publish cancelled')
    err.code = 'cancelled'
    it.reject(err)
    it.resolve = it.reject = never
    return true
  }

  // clear cancels every event not yet acknowledged.
  clear() {
    for (const it of this.q.slice()) this.cancel(it.key)
  }

  _add(it) {
    this.q.push(it)
    this._store()
    this._next()
  }

  _done(it, ok, v) {
    super._done(it, ok, v)
    this._store()
  }

  _store() {
    this.p.save(this.key, JSON.stringify(this.q.map((it) => ({ key: it.key, topic: it.topic, body: it.body }))))
  }
}
