// tidings-client, built from queue.js by scripts/build.js: do not edit.
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

// queue.js
var queue_exports = {};
__export(queue_exports, {
  Outbox: () => Outbox
});
module.exports = __toCommonJS(queue_exports);
var import_index = require("./index.cjs");
var never = () => {
};
var Outbox = class extends import_index.Publisher {
  constructor(opts) {
    super(opts);
    this.key = "tidings:outbox:" + this.url + (this.o.name ? ":" + this.o.name : "");
  }
  // start queues the events a previous run left in storage, behind any
  // published since, and resolves once each has settled: [{key, topic,
  // ok, value}] where value is the server's answer or the error.
  start() {
    let stored = [];
    try {
      stored = JSON.parse(this.p.load(this.key) || "[]");
    } catch (e) {
    }
    const have = {};
    for (const it of this.q) have[it.key] = 1;
    return Promise.all(
      stored.filter((it) => !have[it.key]).map(
        (it) => new Promise((done) => {
          const settle = (ok) => (value) => done({ key: it.key, topic: it.topic, ok, value });
          this._add({ key: it.key, topic: it.topic, body: it.body, resolve: settle(true), reject: settle(false) });
        })
      )
    );
  }
  // list describes the events not yet acknowledged, oldest first.
  list() {
    return this.q.map((it) => {
      const b = JSON.parse(it.body);
      return { key: it.key, topic: it.topic, type: b.type, data: b.data };
    });
  }
  // cancel removes the event with this idempotency key and rejects its
  // promise; false when there is none. An event already on its way may
  // still be stored by the server.
  cancel(key) {
    const it = this.q.filter((x) => x.key === key)[0];
    if (!it) return false;
    this.q = this.q.filter((x) => x !== it);
    this._store();
    const err = new Error("tidings: publish cancelled");
    err.code = "cancelled";
    it.reject(err);
    it.resolve = it.reject = never;
    return true;
  }
  // clear cancels every event not yet acknowledged.
  clear() {
    for (const it of this.q.slice()) this.cancel(it.key);
  }
  _add(it) {
    this.q.push(it);
    this._store();
    this._next();
  }
  _done(it, ok, v) {
    super._done(it, ok, v);
    this._store();
  }
  _store() {
    this.p.save(this.key, JSON.stringify(this.q.map((it) => ({ key: it.key, topic: it.topic, body: it.body }))));
  }
};
