// LogBuffer: the log of one execution, as a ring of the newest `capacity` entries numbered by
// `seq` from 1. Readers keep their own cursor (the last seq they have) and call `readAfter`;
// `'appended'` (eventemitter3) wakes them. Nothing here knows about HTTP or isolates.
import { EventEmitter } from 'eventemitter3';
import type { LogLevel, LogRecord } from '../worker/protocol.js';

export type { LogLevel, LogRecord };

/** Levels from least to most severe. */
export const LOG_LEVELS: readonly LogLevel[] = ['DEBUG', 'INFO', 'WARN', 'ERROR'];

export interface LogEntry {
  readonly seq: number;
  /** ISO-8601 UTC. */
  readonly timestamp: string;
  readonly level: LogLevel;
  readonly message: string;
}

export interface ReadResult {
  /** Entries after the cursor that were evicted before this read. */
  readonly missed: number;
  readonly entries: readonly LogEntry[];
}

interface LogBufferEvents {
  appended: [];
}

export class LogBuffer extends EventEmitter<LogBufferEvents> {
  readonly #capacity: number;
  readonly #ring: (LogEntry | undefined)[];
  #lastSeq = 0;

  /** @param capacity entries kept; older ones are evicted (CHARIOT_LOG_BUFFER, default 1000). */
  constructor(capacity: number) {
    super();
    if (!Number.isInteger(capacity) || capacity < 1) throw new TypeError('capacity must be a positive integer');
    this.#capacity = capacity;
    this.#ring = new Array<LogEntry | undefined>(capacity);
  }

  /** Seq of the newest entry; 0 before the first. */
  get lastSeq(): number {
    return this.#lastSeq;
  }

  /** Seq of the oldest retained entry; lastSeq + 1 when empty. */
  get firstSeq(): number {
    return Math.max(1, this.#lastSeq - this.#capacity + 1);
  }

  get capacity(): number {
    return this.#capacity;
  }

  /** Entries retained now: never more than `capacity`. */
  get size(): number {
    return this.#lastSeq - this.firstSeq + 1;
  }

  /** Numbers and stores the records, evicting the oldest, then signals 'appended' once. */
  append(records: readonly LogRecord[]): void {
    if (records.length === 0) return;
    for (const record of records) {
      const seq = ++this.#lastSeq;
      this.#ring[seq % this.#capacity] = {
        seq,
        timestamp: new Date(record.time).toISOString(),
        level: record.level,
        message: record.message,
      };
    }
    this.emit('appended');
  }

  /** Entries with seq > `cursor`, oldest first, at most `max`; `missed` counts evicted ones. */
  readAfter(cursor: number, max = Number.POSITIVE_INFINITY): ReadResult {
    const first = this.firstSeq;
    const from = Math.max(cursor + 1, first);
    const missed = Math.max(0, Math.min(first, this.#lastSeq + 1) - (cursor + 1));
    const to = Math.min(this.#lastSeq, from + max - 1);
    const entries: LogEntry[] = [];
    for (let seq = from; seq <= to; seq++) entries.push(this.#ring[seq % this.#capacity] as LogEntry);
    return { missed, entries };
  }

  /** Every retained entry, oldest first. */
  snapshot(): readonly LogEntry[] {
    return this.readAfter(0).entries;
  }
}
