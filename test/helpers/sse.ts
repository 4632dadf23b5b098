// A Server-Sent Events client for tests: a parser that follows the WHATWG "event stream
// interpretation" rules exactly, and a stream over node:http that records every event,
// every comment and every byte, so tests can assert both meaning and framing.
//
//   bytes ──TextDecoder(stream)──► lines (CRLF | LF | CR) ──► fields ──blank line──► SseEvent
//
// Spec: https://html.spec.whatwg.org/multipage/server-sent-events.html#event-stream-interpretation
import { Agent, request, type IncomingHttpHeaders, type IncomingMessage } from 'node:http';

export interface SseEvent {
  /** The event type: the block's `event:` field, or "message" when it had none. */
  readonly event: string;
  /** The `id:` field of this block, or undefined when the block had none. */
  readonly id: string | undefined;
  /** The last-event-ID buffer after this block (it persists across events, per the spec). */
  readonly lastEventId: string;
  /** The data buffer: `data:` values joined by "\n". */
  readonly data: string;
  /** The exact text of the block, from its first line through the blank line that ended it. */
  readonly raw: string;
}

/** A comment line (`: text`), with how many events had been dispatched before it. */
export interface SseComment {
  /** The line after its leading ':' (a ": ping" line gives " ping"). */
  readonly text: string;
  readonly afterEvents: number;
}

export interface SseSink {
  event(event: SseEvent): void;
  comment(text: string): void;
}

/** Incremental event-stream parser; feed it chunks split anywhere, even inside a character. */
export class SseParser {
  readonly #sink: SseSink;
  readonly #decoder = new TextDecoder('utf-8', { ignoreBOM: true });
  /** Decoded text not yet split into lines. */
  #text = '';
  /** Raw text of the block being read (complete lines only). */
  #block = '';
  #data = '';
  #eventType = '';
  #blockId: string | undefined;
  #lastEventId = '';
  #retry: number | undefined;
  #atStart = true;
  #ended = false;

  constructor(sink: SseSink) {
    this.#sink = sink;
  }

  /** The reconnection time from the last valid `retry:` field, if any. */
  get retry(): number | undefined {
    return this.#retry;
  }

  /** Text received but not dispatched: an unfinished block and an unfinished line. */
  get pending(): string {
    return this.#block + this.#text;
  }

  push(chunk: Uint8Array | string): void {
    if (this.#ended) throw new Error('SseParser: push() after end()');
    this.#text += typeof chunk === 'string' ? chunk : this.#decoder.decode(chunk, { stream: true });
    this.#lines(false);
  }

  /** Ends the stream. Returns what was pending; the spec discards an unfinished block. */
  end(): string {
    if (this.#ended) return this.pending;
    this.#ended = true;
    this.#text += this.#decoder.decode();
    this.#lines(true);
    return this.pending;
  }

  #lines(final: boolean): void {
    if (this.#atStart && this.#text.length > 0) {
      this.#atStart = false;
      if (this.#text.startsWith('\uFEFF')) this.#text = this.#text.slice(1);
    }
    let start = 0;
    for (;;) {
      const cr = this.#text.indexOf('\r', start);
      const lf = this.#text.indexOf('\n', start);
      if (cr === -1 && lf === -1) break;
      const end = cr === -1 ? lf : lf === -1 ? cr : Math.min(cr, lf);
      let next = end + 1;
      if (end === cr) {
        // A CR at the end of what we have may be the first half of a CRLF: wait for more.
        if (end === this.#text.length - 1 && !final) break;
        if (this.#text[end + 1] === '\n') next = end + 2;
      }
      this.#line(this.#text.slice(start, end), this.#text.slice(start, next));
      start = next;
    }
    this.#text = this.#text.slice(start);
  }

  #line(line: string, withTerminator: string): void {
    this.#block += withTerminator;
    if (line === '') return this.#dispatch();
    if (line.startsWith(':')) return this.#sink.comment(line.slice(1));
    const colon = line.indexOf(':');
    const field = colon === -1 ? line : line.slice(0, colon);
    let value = colon === -1 ? '' : line.slice(colon + 1);
    if (value.startsWith(' ')) value = value.slice(1);
    switch (field) {
      case 'event':
        this.#eventType = value;
        break;
      case 'data':
        this.#data += value + '\n';
        break;
      case 'id':
        if (!value.includes('\0')) {
          this.#lastEventId = value;
          this.#blockId = value;
        }
        break;
      case 'retry':
        if (/^[0-9]+$/.test(value)) this.#retry = Number(value);
        break;
      default:
        break; // Unknown fields are ignored.
    }
  }

  #dispatch(): void {
    const raw = this.#block;
    const data = this.#data;
    const eventType = this.#eventType;
    const id = this.#blockId;
    this.#block = '';
    this.#data = '';
    this.#eventType = '';
    this.#blockId = undefined;
    if (data === '') return;
    this.#sink.event({
      event: eventType === '' ? 'message' : eventType,
      id,
      lastEventId: this.#lastEventId,
      data: data.slice(0, -1),
      raw,
    });
  }
}

type Waiter = () => void;

/** How long a stream may stay open after its `done` event before that counts as a defect. */
const END_AFTER_DONE_MS = 2000;

/** One GET over node:http, read chunk by chunk and parsed as an event stream. */
export class SseStream {
  readonly status: number;
  readonly headers: IncomingHttpHeaders;
  readonly events: SseEvent[] = [];
  readonly comments: SseComment[] = [];
  readonly #chunks: Buffer[] = [];
  readonly #parser: SseParser;
  readonly #response: IncomingMessage;
  readonly #agent: Agent;
  readonly #ownAgent: boolean;
  readonly #waiters = new Set<Waiter>();
  #endedCleanly = false;
  #closed = false;
  #error: Error | undefined;

  /** True when the request went over a kept-alive connection that had served another. */
  readonly reusedSocket: boolean;

  private constructor(response: IncomingMessage, agent: Agent, ownAgent: boolean, reusedSocket: boolean) {
    this.#response = response;
    this.#agent = agent;
    this.#ownAgent = ownAgent;
    this.reusedSocket = reusedSocket;
    this.status = response.statusCode ?? 0;
    this.headers = response.headers;
    this.#parser = new SseParser({
      event: (event) => this.events.push(event),
      comment: (text) => this.comments.push({ text, afterEvents: this.events.length }),
    });
    response.on('data', (chunk: Buffer) => {
      this.#chunks.push(chunk);
      this.#parser.push(chunk);
      this.#wake();
    });
    response.on('end', () => {
      this.#endedCleanly = true;
      this.#parser.end();
    });
    response.on('error', (error) => {
      this.#error ??= error;
    });
    response.on('close', () => {
      this.#closed = true;
      if (ownAgent) agent.destroy();
      this.#wake();
    });
  }

  /**
   * Sends the GET and resolves once the status line and headers have arrived. Without `agent`,
   * a keep-alive agent of its own, so the request says "Connection: keep-alive" as a browser's
   * EventSource would, and nothing is pooled between streams; a given agent is the caller's.
   */
  static open(url: string, headers: Readonly<Record<string, string>> = {}, agent?: Agent): Promise<SseStream> {
    const ownAgent = agent === undefined;
    const via = agent ?? new Agent({ keepAlive: true });
    return new Promise((resolve, reject) => {
      const req = request(url, {
        method: 'GET',
        agent: via,
        headers: { accept: 'text/event-stream', 'cache-control': 'no-cache', ...headers },
      });
      req.on('response', (response) => resolve(new SseStream(response, via, ownAgent, req.reusedSocket)));
      req.on('error', (error) => {
        if (ownAgent) via.destroy();
        reject(error);
      });
      req.end();
    });
  }

  /**
   * Stops reading: once the response's buffer is full, node stops reading the socket, so TCP
   * pushes back on the server as it would for a client that stalled.
   */
  pause(): void {
    this.#response.pause();
  }

  /** Calls `listener` with each chunk of the body as it arrives (after the stream has recorded it). */
  onChunk(listener: (chunk: Buffer) => void): void {
    this.#response.on('data', listener);
  }

  /** Reads on after pause(). */
  resume(): void {
    this.#response.resume();
  }

  /** Every byte received so far. */
  get rawBytes(): Buffer {
    return Buffer.concat(this.#chunks);
  }

  /** Every byte received so far, as UTF-8 text. */
  get rawText(): string {
    return this.rawBytes.toString('utf8');
  }

  /** True once the response is over, cleanly or not. */
  get closed(): boolean {
    return this.#closed;
  }

  /** True when the body ended properly (the terminating chunk arrived), not by a reset. */
  get endedCleanly(): boolean {
    return this.#endedCleanly;
  }

  /** Text after the last dispatched block: an unfinished block or line. */
  get pending(): string {
    return this.#parser.pending;
  }

  /** Resolves with the n-th event (1-based); rejects if the stream closes first. */
  async nthEvent(n: number): Promise<SseEvent> {
    await this.#until(() => this.events.length >= n, `event #${n}`);
    return this.events[n - 1]!;
  }

  /** Resolves with the first event matching `test`; rejects if the stream closes first. */
  async eventWhere(test: (event: SseEvent) => boolean, what: string): Promise<SseEvent> {
    await this.#until(() => this.events.some(test), what);
    return this.events.find(test)!;
  }

  /**
   * Resolves with every event once a `done` event arrived and the stream then ended cleanly.
   * Rejects if the stream closes without `done`, if anything (event, comment, partial line)
   * followed `done`, or if the stream stays open more than 2 s after it.
   */
  async untilDone(): Promise<SseEvent[]> {
    const isDone = (event: SseEvent): boolean => event.event === 'done';
    await this.#until(() => this.events.some(isDone), "a 'done' event");
    const doneAt = this.events.findIndex(isDone);
    await this.#endWithin(END_AFTER_DONE_MS);
    if (doneAt !== this.events.length - 1) {
      throw new Error(`events arrived after 'done': ${JSON.stringify(this.events.slice(doneAt + 1))}`);
    }
    const late = this.comments.filter((comment) => comment.afterEvents > doneAt);
    if (late.length > 0) throw new Error(`comments arrived after 'done': ${JSON.stringify(late)}`);
    if (this.pending !== '') throw new Error(`bytes arrived after 'done': ${JSON.stringify(this.pending)}`);
    if (!this.#endedCleanly) throw new Error(`the stream was cut after 'done' instead of ending: ${String(this.#error)}`);
    return [...this.events];
  }

  /** Waits for the response to end and returns the whole body as text (for non-SSE answers). */
  async text(): Promise<string> {
    await this.#until(() => false, 'the end of the body', true);
    return this.rawText;
  }

  /** Hangs up, as a browser closing an EventSource does. */
  close(): void {
    this.#response.destroy();
    if (this.#ownAgent) this.#agent.destroy();
  }

  #wake(): void {
    for (const waiter of [...this.#waiters]) waiter();
  }

  /** Resolves when `ready()` holds; rejects when the stream closes first (unless `endOk`). */
  #until(ready: () => boolean, what: string, endOk = false): Promise<void> {
    return new Promise((resolve, reject) => {
      const check: Waiter = () => {
        if (ready() || (endOk && this.#closed)) {
          this.#waiters.delete(check);
          resolve();
        } else if (this.#closed) {
          this.#waiters.delete(check);
          const got = this.events.map((event) => `${event.event}:${event.data}`).join(' | ');
          reject(new Error(`stream closed before ${what} (status ${this.status}; events: ${got}; error: ${String(this.#error)})`));
        }
      };
      this.#waiters.add(check);
      check();
    });
  }

  #endWithin(ms: number): Promise<void> {
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        this.#waiters.delete(check);
        reject(new Error(`the stream was still open ${ms} ms after its 'done' event`));
      }, ms);
      const check: Waiter = () => {
        if (!this.#closed) return;
        clearTimeout(timer);
        this.#waiters.delete(check);
        resolve();
      };
      this.#waiters.add(check);
      check();
    });
  }
}
