// What a log subscriber of the harness reports, whichever transport carries the stream (SSE:
// sse-subscriber.ts, WebSocket: ws-subscriber.ts): one record per entry as it was parsed, and
// how the stream ended. Scenarios 2 and 3 take a transport by name and measure both alike.
import type { WallClock } from './clock.js';
import { subscribe as subscribeSse } from './sse-subscriber.js';
import { subscribe as subscribeWs } from './ws-subscriber.js';

export interface EntryArrival {
  readonly seq: number;
  /** The entry's timestamp: Date.now() in the isolate at logPrint, whole milliseconds. */
  readonly loggedAt: number;
  /** When the client had the entry's framing parsed (before its JSON), on the calibrated wall clock. */
  readonly parsedAt: number;
  /** What the entry took on the wire: the SSE event's bytes, or the WebSocket frame's (header and payload). */
  readonly bytes: number;
  /**
   * True when the entry was logged after the server had registered this subscriber, so it was
   * delivered live; false when it may have been logged earlier and replayed from the ring.
   */
  readonly live: boolean;
}

export interface Subscription {
  /** When the client knew the server had registered the subscriber, on the calibrated wall clock. */
  readonly connectedAt: number;
  /** Resolves with the `done` status once the stream ended (or "closed" without one). */
  readonly ended: Promise<string>;
  close(): void;
}

/** Subscribes to one execution's log as the user of `cookie`, from its first entry. */
export type Subscribe = (baseUrl: string, executionId: string, cookie: string, clock: WallClock, onEntry: (entry: EntryArrival) => void) => Promise<Subscription>;

export type Transport = 'sse' | 'ws';

/** Each transport's subscriber: SSE on a connection of its own, WebSocket on a socket of its own. */
export const SUBSCRIBERS: Readonly<Record<Transport, Subscribe>> = Object.freeze({
  sse: (baseUrl, executionId, cookie, clock, onEntry) => subscribeSse(baseUrl, `/api/logs/${executionId}`, cookie, clock, onEntry),
  ws: (baseUrl, executionId, cookie, clock, onEntry) => subscribeWs(baseUrl, executionId, cookie, clock, onEntry),
});
