// Open log streams per user: each open stream holds one of its user's slots, at most `limit`
// at once, and gives it back the moment it ends. One count for every kind of stream a user
// opens (SSE today), so that together they stay within the limit. A draining instance hands
// every open stream off (handOffAll()): each ends without `done`, and its client resumes on
// another instance.
import { TooManyStreamsError } from './errors.js';

/** One open stream's place in its user's count. */
export interface StreamSlot {
  /** Gives the slot back; only the first call counts. */
  release(): void;
  /** How to end the stream so that its client resumes on another instance (handOffAll()). */
  attach(handOff: () => void): void;
}

export class StreamSlots {
  readonly #limit: number;
  readonly #held = new Map<string, number>();
  /** How to hand off each open stream that said so. */
  readonly #handOffs = new Set<() => void>();
  #handingOff = false;
  #open = 0;

  /** `limit`: open streams per user (CHARIOT_MAX_STREAMS_PER_USER). */
  constructor(limit: number) {
    if (!Number.isInteger(limit) || limit < 1) throw new TypeError('limit must be a positive integer');
    this.#limit = limit;
  }

  get limit(): number {
    return this.#limit;
  }

  /** Open streams of every user. */
  get open(): number {
    return this.#open;
  }

  /** Open streams of `user`. */
  openOf(user: string): number {
    return this.#held.get(user) ?? 0;
  }

  /** A slot for a stream of `user`; throws TooManyStreamsError when all of theirs are held. */
  acquire(user: string): StreamSlot {
    const held = this.openOf(user);
    if (held >= this.#limit) throw new TooManyStreamsError(this.#limit);
    this.#held.set(user, held + 1);
    this.#open++;
    let released = false;
    let handOff: (() => void) | undefined;
    return {
      attach: (how) => {
        if (released) return;
        // Opened while the instance drains (its request came before): handed off at once.
        if (this.#handingOff) return how();
        handOff = how;
        this.#handOffs.add(how);
      },
      release: () => {
        if (released) return;
        released = true;
        if (handOff !== undefined) this.#handOffs.delete(handOff);
        this.#open--;
        const left = this.openOf(user) - 1;
        if (left === 0) this.#held.delete(user);
        else this.#held.set(user, left);
      },
    };
  }

  /**
   * Ends every open stream without `done`, so that each client resumes elsewhere (a draining
   * instance), and every stream opened from now on as soon as it starts.
   */
  handOffAll(): void {
    this.#handingOff = true;
    for (const handOff of [...this.#handOffs]) handOff();
  }
}
