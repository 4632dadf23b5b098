// The shared queue: in Redis mode every submission that cannot start at once where it arrived
// waits in Redis (scripts.ts ENQUEUE), and each instance takes work only while it has a free
// slot (CLAIM), so that work goes where capacity is, whichever instance the load balancer chose.
// The queue is one list per user plus a list of turns (round robin between users across all
// instances), so one user's thousand queued runs delay another user's single run by one turn.
//
// Nothing is polled: an instance with a free slot and nothing to take blocks in one XREAD on the
// queue's event stream (keys.ts QUEUE_EVENTS_KEY) after the newest event its last CLAIM saw; a
// submission adds an event, which wakes every waiting instance, and the first CLAIM wins. An
// event that came between that CLAIM and the XREAD has a newer id, so the XREAD returns at once:
// no submission is missed, and a lost reply is only a spurious wake.
import type { QueuedWork, SharedWork } from '../store.js';
import type { RedisConnections } from './connection.js';
import { QUEUE_EVENTS_KEY, TURNS_KEY, WAITING_KEY, heldKey } from './keys.js';
import { CLAIM } from './scripts.js';

/** Waits between tries when Redis could not be reached. */
const RETRY_MS = 200;

/** Runs taken work; settles when its slot is free again. */
export type StartWork = (work: QueuedWork) => Promise<void>;

export interface SharedQueueOptions {
  readonly instance: string;
  /** The claim this instance writes what it holds with. */
  readonly claim: string;
}

export class SharedQueue implements SharedWork {
  readonly #redis: RedisConnections;
  readonly #options: SharedQueueOptions;
  #capacity = 0;
  #start: StartWork | undefined;
  /** Slots in use: running, being claimed, or reserved for a submission taken at once. */
  #busy = 0;
  #queued = 0;
  /** The newest queue event the last empty CLAIM saw: the XREAD waits for one after it. */
  #newest = '0-0';
  #pumping = false;
  #again = false;
  #listening = false;
  #retry: NodeJS.Timeout | undefined;
  #failing = false;
  #paused = false;
  #closed = false;

  constructor(redis: RedisConnections, options: SharedQueueOptions) {
    this.#redis = redis;
    this.#options = options;
  }

  get queued(): number {
    return this.#queued;
  }

  get running(): number {
    return this.#busy;
  }

  begin(capacity: number, start: StartWork): void {
    this.#capacity = capacity;
    this.#start = start;
    this.#pump();
  }

  /** For ENQUEUE with a claim. */
  reserve(): boolean {
    if (this.#paused || this.#start === undefined || this.#busy >= this.#capacity) return false;
    this.#busy++;
    return true;
  }

  unreserve(): void {
    this.#slotFreed();
  }

  occupy(run: Promise<void>): void {
    void run.catch(() => undefined).finally(() => this.#slotFreed());
  }

  /** What waits stays for the other instances. */
  pause(): void {
    this.#paused = true;
    clearTimeout(this.#retry);
  }

  /** The wait's connection is closed by RedisConnections.close(), which ends a blocked XREAD. */
  close(): void {
    this.#closed = true;
    this.pause();
  }

  /** Submissions here noted how many wait now. */
  noteQueued(queued: number): void {
    this.#queued = queued;
  }

  #slotFreed(): void {
    this.#busy--;
    this.#pump();
  }

  /** Claims work while a slot is free; waits for a submission when there is none. One at a time. */
  #pump(): void {
    if (this.#pumping) {
      this.#again = true;
      return;
    }
    this.#pumping = true;
    void this.#claimWhileFree().finally(() => {
      this.#pumping = false;
    });
  }

  async #claimWhileFree(): Promise<void> {
    do {
      this.#again = false;
      while (!this.#paused && this.#start !== undefined && this.#busy < this.#capacity) {
        this.#busy++;
        let work: QueuedWork | undefined;
        try {
          work = await this.#claim();
        } catch (error) {
          this.#busy--;
          this.#failed('taking work from the shared queue', error);
          return;
        }
        this.#failing = false;
        if (work === undefined) {
          this.#busy--;
          this.#listen();
          break;
        }
        this.occupy(this.#start(work));
      }
    } while (this.#again);
  }

  async #claim(): Promise<QueuedWork | undefined> {
    const { instance, claim } = this.#options;
    const reply = (await CLAIM.run(this.#redis.command, [TURNS_KEY, WAITING_KEY, QUEUE_EVENTS_KEY, heldKey(instance)], [instance, claim])) as readonly (string | number)[];
    if (reply[0] === 0) {
      this.#newest = String(reply[1]);
      this.#queued = 0;
      return undefined;
    }
    const [, id, owner, program, created, queued] = reply;
    this.#queued = Number(queued);
    return { id: String(id), owner: String(owner), program: String(program), createdAt: new Date(Number(created)) };
  }

  /** Blocks until a submission after the newest event seen (one wait at a time), then claims. */
  #listen(): void {
    if (this.#listening || this.#paused) return;
    this.#listening = true;
    this.#redis.queue.sendCommand(['XREAD', 'BLOCK', '0', 'STREAMS', QUEUE_EVENTS_KEY, this.#newest]).then(
      () => {
        this.#listening = false;
        this.#pump();
      },
      (error: unknown) => {
        this.#listening = false;
        if (!this.#closed) this.#failed('waiting for work in the shared queue', error);
      },
    );
  }

  /** Redis unreachable: logged once, tried again shortly (the connection reconnects by itself). */
  #failed(what: string, error: unknown): void {
    if (this.#paused) return;
    if (!this.#failing) console.error(`chariot-exec: ${what} failed: ${String(error)}; retrying`);
    this.#failing = true;
    clearTimeout(this.#retry);
    this.#retry = setTimeout(() => this.#pump(), RETRY_MS);
    this.#retry.unref();
  }
}
