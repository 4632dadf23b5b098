// The follower: one blocking reader per instance for the logs of executions that other
// instances hold and that this one streams. However many subscribers this instance has, it
// keeps one copy of each such execution (replica.ts) and one XREAD over all their streams, and
// the copy fans out to its subscribers in process, as a local execution does.
//
// The XREAD also reads this instance's wake stream (keys.ts wakeKey): following a new log adds
// an entry to it, which ends the blocked read at once, and the next one includes the new log.
// Nothing is polled. A read that fails (Redis unreachable) is tried again, from where each log
// was, once the connection is back.
import type { Execution } from '../execution.js';
import type { Lease } from '../store.js';
import type { RedisConnections } from './connection.js';
import { logKey, wakeKey } from './keys.js';
import { formatStreamId, streamId, type StreamId } from './record.js';
import { applyItems, type RawItem, type Replica } from './replica.js';

/** Items read from one log at once, at most. */
const COUNT = 1000;
/** Waits between tries of a read that failed. */
const RETRY_MS = 200;
/** The wake stream outlives an instance that stopped by this much at most. */
const WAKE_TTL_MS = 24 * 60 * 60 * 1000;


interface Followed {
  readonly execution: Execution;
  readonly key: string;
  after: StreamId;
  refs: number;
  /** Forgets the finished copy at its retention time, unless the last lease went first. */
  retire?: NodeJS.Timeout;
}

type RawReply = readonly (readonly [key: string, items: readonly RawItem[]])[] | null;

export class LogFollower {
  readonly #redis: RedisConnections;
  readonly #wakeKey: string;
  readonly #load: (id: string) => Promise<Replica | undefined>;
  readonly #retentionMs: number;
  readonly #byId = new Map<string, Followed>();
  readonly #byKey = new Map<string, Followed>();
  readonly #loading = new Map<string, Promise<Followed | undefined>>();
  #wakeAfter = '0-0';
  #closed = false;
  #failed = false;
  readonly #loop: Promise<void>;

  /**
   * `load`: a copy of the execution as Redis has it now, with the stream id it reflects.
   * `retentionMs`: a finished copy is forgotten this long after its end, as Redis forgets it, so
   * that its streams end then too (even a stalled one).
   */
  constructor(redis: RedisConnections, instance: string, load: (id: string) => Promise<Replica | undefined>, retentionMs: number) {
    this.#redis = redis;
    this.#wakeKey = wakeKey(instance);
    this.#load = load;
    this.#retentionMs = retentionMs;
    this.#loop = this.#run();
  }

  /** Executions followed now (diagnostics and tests). */
  get followed(): number {
    return this.#byId.size;
  }

  /** A live copy of the execution, shared with this instance's other readers of it; undefined when unknown. */
  async follow(id: string): Promise<Lease | undefined> {
    let followed = this.#byId.get(id);
    if (followed === undefined) {
      let loading = this.#loading.get(id);
      if (loading === undefined) {
        loading = this.#start(id).finally(() => this.#loading.delete(id));
        this.#loading.set(id, loading);
      }
      followed = await loading;
      if (followed === undefined) return undefined;
    }
    followed.refs++;
    let released = false;
    const entry = followed;
    return {
      execution: entry.execution,
      release: () => {
        if (released) return;
        released = true;
        if (--entry.refs > 0) return;
        this.#drop(entry);
        // Nobody reads it any more: the timer would only keep the copy in memory.
        clearTimeout(entry.retire);
      },
    };
  }

  /** The live copy of an unfinished execution this instance follows now, if any. */
  peek(id: string): Execution | undefined {
    return this.#byId.get(id)?.execution;
  }

  /**
   * Stops following an execution this instance has just taken to run (Redis mode, the shared
   * queue) and gives its copy to the holder: its streams here read on from the holder itself.
   * Undefined when none is followed (or one is still loading: that one goes on as a copy).
   */
  adopt(id: string): Execution | undefined {
    const followed = this.#byId.get(id);
    if (followed === undefined || followed.execution.status !== 'queued') return undefined;
    this.#drop(followed);
    return followed.execution;
  }

  /** Stops reading; resolves once the loop has ended (close the blocking connection meanwhile). */
  close(): Promise<void> {
    this.#closed = true;
    return this.#loop;
  }

  async #start(id: string): Promise<Followed | undefined> {
    const replica = await this.#load(id);
    if (replica === undefined) return undefined;
    const followed: Followed = { execution: replica.execution, key: logKey(id), after: replica.top, refs: 0 };
    // Already over: nothing more will come, so there is nothing to read.
    if (replica.execution.finished) {
      this.#retire(followed);
      return followed;
    }
    this.#byId.set(id, followed);
    this.#byKey.set(followed.key, followed);
    await this.#wake();
    return followed;
  }

  /** Forgets a finished copy when Redis forgets it: its streams end then. */
  #retire(followed: Followed): void {
    const { execution } = followed;
    const ended = execution.completedAt?.getTime() ?? Date.now();
    followed.retire = setTimeout(() => execution.forget(), Math.max(0, ended + this.#retentionMs - Date.now()));
    followed.retire.unref();
  }

  #drop(followed: Followed): void {
    if (this.#byId.get(followed.execution.id) !== followed) return;
    this.#byId.delete(followed.execution.id);
    this.#byKey.delete(followed.key);
  }

  async #wake(): Promise<void> {
    await this.#redis.command.sendCommand(['XADD', this.#wakeKey, 'MAXLEN', '1', '*', 'w', '1']);
    await this.#redis.command.pExpire(this.#wakeKey, WAKE_TTL_MS);
  }

  async #run(): Promise<void> {
    while (!this.#closed) {
      const followed = [...this.#byId.values()];
      const args = ['XREAD', 'COUNT', String(COUNT), 'BLOCK', '0', 'STREAMS', this.#wakeKey, ...followed.map((f) => f.key)];
      args.push(this.#wakeAfter, ...followed.map((f) => formatStreamId(f.after)));
      let reply: RawReply;
      try {
        reply = (await this.#redis.blocking.sendCommand(args)) as RawReply;
        this.#failed = false;
      } catch (error) {
        if (this.#closed) return;
        if (!this.#failed) console.error(`chariot-exec: reading logs from Redis failed: ${String(error)}; retrying`);
        this.#failed = true;
        await new Promise((resolve) => setTimeout(resolve, RETRY_MS));
        continue;
      }
      for (const [key, items] of reply ?? []) {
        const last = items.at(-1);
        if (last === undefined) continue;
        if (key === this.#wakeKey) {
          this.#wakeAfter = last[0];
          continue;
        }
        const entry = this.#byKey.get(key);
        if (entry === undefined) continue;
        entry.after = streamId(last[0]);
        applyItems(entry.execution, items);
        if (entry.execution.finished) {
          this.#drop(entry);
          this.#retire(entry);
        }
      }
    }
  }
}
