// Admission to the worker pool: at most `capacity` executions run at once; the rest wait in
// one queue per owner, and a free slot goes to the owners in turn (round robin), so one owner
// flooding the queue delays another owner's execution by at most one turn per slot.
// Nothing here knows about isolates or HTTP.
import { QueueFullError } from './errors.js';

export interface Schedulable {
  readonly owner: string;
}

export interface SchedulerOptions {
  /** Executions running at once (threads × tasks per thread). */
  readonly capacity: number;
  /** Executions waiting before `submit` throws QueueFullError. */
  readonly maxQueue: number;
}

export class Scheduler<T extends Schedulable> {
  readonly #options: SchedulerOptions;
  readonly #start: (item: T) => Promise<void>;
  /** Owners with waiting items; Map order is the turn order. */
  readonly #queues = new Map<string, T[]>();
  #queued = 0;
  #running = 0;

  /** `start` runs an item and settles when its slot is free again. */
  constructor(options: SchedulerOptions, start: (item: T) => Promise<void>) {
    this.#options = options;
    this.#start = start;
  }

  get running(): number {
    return this.#running;
  }

  get queued(): number {
    return this.#queued;
  }

  /** Throws QueueFullError when the item would have to wait and the queue is full. */
  assertRoom(): void {
    if (this.#running < this.#options.capacity) return;
    if (this.#queued >= this.#options.maxQueue) {
      throw new QueueFullError(this.#options.maxQueue, 1);
    }
  }

  /** Starts the item now or queues it; throws QueueFullError, keeping nothing, if it cannot. */
  submit(item: T): void {
    this.assertRoom();
    let queue = this.#queues.get(item.owner);
    if (!queue) this.#queues.set(item.owner, (queue = []));
    queue.push(item);
    this.#queued++;
    this.#dispatch();
  }

  /** Takes a waiting item out of the queue; false when it is not waiting. */
  remove(item: T): boolean {
    const queue = this.#queues.get(item.owner);
    const index = queue?.indexOf(item) ?? -1;
    if (!queue || index < 0) return false;
    queue.splice(index, 1);
    if (queue.length === 0) this.#queues.delete(item.owner);
    this.#queued--;
    return true;
  }

  /** Removes and returns every waiting item. */
  drain(): T[] {
    const items = [...this.#queues.values()].flat();
    this.#queues.clear();
    this.#queued = 0;
    return items;
  }

  #dispatch(): void {
    while (this.#running < this.#options.capacity && this.#queued > 0) {
      const [owner, queue] = this.#queues.entries().next().value as [string, T[]];
      const item = queue.shift() as T;
      // Move this owner to the back of the turn order.
      this.#queues.delete(owner);
      if (queue.length > 0) this.#queues.set(owner, queue);
      this.#queued--;
      this.#running++;
      void this.#start(item).finally(() => {
        this.#running--;
        this.#dispatch();
      });
    }
  }
}
