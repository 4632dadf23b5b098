// LogBuffer: the log of one execution, as a ring of the newest `capacity` entries numbered by
// `seq` from 1, plus a tail of entries evicted from the ring that a live reader has not passed
// yet, kept once for all readers and at most `lagBudget` bytes behind the ring for any of them.
// Readers (`reader()`) keep their own cursor; `'appended'` (eventemitter3) wakes them. What it
// keeps is reported to a KeptLogSink (its execution's LogBudget account), which may have the
// oldest entries evicted sooner (`evictOldest()`). Nothing here knows about HTTP or isolates.
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

/** Where a LogBuffer reports the bytes (entryBytes()) it keeps, in the ring and the tail. */
export interface KeptLogSink {
  resize(bytes: number): void;
}

/** What `evictOldest()` gave up. */
export interface Evicted {
  readonly entries: number;
  readonly bytes: number;
}

/**
 * What an entry is counted as against a reader's lag budget: 2 bytes per character of its
 * message plus 420. That is what one costs the heap on Node 24 with the event text a stream
 * caches for it (an ASCII message is kept at a byte a character, once in the entry and once in
 * that text): measured at 412, 644 and 2,436 bytes for messages of 6, 100 and 1,000 characters.
 */
export function entryBytes(entry: LogEntry): number {
  return 2 * entry.message.length + ENTRY_OVERHEAD;
}
const ENTRY_OVERHEAD = 420;

/** Tail slots passed over before the tail's arrays are compacted. */
const COMPACT_AFTER = 1024;

export class LogBuffer extends EventEmitter<LogBufferEvents> {
  readonly #capacity: number;
  readonly #lagBudget: number;
  readonly #ring: (LogEntry | undefined)[];
  #sink: KeptLogSink | undefined;
  #lastSeq = 0;
  /** Entries below this seq were evicted from the ring before their turn (`evictOldest()`). */
  #floor = 1;
  /** entryBytes() of the entries in the ring. */
  #ringBytes = 0;
  /**
   * Readers that entries are kept for past the ring; LogReader adds and removes itself. Made with
   * the first reader: most executions end without one, and an empty Set is 160 bytes kept.
   */
  #holders: Set<LogReader> | undefined;
  /**
   * The tail: entries evicted from the ring that a holder has not passed, seqs
   * `firstSeq - heldEntries` .. `firstSeq - 1`, from index `#tailHead` on; `#tailBytes[i]` is
   * the running total of entryBytes() through `#tail[i]`, and `#tailBytesBefore` that total
   * just before the tail's first entry.
   */
  #tail: (LogEntry | undefined)[] = [];
  #tailBytes: number[] = [];
  #tailHead = 0;
  #tailBytesBefore = 0;
  #trimScheduled = false;
  /** What its readers may do, made with the first of them. */
  #access: BufferAccess | undefined;

  /**
   * @param capacity entries kept for every reader, late ones too; older ones are evicted
   *   (CHARIOT_LOG_BUFFER, default 1000).
   * @param lagBudget bytes (counted by entryBytes()) that a live reader may fall behind the ring
   *   before it is released and its entries are no longer kept (CHARIOT_SSE_LAG_BUDGET, default
   *   64 MiB). Unbounded when not given.
   * @param sink told the bytes kept after every change (the execution's LogBudget account).
   */
  constructor(capacity: number, lagBudget = Number.POSITIVE_INFINITY, sink?: KeptLogSink) {
    super();
    if (!Number.isInteger(capacity) || capacity < 1) throw new TypeError('capacity must be a positive integer');
    if (!(lagBudget >= 0)) throw new TypeError('lagBudget must be a number of bytes, at least 0');
    this.#capacity = capacity;
    this.#lagBudget = lagBudget;
    // Grown as entries come (slot seq % capacity): a preallocated ring of the default 1,000 slots
    // cost 8 KiB of heap for every execution kept, most of which log little or nothing.
    this.#ring = [];
    this.#sink = sink;
  }

  /** Reports what it keeps to `sink` from now on (a log that had none: Execution.countIn()). */
  countIn(sink: KeptLogSink): void {
    if (this.#sink !== undefined) throw new Error('this log is counted already');
    this.#sink = sink;
    sink.resize(this.keptBytes);
  }

  /** Seq of the newest entry; 0 before the first. */
  get lastSeq(): number {
    return this.#lastSeq;
  }

  /** Seq of the oldest entry in the ring; lastSeq + 1 when empty. */
  get firstSeq(): number {
    return Math.max(this.#floor, this.#lastSeq - this.#capacity + 1);
  }

  get capacity(): number {
    return this.#capacity;
  }

  get lagBudget(): number {
    return this.#lagBudget;
  }

  /** Entries in the ring now: never more than `capacity`. */
  get size(): number {
    return this.#lastSeq - this.firstSeq + 1;
  }

  /** Entries kept past the ring for live readers. */
  get heldEntries(): number {
    return this.#tail.length - this.#tailHead;
  }

  /** What the entries kept past the ring count as (entryBytes()): never more than `lagBudget` after an append. */
  get heldBytes(): number {
    return this.heldEntries === 0 ? 0 : this.#tailBytes.at(-1)! - this.#tailBytesBefore;
  }

  /** Readers that entries are kept for now. */
  get holders(): number {
    return this.#holders?.size ?? 0;
  }

  /** Seq of the oldest entry kept, in the tail or the ring. */
  get heldFrom(): number {
    return this.firstSeq - this.heldEntries;
  }

  /** What every entry kept, in the ring and the tail, counts as (entryBytes()). */
  get keptBytes(): number {
    return this.#ringBytes + this.heldBytes;
  }

  /**
   * Numbers and stores the records, evicting the oldest from the ring to the tail when a holder
   * still needs them, releases the holders that fell more than the budget behind, then signals
   * 'appended' once.
   */
  append(records: readonly LogRecord[]): void {
    if (records.length === 0) return;
    const needed = this.#trim();
    for (const record of records) {
      const seq = ++this.#lastSeq;
      const slot = seq % this.#capacity;
      const evicted = this.#ring[slot];
      if (evicted !== undefined) {
        this.#ringBytes -= entryBytes(evicted);
        if (evicted.seq > needed) this.#keep(evicted);
      }
      const entry: LogEntry = {
        seq,
        timestamp: new Date(record.time).toISOString(),
        level: record.level,
        message: record.message,
      };
      this.#ring[slot] = entry;
      this.#ringBytes += entryBytes(entry);
    }
    if (this.heldEntries > 0) this.#enforceBudget();
    this.#report();
    this.emit('appended');
  }

  /**
   * Appends records whose seqs are given, from `firstSeq` on (a copy of another instance's log,
   * read from Redis): records already here are skipped, and seqs missing before `firstSeq` become
   * a gap, exact for every reader (what was kept is given up: a copy's entries are contiguous).
   */
  appendAt(firstSeq: number, records: readonly LogRecord[]): void {
    if (firstSeq > this.#lastSeq + 1) this.skipTo(firstSeq - 1);
    const known = this.#lastSeq - firstSeq + 1;
    this.append(known > 0 ? records.slice(known) : records);
  }

  /**
   * Moves the newest seq on to `seq` with no entries for the seqs in between (they were lost
   * before this copy could read them): readers get a gap for them, and for what this copy had kept.
   */
  skipTo(seq: number): void {
    if (seq <= this.#lastSeq) return;
    this.evictOldest(Number.POSITIVE_INFINITY);
    this.#lastSeq = seq;
    this.#floor = seq + 1;
    this.#report();
    this.emit('appended');
  }

  /**
   * Evicts the oldest entries kept, from the tail, then from the ring, until at least `bytes`
   * are freed or nothing is left (a budget over the logs of many executions). Readers that had
   * not passed them get a gap, as for entries the ring evicts.
   */
  evictOldest(bytes: number): Evicted {
    let entries = 0;
    const before = this.keptBytes;
    const tailEntries = this.#tailEntriesFor(bytes);
    if (tailEntries > 0) {
      this.#dropTail(tailEntries);
      entries += tailEntries;
    }
    while (before - this.keptBytes < bytes && this.size > 0) {
      const slot = this.firstSeq % this.#capacity;
      this.#ringBytes -= entryBytes(this.#ring[slot]!);
      this.#ring[slot] = undefined;
      this.#floor = this.firstSeq + 1;
      entries++;
    }
    const freed = before - this.keptBytes;
    if (entries > 0) this.#report();
    return { entries, bytes: freed };
  }

  /** Entries in the ring with seq > `cursor`, oldest first, at most `max`; `missed` counts evicted ones. */
  readAfter(cursor: number, max = Number.POSITIVE_INFINITY): ReadResult {
    return this.#read(cursor, this.firstSeq, max, Number.POSITIVE_INFINITY);
  }

  /** Every entry in the ring, oldest first. */
  snapshot(): readonly LogEntry[] {
    return this.readAfter(0).entries;
  }

  /**
   * A reader whose cursor starts at `after` (clamped to the newest entry). Entries are kept for
   * it past the ring while it holds; call `close()` when done with it.
   */
  reader(after: number): LogReader {
    this.#access ??= {
      holders: (this.#holders = new Set<LogReader>()),
      read: (cursor, holding, max, through) => this.#read(cursor, holding ? this.heldFrom : this.firstSeq, max, through),
      passedTail: () => this.#trimSoon(),
      released: () => void this.#trim(),
    };
    return new LogReader(this, Math.min(after, this.#lastSeq), this.#access);
  }

  #read(cursor: number, first: number, max: number, through: number): ReadResult {
    const from = Math.max(cursor + 1, first);
    const missed = Math.max(0, Math.min(first, this.#lastSeq + 1) - (cursor + 1));
    const to = Math.min(this.#lastSeq, from + max - 1, through);
    const entries: LogEntry[] = [];
    for (let seq = from; seq <= to; seq++) entries.push(this.#at(seq));
    return { missed, entries };
  }

  /** A kept entry (the caller checked that `seq` lies in the tail or the ring). */
  #at(seq: number): LogEntry {
    const ringFirst = this.firstSeq;
    if (seq >= ringFirst) return this.#ring[seq % this.#capacity] as LogEntry;
    return this.#tail[this.#tail.length - (ringFirst - seq)] as LogEntry;
  }

  /** Tells the sink what is kept now. */
  #report(): void {
    this.#sink?.resize(this.keptBytes);
  }

  /** The fewest oldest tail entries whose bytes add up to at least `bytes`, or the whole tail. */
  #tailEntriesFor(bytes: number): number {
    const held = this.heldEntries;
    for (let i = 0; i < held; i++) {
      if (this.#tailBytes[this.#tailHead + i]! - this.#tailBytesBefore >= bytes) return i + 1;
    }
    return held;
  }

  #keep(entry: LogEntry): void {
    const before = this.heldEntries === 0 ? this.#tailBytesBefore : this.#tailBytes.at(-1)!;
    this.#tail.push(entry);
    this.#tailBytes.push(before + entryBytes(entry));
  }

  /** The running total of entryBytes() through `seq`, for a seq from the tail's start - 1 on. */
  #bytesThrough(seq: number): number {
    const fromEnd = this.firstSeq - 1 - seq;
    if (fromEnd <= 0) return this.#tailBytes.at(-1) ?? this.#tailBytesBefore;
    if (fromEnd >= this.heldEntries) return this.#tailBytesBefore;
    return this.#tailBytes[this.#tail.length - 1 - fromEnd]!;
  }

  /** Releases every holder that is more than the budget behind the ring, then trims. */
  #enforceBudget(): void {
    const end = this.#tailBytes.at(-1)!;
    for (const reader of this.#holders ?? []) {
      if (end - this.#bytesThrough(reader.cursor) > this.#lagBudget) reader.release();
    }
    this.#trim();
  }

  /** Drops the tail's entries that every holder has passed; returns the lowest holder cursor (Infinity without holders). */
  #trim(): number {
    let needed = Number.POSITIVE_INFINITY;
    for (const reader of this.#holders ?? []) needed = Math.min(needed, reader.cursor);
    const drop = Math.min(this.heldEntries, needed - this.heldFrom + 1);
    if (drop > 0) {
      this.#dropTail(drop);
      this.#report();
    }
    return needed;
  }

  /** Drops the oldest `count` entries of the tail (at least 1, at most all). */
  #dropTail(count: number): void {
    if (count === this.heldEntries) {
      this.#tailBytesBefore = this.#tailBytes.at(-1)!;
      this.#tail = [];
      this.#tailBytes = [];
      this.#tailHead = 0;
      return;
    }
    for (let i = this.#tailHead; i < this.#tailHead + count; i++) this.#tail[i] = undefined;
    this.#tailHead += count;
    this.#tailBytesBefore = this.#tailBytes[this.#tailHead - 1]!;
    if (this.#tailHead >= COMPACT_AFTER && this.#tailHead * 2 >= this.#tail.length) {
      this.#tail = this.#tail.slice(this.#tailHead);
      this.#tailBytes = this.#tailBytes.slice(this.#tailHead);
      this.#tailHead = 0;
    }
  }

  /** Trims once at the end of this turn, however many readers passed a part of the tail in it. */
  #trimSoon(): void {
    if (this.#trimScheduled) return;
    this.#trimScheduled = true;
    setImmediate(() => {
      this.#trimScheduled = false;
      this.#trim();
    });
  }
}

/** What a LogBuffer lets its readers do, and nobody else. */
interface BufferAccess {
  /** The readers entries are kept for; a reader adds and removes itself. */
  readonly holders: Set<LogReader>;
  /** Reads after `cursor` from the tail and the ring (`holding`), or from the ring only. */
  read(cursor: number, holding: boolean, max: number, through: number): ReadResult;
  /** A holder moved past an entry of the tail. */
  passedTail(): void;
  /** A reader stopped holding: what only it needed goes at once. */
  released(): void;
}

/**
 * One reader's place in a LogBuffer (made by `LogBuffer.reader()`): the seq of the last entry
 * it has passed, and whether entries are kept past the ring for it. It holds from the moment
 * its cursor is in the ring (nothing it needs was evicted) until it falls more than the lag
 * budget behind, or is released by its owner (a stalled socket), or closed; a released reader
 * reads the ring only, with exact gaps, until it is back in the ring.
 */
export class LogReader {
  readonly #buffer: LogBuffer;
  readonly #access: BufferAccess;
  #cursor: number;
  #closed = false;

  /** @internal Use LogBuffer.reader(). */
  constructor(buffer: LogBuffer, cursor: number, access: BufferAccess) {
    this.#buffer = buffer;
    this.#access = access;
    this.#cursor = cursor;
    this.#holdIfInRing();
  }

  /** Seq of the last entry passed (read, skipped, or counted in a gap). */
  get cursor(): number {
    return this.#cursor;
  }

  /** True while entries are kept past the ring for this reader. */
  get holding(): boolean {
    return this.#access.holders.has(this);
  }

  /**
   * Entries after the cursor, oldest first, at most `max` and none past seq `through`; `missed`
   * counts the ones evicted (and not kept for it) before this read. Does not move the cursor.
   */
  read(max = Number.POSITIVE_INFINITY, through = Number.POSITIVE_INFINITY): ReadResult {
    return this.#access.read(this.#cursor, this.holding, max, through);
  }

  /** Moves the cursor on to `seq` (an entry sent or passed over, or the end of a gap). */
  advance(seq: number): void {
    const from = this.#cursor;
    if (seq <= from) return;
    this.#cursor = seq;
    if (!this.holding) this.#holdIfInRing();
    else if (from < this.#buffer.firstSeq - 1) this.#access.passedTail();
  }

  /** Stops keeping entries for this reader until its cursor is back in the ring. */
  release(): void {
    if (this.#access.holders.delete(this)) this.#access.released();
  }

  /** Releases it for good. */
  close(): void {
    this.#closed = true;
    this.release();
  }

  #holdIfInRing(): void {
    if (!this.#closed && this.#cursor >= this.#buffer.firstSeq - 1) this.#access.holders.add(this);
  }
}
