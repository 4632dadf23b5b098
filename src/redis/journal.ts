// The journal: how the instance holding an execution writes it to Redis as it happens. Its log
// entries, its start, its progress and its end become items of the execution's log stream, in
// the order they happened, each with an id that says where it is in the log:
//
//   <seq>-0   log entry `seq`        fields l (level), t (ms since the epoch), m (message)
//   <seq>-<n> the n-th other item after entry `seq` (0: before the first entry):
//             start                  s (ms), i (instance)
//             progress               p (JSON {percent, message})
//             end                    e (JSON of the worker's Outcome), c (ms)
//
// and the record's fields follow in the same script (scripts.ts WRITE). Writes go one at a time
// per execution; what a failed write carried is sent again (Redis skips what it has), so an
// outage delays the log but loses none of it, as long as the log itself keeps it: the journal
// reads through a LogReader that holds entries past the ring, within the lag budget, like a
// stream that keeps up. One that falls further behind leaves a gap (the seq moves on), which
// every reader of the stream sees, exact.
//
// The stream is trimmed to the ring (CHARIOT_LOG_BUFFER entries), but only for entries written
// KEEP_UP_MS ago or earlier, so that another instance's reader, which reads within milliseconds,
// never misses an entry of a burst larger than the ring.
import type { Execution } from '../execution.js';
import type { LogEntry, LogReader } from '../log-buffer.js';
import type { Outcome } from '../../worker/protocol.js';
import type { RedisClient } from './connection.js';
import { heldKey, historyKey, logKey, recordKey, unfinishedKey } from './keys.js';
import { RESTORE, WRITE } from './scripts.js';

/** How long an entry stays in the stream past the ring, at least, for readers on other instances. */
export const KEEP_UP_MS = 2000;
/** Log entries in one write, at most. */
const BATCH = 500;
/** Waits between tries of a write that failed, from the first to the longest. */
const RETRY_MS = [50, 200, 1000];
/** How long an execution's end waits for Redis before it ends here anyway (its end is written later). */
const END_WAIT_MS = 5000;

export interface JournalOptions {
  readonly redis: RedisClient;
  /** The claim the record was registered with: every write carries it. */
  readonly claim: string;
  readonly instance: string;
  /** The ring (CHARIOT_LOG_BUFFER): what the stream keeps. */
  readonly capacity: number;
  readonly retentionMs: number;
  /** The record carries another claim: this instance may no longer write the execution. */
  readonly onFenced: () => void;
  /**
   * The record is gone: Redis may have lost its data (then the store calls rewrite()), or it was
   * deleted (then fence()). Writes wait meanwhile.
   */
  readonly onMissing: (journal: Journal) => void;
}

interface Item {
  readonly seq: number;
  readonly sub: number;
  readonly fields: readonly string[];
}

interface Ending {
  readonly outcome: Outcome;
  readonly at: Date;
  readonly item: Item;
  readonly written: () => void;
}

export class Journal {
  readonly #execution: Execution;
  readonly #options: JournalOptions;
  readonly #keys: readonly string[];
  readonly #reader: LogReader;
  /** Items other than log entries not written yet, in order. */
  #items: Item[] = [];
  /** Record fields not written yet. */
  #fields = new Map<string, string>();
  /** The newest item's place: other items after entry `#lastSeq` are numbered on from `#lastSub`. */
  #lastSeq = 0;
  #lastSub = 0;
  #ending: Ending | undefined;
  #scheduled = false;
  #writing = false;
  /** A failed write waits to be tried again: appends meanwhile do not try sooner. */
  #backingOff = false;
  #failures = 0;
  #done = false;
  #fenced = false;
  /** The record was gone at the last write: writes wait for rewrite() or fence(). */
  #missing = false;
  /** The next write registers the execution again first (rewrite()), then writes these again. */
  #restore = false;
  #replay: LogEntry[] = [];
  /** (when, newest seq written) of past writes, for the trim that lags KEEP_UP_MS behind. */
  #marks: { readonly at: number; readonly seq: number }[] = [];

  constructor(execution: Execution, options: JournalOptions) {
    this.#execution = execution;
    this.#options = options;
    this.#keys = [recordKey(execution.id), logKey(execution.id), unfinishedKey(execution.owner), heldKey(options.instance)];
    this.#reader = execution.logs.reader(0);
    execution.logs.on('appended', this.#schedule);
    execution.on('running', this.#onRunning);
    execution.on('progress', this.#onProgress);
  }

  /**
   * Writes the end (after everything before it) and resolves with its time, once Redis has it or
   * after END_WAIT_MS; the journal goes on trying after that.
   */
  end(outcome: Outcome): Promise<Date> {
    // Fenced: another instance owns the record now, and this end is this instance's alone.
    if (this.#done || this.#fenced || this.#ending !== undefined) return Promise.resolve(new Date());
    const at = new Date();
    return new Promise((resolve) => {
      const timer = setTimeout(() => resolve(at), END_WAIT_MS);
      timer.unref();
      const item = this.#addItem(this.#execution.logs.lastSeq, ['e', JSON.stringify(outcome), 'c', String(at.getTime())]);
      this.#ending = {
        outcome,
        at,
        item,
        written: () => {
          clearTimeout(timer);
          resolve(at);
        },
      };
      this.#fields.set('status', outcome.status);
      this.#fields.set('outcome', JSON.stringify(outcome));
      this.#fields.set('completed', String(at.getTime()));
      this.#schedule();
    });
  }

  /**
   * Redis lost the execution (a new epoch): the next write registers it again as it is now, and
   * what it had written of its log from the oldest entry the ring still has; then the writes go
   * on from where they were. The seqs before that entry are a gap for any reader.
   */
  rewrite(): void {
    if (this.#done || this.#fenced) return;
    const execution = this.#execution;
    this.#restore = true;
    this.#missing = false;
    const written = this.#reader.cursor;
    this.#replay = execution.logs.snapshot().filter((entry) => entry.seq <= written) as LogEntry[];
    // The stream's other items are lost with it: the record carries the state they told.
    this.#items = this.#ending === undefined ? [] : [this.#ending.item];
    this.#fields.set('status', this.#ending?.outcome.status ?? execution.status);
    if (execution.startedAt !== undefined) {
      this.#fields.set('started', String(execution.startedAt.getTime()));
      this.#fields.set('instance', this.#options.instance);
    }
    if (execution.progress !== undefined) {
      this.#fields.set('progress', JSON.stringify(execution.progress));
      this.#fields.set('pseq', String(execution.progressAfterSeq));
    }
    this.#schedule();
  }

  /** True while the record was gone at the last write, and neither rewrite() nor fence() came since. */
  get missing(): boolean {
    return this.#missing;
  }

  /** The record is not this instance's any more (deleted): nothing more is written. */
  fence(): void {
    if (!this.#done && !this.#fenced) this.#fence();
  }

  /** The store closes: nothing more is written, nor tried again. */
  abandon(): void {
    if (this.#done) return;
    this.#done = true;
    this.#detach();
    this.#ending?.written();
  }

  readonly #onRunning = (): void => {
    const started = this.#execution.startedAt ?? new Date();
    this.#addItem(this.#execution.logs.lastSeq, ['s', String(started.getTime()), 'i', this.#options.instance]);
    this.#fields.set('status', 'running');
    this.#fields.set('started', String(started.getTime()));
    this.#fields.set('instance', this.#options.instance);
    this.#schedule();
  };

  readonly #onProgress = (): void => {
    const { progress, progressAfterSeq } = this.#execution;
    if (progress === undefined) return;
    this.#addItem(progressAfterSeq, ['p', JSON.stringify(progress)]);
    this.#fields.set('progress', JSON.stringify(progress));
    this.#fields.set('pseq', String(progressAfterSeq));
    this.#schedule();
  };

  /** An item after log entry `seq` (the newest when it happened). */
  #addItem(seq: number, fields: readonly string[]): Item {
    this.#lastSub = seq === this.#lastSeq ? this.#lastSub + 1 : 1;
    this.#lastSeq = seq;
    const item = { seq, sub: this.#lastSub, fields };
    this.#items.push(item);
    return item;
  }

  readonly #schedule = (): void => {
    if (this.#scheduled || this.#writing || this.#backingOff || this.#done || this.#fenced || this.#missing) return;
    this.#scheduled = true;
    setImmediate(() => {
      this.#scheduled = false;
      void this.#write();
    });
  };

  /** Writes until nothing is left, one write at a time. */
  async #write(): Promise<void> {
    if (this.#writing || this.#done || this.#fenced || this.#missing) return;
    this.#writing = true;
    try {
      if (this.#restore) {
        const { id, owner, program, createdAt } = this.#execution;
        await RESTORE.run(this.#options.redis, [recordKey(id), historyKey(owner), unfinishedKey(owner), heldKey(this.#options.instance)], [
          id, owner, program, String(createdAt.getTime()), this.#options.instance, this.#options.claim,
        ]);
        this.#restore = false;
      }
      while (this.#replay.length > 0) {
        const batch = this.#replay.slice(0, BATCH);
        const fields = new Map([['seq', String(batch.at(-1)!.seq)]]);
        if ((await this.#send(batch, [], fields, false)) !== 'written') break;
        this.#replay = this.#replay.slice(batch.length);
      }
      this.#replay = [];
      for (;;) {
        const { missed, entries } = this.#reader.read(BATCH);
        const last = entries.at(-1)?.seq ?? this.#reader.cursor + missed;
        // Items after the last entry of this write wait for the next one (unless none follows).
        // A copy: items added while it is written go in the next one.
        const more = last < this.#execution.logs.lastSeq;
        const items = more ? this.#items.filter((item) => item.seq <= last) : [...this.#items];
        if (entries.length === 0 && missed === 0 && items.length === 0 && this.#fields.size === 0) break;
        const final = !more && this.#ending !== undefined;
        const fields = new Map(this.#fields);
        fields.set('seq', String(last));
        const written = await this.#send(entries, items, fields, final);
        if (written === 'missing') {
          this.#missing = true;
          return this.#options.onMissing(this);
        }
        if (written === 'fenced') return this.#fence();
        this.#reader.advance(last);
        this.#items = this.#items.slice(items.length);
        for (const [name, value] of fields) if (this.#fields.get(name) === value) this.#fields.delete(name);
        this.#failures = 0;
        if (final) return this.#finish(last);
      }
    } catch (error) {
      if (this.#done) return;
      // Redis unreachable, or a reply lost: the same write goes again later.
      const wait = RETRY_MS[Math.min(this.#failures, RETRY_MS.length - 1)]!;
      if (this.#failures++ === 0) console.error(`chariot-exec: the log of ${this.#execution.id} could not be written to Redis: ${String(error)}; retrying`);
      this.#backingOff = true;
      setTimeout(() => {
        this.#backingOff = false;
        void this.#write();
      }, wait).unref();
    } finally {
      this.#writing = false;
    }
  }

  async #send(entries: readonly LogEntry[], items: readonly Item[], fields: ReadonlyMap<string, string>, final: boolean): Promise<'written' | 'fenced' | 'missing'> {
    const expiry = final ? String(this.#ending!.at.getTime() + this.#options.retentionMs) : '0';
    const args = [this.#options.claim, this.#trimFrom(), expiry, this.#execution.id, String(fields.size)];
    for (const [name, value] of fields) args.push(name, value);
    // Entries and items merged in id order: an item after entry s comes before entry s + 1.
    let next = 0;
    for (const entry of entries) {
      while (next < items.length && items[next]!.seq < entry.seq) pushItem(args, items[next++]!);
      args.push(String(entry.seq), '0', '3', 'l', entry.level, 't', String(Date.parse(entry.timestamp)), 'm', entry.message);
    }
    while (next < items.length) pushItem(args, items[next++]!);
    const reply = await WRITE.run(this.#options.redis, this.#keys, args);
    return reply === 1 ? 'written' : reply === -1 ? 'missing' : 'fenced';
  }

  /** The MINID of this write's trim: the ring behind the newest seq written KEEP_UP_MS ago. */
  #trimFrom(): string {
    const now = Date.now();
    let seq = 0;
    while (this.#marks.length > 0 && this.#marks[0]!.at <= now - KEEP_UP_MS) seq = this.#marks.shift()!.seq;
    if (this.#marks.length === 0 || this.#marks.at(-1)!.seq !== this.#reader.cursor) this.#marks.push({ at: now, seq: this.#reader.cursor });
    const from = seq - this.#options.capacity + 1;
    return from > 1 ? `${from}-0` : '';
  }

  #finish(last: number): void {
    this.#done = true;
    this.#detach();
    this.#ending?.written();
    const from = last - this.#options.capacity + 1;
    if (from <= 1) return;
    // Once the readers that keep up have had the last burst, the stream keeps the ring only.
    setTimeout(() => {
      this.#options.redis.xTrim(this.#keys[1]!, 'MINID', `${from}-0`).catch(() => undefined);
    }, KEEP_UP_MS).unref();
  }

  #fence(): void {
    this.#fenced = true;
    this.#detach();
    this.#ending?.written();
    this.#options.onFenced();
  }

  #detach(): void {
    this.#reader.close();
    this.#execution.logs.off('appended', this.#schedule);
    this.#execution.off('running', this.#onRunning);
    this.#execution.off('progress', this.#onProgress);
  }
}

function pushItem(args: string[], item: Item): void {
  args.push(String(item.seq), String(item.sub), String(item.fields.length / 2), ...item.fields);
}
