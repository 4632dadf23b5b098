// Executions in Redis, for several instances behind a load balancer: any instance registers,
// reads, lists, streams and cancels any execution, whichever instance holds it.
//
// A submission starts at once on the instance it came to when that has a free slot and nothing
// waits; else it waits in the shared queue (queue.ts), and the first instance with a free slot
// takes it. The instance that holds an execution (that took it) keeps it in memory while
// it is unfinished and writes it through as it happens (journal.ts); every read elsewhere, and
// every read of a finished one, is a copy built from Redis (replica.ts), and a stream of one is a
// copy kept live by this instance's one follower (follower.ts). What it ran it keeps for the
// retention time too, for its own streams of them, as the memory store does. Admission is
// atomic across instances (scripts.ts ENQUEUE: CHARIOT_MAX_PER_USER, CHARIOT_MAX_QUEUE), and a
// cancel, like input (input.ts), is stored before its holder is woken, so that none is lost. Records and logs expire after the retention time
// (PEXPIRE).
import { randomUUID } from 'node:crypto';
import { QueueFullError, QueueWaitError, TooManyExecutionsError } from '../errors.js';
import { Execution } from '../execution.js';
import type { InputLimits } from '../input-queue.js';
import type { CancelRequest, ExecutionStore, Lease, Placement } from '../store.js';
import type { Outcome } from '../../worker/protocol.js';
import type { RedisConnections } from './connection.js';
import { LogFollower } from './follower.js';
import { RedisInput } from './input.js';
import { InstanceWatch } from './instances.js';
import { Journal } from './journal.js';
import { controlChannel, heldKey, historyKey, inputKey, INPUT_WAKE_PREFIX, logKey, PACE_KEY, queueKey, QUEUE_EVENTS_KEY, recordKey, TURNS_KEY, unfinishedKey, WAITING_KEY } from './keys.js';
import { SharedQueue } from './queue.js';
import { stateOf, type RecordFields } from './record.js';
import { replicaOf, type Replica } from './replica.js';
import { CANCEL, ENQUEUE, SNAPSHOT } from './scripts.js';
import { guarded } from './unavailable.js';

export interface RedisStoreOptions {
  readonly instance: string;
  /** CHARIOT_MAX_PER_USER, across every instance. */
  readonly maxPerUser: number;
  /** CHARIOT_MAX_QUEUE: executions waiting in the shared queue, across every instance. */
  readonly maxQueue: number;
  /** CHARIOT_MAX_QUEUE_WAIT_MS. */
  readonly maxQueueWaitMs: number;
  /** CHARIOT_LOG_BUFFER. */
  readonly capacity: number;
  /** CHARIOT_SSE_LAG_BUDGET, for the copies' readers. */
  readonly lagBudget: number;
  readonly retentionMs: number;
  /** CHARIOT_INSTANCE_TIMEOUT_MS. */
  readonly instanceTimeoutMs: number;
  /** CHARIOT_INPUT_MAX_QUEUED and CHARIOT_INPUT_MAX_BYTES, across every instance. */
  readonly input: InputLimits;
}

export class RedisExecutionStore implements ExecutionStore {
  readonly #redis: RedisConnections;
  readonly #options: RedisStoreOptions;
  /** This instance's claim on what it holds: every write of it carries it. */
  readonly #claim: string;
  readonly #journals = new Map<string, { readonly execution: Execution; readonly journal: Journal }>();
  /**
   * What this instance ran and ended, kept here as in memory until the retention sweep: its own
   * streams of them read on, and the kept-log budget counts their logs until they are forgotten.
   */
  readonly #ended = new Set<Execution>();
  readonly #follower: LogFollower;
  readonly queue: SharedQueue;
  readonly input: RedisInput;
  #cancelListener: CancelRequest | undefined;
  #watch: InstanceWatch | undefined;

  private constructor(redis: RedisConnections, options: RedisStoreOptions) {
    this.#redis = redis;
    this.#options = options;
    this.#claim = `${options.instance}/${randomUUID()}`;
    this.#follower = new LogFollower(redis, options.instance, (id) => this.#snapshot(id), options.retentionMs);
    this.queue = new SharedQueue(redis, { instance: options.instance, claim: this.#claim, maxWaitMs: options.maxQueueWaitMs, retentionMs: options.retentionMs });
    this.input = new RedisInput(redis.command, this.#claim, options.input);
  }

  /** The store, subscribed to this instance's control channel, beating and watching the other instances. */
  static async open(redis: RedisConnections, options: RedisStoreOptions): Promise<RedisExecutionStore> {
    const store = new RedisExecutionStore(redis, options);
    store.#watch = await InstanceWatch.start(redis, {
      instance: options.instance,
      timeoutMs: options.instanceTimeoutMs,
      retentionMs: options.retentionMs,
      onEpochChange: () => store.#rewriteAll(),
    });
    await redis.subscriber.subscribe(controlChannel(options.instance), (message) => store.#onControl(message));
    // A cancel asked, or input sent, while the subscription was down is in Redis: look again.
    redis.subscriber.on('ready', () => {
      void store.#recheckCancels();
      store.input.recheck();
    });
    return store;
  }

  /** False while Redis cannot be reached or written (/healthz). */
  get available(): boolean {
    return this.#redis.command.isReady && (this.#watch?.beating ?? true);
  }

  /** Executions of other instances this one follows now (diagnostics and tests). */
  get followed(): number {
    return this.#follower.followed;
  }

  /** A message on this instance's control channel (keys.ts controlChannel). */
  #onControl(message: string): void {
    if (message.startsWith(INPUT_WAKE_PREFIX)) this.input.wake(message.slice(INPUT_WAKE_PREFIX.length));
    else this.#cancelListener?.(message);
  }

  onCancelRequest(listener: CancelRequest): void {
    this.#cancelListener = listener;
  }

  async add(execution: Execution, takeHere: boolean): Promise<Placement> {
    const { id, owner } = execution;
    const { instance, maxPerUser, maxQueue, maxQueueWaitMs } = this.#options;
    const reply = await guarded(() => ENQUEUE.run(this.#redis.command, [
      recordKey(id), historyKey(owner), unfinishedKey(owner), queueKey(owner), TURNS_KEY, WAITING_KEY, QUEUE_EVENTS_KEY, heldKey(instance), PACE_KEY,
    ], [
      String(maxPerUser), String(maxQueue), id, owner, execution.program, String(execution.createdAt.getTime()), instance, takeHere ? this.#claim : '',
      String(maxQueueWaitMs),
    ])) as readonly (number | string)[];
    const [placed, waiting, predicted, oldest] = reply.map(Number);
    if (placed === 0) throw new TooManyExecutionsError(maxPerUser);
    this.queue.noteQueued(waiting ?? 0, oldest === undefined || Number.isNaN(oldest) ? undefined : oldest);
    if (placed === -1) throw new QueueFullError(maxQueue, 1);
    if (placed === -2) throw new QueueWaitError(predicted ?? 0, maxQueueWaitMs);
    if (placed === 1) return 'queued';
    this.hold(execution);
    return 'held';
  }

  hold(execution: Execution): void {
    const { id } = execution;
    const journal = new Journal(execution, {
      redis: this.#redis.command,
      claim: this.#claim,
      instance: this.#options.instance,
      capacity: this.#options.capacity,
      retentionMs: this.#options.retentionMs,
      // Another instance took it over: this one must stop running it.
      onFenced: () => this.#cancelListener?.(id),
      onMissing: (missing) => void this.#onMissing(missing),
    });
    this.#journals.set(id, { execution, journal });
  }

  async remove(id: string): Promise<void> {
    const held = this.#journals.get(id);
    held?.journal.abandon();
    this.#journals.delete(id);
    await guarded(async () => {
      const owner = held?.execution.owner ?? (await this.#redis.command.hGet(recordKey(id), 'owner'));
      const multi = this.#redis.command.multi().del([recordKey(id), logKey(id), inputKey(id)]);
      if (owner !== null && owner !== undefined) multi.zRem(historyKey(owner), id).sRem(unfinishedKey(owner), id);
      multi.sRem(heldKey(this.#options.instance), id);
      await multi.exec();
    });
  }

  end(execution: Execution, outcome: Outcome): Promise<Date> | undefined {
    const held = this.#journals.get(execution.id);
    if (held === undefined) return undefined;
    this.#journals.delete(execution.id);
    this.#ended.add(execution);
    return held.journal.end(outcome);
  }

  /** A copy as Redis has it; for an unfinished one followed here, the live copy the streams here read. */
  async get(id: string): Promise<Execution | undefined> {
    return this.#follower.peek(id) ?? (await guarded(() => this.#snapshot(id)))?.execution;
  }

  adopt(id: string): Execution | undefined {
    return this.#follower.adopt(id);
  }

  follow(id: string): Promise<Lease | undefined> {
    return guarded(() => this.#follower.follow(id));
  }

  async requestCancel(id: string): Promise<'asked' | 'finished' | 'unknown'> {
    const reply = await guarded(() => CANCEL.run(this.#redis.command, [recordKey(id)], [String(Date.now()), String(this.#options.retentionMs)]));
    return reply === 1 || reply === 2 ? 'asked' : reply === 0 ? 'finished' : 'unknown';
  }

  listByOwner(owner: string): Promise<readonly Execution[]> {
    return guarded(() => this.#list(owner));
  }

  async #list(owner: string): Promise<readonly Execution[]> {
    const ids = await this.#redis.command.zRange(historyKey(owner), 0, -1, { REV: true });
    if (ids.length === 0) return [];
    const multi = this.#redis.command.multi();
    for (const id of ids) multi.hGetAll(recordKey(id));
    const records = (await multi.exec()) as unknown as RecordFields[];
    const executions: Execution[] = [];
    const gone: string[] = [];
    ids.forEach((id, i) => {
      const state = stateOf(records[i] ?? {});
      if (state === undefined) gone.push(id);
      else executions.push(Execution.restore(state, { capacity: this.#options.capacity, lagBudget: this.#options.lagBudget }));
    });
    // Forgotten after the retention time: their places in the history go too.
    if (gone.length > 0) await this.#redis.command.zRem(historyKey(owner), gone);
    return executions;
  }

  /**
   * Records and logs in Redis expire by themselves (PEXPIRE at the end); what this instance keeps
   * of the executions it ran is forgotten here, as the memory store forgets them.
   */
  async sweep(cutoff: number): Promise<number> {
    let forgotten = 0;
    for (const execution of this.#ended) {
      const completedAt = execution.completedAt;
      if (completedAt === undefined || completedAt.getTime() >= cutoff) continue;
      this.#ended.delete(execution);
      execution.forget();
      forgotten++;
    }
    return forgotten;
  }

  async close(): Promise<void> {
    await this.queue.close();
    this.input.close();
    for (const { journal } of this.#journals.values()) journal.abandon();
    this.#journals.clear();
    for (const execution of this.#ended) execution.forget();
    this.#ended.clear();
    await this.#watch?.close();
    const loop = this.#follower.close();
    await this.#redis.close();
    await loop;
  }

  async #snapshot(id: string): Promise<Replica | undefined> {
    const reply = await SNAPSHOT.run(this.#redis.command, [recordKey(id), logKey(id)], [String(this.#options.capacity)]);
    return replicaOf(reply, { capacity: this.#options.capacity, lagBudget: this.#options.lagBudget });
  }

  /** A record this instance holds is gone: lost with Redis's data (a new epoch), or deleted. */
  async #onMissing(journal: Journal): Promise<void> {
    try {
      // Another journal's look may have found the new epoch first, and had this one rewritten.
      if (!(await this.#watch!.checkEpoch()) && journal.missing) journal.fence();
    } catch {
      // Redis unreachable again: the next tick reads the epoch, and rewriteAll() covers this one.
      setTimeout(() => void this.#onMissing(journal), 500).unref();
    }
  }

  /** Redis lost its data: everything this instance holds is registered and written again. */
  #rewriteAll(): void {
    if (this.#journals.size > 0) {
      console.error(`chariot-exec: Redis lost its data (a new epoch): the ${this.#journals.size} executions held here are written again from what their logs keep`);
    }
    for (const { journal } of this.#journals.values()) journal.rewrite();
  }

  async #recheckCancels(): Promise<void> {
    const held = [...this.#journals.keys()];
    if (held.length === 0) return;
    try {
      const multi = this.#redis.command.multi();
      for (const id of held) multi.hGet(recordKey(id), 'cancel');
      const flags = (await multi.exec()) as unknown as (string | null)[];
      held.forEach((id, i) => {
        if (flags[i] === '1') this.#cancelListener?.(id);
      });
    } catch (error) {
      console.error(`chariot-exec: cancel requests could not be read from Redis: ${String(error)}`);
    }
  }
}
