// Types for tidings-client/queue: a Publisher whose queue is kept in storage.
import { Publisher, CommonOptions, Published, TidingsError } from './index.js'

export interface OutboxOptions extends CommonOptions {
  /** Several outboxes on one server keep separate queues by name. */
  name?: string
}

/** An event not yet acknowledged by the server. */
export interface Queued<T = unknown> {
  /** Its idempotency key. */
  key: string
  topic: string
  type?: string
  data: T
}

/** How an event left by an earlier run settled. */
export interface Replayed {
  key: string
  topic: string
  ok: boolean
  /** The server's answer when ok, else the error (a refusal or a cancel). */
  value: Published | TidingsError
}

/** A Publisher whose queue survives the app being killed; T is the type of `data`. */
export declare class Outbox<T = unknown> extends Publisher<T> {
  constructor(options: OutboxOptions)
  /** The storage key of the queue. */
  readonly key: string
  /** Sends what an earlier run left in storage; resolves once each has settled. */
  start(): Promise<Replayed[]>
  /** Events not yet acknowledged, oldest first. */
  list(): Queued<T>[]
  /** Removes one and rejects its promise (code "cancelled"); false when there is none. */
  cancel(key: string): boolean
  /** Cancels every event not yet acknowledged. */
  clear(): void
}
