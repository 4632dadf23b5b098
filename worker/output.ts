// Relays one execution's output from its isolate to the main thread, over this worker's
// parentPort, one message per batch the isolate flushed. Log volume is bounded here: past
// the entry or byte cap, entries are only counted, and `finish()` adds one WARN entry saying
// how many were dropped. The script is never stopped for logging too much.
import type { OutputTuple } from './bootstrap.js';
import type { ExecutionLimits, LogLevel, LogRecord, WorkerMessage } from './protocol.js';

const LEVELS: readonly LogLevel[] = ['DEBUG', 'INFO', 'WARN', 'ERROR'];
const PROGRESS = 4;

/** Largest time a Date can hold: anything else is not a time the isolate read. */
const MAX_TIME = 8.64e15;

function isTuple(value: unknown): value is OutputTuple {
  if (!Array.isArray(value) || value.length !== 4) return false;
  const [time, kind, text, percent] = value as unknown[];
  return typeof time === 'number' && Number.isFinite(time) && Math.abs(time) <= MAX_TIME
    && typeof text === 'string' && typeof percent === 'number' && Number.isFinite(percent)
    && (kind === 0 || kind === 1 || kind === 2 || kind === 3 || kind === PROGRESS);
}

/** Room for the marker the isolate appends to a message it cut. */
const CUT_MARKER_ROOM = 64;

/**
 * The same cut the isolate makes (worker/bootstrap.ts), for a message that bypassed it; one
 * the isolate already cut (the limit plus its marker) is left alone.
 */
export function cutMessage(text: string, limit: number): string {
  if (text.length <= limit + CUT_MARKER_ROOM) return text;
  return `${text.slice(0, limit)} … [message cut: ${text.length - limit} more characters]`;
}

export class OutputRelay {
  readonly #execId: string;
  readonly #limits: ExecutionLimits;
  readonly #post: (message: WorkerMessage) => void;
  #kept = 0;
  #bytes = 0;
  #dropped = 0;

  constructor(execId: string, limits: ExecutionLimits, post: (message: WorkerMessage) => void) {
    this.#execId = execId;
    this.#limits = limits;
    this.#post = post;
  }

  output(batch: readonly OutputTuple[]): void {
    let records: LogRecord[] = [];
    for (const tuple of batch) {
      // The isolate's own code builds these tuples, but a script can tamper with the
      // prototypes that code uses: take only well-formed ones, and apply the limits again.
      if (!isTuple(tuple)) continue;
      const [time, kind, raw, percent] = tuple;
      const text = cutMessage(raw, this.#limits.logMessageLimit);
      if (kind === PROGRESS) {
        records = this.#send(records);
        this.#post({ kind: 'progress', execId: this.#execId, progress: { percent: Math.min(100, Math.max(0, percent)), message: text } });
      } else if (this.#kept < this.#limits.logEntryCap && this.#bytes + text.length <= this.#limits.logByteCap) {
        this.#kept++;
        this.#bytes += text.length;
        records.push({ time, level: LEVELS[kind] ?? 'INFO', message: text });
      } else {
        this.#dropped++;
      }
    }
    this.#send(records);
  }

  /** Reports dropped entries, if any; call once, before the execution's end is posted. */
  finish(): void {
    if (this.#dropped === 0) return;
    const { logEntryCap, logByteCap } = this.#limits;
    this.#send([{
      time: Date.now(),
      level: 'WARN',
      message: `${this.#dropped} log entries dropped: over the per-execution cap of ${logEntryCap} entries or ${logByteCap} bytes`,
    }]);
  }

  #send(records: LogRecord[]): LogRecord[] {
    if (records.length > 0) this.#post({ kind: 'logs', execId: this.#execId, records });
    return [];
  }
}
