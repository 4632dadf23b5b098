// Where executions are kept. The service talks to the ExecutionStore interface only, so a
// shared store (Redis, for several instances behind a load balancer) is a second class
// beside MemoryExecutionStore, not a second code path. The methods are async for that reason.
import type { Execution } from './execution.js';

export interface ExecutionStore {
  add(execution: Execution): Promise<void>;
  /** Forgets an execution at once (one whose submission was refused after it was added), and its log (Execution.forget()). */
  remove(id: string): Promise<void>;
  get(id: string): Promise<Execution | undefined>;
  /** The owner's executions, newest first. */
  listByOwner(owner: string): Promise<readonly Execution[]>;
  /** Forgets executions that finished before `cutoff` (ms since the epoch), and their logs (Execution.forget()); returns how many. */
  sweep(cutoff: number): Promise<number>;
  /** Every execution not yet finished. */
  unfinished(): Promise<readonly Execution[]>;
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

  async unfinished(): Promise<readonly Execution[]> {
    return [...this.#byId.values()].filter((execution) => !execution.finished);
  }

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
