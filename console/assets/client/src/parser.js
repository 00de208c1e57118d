import { utf8 } from './utf8.js'

// Parser interprets a text/event-stream by the WHATWG HTML rules ("Parsing an
// event stream" and "Dispatch the event"), fed with bytes in chunks of any
// size.
//
// Lines end at CRLF, LF or CR, including a CR that ends one chunk and an LF
// that starts the next. A leading BOM is stripped once. Blocks are dispatched
// on a blank line only: data still pending when the stream ends is dropped.
// An id containing NULL is ignored; an id-only block still moves lastEventId;
// a retry value that is not all ASCII digits is ignored.
//
// onEvent receives {type, data, id}, where type defaults to "message" and id
// is the last event id at dispatch time. onRetry receives the retry value in
// milliseconds.
export class Parser {
  constructor(onEvent, onRetry) {
    this.onEvent = onEvent
    this.onRetry = onRetry || (() => {})
    this.decode = utf8()
    this.parts = [] // bytes of the unfinished line
    this.cr = false // the last byte seen ended a line with CR
    this.first = true
    this.data = ''
    this.type = ''
    this.id = ''
    this.lastEventId = ''
  }

  // push consumes a chunk: a Uint8Array or an ArrayBuffer.
  push(chunk) {
    const b = chunk instanceof Uint8Array ? chunk : new Uint8Array(chunk)
    let start = 0
    for (let i = 0; i < b.length; i++) {
      const c = b[i]
      if (c === 10 && this.cr) {
        // The LF of a CRLF whose CR ended the previous line.
        this.cr = false
        start = i + 1
        continue
      }
      this.cr = c === 13
      if (c === 10 || c === 13) {
        let line = b.subarray(start, i)
        if (this.parts.length) {
          this.parts.push(line)
          line = concat(this.parts)
          this.parts = []
        }
        start = i + 1
        this.line(this.decode(line))
      }
    }
    // Copy: the caller may reuse its buffer.
    if (start < b.length) this.parts.push(b.slice(start))
  }

  line(s) {
    if (this.first) {
      this.first = false
      if (s.charCodeAt(0) === 0xfeff) s = s.slice(1)
    }
    if (s === '') return this.dispatch()
    if (s[0] === ':') return
    const i = s.indexOf(':')
    let f = s
    let v = ''
    if (i >= 0) {
      f = s.slice(0, i)
      v = s.slice(i + 1)
      if (v[0] === ' ') v = v.slice(1)
    }
    if (f === 'data') this.data += v + '\n'
    else if (f === 'event') this.type = v
    else if (f === 'id') {
      if (v.indexOf('\0') < 0) this.id = v
    } else if (f === 'retry') {
      if (/^[0-9]+$/.test(v)) this.onRetry(parseInt(v, 10))
    }
  }

  dispatch() {
    this.lastEventId = this.id
    const data = this.data
    const type = this.type || 'message'
    this.data = this.type = ''
    if (data !== '') this.onEvent({ type, data: data.slice(0, -1), id: this.id })
  }
}

function concat(parts) {
  let n = 0
  for (const p of parts) n += p.length
  const out = new Uint8Array(n)
  n = 0
  for (const p of parts) {
    out.set(p, n)
    n += p.length
  }
  return out
}
