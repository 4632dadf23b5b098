// A lean SSE subscriber for many streams at once: node:http, no connection pooling, and the
// test suite's WHATWG-exact parser (test/helpers/sse.ts). For each log entry it reports
// when the entry was parsed, on the calibrated wall clock, and the entry's own timestamp.
import { Agent, request } from 'node:http';
import { SseParser } from '../../test/helpers/sse.js';
import type { WallClock } from './clock.js';

export interface EntryArrival {
  readonly seq: number;
  /** The entry's timestamp: Date.now() in the isolate at logPrint, whole milliseconds. */
  readonly loggedAt: number;
  /** When the client had parsed the entry, on the calibrated wall clock. */
  readonly parsedAt: number;
  /**
   * True when the entry was logged after this subscriber's response headers arrived, so it
   * was delivered live; false when it may have been logged earlier and replayed from the ring.
   */
  readonly live: boolean;
}

export interface Subscription {
  /** When the response headers arrived: the server had registered the subscriber by then. */
  readonly connectedAt: number;
  /** Resolves with the `done` event's status once the stream ended (or "closed" without one). */
  readonly ended: Promise<string>;
  close(): void;
}

// One agent with no keep-alive and no socket limit: each stream is its own connection, as
// each browser tab's EventSource would be.
const agent = new Agent({ keepAlive: false, maxSockets: Number.POSITIVE_INFINITY });

export function subscribe(baseUrl: string, path: string, cookie: string, clock: WallClock, onEntry: (entry: EntryArrival) => void): Promise<Subscription> {
  return new Promise((resolve, reject) => {
    const req = request(baseUrl + path, { agent, headers: { accept: 'text/event-stream', cookie } });
    req.on('error', reject);
    req.on('response', (res) => {
      const connectedAt = clock.now();
      if (res.statusCode !== 200) {
        res.resume();
        reject(new Error(`GET ${path} answered ${res.statusCode}`));
        return;
      }
      let status = 'closed';
      const parser = new SseParser({
        event(event) {
          if (event.event === 'message') {
            const parsedAt = clock.now();
            const entry = JSON.parse(event.data) as { seq: number; timestamp: string };
            const loggedAt = Date.parse(entry.timestamp);
            onEntry({ seq: entry.seq, loggedAt, parsedAt, live: loggedAt >= connectedAt });
          } else if (event.event === 'done') {
            status = (JSON.parse(event.data) as { status: string }).status;
          }
        },
        comment() {},
      });
      const ended = new Promise<string>((settle) => {
        res.on('data', (chunk: Buffer) => parser.push(chunk));
        res.on('close', () => settle(status));
        res.on('error', () => undefined);
      });
      resolve({ connectedAt, ended, close: () => res.destroy() });
    });
    req.end();
  });
}
