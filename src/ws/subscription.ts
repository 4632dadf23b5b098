// One execution's log streamed on a WebSocket: a cursor (a LogReader) into the execution's
// LogBuffer and no queue of its own, read by its socket's WsConnection when the socket takes
// data. The same guarantees as an SSE stream (src/sse.ts): entries in order and once each,
// an exact `gap` for what the ring evicted before it could be sent, the latest progress in its
// place among the entries, then `done` with the outcome.
import type { Execution } from '../execution.js';
import { LOG_LEVELS, type LogEntry, type LogLevel, type LogReader } from '../log-buffer.js';
import type { ProgressRecord } from '../../worker/protocol.js';
import { doneMessage, entryMessage, gapMessage, progressMessage } from './messages.js';

/** Where a subscription writes: one message (JSON text, or its UTF-8 bytes) at a time; false once the socket pushes back. */
export interface Outlet {
  send(message: string | Buffer): boolean;
}

/**
 * What a pump left: `blocked` (the socket pushed back), `more` (its turn's budget is spent),
 * `idle` (nothing to send until woken) or `done` (its `done` was sent: it is over).
 */
export type PumpState = 'blocked' | 'more' | 'idle' | 'done';

/** How the subscription asks its connection to pump it: soon (once a turn), or now (progress). */
export interface Waker {
  wake(subscription: WsSubscription): void;
  wakeNow(subscription: WsSubscription): void;
  /** The execution was forgotten (retention): its log is about to go. */
  forgotten(subscription: WsSubscription): void;
}

/** Entries read from the log at once. */
const READ_CHUNK = 256;

const RANK: Readonly<Record<LogLevel, number>> = Object.freeze(
  Object.fromEntries(LOG_LEVELS.map((level, i) => [level, i])) as Record<LogLevel, number>,
);

export class WsSubscription {
  readonly execution: Execution;
  readonly #minRank: number;
  readonly #reader: LogReader;
  readonly #waker: Waker;
  /** The progress record this subscription has sent, or must not send; compared by identity. */
  #progressSeen: ProgressRecord | undefined;
  #closed = false;

  constructor(execution: Execution, after: number, minLevel: LogLevel, waker: Waker) {
    this.execution = execution;
    this.#minRank = RANK[minLevel];
    this.#waker = waker;
    // As an SSE stream: an `after` beyond the newest entry counts as the newest (reader() clamps).
    this.#reader = execution.logs.reader(after);
    if (execution.progressAfterSeq < after) this.#progressSeen = execution.progress;
    execution.logs.on('appended', this.#wake);
    execution.on('progress', this.#wakeNow);
    execution.on('end', this.#wake);
    execution.on('forgotten', this.#onForgotten);
  }

  get id(): string {
    return this.execution.id;
  }

  get cursor(): number {
    return this.#reader.cursor;
  }

  /** True while the log keeps entries evicted from the ring for it (it keeps up). */
  get holding(): boolean {
    return this.#reader.holding;
  }

  readonly #wake = (): void => this.#waker.wake(this);
  readonly #wakeNow = (): void => this.#waker.wakeNow(this);
  readonly #onForgotten = (): void => this.#waker.forgotten(this);

  /** Sends what the cursor has not passed yet, until `out` pushes back or about `budget` characters went. */
  pump(out: Outlet, budget: number): PumpState {
    if (this.#closed) return 'done';
    const id = this.execution.id;
    let left = budget;
    for (;;) {
      const progress = this.execution.progress;
      // Read only up to the progress's place (a gap over it goes first, then the progress).
      let through = Number.POSITIVE_INFINITY;
      if (progress !== undefined && progress !== this.#progressSeen) {
        through = this.execution.progressAfterSeq;
        if (this.#reader.cursor >= through) {
          this.#progressSeen = progress;
          if (!out.send(progressMessage(id, progress))) return 'blocked';
          continue;
        }
      }
      const { missed, entries } = this.#reader.read(READ_CHUNK, through);
      if (missed === 0 && entries.length === 0) break;
      const sent = this.#send(out, missed, entries);
      if (sent < 0) return 'blocked';
      left -= sent;
      if (left <= 0) return 'more';
    }
    if (!this.execution.finished) return 'idle';
    const { status, result, error } = this.execution;
    out.send(doneMessage(id, { status: status as 'completed' | 'error' | 'cancelled', result, error }));
    this.close();
    return 'done';
  }

  /** Sends a gap and entries, moving the cursor; the characters sent, or -1 when `out` pushed back. */
  #send(out: Outlet, missed: number, entries: readonly LogEntry[]): number {
    const reader = this.#reader;
    const id = this.execution.id;
    let sent = 0;
    if (missed > 0) {
      reader.advance(reader.cursor + missed);
      const text = gapMessage(id, reader.cursor, missed);
      sent += text.length;
      if (!out.send(text)) return -1;
    }
    for (const entry of entries) {
      reader.advance(entry.seq);
      if (RANK[entry.level] < this.#minRank) continue;
      const text = entryMessage(id, entry);
      sent += text.length;
      if (!out.send(text)) return -1;
    }
    return sent;
  }

  /** Its socket takes no data: the log stops keeping entries for it past the ring (it gets gaps). */
  release(): void {
    if (!this.#closed) this.#reader.release();
  }

  /** Stops reading the log. Idempotent. */
  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    this.#reader.close();
    this.execution.logs.off('appended', this.#wake);
    this.execution.off('progress', this.#wakeNow);
    this.execution.off('end', this.#wake);
    this.execution.off('forgotten', this.#onForgotten);
  }

  get closed(): boolean {
    return this.#closed;
  }
}
