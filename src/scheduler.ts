// Admission to the worker pool: at most `capacity` executions run at once; the rest wait in
// one queue per owner, and a free slot goes to the owners in turn (round robin), so one owner
// flooding the queue delays another owner's execution by at most one turn per slot.
// The wait is bounded (CHARIOT_MAX_QUEUE_WAIT_MS): a submission whose predicted wait is longer
// is refused at once (QueueWaitError), and one that waited that long leaves the queue (`expire`).
// Nothing here knows about isolates or HTTP.
import { QueueFullError, QueueWaitError } from './errors.js';
import { RunPace } from './run-pace.js';

export interface Schedulable {
  readonly owner: string;
}

export interface SchedulerOptions {
  /** Executions running at once (threads × tasks per thread). */
  readonly capacity: number;
  /** Executions waiting before `submit` throws QueueFullError. */
  readonly maxQueue: number;
  /** How long an item may wait (CHARIOT_MAX_QUEUE_WAIT_MS). */
  readonly maxWaitMs: number;
  /** How fast slots free up; a new one, fed by the runs here, by default (tests give their own). */
  readonly pace?: RunPace;
}

export class Scheduler<T extends Schedulable> {
  readonly #options: SchedulerOptions;
  readonly #start: (item: T) => Promise<void>;
  readonly #expire: (item: T) => void;
  /** Owners with waiting items; Map order is the turn order. */
  readonly #queues = new Map<string, T[]>();
  /** When each waiting item was queued (ms); Map order is queueing order, the oldest first. */
  readonly #since = new Map<T, number>();
  readonly #pace: RunPace;
  #expiry: NodeJS.Timeout | undefined;
  #running = 0;

  /**
   * `start` runs an item and settles when its slot is free again; `expire` is told of an item
   * that waited `maxWaitMs` without starting, which has left the queue.
   */
  constructor(options: SchedulerOptions, start: (item: T) => Promise<void>, expire: (item: T) => void) {
    this.#options = options;
    this.#pace = options.pace ?? new RunPace();
    this.#start = start;
    this.#expire = expire;
  }

  get running(): number {
    return this.#running;
  }

  get queued(): number {
    return this.#since.size;
  }

  /**
   * How long an item of `owner` submitted now would wait, predicted from the items that would
   * start before it (its owner's own, and one per turn of each other owner) and the pace at
   * which slots free up; 0 when a slot is free.
   */
  predictedWaitMs(owner: string): number {
    if (this.#running < this.#options.capacity) return 0;
    return this.#pace.waitMs(this.#position(owner), this.#options.capacity);
  }

  /** Throws QueueFullError when the item would wait in a full queue, QueueWaitError when it would wait too long. */
  assertRoom(owner: string): void {
    if (this.#running < this.#options.capacity) return;
    if (this.#since.size >= this.#options.maxQueue) throw new QueueFullError(this.#options.maxQueue, 1);
    const predicted = this.predictedWaitMs(owner);
    if (predicted > this.#options.maxWaitMs) throw new QueueWaitError(predicted, this.#options.maxWaitMs);
  }

  /** Starts the item now or queues it; throws as assertRoom(), keeping nothing, if it cannot. */
  submit(item: T): void {
    this.assertRoom(item.owner);
    let queue = this.#queues.get(item.owner);
    if (!queue) this.#queues.set(item.owner, (queue = []));
    queue.push(item);
    this.#since.set(item, Date.now());
    this.#dispatch();
    if (this.#since.size > 0 && this.#expiry === undefined) this.#armExpiry();
  }

  /** Takes a waiting item out of the queue; false when it is not waiting. */
  remove(item: T): boolean {
    const queue = this.#queues.get(item.owner);
    const index = queue?.indexOf(item) ?? -1;
    if (!queue || index < 0) return false;
    queue.splice(index, 1);
    if (queue.length === 0) this.#queues.delete(item.owner);
    this.#since.delete(item);
    return true;
  }

  /** Removes and returns every waiting item. */
  drain(): T[] {
    const items = [...this.#since.keys()];
    this.#queues.clear();
    this.#since.clear();
    clearTimeout(this.#expiry);
    this.#expiry = undefined;
    return items;
  }

  /** Where a new item of `owner` would be in line: 1 when it would be next. */
  #position(owner: string): number {
    const own = this.#queues.get(owner)?.length ?? 0;
    let ahead = own;
    // Owners before it in the turn order get one turn more than those after it.
    let before = true;
    for (const [other, queue] of this.#queues) {
      if (other === owner) before = false;
      else ahead += Math.min(queue.length, before ? own + 1 : own);
    }
    return ahead + 1;
  }

  /** One timer, at the oldest waiting item's deadline. */
  #armExpiry(): void {
    const oldest = this.#since.values().next();
    if (oldest.done === true) {
      this.#expiry = undefined;
      return;
    }
    this.#expiry = setTimeout(() => this.#expireOverdue(), Math.max(0, oldest.value + this.#options.maxWaitMs - Date.now()));
    this.#expiry.unref();
  }

  #expireOverdue(): void {
    const cutoff = Date.now() - this.#options.maxWaitMs;
    for (const [item, since] of this.#since) {
      if (since > cutoff) break;
      this.remove(item);
      this.#expire(item);
    }
    this.#armExpiry();
  }

  #dispatch(): void {
    while (this.#running < this.#options.capacity && this.#queues.size > 0) {
      const [owner, queue] = this.#queues.entries().next().value as [string, T[]];
      const item = queue.shift() as T;
      // Move this owner to the back of the turn order.
      this.#queues.delete(owner);
      if (queue.length > 0) this.#queues.set(owner, queue);
      this.#since.delete(item);
      this.#running++;
      const began = performance.now();
      void this.#start(item).finally(() => {
        this.#running--;
        this.#pace.record(performance.now() - began);
        this.#dispatch();
      });
    }
  }
}
