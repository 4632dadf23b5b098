// Relays one execution's output from its isolate to the main thread, over this worker's
// parentPort: one message per batch the isolate flushed, and progress reports coalesced (the
// latest wins, at most one every PROGRESS_INTERVAL_MS). Output volume is bounded here: past
// the entry or byte cap, entries and reports are only counted, and `finish()` adds one WARN
// entry saying how many were dropped. The script is never stopped for logging too much.
import type { OutputRoom, OutputTuple } from './bootstrap.js';
import type { ExecutionLimits, LogLevel, LogRecord, ProgressRecord, WorkerMessage } from './protocol.js';

const LEVELS: readonly LogLevel[] = ['DEBUG', 'INFO', 'WARN', 'ERROR'];
const PROGRESS = 4;
/** Tuples that count what the isolate dropped itself, past the caps it was told of (`percent` is the count). */
const DROPPED_LOGS = 5;
const DROPPED_PROGRESS = 6;

/** Largest time a Date can hold: anything else is not a time the isolate read. */
const MAX_TIME = 8.64e15;

function isTuple(value: unknown): value is OutputTuple {
  if (!Array.isArray(value) || value.length !== 4) return false;
  const [time, kind, text, percent] = value as unknown[];
  if (!(typeof time === 'number' && Number.isFinite(time) && Math.abs(time) <= MAX_TIME
    && typeof text === 'string' && typeof percent === 'number' && Number.isFinite(percent))) return false;
  if (kind === DROPPED_LOGS || kind === DROPPED_PROGRESS) return Number.isSafeInteger(percent) && percent > 0;
  return kind === 0 || kind === 1 || kind === 2 || kind === 3 || kind === PROGRESS;
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

/** Progress reports are posted at most this often; the latest wins. */
export const PROGRESS_INTERVAL_MS = 10;

export class OutputRelay {
  readonly #execId: string;
  readonly #limits: ExecutionLimits;
  readonly #post: (message: WorkerMessage) => void;
  #kept = 0;
  #bytes = 0;
  #dropped = 0;
  #droppedProgress = 0;
  /** The latest progress report, not posted yet. */
  #held: ProgressRecord | undefined;
  #heldTimer: NodeJS.Timeout | undefined;
  #lastProgressAt = Number.NEGATIVE_INFINITY;

  constructor(execId: string, limits: ExecutionLimits, post: (message: WorkerMessage) => void) {
    this.#execId = execId;
    this.#limits = limits;
    this.#post = post;
  }

  /**
   * One batch the isolate flushed. Entries go out in one message; of the progress reports,
   * the latest wins: the batch's last one replaces every earlier one and any report still
   * held, and it is posted at most every PROGRESS_INTERVAL_MS, but always before the entries
   * that came after it, so that it keeps its place among them (at most three messages per
   * batch). Entries and reports both count against the per-execution caps; what the isolate
   * dropped itself, told of the room left, is added to the counts. Answers that room.
   */
  output(batch: readonly OutputTuple[]): OutputRoom {
    // The isolate's own code builds these tuples, but a script can tamper with the prototypes
    // that code uses: take only well-formed ones, and apply the limits again.
    const tuples = batch.filter(isTuple);
    let last = -1;
    tuples.forEach((tuple, i) => {
      if (tuple[1] === PROGRESS) last = i;
    });
    let records: LogRecord[] = [];
    tuples.forEach(([time, kind, raw, percent], i) => {
      if (kind === DROPPED_LOGS || kind === DROPPED_PROGRESS) {
        if (kind === DROPPED_LOGS) this.#dropped += percent;
        else this.#droppedProgress += percent;
        return;
      }
      const text = cutMessage(raw, this.#limits.logMessageLimit);
      if (!this.#fits(text)) {
        if (kind === PROGRESS) this.#droppedProgress++;
        else this.#dropped++;
      } else if (kind !== PROGRESS) {
        // Past the batch's last report, that report goes first, in its place; with no report
        // in the batch, one held from before does.
        if (records.length === 0 && i > last) this.#postHeld();
        records.push({ time, level: LEVELS[kind] ?? 'INFO', message: text });
      } else if (i === last) {
        records = this.#send(records);
        this.#held = { percent: Math.min(100, Math.max(0, percent)), message: text };
      }
    });
    this.#send(records);
    this.#scheduleHeld();
    return [Math.max(0, this.#limits.logEntryCap - this.#kept), Math.max(0, this.#limits.logByteCap - this.#bytes)];
  }

  /** Posts what is held and reports dropped output, if any; call once, before the execution's end is posted. */
  finish(): void {
    this.#postHeld();
    if (this.#dropped === 0 && this.#droppedProgress === 0) return;
    const { logEntryCap, logByteCap } = this.#limits;
    const what = [
      this.#dropped > 0 ? `${this.#dropped} log ${this.#dropped === 1 ? 'entry' : 'entries'}` : '',
      this.#droppedProgress > 0 ? `${this.#droppedProgress} progress ${this.#droppedProgress === 1 ? 'report' : 'reports'}` : '',
    ].filter((part) => part !== '').join(' and ');
    this.#send([{
      time: Date.now(),
      level: 'WARN',
      message: `${what} dropped: over the per-execution cap of ${logEntryCap} entries or ${logByteCap} bytes`,
    }]);
  }

  /** Counts one entry or report against the caps; false when it is over them. */
  #fits(text: string): boolean {
    if (this.#kept >= this.#limits.logEntryCap || this.#bytes + text.length > this.#limits.logByteCap) return false;
    this.#kept++;
    this.#bytes += text.length;
    return true;
  }

  /** Posts the held report now if the interval allows, else once it has passed. */
  #scheduleHeld(): void {
    if (this.#held === undefined || this.#heldTimer !== undefined) return;
    const wait = this.#lastProgressAt + PROGRESS_INTERVAL_MS - performance.now();
    if (wait <= 0) return this.#postHeld();
    this.#heldTimer = setTimeout(() => this.#postHeld(), wait);
  }

  #postHeld(): void {
    clearTimeout(this.#heldTimer);
    this.#heldTimer = undefined;
    if (this.#held === undefined) return;
    this.#post({ kind: 'progress', execId: this.#execId, progress: this.#held });
    this.#held = undefined;
    this.#lastProgressAt = performance.now();
  }

  #send(records: LogRecord[]): LogRecord[] {
    if (records.length > 0) this.#post({ kind: 'logs', execId: this.#execId, records });
    return [];
  }
}
