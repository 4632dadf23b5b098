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
//
// The wait is bounded (CHARIOT_MAX_QUEUE_WAIT_MS): ENQUEUE refuses a submission whose predicted
// wait is longer, from the pace every instance publishes here (PACE_KEY: its slots over the mean
// time a run holds one); CLAIM ends instead of taking one that waited longer, and every instance
// ends those that did at the oldest one's deadline (EXPIRE_WAITING), which it learns from its
// own submissions, or looks for at least once per CHARIOT_MAX_QUEUE_WAIT_MS.
//
// Nothing is left claimed by an instance that will not run it: a CLAIM repeated after its reply
// was lost (or timed out after Redis ran it) carries the same ticket and gets the same execution;
// a claim that comes back after the instance began draining is put back (UNCLAIM), and so, at
// close, is whatever it still holds queued under its claim.
import type { QueuedWork, SharedWork } from '../store.js';
import type { RedisConnections } from './connection.js';
import { queueWaitMessage } from '../errors.js';
import { RunPace } from '../run-pace.js';
import { randomUUID } from 'node:crypto';
import { PACE_KEY, QUEUE_EVENTS_KEY, TURNS_KEY, WAITING_KEY, heldKey, ticketKey } from './keys.js';
import { CLAIM, EXPIRE_WAITING, UNCLAIM } from './scripts.js';

/** Waits between tries when Redis could not be reached. */
const RETRY_MS = 200;
/** This instance's pace is written again when it moved by this much, at most once per PACE_EVERY_MS. */
const PACE_CHANGE = 0.1;
const PACE_EVERY_MS = 1000;

/** Runs taken work; settles when its slot is free again. */
export type StartWork = (work: QueuedWork) => Promise<void>;

export interface SharedQueueOptions {
  readonly instance: string;
  /** The claim this instance writes what it holds with. */
  readonly claim: string;
  /** CHARIOT_MAX_QUEUE_WAIT_MS. */
  readonly maxWaitMs: number;
  readonly retentionMs: number;
}

export class SharedQueue implements SharedWork {
  readonly #redis: RedisConnections;
  readonly #options: SharedQueueOptions;
  #capacity = 0;
  #start: StartWork | undefined;
  /** Slots in use: running, being claimed, or reserved for a submission taken at once. */
  #busy = 0;
  /** Of those, the one a CLAIM on its way holds (not running anything yet). */
  #claiming = 0;
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
  readonly #pace = new RunPace();
  /** The pace last written (runs per ms), and when. */
  #published = 0;
  #publishedAt = 0;
  /** The next look for executions that waited too long, and the time it is set for. */
  #expiry: NodeJS.Timeout | undefined;
  #expiryAt = Number.POSITIVE_INFINITY;
  /** How one that waited too long ends (JSON of an Outcome). */
  readonly #overdue: string;
  /** The next CLAIM's ticket: a new one only once a CLAIM was answered (a repeat gets the same work). */
  #ticket = randomUUID();

  constructor(redis: RedisConnections, options: SharedQueueOptions) {
    this.#redis = redis;
    this.#options = options;
    this.#overdue = JSON.stringify({ status: 'error', reason: 'queue', message: queueWaitMessage(options.maxWaitMs) });
  }

  get queued(): number {
    return this.#queued;
  }

  /** Slots running an execution (or about to: reserved for a submission), not those a CLAIM holds. */
  get running(): number {
    return this.#busy - this.#claiming;
  }

  begin(capacity: number, start: StartWork): void {
    this.#capacity = capacity;
    this.#start = start;
    this.#pump();
    this.#expireAt(Date.now() + this.#options.maxWaitMs);
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
    const began = performance.now();
    void run.catch(() => undefined).finally(() => {
      this.#pace.record(performance.now() - began);
      this.#publishPace();
      this.#slotFreed();
    });
  }

  /** What waits stays for the other instances. */
  pause(): void {
    if (this.#paused) return;
    this.#paused = true;
    clearTimeout(this.#retry);
    // No prediction counts on slots that take no more work.
    this.#redis.command.hDel(PACE_KEY, this.#options.instance).catch(() => undefined);
  }

  /**
   * Stops taking, and puts back what it claimed and never ran (everything it ran has ended).
   * The wait's connection is closed by RedisConnections.close(), which ends a blocked XREAD.
   */
  async close(): Promise<void> {
    this.#closed = true;
    this.pause();
    clearTimeout(this.#expiry);
    // Claimed here and never run (a claim whose reply was lost): waiting again, for the others.
    await this.#unclaim([]).catch(() => undefined);
  }

  /** A submission here saw how many wait now, and since when the oldest of them (ms; undefined: none). */
  noteQueued(queued: number, oldest: number | undefined): void {
    this.#queued = queued;
    if (oldest !== undefined) this.#expireAt(oldest + this.#options.maxWaitMs);
  }

  /** Looks for executions that waited too long at `at` (or sooner, when already set sooner). */
  #expireAt(at: number): void {
    if (this.#closed || at >= this.#expiryAt) return;
    clearTimeout(this.#expiry);
    this.#expiryAt = at;
    this.#expiry = setTimeout(() => void this.#expireOverdue(), Math.max(0, at - Date.now()));
    this.#expiry.unref();
  }

  async #expireOverdue(): Promise<void> {
    this.#expiryAt = Number.POSITIVE_INFINITY;
    const now = Date.now();
    let next = now + this.#options.maxWaitMs;
    try {
      const [ended, oldest, waiting] = (await EXPIRE_WAITING.run(this.#redis.command, [WAITING_KEY], [
        String(now - this.#options.maxWaitMs), String(now), String(this.#options.retentionMs), this.#overdue,
      ])) as readonly number[];
      this.#queued = waiting ?? this.#queued;
      if (ended === 1000) next = now;
      else if (oldest !== undefined && oldest >= 0) next = Math.min(next, oldest + this.#options.maxWaitMs);
    } catch {
      // Redis unreachable: the next look (at most a wait limit away) tries again.
      next = now + RETRY_MS;
    }
    this.#expireAt(next);
  }

  /** Writes this instance's pace when it moved, for the predictions of every instance. */
  #publishPace(): void {
    const rate = this.#pace.rate(this.#capacity);
    const now = Date.now();
    if (rate === undefined || this.#paused || now - this.#publishedAt < PACE_EVERY_MS) return;
    if (this.#published > 0 && Math.abs(rate - this.#published) <= PACE_CHANGE * this.#published) return;
    this.#published = rate;
    this.#publishedAt = now;
    this.#redis.command.hSet(PACE_KEY, this.#options.instance, String(rate)).catch(() => {
      this.#publishedAt = 0;
    });
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
        this.#claiming++;
        let work: QueuedWork | 'again' | undefined;
        try {
          work = await this.#claim();
        } catch (error) {
          this.#busy--;
          this.#failed('taking work from the shared queue', error);
          return;
        } finally {
          this.#claiming--;
        }
        this.#failing = false;
        if (work === 'again') {
          this.#busy--;
          continue;
        }
        if (work === undefined) {
          this.#busy--;
          this.#listen();
          break;
        }
        if (this.#paused) {
          // It began draining or closing while the claim was on its way: the others take it.
          this.#busy--;
          await this.#unclaim([work.id]).catch((error: unknown) => this.#failed('putting back a claimed execution', error));
          return;
        }
        this.occupy(this.#start(work));
      }
    } while (this.#again);
  }

  /** The next execution to run here; undefined when none waits; 'again' to be asked again at once. */
  async #claim(): Promise<QueuedWork | 'again' | undefined> {
    const { instance, claim, maxWaitMs, retentionMs } = this.#options;
    const reply = (await CLAIM.run(this.#redis.command, [TURNS_KEY, WAITING_KEY, QUEUE_EVENTS_KEY, heldKey(instance), ticketKey(instance)], [
      instance, claim, String(Date.now()), String(maxWaitMs), String(retentionMs), this.#overdue, this.#ticket,
    ])) as readonly (string | number)[];
    // Answered: the next CLAIM is a new one.
    this.#ticket = randomUUID();
    if (reply[0] === 2) return 'again';
    if (reply[0] === 0) {
      this.#newest = String(reply[1]);
      this.#queued = 0;
      return undefined;
    }
    const [, id, owner, program, created, queued] = reply;
    this.#queued = Number(queued);
    return { id: String(id), owner: String(owner), program: String(program), createdAt: new Date(Number(created)) };
  }

  /** Puts back what this instance claimed and will not run (all it still has queued: no ids). */
  async #unclaim(ids: readonly string[]): Promise<void> {
    const { instance, claim } = this.#options;
    await UNCLAIM.run(this.#redis.command, [heldKey(instance), TURNS_KEY, WAITING_KEY, QUEUE_EVENTS_KEY], [claim, ...ids]);
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
