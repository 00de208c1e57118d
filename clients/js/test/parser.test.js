// Conformance of the event-stream parser with the WHATWG HTML rules
// ("9.2.6 Interpreting an event stream"), and of the UTF-8 decoder with the
// WHATWG Encoding "UTF-8 decode" algorithm as implemented by TextDecoder.
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { Parser } from '../src/parser.js'
import { decodeUtf8 } from '../src/utf8.js'

const enc = new TextEncoder()
const bytes = (x) => (typeof x === 'string' ? enc.encode(x) : Uint8Array.from(x))

// parse feeds chunks (strings or byte arrays) and returns what was dispatched.
// With own: true the parser is built while TextDecoder is missing, so it uses
// the package's own decoder.
function parse(chunks, { own = false } = {}) {
  const events = []
  const retries = []
  const saved = globalThis.TextDecoder
  if (own) globalThis.TextDecoder = undefined
  let p
  try {
    p = new Parser((e) => events.push(e), (ms) => retries.push(ms))
  } finally {
    globalThis.TextDecoder = saved
  }
  for (const c of chunks) p.push(bytes(c))
  return { events, retries, lastEventId: p.lastEventId }
}

const msg = (data, id = '', type = 'message') => ({ type, data, id })

// Every way of cutting the input must give the same result: whole, byte by
// byte, and at random places.
function cuts(s) {
  const b = bytes(s)
  const one = [...b].map((x) => [x])
  const random = []
  for (let i = 0; i < b.length; ) {
    const n = 1 + Math.floor(Math.random() * 7)
    random.push(b.subarray(i, i + n))
    i += n
  }
  return { whole: [b], bytes: one, random }
}

const cases = [
  {
    name: 'multi-line data joins lines with LF',
    input: 'data: YHOO\ndata: +2\ndata: 10\n\n',
    events: [msg('YHOO\n+2\n10')],
  },
  {
    name: 'spec example: comment, id, empty id, undispatched tail',
    input: ': test stream\n\ndata: first event\nid: 1\n\ndata:second event\nid\n\ndata:  third event\n',
    events: [msg('first event', '1'), msg('second event', '')],
  },
  {
    name: 'data lines without colon, and data at end without blank line is not dispatched',
    input: 'data\n\ndata\ndata\n\ndata:',
    events: [msg(''), msg('\n')],
  },
  {
    name: 'one space after the colon is removed, no more',
    input: 'data:test\n\ndata: test\n\ndata:  test\n\n',
    events: [msg('test'), msg('test'), msg(' test')],
  },
  {
    name: 'CRLF, CR and LF all end lines',
    input: 'data: a\r\ndata: b\rdata: c\n\r\ndata: d\r\r',
    events: [msg('a\nb\nc'), msg('d')],
  },
  {
    name: 'leading BOM is stripped',
    input: '\uFEFFdata: a\n\n',
    events: [msg('a')],
  },
  {
    name: 'only one BOM is stripped',
    input: '\uFEFF\uFEFFdata: a\n\ndata: b\n\n',
    events: [msg('b')],
  },
  {
    name: 'a BOM after the start is data',
    input: 'data: a\n\n\uFEFFdata: b\n\ndata: \uFEFFc\n\n',
    events: [msg('a'), msg('\uFEFFc')],
  },
  {
    name: 'id containing NULL is ignored',
    input: 'id: 1\ndata: a\n\nid: 2\u0000x\ndata: b\n\n',
    events: [msg('a', '1'), msg('b', '1')],
  },
  {
    name: 'id-only block moves the last event id without dispatching',
    input: 'id: 7\n\ndata: a\n\nid: 9\n\n',
    events: [msg('a', '7')],
    lastEventId: '9',
  },
  {
    name: 'id persists across blocks until changed; empty id clears it',
    input: 'id: 3\ndata: a\n\ndata: b\n\nid:\ndata: c\n\n',
    events: [msg('a', '3'), msg('b', '3'), msg('c', '')],
  },
  {
    name: 'bogus retry values are ignored',
    input: 'retry: 1000\nretry: 10x\nretry: -5\nretry:  300\nretry: 1.5\nretry:\nretry: 2500\ndata: a\n\n',
    events: [msg('a')],
    retries: [1000, 2500],
  },
  {
    name: 'comments never dispatch, with or without a blank line',
    input: ': ping\n:\n: ping\n\n:data: x\n\n',
    events: [],
  },
  {
    name: 'event sets the type and is reset after each dispatch',
    input: 'event: add\ndata: 1\n\ndata: 2\n\nevent: gone\n\ndata: 3\n\nevent:\ndata: 4\n\n',
    events: [msg('1', '', 'add'), msg('2'), msg('3'), msg('4')],
  },
  {
    name: 'unknown fields are ignored',
    input: 'foo: bar\ndata: a\nDATA: b\n data: c\n\n',
    events: [msg('a')],
  },
  {
    name: 'a field name is everything before the first colon',
    input: 'data:a:b: c\n\n',
    events: [msg('a:b: c')],
  },
  {
    name: 'a lone comment line between blocks (the server heartbeat) is invisible',
    input: 'id: 1\ndata: a\n\n: ping\n: ping\nid: 2\ndata: b\n\n',
    events: [msg('a', '1'), msg('b', '2')],
  },
  {
    name: 'multi-byte text of every width',
    input: 'data: {"t":"你好，世界 🙂 é ß ∑ \\"q\\" [1,2]"}\n\n',
    events: [msg('{"t":"你好，世界 🙂 é ß ∑ \\"q\\" [1,2]"}')],
  },
]

for (const c of cases) {
  for (const own of [false, true]) {
    for (const [how, chunks] of Object.entries(cuts(c.input))) {
      test(`parser: ${c.name} (${how}${own ? ', own decoder' : ''})`, () => {
        const got = parse(chunks, { own })
        assert.deepEqual(got.events, c.events)
        assert.deepEqual(got.retries, c.retries || [])
        if (c.lastEventId !== undefined) assert.equal(got.lastEventId, c.lastEventId)
      })
    }
  }
}

test('parser: CR at the end of one chunk and LF at the start of the next is one line end', () => {
  const got = parse(['data: x\r', '\ndata: y\r', '\n\r', '\n', 'data: z\r', '\r'])
  assert.deepEqual(got.events, [msg('x\ny'), msg('z')])
})

test('parser: a BOM split across chunks is still stripped', () => {
  const got = parse([[0xef], [0xbb], [0xbf, 0x64], 'ata: a\n\n'], { own: true })
  assert.deepEqual(got.events, [msg('a')])
})

test('parser: malformed UTF-8 becomes U+FFFD and does not break the stream', () => {
  const input = [...bytes('data: a'), 0xff, 0xc3, ...bytes('\n\ndata: b\n\n')]
  for (const own of [false, true]) {
    const got = parse([input], { own })
    assert.deepEqual(got.events, [msg('a\uFFFD\uFFFD'), msg('b')])
  }
})

test('parser: the chunk buffer may be reused by the caller', () => {
  const events = []
  const p = new Parser((e) => events.push(e))
  const buf = new Uint8Array(4)
  for (const b of bytes('data: abcdef\n\n')) {
    buf[0] = b
    p.push(buf.subarray(0, 1))
    buf.fill(0x41)
  }
  assert.deepEqual(events, [msg('abcdef')])
})

test('parser: accepts ArrayBuffer chunks', () => {
  const events = []
  const p = new Parser((e) => events.push(e))
  p.push(bytes('data: 1\n').buffer)
  p.push(bytes('\n').buffer)
  assert.deepEqual(events, [msg('1')])
})

// The reference: TextDecoder in replacement mode keeping BOMs, which is what
// decodeUtf8 promises to match.
const reference = new TextDecoder('utf-8', { ignoreBOM: true })

test('utf8: well-formed text of every width', () => {
  const s = 'ascii é ß 你好 🙂👍🏽 \u{10FFFF} \uFEFF end'
  assert.equal(decodeUtf8(enc.encode(s)), s)
})

test('utf8: malformed sequences match the WHATWG decoder', () => {
  const samples = [
    [0x80],
    [0xc0, 0x80], // overlong
    [0xc2],
    [0xe0, 0x80, 0x80], // overlong 3-byte
    [0xe0, 0xa0],
    [0xed, 0xa0, 0x80], // surrogate
    [0xf0, 0x8f, 0xbf, 0xbf], // overlong 4-byte
    [0xf4, 0x90, 0x80, 0x80], // above U+10FFFF
    [0xf5, 0x80],
    [0xf0, 0x9f, 0x99],
    [0xf0, 0x9f, 0x99, 0x41],
    [0xe4, 0xbd, 0x41, 0xe4, 0xbd, 0xa0],
    [0xfe, 0xff, 0x41],
  ]
  for (const s of samples) {
    const b = Uint8Array.from(s)
    assert.equal(decodeUtf8(b), reference.decode(b), `bytes ${s.map((x) => x.toString(16)).join(' ')}`)
  }
})

test('utf8: random bytes decode exactly as TextDecoder does', () => {
  const pool = [0x00, 0x41, 0x7f, 0x80, 0xbf, 0xc2, 0xdf, 0xe0, 0xed, 0xef, 0xf0, 0xf4, 0xf5, 0xff, 0x9f, 0xa0, 0x8f, 0x90]
  for (let n = 0; n < 3000; n++) {
    const len = Math.floor(Math.random() * 12)
    const b = new Uint8Array(len)
    for (let i = 0; i < len; i++) b[i] = Math.random() < 0.7 ? pool[Math.floor(Math.random() * pool.length)] : Math.floor(Math.random() * 256)
    assert.equal(decodeUtf8(b), reference.decode(b), `bytes ${[...b].map((x) => x.toString(16)).join(' ')}`)
  }
})

test('utf8: long input', () => {
  const s = '汉字🙂'.repeat(20000)
  assert.equal(decodeUtf8(enc.encode(s)), s)
})
