// Where executions are kept. The service talks to the ExecutionStore interface only: the
// in-memory store (one instance) and the Redis store (src/redis/, several instances behind a
// load balancer) are two classes of it, not two code paths. The methods are async for that reason.
import type { Execution } from './execution.js';
import type { Outcome } from '../worker/protocol.js';

/** A live execution a stream reads (a copy, for one another instance holds); release() when done. */
export interface Lease {
  readonly execution: Execution;
  release(): void;
}

/** Called with the id of an execution this instance holds when another instance asked to cancel it. */
export type CancelRequest = (id: string) => void;

export interface ExecutionStore {
  /** Registers a submitted execution, which this instance holds from now on; TooManyExecutionsError past CHARIOT_MAX_PER_USER where the store counts. */
  add(execution: Execution): Promise<void>;
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

  async add(execution: Execution): Promise<void> {
    this.#byId.set(execution.id, execution);
    let owned = this.#byOwner.get(execution.owner);
    if (!owned) this.#byOwner.set(execution.owner, (owned = new Set()));
    owned.add(execution);
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
