// The Server-Sent-Events writer: one SseSubscriber per GET /api/logs/:id response.
//
// A subscriber holds a LogReader (a cursor, the last seq it has passed) into the execution's
// LogBuffer and no queue of its own: it reads on from the cursor when entries are appended,
// when progress is reported, and after its socket drains when write() returned false. While it
// keeps up, the log keeps what it has not read yet past the ring (once, for all subscribers),
// up to the lag budget; so a burst far larger than the ring reaches it whole. A subscriber past
// the budget, or whose socket takes no data for STALL_MS, is released: from then on it reads the
// ring, and a cursor that fell behind the ring's start gets `event: gap` with the exact count.
// One whose socket takes no data for the stall timeout is ended: the connection is reset (a
// `done` could not reach it), and an EventSource resumes from its Last-Event-ID.
// A blocked subscriber holds at most one write past its socket's high-water mark. The latest
// progress is sent in its place among the entries (after the entry that was the newest when it
// was reported). When the execution has finished and the cursor has reached the end,
// `event: done` ends the response. When the execution is forgotten (retention), its stream
// ends then, even one that is stalled: a `gap` and `done` if the socket takes them, else the
// connection is cut.
//
// Appends and drains wake a subscriber once per turn of the event loop (setImmediate): worker
// batches that arrive together go out in one write per socket, not one each, and a subscriber
// writes at most TURN_CHARS a turn. Progress pumps at once, so a subscriber that keeps up sees
// every report, not only the last of a turn.
// Knows nothing of isolates.
import type { ServerResponse } from 'node:http';
import type { Execution } from './execution.js';
import { LOG_LEVELS, type LogEntry, type LogLevel, type LogReader } from './log-buffer.js';
import type { ProgressRecord } from '../worker/protocol.js';

export interface StreamOptions {
  /** Send entries after this seq (0: from the start; Last-Event-ID on resume). */
  readonly after: number;
  /** Skip entries below this level. */
  readonly minLevel: LogLevel;
  /** Interval of `: ping` comments, in ms. */
  readonly pingMs: number;
  /** Reconnection delay announced to EventSource clients, in ms. */
  readonly retryMs: number;
  /** A stream whose socket takes no data for this long, in ms, is ended by resetting the connection. */
  readonly stallTimeoutMs: number;
  /**
   * Called once when the response is over: its `done` taken by the socket, ended as stalled, or
   * the client gone (at once, if it went before the stream started).
   */
  readonly onClose: () => void;
}

/** What a subscriber holds, for diagnostics and the tests that prove it holds little. */
export interface SubscriberStats {
  /** Seq of the last entry sent or passed over (filtered out, or counted in a gap). */
  readonly cursor: number;
  /** What was handed to the response and the socket has not taken yet (`res.writableLength`). */
  readonly bufferedLength: number;
  /** The response's high-water mark, past which `write()` pushes back. */
  readonly highWaterMark: number;
  /** True while it waits for 'drain'. */
  readonly blocked: boolean;
  /** True while the log keeps entries evicted from the ring for it (it keeps up). */
  readonly holding: boolean;
}

export const SSE_HEADERS: Readonly<Record<string, string>> = Object.freeze({
  'Content-Type': 'text/event-stream',
  'Cache-Control': 'no-cache',
  Connection: 'keep-alive',
  'X-Accel-Buffering': 'no',
});

/** Entries read from the log at once. */
const READ_CHUNK = 256;
/**
 * A subscriber whose socket takes no data for this long is stalled: the log stops keeping
 * entries for it past the ring, and it is told of what it misses as gaps.
 */
export const STALL_MS = 5000;
/**
 * Text gathered before one write. With the socket's high-water mark, this bounds what a blocked
 * subscriber holds: at most the mark, plus this, plus one event.
 */
export const WRITE_CHARS = 16 * 1024;
/**
 * Text one subscriber writes in one turn of the event loop at most, so that a subscriber with
 * a long way to catch up (and a socket that takes it all) leaves the loop to everyone else.
 */
const TURN_CHARS = 256 * 1024;

const RANK: Readonly<Record<LogLevel, number>> = Object.freeze(
  Object.fromEntries(LOG_LEVELS.map((level, i) => [level, i])) as Record<LogLevel, number>,
);

/** Each entry's event text, built once however many subscribers send it. */
const framed = new WeakMap<LogEntry, string>();

function entryEvent(entry: LogEntry): string {
  let text = framed.get(entry);
  if (text === undefined) {
    text = `id: ${entry.seq}\ndata: ${JSON.stringify(entry)}\n\n`;
    framed.set(entry, text);
  }
  return text;
}

function namedEvent(event: string, data: unknown): string {
  return `event: ${event}\ndata: ${JSON.stringify(data)}\n\n`;
}

/** A gap carries the seq of the last entry it stands for, so a resume continues after it. */
function gapEvent(lastMissed: number, missed: number): string {
  return `id: ${lastMissed}\n${namedEvent('gap', { missed })}`;
}

const subscribers = new WeakMap<Execution, Set<SseSubscriber>>();

/** The open streams of an execution. */
export function subscribersOf(execution: Execution): readonly SubscriberStats[] {
  return [...(subscribers.get(execution) ?? [])];
}

/** Streams `execution` to `res` until it is done, the client goes away or its socket stalls. */
/** An open stream, as its server may end it. */
export interface OpenStream {
  /**
   * Ends the response without `done` (the socket reset if it still holds unsent data), so that
   * the client resumes from its Last-Event-ID, on another instance: a draining one's streams.
   */
  handOff(): void;
}

export function streamExecution(res: ServerResponse, execution: Execution, options: StreamOptions): OpenStream | undefined {
  // A client that went away while the execution was looked up has had its 'close' already.
  if (res.destroyed) {
    options.onClose();
    return undefined;
  }
  const subscriber = new SseSubscriber(res, execution, options);
  subscriber.start(options.retryMs);
  return subscriber;
}

class SseSubscriber implements SubscriberStats, OpenStream {
  readonly #res: ServerResponse;
  readonly #execution: Execution;
  readonly #minRank: number;
  readonly #pingMs: number;
  /** How often a socket that pushes back is checked for having taken data. */
  readonly #stallCheckMs: number;
  /** Checks in a row without data after which the subscriber is released (STALL_MS). */
  readonly #releaseChecks: number;
  /** Checks in a row without data after which the stream is ended (the stall timeout). */
  readonly #endChecks: number;
  readonly #onClosed: () => void;
  #ping: NodeJS.Timeout | undefined;
  #wakeup: NodeJS.Immediate | undefined;
  #stallCheck: NodeJS.Timeout | undefined;
  /** What the response held at the last check. */
  #unsentAtCheck = 0;
  /** Checks in a row that found the socket had taken nothing. */
  #idleChecks = 0;
  readonly #reader: LogReader;
  #blocked = false;
  #ended = false;
  /** The progress record this subscriber has sent, or must not send; compared by identity. */
  #progressSeen: ProgressRecord | undefined;

  constructor(res: ServerResponse, execution: Execution, options: StreamOptions) {
    this.#res = res;
    this.#execution = execution;
    this.#minRank = RANK[options.minLevel];
    this.#pingMs = options.pingMs;
    this.#stallCheckMs = Math.min(STALL_MS, Math.ceil(options.stallTimeoutMs / 4));
    this.#releaseChecks = Math.ceil(STALL_MS / this.#stallCheckMs);
    this.#endChecks = Math.ceil(options.stallTimeoutMs / this.#stallCheckMs);
    this.#onClosed = options.onClose;
    // An id beyond the newest entry cannot have been seen: it counts as the newest, so the
    // entries still to come are sent rather than silently skipped (reader() clamps it).
    this.#reader = execution.logs.reader(options.after);
    // The latest progress comes in its place, live or on replay after the end; a subscriber
    // resuming after that place has had it already.
    if (execution.progressAfterSeq < options.after) this.#progressSeen = execution.progress;
  }

  get cursor(): number {
    return this.#reader.cursor;
  }

  get bufferedLength(): number {
    return this.#res.writableLength;
  }

  /** The response's high-water mark: 64 KiB by default since Node 22 (16 KiB before). */
  get highWaterMark(): number {
    return this.#res.writableHighWaterMark;
  }

  get blocked(): boolean {
    return this.#blocked;
  }

  get holding(): boolean {
    return this.#reader.holding;
  }

  start(retryMs: number): void {
    const { logs } = this.#execution;
    this.#res.writeHead(200, SSE_HEADERS);
    this.#write(`retry: ${retryMs}\n\n`);
    let set = subscribers.get(this.#execution);
    if (set === undefined) subscribers.set(this.#execution, (set = new Set()));
    set.add(this);
    logs.on('appended', this.#wake);
    this.#execution.on('progress', this.#pump);
    this.#execution.on('end', this.#wake);
    this.#execution.on('forgotten', this.#onForgotten);
    this.#res.on('drain', this.#onDrain);
    this.#res.on('close', this.#onClose);
    this.#ping = setInterval(this.#onPing, this.#pingMs);
    this.#pump();
  }

  /** Pumps at the end of this turn of the event loop, once however often it is woken. */
  readonly #wake = (): void => {
    this.#wakeup ??= setImmediate(this.#pump);
  };

  /**
   * Sends what the cursor has not passed yet, until the socket pushes back; past TURN_CHARS it
   * goes on in the next turn of the event loop.
   */
  readonly #pump = (): void => {
    this.#wakeup = undefined;
    if (this.#blocked || this.#ended) return;
    let turn = TURN_CHARS;
    for (;;) {
      const progress = this.#execution.progress;
      // Read only up to the progress's place (a gap over it is sent first, then the progress).
      let through = Number.POSITIVE_INFINITY;
      if (progress !== undefined && progress !== this.#progressSeen) {
        through = this.#execution.progressAfterSeq;
        if (this.#reader.cursor >= through) {
          this.#progressSeen = progress;
          this.#write(namedEvent('progress', progress));
          if (this.#blocked) return;
          continue;
        }
      }
      const { missed, entries } = this.#reader.read(READ_CHUNK, through);
      if (missed === 0 && entries.length === 0) break;
      turn -= this.#send(missed, entries);
      if (this.#blocked) return;
      if (turn <= 0) return this.#wake();
    }
    if (this.#execution.finished) this.#end();
  };

  /** Writes a gap and entries, moving the cursor, until the socket pushes back; returns the characters written. */
  #send(missed: number, entries: readonly LogEntry[]): number {
    const reader = this.#reader;
    let written = 0;
    let text = '';
    if (missed > 0) {
      reader.advance(reader.cursor + missed);
      text = gapEvent(reader.cursor, missed);
    }
    for (const entry of entries) {
      reader.advance(entry.seq);
      if (RANK[entry.level] >= this.#minRank) text += entryEvent(entry);
      if (text.length >= WRITE_CHARS) {
        this.#write(text);
        written += text.length;
        text = '';
        if (this.#blocked) return written;
      }
    }
    if (text !== '') this.#write(text);
    return written + text.length;
  }

  #write(text: string): void {
    if (this.#res.write(text) || this.#blocked) return;
    this.#blocked = true;
    this.#watchStall();
  }

  /** Checks now and then whether the socket takes what the response holds, until 'drain' or 'close'. */
  #watchStall(): void {
    this.#unsentAtCheck = this.#res.writableLength;
    this.#idleChecks = 0;
    this.#stallCheck = setTimeout(this.#checkStall, this.#stallCheckMs);
  }

  /**
   * What the response holds only shrinks while it waits, so a check that finds it no smaller has
   * seen the socket take nothing since the one before. Counted in checks, not read off a clock,
   * so that a timer that fires a millisecond early costs no extra round. STALL_MS without data:
   * the log stops keeping entries for it. The stall timeout: the stream is ended.
   */
  readonly #checkStall = (): void => {
    const unsent = this.#res.writableLength;
    this.#idleChecks = unsent < this.#unsentAtCheck ? 0 : this.#idleChecks + 1;
    this.#unsentAtCheck = unsent;
    if (this.#idleChecks >= this.#endChecks) {
      this.#stallCheck = undefined;
      this.#cut();
      return;
    }
    if (this.#idleChecks >= this.#releaseChecks) this.#reader.release();
    this.#stallCheck = setTimeout(this.#checkStall, this.#stallCheckMs);
  };

  /**
   * Reads on in the next turn, not here: a write the kernel takes at once completes in a
   * nextTick, so pumping from 'drain' chains pump, drain, pump for as long as a fast reader keeps
   * the socket taking data, and the event loop does not turn meanwhile.
   */
  readonly #onDrain = (): void => {
    this.#blocked = false;
    clearTimeout(this.#stallCheck);
    this.#stallCheck = undefined;
    this.#wake();
  };

  /**
   * Retention wins over a reader: one that cannot take the rest (`done` included) now is cut
   * off.
   */
  readonly #onForgotten = (): void => {
    if (!this.#blocked && this.#execution.finished) this.#pump();
    if (this.#ended) return;
    this.#unsubscribe();
    this.#cut();
  };

  /**
   * Ends the response with a reset, which also drops what the kernel still held for it (a plain
   * close would keep that until the client read it, which a stalled one never does).
   */
  #cut(): void {
    const socket = this.#res.socket;
    if (socket !== null) socket.resetAndDestroy();
    else this.#res.destroy();
  }

  handOff(): void {
    if (this.#ended) return;
    this.#unsubscribe();
    if (this.#res.writableLength > 0) this.#cut();
    else this.#res.end();
  }

  readonly #onPing = (): void => {
    if (!this.#blocked && !this.#ended) this.#write(': ping\n\n');
  };

  #end(): void {
    this.#unsubscribe();
    this.#res.end(namedEvent('done', { status: this.#execution.status }));
    // The done may wait behind what a socket that stopped reading has not taken yet.
    if (this.#res.writableLength > 0) this.#watchStall();
  }

  /** The response is over, whichever way: nothing of the subscriber stays. */
  readonly #onClose = (): void => {
    this.#unsubscribe();
    clearTimeout(this.#stallCheck);
    this.#onClosed();
  };

  /** Stops reading the log; runs once, at done or when the response is over. */
  #unsubscribe(): void {
    if (this.#ended) return;
    this.#ended = true;
    clearInterval(this.#ping);
    clearImmediate(this.#wakeup);
    clearTimeout(this.#stallCheck);
    this.#reader.close();
    this.#execution.logs.off('appended', this.#wake);
    this.#execution.off('progress', this.#pump);
    this.#execution.off('end', this.#wake);
    this.#execution.off('forgotten', this.#onForgotten);
    this.#res.off('drain', this.#onDrain);
    const set = subscribers.get(this.#execution);
    set?.delete(this);
    if (set?.size === 0) subscribers.delete(this.#execution);
  }
}
