// UTF-8 decoding for platforms without TextDecoder (WeChat mini-programs on
// older base libraries, some embedded runtimes).
//
// Callers never split a character: the event-stream parser cuts the byte
// stream at CR and LF bytes, which never occur inside a multi-byte sequence,
// and decodes each whole line. So decoding is per line, not per chunk, and a
// character split across network chunks is simply joined before decoding.

// decodeUtf8 follows the WHATWG "UTF-8 decode" algorithm: malformed sequences
// become U+FFFD (one per maximal subpart), a BOM is kept (the parser strips
// the one at the start of the stream).
export function decodeUtf8(b) {
  let s = ''
  let u = []
  let need = 0
  let seen = 0
  let cp = 0
  let lo = 0x80
  let hi = 0xbf
  for (let i = 0; i < b.length; i++) {
    const c = b[i]
    if (need === 0) {
      if (c < 0x80) u.push(c)
      else if (c >= 0xc2 && c <= 0xdf) { need = 1; cp = c & 0x1f }
      else if (c >= 0xe0 && c <= 0xef) {
        if (c === 0xe0) lo = 0xa0
        if (c === 0xed) hi = 0x9f
        need = 2
        cp = c & 0xf
      } else if (c >= 0xf0 && c <= 0xf4) {
        if (c === 0xf0) lo = 0x90
        if (c === 0xf4) hi = 0x8f
        need = 3
        cp = c & 7
      } else u.push(0xfffd)
    } else if (c < lo || c > hi) {
      // Not a continuation byte here: the sequence so far is one error and
      // this byte starts afresh.
      need = seen = cp = 0
      lo = 0x80
      hi = 0xbf
      u.push(0xfffd)
      i--
    } else {
      lo = 0x80
      hi = 0xbf
      cp = (cp << 6) | (c & 0x3f)
      if (++seen === need) {
        if (cp > 0xffff) {
          cp -= 0x10000
          u.push(0xd800 + (cp >> 10), 0xdc00 + (cp & 0x3ff))
        } else u.push(cp)
        need = seen = cp = 0
      }
    }
    if (u.length > 4096) {
      s += String.fromCharCode.apply(null, u)
      u = []
    }
  }
  if (need) u.push(0xfffd)
  return s + String.fromCharCode.apply(null, u)
}

// utf8 returns the decoder to use now: the platform's TextDecoder when there
// is one (keeping every BOM, like decodeUtf8), else decodeUtf8.
export function utf8() {
  if (typeof TextDecoder === 'function') {
    const d = new TextDecoder('utf-8', { ignoreBOM: true })
    return (b) => d.decode(b)
  }
  return decodeUtf8
}
