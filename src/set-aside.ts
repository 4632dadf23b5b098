// SetAsideLedger: who set isolates aside. An isolate is set aside (quarantined) when V8 cannot
// stop or free it (a built-in that never sees the request to terminate, a fatal error); its
// memory, and often a thread's time, stay spent until the process restarts. Such isolates
// count against the user whose execution had them: at CHARIOT_QUARANTINE_PER_USER that user
// alone is refused for CHARIOT_QUARANTINE_COOLDOWN_MS, then counts from zero again. The total,
// whoever caused it, is CHARIOT_QUARANTINE_LIMIT's (ExecutionManager: the server restarts).
import { SetAsideLimitError } from './errors.js';

export interface SetAsideOptions {
  /** Isolates one user may have set aside before they are refused (CHARIOT_QUARANTINE_PER_USER). */
  readonly perUser: number;
  /** How long such a user is refused, in ms (CHARIOT_QUARANTINE_COOLDOWN_MS). */
  readonly cooldownMs: number;
}

export class SetAsideLedger {
  readonly #options: SetAsideOptions;
  readonly #now: () => number;
  /** Isolates set aside per user since their last cooldown (or start). */
  readonly #counts = new Map<string, number>();
  /** Users refused, until when (ms since the epoch). */
  readonly #refusedUntil = new Map<string, number>();

  constructor(options: SetAsideOptions, now: () => number = Date.now) {
    this.#options = options;
    this.#now = now;
  }

  /** One of `owner`'s isolates was set aside; at the limit, the cooldown starts. */
  record(owner: string): void {
    const count = (this.#counts.get(owner) ?? 0) + 1;
    if (count < this.#options.perUser) {
      this.#counts.set(owner, count);
      return;
    }
    this.#counts.delete(owner);
    this.#refusedUntil.set(owner, this.#now() + this.#options.cooldownMs);
  }

  /** The error `owner` is refused with now, if any. */
  refusal(owner: string): SetAsideLimitError | undefined {
    const until = this.#refusedUntil.get(owner);
    if (until === undefined) return undefined;
    const left = until - this.#now();
    if (left <= 0) {
      this.#refusedUntil.delete(owner);
      return undefined;
    }
    return new SetAsideLimitError(this.#options.perUser, Math.ceil(left / 1000));
  }
}
