// A lean SSE subscriber for many streams at once: node:http, no connection pooling, and the
// test suite's WHATWG-exact parser (test/helpers/sse.ts). For each log entry it reports
// when the entry was parsed, on the calibrated wall clock, its bytes, and the entry's own timestamp.
import { Agent, request } from 'node:http';
import { SseParser } from '../../test/helpers/sse.js';
import type { WallClock } from './clock.js';
import type { EntryArrival, Subscription } from './log-subscribers.js';

export type { EntryArrival, Subscription } from './log-subscribers.js';

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
            onEntry({ seq: entry.seq, loggedAt, parsedAt, bytes: Buffer.byteLength(event.raw), live: loggedAt >= connectedAt });
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
