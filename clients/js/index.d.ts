// Types for tidings-client. The wire contract is docs/api.md; the usage
// guide is docs/client.md. They need no DOM library: they compile in a
// mini-program TypeScript project as in a browser one.

/** An event as stored by the server, handed over by both transports. */
export interface TidingsEvent<T = unknown> {
  /** Positive, unique across the server, increasing with commit order. */
  id: number
  topic: string
  /** "message" unless the publisher set a type. */
  type: string
  data: T
  /** Commit time, UTC, RFC 3339 with milliseconds. */
  time: string
}

export type ResetReason = 'cursor_expired' | 'cursor_ahead'

/** The cursor could not be honoured; the subscription continues from `cursor`. */
export interface ResetInfo {
  reason: ResetReason | (string & {})
  cursor: number
}

export type State = 'connecting' | 'open' | 'waiting' | 'stopped'

/** An error from the server carries its HTTP status and error code. */
export interface TidingsError extends Error {
  status?: number
  code?: string
}

/** The part of the WeChat `wx` object the client uses (also fits `uni`, Taro). */
export interface WxLike {
  request(options: Record<string, any>): any
  canIUse?(schema: string): boolean
  getStorageSync?(key: string): any
  setStorageSync?(key: string, value: any): void
  removeStorageSync?(key: string): void
  onNetworkStatusChange?(listener: (res: { isConnected: boolean }) => void): void
  offNetworkStatusChange?(listener: (res: { isConnected: boolean }) => void): void
  onAppHide?(listener: (res: any) => void): void
  offAppHide?(listener: (res: any) => void): void
  onAppShow?(listener: (res: any) => void): void
  offAppShow?(listener: (res: any) => void): void
}

/** A fetch function; the DOM's `fetch` is one. */
export type FetchLike = (url: string, init?: any) => Promise<any>

export type Token = string | null | undefined | (() => string | null | undefined | Promise<string | null | undefined>)

/** Removes the listener it was returned for. */
export type Unsubscribe = () => void

export interface CommonOptions {
  /** Server base URL, e.g. "https://push.example.com". A trailing slash is ignored. */
  url: string
  /** Sent as `Authorization: Bearer` (as `?token=` with EventSource). A function is called before each request. */
  token?: Token
  /** Default 'auto': WeChat when a `wx` object is present, else browser (fetch, EventSource). */
  platform?: 'auto' | 'browser' | 'wechat'
  /** The `wx` object to use; default the global one. */
  wx?: WxLike
  /** A fetch implementation; `null` to do without (SSE then uses EventSource). */
  fetch?: FetchLike | null
  /** An EventSource implementation, used where fetch cannot stream. */
  EventSource?: any
  /** First delay after a failure, in ms; it doubles per failure, with jitter. Default 1000. */
  minDelay?: number
  /** Longest delay between attempts, in ms. Default 30000. */
  maxDelay?: number
}

export interface TidingsOptions extends CommonOptions {
  /** One topic or several; events of all of them arrive in one id order. */
  topics: string | string[]
  /** Default 'auto': SSE, falling back to long-poll when the stream stays silent. */
  transport?: 'auto' | 'sse' | 'poll'
  /**
   * Where to start: a cursor number (0 = everything retained); 'storage' to
   * resume from, and keep, the cursor in localStorage or wx storage under
   * "tidings:cursor:<url>:<sorted topics joined by ','>". Default: from now.
   */
  cursor?: number | 'storage'
  /** With transport 'auto': ms of silence after a stream's headers before switching to long-poll. Default 5000; 0 never. */
  fallbackAfter?: number
  /** Long-poll timeout asked of the server, in seconds. Default 25; keep it under 50 for WeChat. */
  pollTimeout?: number
  /** ms of silence after which an open stream is replaced. Default 45000; 0 never. */
  idleTimeout?: number
  /** With cursor 'storage': ms between two cursor writes at most. Default 1000; 0 writes on every change. */
  saveEvery?: number
  /** WeChat: stop on wx.onAppHide and start again on wx.onAppShow. Default false. */
  appLifecycle?: boolean
}

export interface TidingsEvents<T = unknown> {
  event: TidingsEvent<T>
  reset: ResetInfo
  state: State
  error: TidingsError
}

/** One subscription to one or more topics; T is the type of `e.data`. */
export declare class Tidings<T = unknown> {
  constructor(options: TidingsOptions)
  /** Opens the subscription (e.g. in App.onShow). Does nothing if it runs. Streams again after a fallback. */
  start(): this
  /** Aborts the open request and keeps the cursor (e.g. in App.onHide). */
  stop(): this
  /** Adds a listener; the returned function removes it. */
  on<K extends keyof TidingsEvents<T>>(type: K, listener: (value: TidingsEvents<T>[K]) => void): Unsubscribe
  /** Adds a listener called at most once. */
  once<K extends keyof TidingsEvents<T>>(type: K, listener: (value: TidingsEvents<T>[K]) => void): Unsubscribe
  off<K extends keyof TidingsEvents<T>>(type: K, listener: (value: TidingsEvents<T>[K]) => void): this
  /** The last id handled; null until known for a subscription "from now". */
  readonly cursor: number | null
  readonly state: State
  /** The transport in use now: 'poll' after a fallback. */
  readonly transport: 'sse' | 'poll'
  /** The storage key of this subscription's cursor. */
  readonly key: string
}

export interface PublishOptions {
  type?: string
  /** Idempotency key; one is generated when absent. */
  key?: string
}

/** The server's answer: the stored event without data; duplicate when an earlier attempt stored it. */
export interface Published {
  id: number
  topic: string
  type: string
  time: string
  duplicate?: boolean
}

/** Publishes in order through a queue that retries across network failures; T is the type of `data`. */
export declare class Publisher<T = unknown> {
  constructor(options: CommonOptions)
  /** Resolves once the server has stored the event; rejects if the server refuses it. */
  publish<D extends T = T>(topic: string, data: D, options?: PublishOptions): Promise<Published>
  /** Retries the queue now instead of at the next backoff. */
  flush(): void
  /** Events not yet acknowledged. */
  readonly pending: number
}

/** The event-stream parser (WHATWG rules), exported for reuse and tests. */
export declare class Parser {
  constructor(onEvent: (block: { type: string; data: string; id: string }) => void, onRetry?: (ms: number) => void)
  push(chunk: Uint8Array | ArrayBuffer): void
  readonly lastEventId: string
}

/** UTF-8 to string with U+FFFD for malformed input, for runtimes without TextDecoder. */
export declare function decodeUtf8(bytes: Uint8Array): string
