// tidings-client, built from index.js by scripts/build.js: do not edit.
var __defProp = Object.defineProperty;
var __getOwnPropDesc = Object.getOwnPropertyDescriptor;
var __getOwnPropNames = Object.getOwnPropertyNames;
var __hasOwnProp = Object.prototype.hasOwnProperty;
var __export = (target, all) => {
  for (var name in all)
    __defProp(target, name, { get: all[name], enumerable: true });
};
var __copyProps = (to, from, except, desc) => {
  if (from && typeof from === "object" || typeof from === "function") {
    for (let key of __getOwnPropNames(from))
      if (!__hasOwnProp.call(to, key) && key !== except)
        __defProp(to, key, { get: () => from[key], enumerable: !(desc = __getOwnPropDesc(from, key)) || desc.enumerable });
  }
  return to;
};
var __toCommonJS = (mod) => __copyProps(__defProp({}, "__esModule", { value: true }), mod);

// index.js
var index_exports = {};
__export(index_exports, {
  Parser: () => Parser,
  Publisher: () => Publisher,
  Tidings: () => Tidings,
  decodeUtf8: () => decodeUtf8
});
module.exports = __toCommonJS(index_exports);

// src/utf8.js
function decodeUtf8(b) {
  let s = "";
  let u = [];
  let need = 0;
  let seen = 0;
  let cp = 0;
  let lo = 128;
  let hi = 191;
  for (let i = 0; i < b.length; i++) {
    const c = b[i];
    if (need === 0) {
      if (c < 128) u.push(c);
      else if (c >= 194 && c <= 223) {
        need = 1;
        cp = c & 31;
      } else if (c >= 224 && c <= 239) {
        if (c === 224) lo = 160;
        if (c === 237) hi = 159;
        need = 2;
        cp = c & 15;
      } else if (c >= 240 && c <= 244) {
        if (c === 240) lo = 144;
        if (c === 244) hi = 143;
        need = 3;
        cp = c & 7;
      } else u.push(65533);
    } else if (c < lo || c > hi) {
      need = seen = cp = 0;
      lo = 128;
      hi = 191;
      u.push(65533);
      i--;
    } else {
      lo = 128;
      hi = 191;
      cp = cp << 6 | c & 63;
      if (++seen === need) {
        if (cp > 65535) {
          cp -= 65536;
          u.push(55296 + (cp >> 10), 56320 + (cp & 1023));
        } else u.push(cp);
        need = seen = cp = 0;
      }
    }
    if (u.length > 4096) {
      s += String.fromCharCode.apply(null, u);
      u = [];
    }
  }
  if (need) u.push(65533);
  return s + String.fromCharCode.apply(null, u);
}
function utf8() {
  if (typeof TextDecoder === "function") {
    const d = new TextDecoder("utf-8", { ignoreBOM: true });
    return (b) => d.decode(b);
  }
  return decodeUtf8;
}

// src/parser.js
var Parser = class {
  constructor(onEvent, onRetry) {
    this.onEvent = onEvent;
    this.onRetry = onRetry || (() => {
    });
    this.decode = utf8();
    this.parts = [];
    this.cr = false;
    this.first = true;
    this.data = "";
    this.type = "";
    this.id = "";
    this.lastEventId = "";
  }
  // push consumes a chunk: a Uint8Array or an ArrayBuffer.
  push(chunk) {
    const b = chunk instanceof Uint8Array ? chunk : new Uint8Array(chunk);
    let start = 0;
    for (let i = 0; i < b.length; i++) {
      const c = b[i];
      if (c === 10 && this.cr) {
        this.cr = false;
        start = i + 1;
        continue;
      }
      this.cr = c === 13;
      if (c === 10 || c === 13) {
        let line = b.subarray(start, i);
        if (this.parts.length) {
          this.parts.push(line);
          line = concat(this.parts);
          this.parts = [];
        }
        start = i + 1;
        this.line(this.decode(line));
      }
    }
    if (start < b.length) this.parts.push(b.slice(start));
  }
  line(s) {
    if (this.first) {
      this.first = false;
      if (s.charCodeAt(0) === 65279) s = s.slice(1);
    }
    if (s === "") return this.dispatch();
    if (s[0] === ":") return;
    const i = s.indexOf(":");
    let f = s;
    let v = "";
    if (i >= 0) {
      f = s.slice(0, i);
      v = s.slice(i + 1);
      if (v[0] === " ") v = v.slice(1);
    }
    if (f === "data") this.data += v + "\n";
    else if (f === "event") this.type = v;
    else if (f === "id") {
      if (v.indexOf("\0") < 0) this.id = v;
    } else if (f === "retry") {
      if (/^[0-9]+$/.test(v)) this.onRetry(parseInt(v, 10));
    }
  }
  dispatch() {
    this.lastEventId = this.id;
    const data = this.data;
    const type = this.type || "message";
    this.data = this.type = "";
    if (data !== "") this.onEvent({ type, data: data.slice(0, -1), id: this.id });
  }
};
function concat(parts) {
  let n = 0;
  for (const p of parts) n += p.length;
  const out = new Uint8Array(n);
  n = 0;
  for (const p of parts) {
    out.set(p, n);
    n += p.length;
  }
  return out;
}

// src/platform.js
function platform(o) {
  const w = o.wx || typeof wx === "object" && wx;
  if (o.platform === "wechat" || o.platform !== "browser" && w && w.request) return wechat(w, o);
  return browser(o);
}
function httpError(status, text) {
  let code = "http_" + status;
  let msg = "HTTP " + status;
  try {
    const e = JSON.parse(text).error;
    code = e.code;
    msg = e.message;
  } catch (e) {
  }
  const err = new Error(msg);
  err.status = status;
  err.code = code;
  return err;
}
var isStream = (ct) => /^text\/event-stream/i.test(ct || "");
function browser(o) {
  const F = o.fetch !== void 0 ? o.fetch : typeof fetch === "function" ? fetch : null;
  const ES = o.EventSource !== void 0 ? o.EventSource : typeof EventSource === "function" ? EventSource : null;
  const streams = F && (o.fetch || typeof ReadableStream === "function" && typeof Response === "function" && "body" in Response.prototype);
  const p = {
    request(r, cb) {
      const ac = new AbortController();
      const t = r.timeout && setTimeout(() => ac.abort(), r.timeout);
      F(r.url, { method: r.method || "GET", headers: r.headers, body: r.body, signal: ac.signal, cache: "no-store" }).then((res) => res.text().then((text) => [res.status, text])).then(
        (a) => {
          clearTimeout(t);
          cb(null, a[0], a[1]);
        },
        (e) => {
          clearTimeout(t);
          cb(e);
        }
      );
      return () => ac.abort();
    },
    load(k) {
      try {
        return localStorage.getItem(k) || "";
      } catch (e) {
        return "";
      }
    },
    save(k, v) {
      try {
        localStorage.setItem(k, v);
      } catch (e) {
      }
    },
    watch(fns) {
      if (typeof addEventListener !== "function") return () => {
      };
      const doc = typeof document === "object" && document;
      const on = {
        online: fns.online,
        pagehide: fns.hide,
        pageshow: fns.show,
        visibilitychange: () => doc && doc.visibilityState === "visible" && fns.visible()
      };
      for (const k in on) on[k] && addEventListener(k, on[k]);
      return () => {
        for (const k in on) on[k] && removeEventListener(k, on[k]);
      };
    },
    stream: null
  };
  if (streams) {
    p.stream = (url, headers, h) => {
      const ac = new AbortController();
      F(url, { headers, signal: ac.signal, cache: "no-store" }).then((res) => {
        if (res.status !== 200 || !isStream(res.headers.get("content-type")))
          return res.text().then((t) => h.end(httpError(res.status, t)));
        h.head();
        if (!res.body || !res.body.getReader)
          return res.arrayBuffer().then((b) => {
            h.chunk(new Uint8Array(b));
            h.end(null);
          });
        const rd = res.body.getReader();
        const pump = () => rd.read().then((r) => {
          if (r.done) return h.end(null);
          h.chunk(r.value);
          return pump();
        });
        return pump();
      }).catch(h.end);
      return () => ac.abort();
    };
  } else if (ES) {
    p.qtoken = true;
    p.sseQuery = "untyped=1";
    p.stream = (url, headers, h) => {
      const es = new ES(url);
      const f = (m) => h.event({ type: m.type, data: m.data, id: m.lastEventId });
      es.onopen = h.head;
      for (const t of ["message", "tidings.cursor", "tidings.reset"]) es.addEventListener(t, f);
      es.onerror = () => {
        es.close();
        h.end(new Error("event stream failed"));
      };
      return () => es.close();
    };
  }
  if (!F) p.request = null;
  return p;
}
function wechat(w, o) {
  const header = (h, name) => {
    for (const k in h) if (k.toLowerCase() === name) return h[k];
  };
  const text = (d) => typeof d === "string" ? d : d instanceof ArrayBuffer ? decodeUtf8(new Uint8Array(d)) : JSON.stringify(d);
  const p = {
    sseQuery: "max_duration=50",
    stream(url, headers, h) {
      let bad = false;
      let chunks = false;
      let head = false;
      const headers_ = (r) => {
        if (head) return;
        head = true;
        bad = r.statusCode && r.statusCode !== 200 || !isStream(header(r.header, "content-type"));
        if (!bad) h.head();
      };
      const body = [];
      const task = w.request({
        url,
        header: headers,
        enableChunked: true,
        responseType: "arraybuffer",
        timeout: 6e4,
        success: (res) => {
          headers_(res);
          if (bad) return h.end(httpError(res.statusCode, chunks ? decodeUtf8(body) : text(res.data)));
          if (!chunks && res.data && res.data.byteLength) h.chunk(new Uint8Array(res.data));
          h.end(null);
        },
        fail: (e) => h.end(new Error(e.errMsg || "request failed"))
      });
      if (task && task.onHeadersReceived) task.onHeadersReceived(headers_);
      if (task && task.onChunkReceived)
        task.onChunkReceived((r) => {
          const b = new Uint8Array(r.data);
          chunks = true;
          if (!bad) h.chunk(b);
          else if (body.length < 4096) body.push.apply(body, b);
        });
      return () => task && task.abort();
    },
    request(r, cb) {
      const task = w.request({
        url: r.url,
        method: r.method || "GET",
        header: r.headers,
        data: r.body,
        dataType: "text",
        responseType: "text",
        timeout: Math.min(6e4, r.timeout),
        success: (res) => cb(null, res.statusCode, text(res.data)),
        fail: (e) => cb(new Error(e.errMsg || "request failed"))
      });
      return () => task && task.abort();
    },
    load(k) {
      try {
        return String(w.getStorageSync(k) || "");
      } catch (e) {
        return "";
      }
    },
    save(k, v) {
      try {
        w.setStorageSync(k, v);
      } catch (e) {
      }
    },
    watch(fns, o2) {
      const net = (r) => r.isConnected && fns.online();
      const on = [["NetworkStatusChange", net]];
      if (o2.appLifecycle && fns.hide) on.push(["AppHide", fns.hide], ["AppShow", fns.show]);
      for (const [k, f] of on) w["on" + k] && w["on" + k](f);
      return () => {
        for (const [k, f] of on) w["off" + k] && w["off" + k](f);
      };
    }
  };
  if (!(w.canIUse && w.canIUse("request.object.enableChunked"))) p.stream = null;
  return p;
}

// index.js
var defaults = {
  transport: "auto",
  platform: "auto",
  fallbackAfter: 5e3,
  pollTimeout: 25,
  idleTimeout: 45e3,
  minDelay: 1e3,
  maxDelay: 3e4,
  saveEvery: 1e3
};
var backoff = (o, n) => {
  const d = Math.min(o.maxDelay, o.minDelay * Math.pow(2, n));
  return d / 2 + Math.random() * d / 2;
};
var tokenOf = (t) => new Promise((ok) => ok(typeof t === "function" ? t() : t));
var Emitter = class {
  constructor() {
    this._l = {};
  }
  // on adds a listener and returns a function that removes it.
  on(type, fn) {
    ;
    (this._l[type] = this._l[type] || []).push(fn);
    return () => this.off(type, fn);
  }
  // once adds a listener that is removed before its first call.
  once(type, fn) {
    const off = this.on(type, (v) => {
      off();
      fn(v);
    });
    return off;
  }
  off(type, fn) {
    this._l[type] = (this._l[type] || []).filter((g) => g !== fn);
    return this;
  }
  // emit calls every listener; one that throws does not stop the others or
  // the client, and its exception is reported as uncaught.
  emit(type, v) {
    for (const fn of (this._l[type] || []).slice()) {
      try {
        fn(v);
      } catch (e) {
        setTimeout(() => {
          throw e;
        });
      }
    }
  }
};
var Tidings = class extends Emitter {
  constructor(opts) {
    super();
    const o = this.o = Object.assign({}, defaults, opts);
    this.url = String(o.url).replace(/\/+$/, "");
    this.topics = [].concat(o.topics);
    for (const t of this.topics)
      if (!/^[A-Za-z0-9_][A-Za-z0-9_.:-]{0,127}$/.test(t)) throw new TypeError("tidings: invalid topic " + JSON.stringify(t));
    this.p = platform(o);
    this.key = "tidings:cursor:" + this.url + ":" + this.topics.slice().sort().join(",");
    let c = o.cursor;
    if (c === "storage") {
      this.persist = true;
      c = this.p.load(this.key);
    }
    this.cursor = /^[0-9]+$/.test(String(c)) ? +c : null;
    this.state = "stopped";
    this.gen = 0;
    this.fails = 0;
    this.retry = null;
    this._stream();
  }
  // _stream chooses streaming again, unless told to poll or unable to stream.
  _stream() {
    this.transport = this.o.transport === "poll" || !this.p.stream ? "poll" : "sse";
    this.silent = 0;
  }
  start() {
    if (this.state === "stopped") {
      if (!this.unwatch)
        this.unwatch = this.p.watch(
          {
            online: () => this._now(true),
            visible: () => this._now(),
            hide: () => this._pause(true),
            show: () => this.paused && this.start()
          },
          this.o
        );
      this.paused = false;
      this.fails = 0;
      this._stream();
      this._open(true);
    }
    return this;
  }
  // stop aborts the open request and keeps the cursor; start resumes from it.
  stop() {
    if (this.unwatch) this.unwatch();
    this.unwatch = null;
    return this._pause();
  }
  // _pause stops for a while (page or app hidden) and remembers to resume.
  _pause(resume) {
    if (this.state !== "stopped") {
      this.paused = resume;
      this._abort();
      this._save(true);
      this._set("stopped");
    }
    return this;
  }
  // _now reconnects at once, with the backoff reset: after the network came
  // back (online, even an open stream may sit on a dead socket) or when the
  // page is visible again (only if waiting).
  _now(online) {
    if (this.state === "waiting" || online && this.state !== "stopped") {
      this.fails = 0;
      this._open(true);
    }
  }
  _set(s) {
    if (s !== this.state) {
      this.state = s;
      this.emit("state", s);
    }
  }
  _abort() {
    this.gen++;
    clearTimeout(this.tw);
    clearTimeout(this.tf);
    clearTimeout(this.ti);
    const abort = this.req;
    this.req = null;
    if (abort) abort();
  }
  _open(announce) {
    this._abort();
    const gen = this.gen;
    if (announce) this._set("connecting");
    tokenOf(this.o.token).then((token) => {
      if (gen === this.gen) this.transport === "poll" ? this._poll(gen, token) : this._sse(gen, token);
    }).then(null, (err) => this._fail(gen, err));
  }
  _target(kind, token, inQuery, extra) {
    const q = [];
    const headers = {};
    if (this.cursor != null) q.push("cursor=" + this.cursor);
    if (extra) q.push(extra);
    if (token) {
      if (inQuery) q.push("token=" + encodeURIComponent(token));
      else headers.Authorization = "Bearer " + token;
    }
    return [this.url + "/v1/topics/" + this.topics.join(",") + "/" + kind + (q.length ? "?" + q.join("&") : ""), headers];
  }
  _sse(gen, token) {
    const p = this.p;
    const [url, headers] = this._target("sse", token, p.qtoken, p.sseQuery);
    headers.Accept = "text/event-stream";
    const live = () => gen === this.gen;
    this.t0 = Date.now();
    this.t1 = 0;
    const arrived = () => {
      this.t2 = Date.now();
      if (!this.t1) this.t1 = this.t2;
      clearTimeout(this.tf);
      this._idle(gen);
    };
    const parser = new Parser(
      (b) => live() && this._block(gen, b),
      (ms) => this.retry = ms
    );
    this.req = p.stream(url, headers, {
      // The fallback timer starts at the headers (a slow network is not a
      // buffering one), less the silence of earlier responses.
      head: () => {
        if (live() && this._auto())
          this.tf = setTimeout(() => {
            if (live() && !this.t1) {
              this.transport = "poll";
              this._open();
            }
          }, Math.max(0, this.o.fallbackAfter - this.silent));
      },
      chunk: (bytes) => {
        if (!live()) return;
        arrived();
        parser.push(bytes);
        this._save();
      },
      event: (b) => {
        if (!live()) return;
        arrived();
        this._block(gen, b);
        this._save();
      },
      end: (err) => this._fail(gen, err || new Error("stream ended without a final cursor"))
    });
    this._idle(gen);
  }
  _auto() {
    return this.o.transport === "auto" && this.o.fallbackAfter > 0;
  }
  // _quiet runs when a stream ends. A stream whose bytes all came at once
  // in the last tenth of its life was held back by something on the way (a
  // buffering proxy, a wx.request that ignores enableChunked): its silence
  // adds up with that of such streams before it, and once it reaches
  // fallbackAfter the subscription long-polls until the next start().
  _quiet() {
    const t0 = this.t0;
    if (!t0) return;
    const t1 = this.t1 || Date.now();
    const t2 = this.t1 ? this.t2 : t1;
    this.t0 = 0;
    if (t2 - t1 > (t2 - t0) / 10) return this.silent = 0;
    this.silent += t1 - t0;
    if (this._auto() && this.silent >= this.o.fallbackAfter) this.transport = "poll";
  }
  // _idle restarts the watchdog that gives up on a stream that has gone
  // silent for longer than any heartbeat (a connection dropped without a
  // reset, as mobile networks do).
  _idle(gen) {
    clearTimeout(this.ti);
    if (this.o.idleTimeout > 0)
      this.ti = setTimeout(() => this._fail(gen, new Error("stream went silent")), this.o.idleTimeout);
  }
  _block(gen, b) {
    const type = b.type.toLowerCase();
    if (type.indexOf("tidings.") === 0) {
      let d;
      try {
        d = JSON.parse(b.data);
      } catch (e2) {
        return;
      }
      if (type === "tidings.reset") {
        this._opened(true);
        if (gen === this.gen) this._reset(d.reason, d.cursor);
      } else if (type === "tidings.cursor") {
        this._advance(d.cursor);
        this._opened(!d.end || d.end === "max_duration");
        if (d.end && gen === this.gen) this._ended(d.end);
      }
      return;
    }
    let e;
    try {
      e = JSON.parse(b.data);
    } catch (err) {
      return this.emit("error", err);
    }
    this._deliver(e);
  }
  _opened(ok) {
    if (ok) this.fails = 0;
    this._set("open");
  }
  _deliver(e) {
    if (!e || typeof e.id !== "number" || this.cursor != null && e.id <= this.cursor) return;
    this.cursor = e.id;
    this.dirty = true;
    this.emit("event", e);
  }
  _advance(n) {
    if (typeof n === "number" && (this.cursor == null || n > this.cursor)) {
      this.cursor = n;
      this.dirty = true;
    }
  }
  _reset(reason, n) {
    this.cursor = n;
    this.dirty = true;
    this.emit("reset", { reason, cursor: n });
  }
  // _save stores the cursor at most once per saveEvery ms (a storage write
  // is a synchronous bridge call on wx), and at once when forced (at the
  // end of a response, on stop). The cursor is stored after the listeners
  // ran, so across an app kill delivery is at-least-once.
  _save(force) {
    if (!this.persist) return;
    if (force || this.o.saveEvery <= 0) {
      clearTimeout(this.ts);
      this.ts = null;
      if (this.dirty) {
        this.dirty = false;
        this.p.save(this.key, String(this.cursor));
      }
    } else if (this.dirty && !this.ts) this.ts = setTimeout(() => this._save(true), this.o.saveEvery);
  }
  // _ended handles the final cursor block of a bounded response: reconnect
  // after the server's retry hint, at once when there is none. Only a
  // response ended for overload or shutdown counts as a pause (with jitter,
  // so that clients do not all return at the same instant).
  _ended(why) {
    this._quiet();
    this._abort();
    this._save(true);
    let d = this.retry;
    const pause = why !== "max_duration";
    if (d == null) d = pause ? backoff(this.o, this.fails++) : 0;
    else if (pause) d += Math.random() * d / 2;
    this._wait(d, pause);
  }
  _wait(d, announce) {
    if (d > 0) {
      if (announce) this._set("waiting");
      this.tw = setTimeout(() => this._open(announce), d);
    } else this._open(announce);
  }
  _fail(gen, err) {
    if (gen !== this.gen) return;
    this._quiet();
    this._abort();
    this._save(true);
    err = err || new Error("request failed");
    const s = err.status;
    const fatal = s === 400 || s === 403 || s === 401 && typeof this.o.token !== "function";
    if (!fatal) this._set("waiting");
    const g = this.gen;
    this.emit("error", err);
    if (g !== this.gen || this.state === "stopped") return;
    if (fatal) return this.stop();
    this._wait(backoff(this.o, this.fails++), true);
  }
  _poll(gen, token) {
    const t = this.state === "open" ? this.o.pollTimeout : 0;
    const [url, headers] = this._target("poll", token, false, "timeout=" + t);
    this.req = this.p.request({ url, headers, timeout: Math.min(6e4, (t + 10) * 1e3) }, (err, status, text) => {
      if (gen !== this.gen) return;
      this.req = null;
      let a;
      if (!err && status !== 200) err = httpError(status, text);
      if (!err) {
        try {
          a = JSON.parse(text);
        } catch (e) {
          err = e;
        }
      }
      if (err) return this._fail(gen, err);
      this._opened(true);
      if (gen !== this.gen) return;
      const events = a.events || [];
      if (a.reset) this._reset(a.reset_reason, events.length ? events[0].id - 1 : a.cursor);
      for (const e of events) if (gen === this.gen) this._deliver(e);
      if (gen !== this.gen) return;
      this._advance(a.cursor);
      this._save();
      this._open();
    });
  }
};
var newKey = () => Date.now().toString(36) + Math.random().toString(36).slice(2, 12) + Math.random().toString(36).slice(2, 12);
var Publisher = class {
  constructor(opts) {
    this.o = Object.assign({}, defaults, opts);
    this.url = String(this.o.url).replace(/\/+$/, "");
    this.p = platform(this.o);
    this.q = [];
    this.fails = 0;
  }
  publish(topic, data, opts) {
    opts = opts || {};
    return new Promise((resolve, reject) => {
      const key = opts.key || newKey();
      this._add({ key, topic, body: JSON.stringify({ data, type: opts.type, key }), resolve, reject });
    });
  }
  _add(it) {
    this.q.push(it);
    this._next();
  }
  // pending is the number of events not yet acknowledged by the server.
  get pending() {
    return this.q.length;
  }
  // flush retries the queue now instead of waiting for the backoff timer,
  // e.g. when the application knows the network is back.
  flush() {
    clearTimeout(this.t);
    this.fails = 0;
    this._next();
  }
  // _done settles the first queued item; the queue goes on with the next.
  _done(it, ok, v) {
    if (this.q[0] === it) this.q.shift();
    (ok ? it.resolve : it.reject)(v);
  }
  _next() {
    const it = this.q[0];
    if (!it && this.unwatch) {
      this.unwatch();
      this.unwatch = null;
    }
    if (this.busy || !it) return;
    this.busy = true;
    clearTimeout(this.t);
    const done = (err, status, text) => {
      this.busy = false;
      let res;
      try {
        res = JSON.parse(text);
      } catch (e) {
      }
      if (!err && status >= 200 && status < 300) {
        this.fails = 0;
        this._done(it, 1, res);
      } else if (!err && status < 500 && status !== 408 && status !== 429) this._done(it, 0, httpError(status, text));
      else {
        if (!this.unwatch) this.unwatch = this.p.watch({ online: () => this.flush() }, {});
        this.t = setTimeout(() => this._next(), backoff(this.o, this.fails++));
        return;
      }
      this._next();
    };
    tokenOf(this.o.token).then((token) => {
      const headers = { "Content-Type": "application/json" };
      if (token) headers.Authorization = "Bearer " + token;
      this.p.request(
        { url: this.url + "/v1/topics/" + encodeURIComponent(it.topic) + "/events", method: "POST", headers, body: it.body, timeout: 3e4 },
        done
      );
    }, done);
  }
};
