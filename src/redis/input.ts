// Input from any instance (Redis mode): every POST .../input, on whichever instance, keeps its
// message in Redis under the execution (scripts.ts INPUT: the checks, the limits across
// instances and the push in one step), and the instance holding the execution reads it from
// there for its script's input() calls (TAKE_INPUT), when one asks and when woken on its control
// channel for a message that an input() waited for. Reads are repeatable (cursors, not pops), so
// a lost reply loses nothing; a read that fails (Redis unreachable) is tried again until it
// succeeds or the execution ends, its input() waiting meanwhile.
import { AlreadyFinishedError, ExecutionNotFoundError, InputEndedError, TooMuchInputError } from '../errors.js';
import type { InputLimits, InputMessage } from '../input-queue.js';
import type { InputDelivery, SharedInput } from '../store.js';
import type { RedisClient } from './connection.js';
import { inputKey, recordKey } from './keys.js';
import { INPUT, TAKE_INPUT } from './scripts.js';
import { guarded } from './unavailable.js';

/** Waits between tries of a read that failed, from the first to the longest. */
const RETRY_MS = [50, 200, 1000];

/** The input of one execution this instance holds, as its holder reads it. */
interface Feed {
  /** input() calls its script made (asks), and of them those answered. */
  asked: number;
  answered: number;
  /** List items received: the read's cursor. */
  have: number;
  /** The end was received: every ask from now on is answered here. */
  ended: boolean;
  reading: boolean;
  /** Another read is due once this one is answered. */
  again: boolean;
  failures: number;
  retry: NodeJS.Timeout | undefined;
}

export class RedisInput implements SharedInput {
  readonly #redis: RedisClient;
  readonly #claim: string;
  readonly #limits: InputLimits;
  readonly #feeds = new Map<string, Feed>();
  #deliver: InputDelivery | undefined;

  constructor(redis: RedisClient, claim: string, limits: InputLimits) {
    this.#redis = redis;
    this.#claim = claim;
    this.#limits = limits;
  }

  onInput(deliver: InputDelivery): void {
    this.#deliver = deliver;
  }

  async send(id: string, owner: string, message: InputMessage): Promise<number> {
    let item = 'e';
    if ('data' in message) {
      const bytes = Buffer.byteLength(message.data);
      if (bytes > this.#limits.maxBytes) throw new TooMuchInputError('message', bytes, this.#limits);
      item = `d${message.data}`;
    }
    const reply = (await guarded(() => INPUT.run(this.#redis, [recordKey(id), inputKey(id)], [
      owner, item, String(this.#limits.maxQueued), String(this.#limits.maxBytes),
    ]))) as readonly (number | string)[];
    switch (reply[0]) {
      case 1: return Number(reply[1]);
      case 0: throw new AlreadyFinishedError(String(reply[1]));
      case -2: throw new InputEndedError();
      case -3: throw new TooMuchInputError('messages', Buffer.byteLength(item) - 1, this.#limits);
      case -4: throw new TooMuchInputError('bytes', Buffer.byteLength(item) - 1, this.#limits);
      default: throw new ExecutionNotFoundError();
    }
  }

  want(id: string): void {
    const feed = this.#feedOf(id);
    feed.asked++;
    if (feed.ended) return this.#answer(id, feed, { end: true });
    this.#read(id, feed);
  }

  wake(id: string): void {
    const feed = this.#feeds.get(id);
    if (feed !== undefined && !feed.ended && feed.answered < feed.asked) this.#read(id, feed);
  }

  /** Reads again for every execution whose script waits (a wake may have been missed while unsubscribed). */
  recheck(): void {
    for (const id of [...this.#feeds.keys()]) this.wake(id);
  }

  drop(id: string): void {
    const feed = this.#feeds.get(id);
    if (feed === undefined) return;
    clearTimeout(feed.retry);
    this.#feeds.delete(id);
  }

  close(): void {
    for (const id of [...this.#feeds.keys()]) this.drop(id);
  }

  #feedOf(id: string): Feed {
    let feed = this.#feeds.get(id);
    if (feed === undefined) {
      feed = { asked: 0, answered: 0, have: 0, ended: false, reading: false, again: false, failures: 0, retry: undefined };
      this.#feeds.set(id, feed);
    }
    return feed;
  }

  #answer(id: string, feed: Feed, message: InputMessage): void {
    feed.answered++;
    this.#deliver?.(id, message);
  }

  /** One read at a time per execution, so that its cursors only move forward. */
  #read(id: string, feed: Feed): void {
    if (feed.reading || feed.retry !== undefined) {
      feed.again = true;
      return;
    }
    feed.reading = true;
    feed.again = false;
    const { have, asked } = feed;
    TAKE_INPUT.run(this.#redis, [recordKey(id), inputKey(id)], [this.#claim, String(have), String(asked)]).then((reply) => {
      feed.reading = false;
      feed.failures = 0;
      if (this.#feeds.get(id) !== feed) return;
      // Fenced: another instance ended it or took it over; this one stops running it.
      if (reply === null) return this.drop(id);
      this.#received(id, feed, reply as readonly string[]);
      if (feed.again && !feed.ended) this.#read(id, feed);
    }, (error: unknown) => {
      feed.reading = false;
      if (this.#feeds.get(id) !== feed) return;
      if (feed.failures === 0) console.error(`chariot-exec: the input of ${id} could not be read from Redis, trying again: ${String(error)}`);
      const wait = RETRY_MS[Math.min(feed.failures, RETRY_MS.length - 1)]!;
      feed.failures++;
      feed.retry = setTimeout(() => {
        feed.retry = undefined;
        this.#read(id, feed);
      }, wait);
      feed.retry.unref();
    });
  }

  /** Hands the items read to the asks in order: a message each, the end to all that wait. */
  #received(id: string, feed: Feed, items: readonly string[]): void {
    feed.have += items.length;
    for (const item of items) {
      if (item === 'e') {
        feed.ended = true;
        // The worker answers every input() that waits, and every later one, with this one end.
        feed.answered = feed.asked;
        this.#deliver?.(id, { end: true });
        return;
      }
      this.#answer(id, feed, { data: item.slice(1) });
    }
  }
}
