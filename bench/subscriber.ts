// One benchmark subscriber: a GET /api/logs/:id over its own socket, parsed with the tests'
// event-stream parser, recording when each entry arrived and every way the stream fell short
// of "each entry exactly once, in order, then done".
import { request, type Agent } from 'node:http';
import { performance } from 'node:perf_hooks';
import { SseParser } from '../test/helpers/sse.js';

export interface Receipt {
  readonly seq: number;
  /** When the entry was parsed here, epoch ms (fractional). */
  readonly at: number;
  /** The entry's own timestamp: when the script logged it, epoch ms. */
  readonly loggedAt: number;
}

/** Epoch milliseconds with sub-millisecond resolution, on the clock the server's timestamps use. */
export function now(): number {
  return performance.timeOrigin + performance.now();
}

export class Subscriber {
  readonly receipts: Receipt[] = [];
  readonly failures: string[] = [];
  /** Resolves once the stream's first bytes (the `retry:` line) arrived: the server has subscribed it. */
  readonly connected: Promise<void>;
  /** Resolves with the `done` status, or undefined if the stream ended without one. */
  readonly finished: Promise<string | undefined>;
  #next = 1;

  constructor(url: string, cookie: string, agent: Agent) {
    let onConnected: () => void = () => undefined;
    let onConnectFailed: (error: Error) => void = () => undefined;
    this.connected = new Promise((resolve, reject) => {
      onConnected = resolve;
      onConnectFailed = reject;
    });
    let status: string | undefined;
    const parser = new SseParser({
      event: (event) => {
        if (event.event === 'done') {
          status = (JSON.parse(event.data) as { status: string }).status;
        } else if (event.event === 'message') {
          this.#entry(event.data);
        } else if (event.event !== 'progress') {
          this.failures.push(`${event.event} ${event.data}`);
        }
      },
      comment: () => undefined,
    });
    this.finished = new Promise((resolve) => {
      const req = request(url, { agent, headers: { cookie, accept: 'text/event-stream' } });
      req.on('response', (res) => {
        if (res.statusCode !== 200) {
          onConnectFailed(new Error(`GET ${url}: ${res.statusCode}`));
          res.resume();
          return resolve(undefined);
        }
        res.once('data', () => onConnected());
        res.on('data', (chunk: Buffer) => parser.push(chunk));
        res.on('close', () => {
          if (status === undefined) this.failures.push('ended without done');
          resolve(status);
        });
      });
      req.on('error', (error) => {
        onConnectFailed(error);
        this.failures.push(error.message);
        resolve(undefined);
      });
      req.end();
    });
  }

  /** Failures, plus entries missing at the end, given the last seq the execution logged. */
  shortfall(lastSeq: number): string[] {
    return this.#next - 1 === lastSeq ? this.failures : [...this.failures, `got ${this.#next - 1} of ${lastSeq} entries`];
  }

  #entry(data: string): void {
    const at = now();
    const entry = JSON.parse(data) as { seq: number; timestamp: string };
    if (entry.seq !== this.#next) this.failures.push(`seq ${entry.seq} where ${this.#next} was due`);
    this.#next = entry.seq + 1;
    this.receipts.push({ seq: entry.seq, at, loggedAt: Date.parse(entry.timestamp) });
  }
}
