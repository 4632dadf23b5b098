// Where executions are kept. The service talks to the ExecutionStore interface only: the
// in-memory store (one instance) and the Redis store (src/redis/, several instances behind a
// load balancer) are two classes of it, not two code paths. The methods are async for that reason.
import type { Execution } from './execution.js';
import type { InputMessage } from './input-queue.js';
import type { Outcome } from '../worker/protocol.js';

/** A live execution a stream reads (a copy, for one another instance holds); release() when done. */
export interface Lease {
  readonly execution: Execution;
  release(): void;
}

/** Called with the id of an execution this instance holds when another instance asked to cancel it. */
export type CancelRequest = (id: string) => void;

/**
 * Where a submitted execution went: `held`, this instance holds it and runs it; `queued`, it
 * waits in the queue every instance shares (Redis mode), where whichever has a free slot takes it.
 */
export type Placement = 'held' | 'queued';

/** An execution taken from the shared queue, as it was submitted. */
export interface QueuedWork {
  readonly id: string;
  readonly owner: string;
  readonly program: string;
  readonly createdAt: Date;
}

/** The queue every instance shares (Redis mode: src/redis/queue.ts) and this instance's slots. */
export interface SharedWork {
  /** Executions waiting in it, on every instance, as this instance last saw. */
  readonly queued: number;
  /** Slots in use here. */
  readonly running: number;
  /** Takes work while fewer than `capacity` slots are in use here; `start` settles when the slot is free. */
  begin(capacity: number, start: (work: QueuedWork) => Promise<void>): void;
  /** A slot for a submission taken here at once; false when none is free. */
  reserve(): boolean;
  /** Gives back a reserved slot that was not used. */
  unreserve(): void;
  /** A reserved slot runs `run`, free again when it settles. */
  occupy(run: Promise<void>): void;
  /** Takes no more work (draining, closing, or past CHARIOT_QUARANTINE_LIMIT). */
  pause(): void;
}

/** Called with a message (or the end) for the script of an execution this instance holds: the answer to one of its asks. */
export type InputDelivery = (id: string, message: InputMessage) => void;

/**
 * The input of executions kept where every instance reaches it (Redis mode: src/redis/input.ts),
 * in place of the InputQueue of each execution here.
 */
export interface SharedInput {
  /**
   * Keeps a message (or the end) for an unfinished execution of `owner`, wherever it runs or
   * waits; resolves with how many messages then wait undelivered. ExecutionNotFoundError,
   * AlreadyFinishedError, InputEndedError, TooMuchInputError, StorageUnavailableError.
   */
  send(id: string, owner: string, message: InputMessage): Promise<number>;
  /** The script of an execution held here called input() with nothing for it: answered once, through onInput(). */
  want(id: string): void;
  /** Where the answers to want() go. */
  onInput(deliver: InputDelivery): void;
  /** The execution ended here: what it did not read goes with it. */
  drop(id: string): void;
}

export interface ExecutionStore {
  /**
   * Registers a submitted execution: held here, or (a shared queue) waiting in it unless
   * `takeHere` (a slot reserved here) and nothing waits. TooManyExecutionsError past
   * CHARIOT_MAX_PER_USER and QueueFullError past CHARIOT_MAX_QUEUE where the store counts.
   */
  add(execution: Execution, takeHere: boolean): Promise<Placement>;
  /** Holds an execution this instance took from the shared queue: it is written through from now on. */
  hold(execution: Execution): void;
  /**
   * The live copy of a queued execution that this instance follows for its streams here, which it
   * has just taken to run: the copy stops following, and is what it holds (hold() it). Undefined
   * when there is none.
   */
  adopt(id: string): Execution | undefined;
  /** The queue every instance shares; undefined when this instance queues what it is given (in memory). */
  readonly queue: SharedWork | undefined;
  /** Input every instance reaches; undefined when each execution's input is kept where it runs (in memory). */
  readonly input: SharedInput | undefined;
  /** Forgets an execution at once (one whose submission was refused after it was added), and its log (Execution.forget()). */
  remove(id: string): Promise<void>;
  /** An execution as stored now: for a shared store, a copy (not kept up to date). */
  get(id: string): Promise<Execution | undefined>;
  /** An execution kept up to date while leased, for streams and for waiting on its end. */
  follow(id: string): Promise<Lease | undefined>;
  /** The owner's executions, newest first. */
  listByOwner(owner: string): Promise<readonly Execution[]>;
  /** Forgets executions that finished before `cutoff` (ms since the epoch), and their logs (Execution.forget()); returns how many. */
  sweep(cutoff: number): Promise<number>;
  /**
   * Records how an execution this instance holds ends, before it ends here: resolves with its
   * time once other instances can read it (undefined: at once, nothing to write).
   */
  end(execution: Execution, outcome: Outcome): Promise<Date> | undefined;
  /** Asks the instance holding an execution held elsewhere to cancel it (stored first). */
  requestCancel(id: string): Promise<'asked' | 'finished' | 'unknown'>;
  /** Where requests to cancel an execution this instance holds arrive. */
  onCancelRequest(listener: CancelRequest): void;
  close(): Promise<void>;
}

export class MemoryExecutionStore implements ExecutionStore {
  readonly #byId = new Map<string, Execution>();
  /** Insertion order is submission order; listing reads it backwards. */
  readonly #byOwner = new Map<string, Set<Execution>>();

  readonly queue = undefined;
  readonly input = undefined;

  async add(execution: Execution): Promise<Placement> {
    this.#byId.set(execution.id, execution);
    let owned = this.#byOwner.get(execution.owner);
    if (!owned) this.#byOwner.set(execution.owner, (owned = new Set()));
    owned.add(execution);
    return 'held';
  }

  /** Nothing is taken from elsewhere: there is no shared queue. */
  hold(): void {}

  /** Nothing is followed: every execution here is the one that runs. */
  adopt(): undefined {
    return undefined;
  }

  async remove(id: string): Promise<void> {
    const execution = this.#byId.get(id);
    if (execution !== undefined) this.#forget(execution);
  }

  async get(id: string): Promise<Execution | undefined> {
    return this.#byId.get(id);
  }

  async listByOwner(owner: string): Promise<readonly Execution[]> {
    return [...(this.#byOwner.get(owner) ?? [])].reverse();
  }

  async sweep(cutoff: number): Promise<number> {
    let removed = 0;
    for (const execution of this.#byId.values()) {
      const completedAt = execution.completedAt;
      if (completedAt === undefined || completedAt.getTime() >= cutoff) continue;
      this.#forget(execution);
      removed++;
    }
    return removed;
  }

  async follow(id: string): Promise<Lease | undefined> {
    const execution = this.#byId.get(id);
    return execution === undefined ? undefined : { execution, release: () => undefined };
  }

  /** The execution is the record: there is nothing to write. */
  end(): undefined {
    return undefined;
  }

  /** Every execution in memory is this instance's own: none is held elsewhere. */
  async requestCancel(): Promise<'unknown'> {
    return 'unknown';
  }

  /** No other instance can ask. */
  onCancelRequest(): void {}

  async close(): Promise<void> {
    this.#byId.clear();
    this.#byOwner.clear();
  }

  /** Forgets it here, and gives up its log (whoever still reads it). */
  #forget(execution: Execution): void {
    execution.forget();
    this.#byId.delete(execution.id);
    const owned = this.#byOwner.get(execution.owner);
    owned?.delete(execution);
    if (owned?.size === 0) this.#byOwner.delete(execution.owner);
  }
}
