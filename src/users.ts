// The users who may log in. Passwords from the configuration are hashed with scrypt and a
// random salt once at start-up and the clear text is dropped; a login is checked by hashing
// the attempt with the same salt and comparing in constant time. An unknown name costs the
// same scrypt as a known one, so timing does not tell which names exist. Each scrypt holds a
// libuv thread for tens of ms: logins hash a few at a time, with a short queue, and refuse
// beyond it (503), so that a flood of logins cannot take the thread pool from other work.
import { randomBytes, scrypt, timingSafeEqual, type BinaryLike } from 'node:crypto';
import { DEFAULTS, type UserSpec } from './config.js';
import { LoginBusyError } from './errors.js';

const KEY_LENGTH = 32;

function hash(password: BinaryLike, salt: Buffer): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    scrypt(password, salt, KEY_LENGTH, (error, key) => (error ? reject(error) : resolve(key)));
  });
}

export interface HashLimits {
  /** Hashes computed at once. */
  readonly concurrency: number;
  /** Logins waiting for a turn before LoginBusyError. */
  readonly queue: number;
}

/** At most `concurrency` tasks at once and `queue` waiting, in order; beyond that, LoginBusyError. */
class HashGate {
  readonly #limits: HashLimits;
  readonly #waiting: Array<() => void> = [];
  #running = 0;

  constructor(limits: HashLimits) {
    this.#limits = limits;
  }

  get running(): number {
    return this.#running;
  }

  get waiting(): number {
    return this.#waiting.length;
  }

  async run<T>(task: () => Promise<T>): Promise<T> {
    if (this.#running < this.#limits.concurrency) {
      this.#running += 1;
    } else {
      if (this.#waiting.length >= this.#limits.queue) throw new LoginBusyError();
      // The slot is handed over by the task that ends: #running stays the same.
      await new Promise<void>((resolve) => this.#waiting.push(resolve));
    }
    try {
      return await task();
    } finally {
      const next = this.#waiting.shift();
      if (next === undefined) this.#running -= 1;
      else next();
    }
  }
}

interface StoredUser {
  readonly salt: Buffer;
  readonly key: Buffer;
}

export class UserDirectory {
  readonly #users: ReadonlyMap<string, StoredUser>;
  readonly #decoy: StoredUser;
  readonly #gate: HashGate;

  private constructor(users: ReadonlyMap<string, StoredUser>, decoy: StoredUser, limits: HashLimits) {
    this.#users = users;
    this.#decoy = decoy;
    this.#gate = new HashGate(limits);
  }

  /** Hashes `specs`' passwords; logins then hash within `limits` (default: DEFAULTS.loginConcurrency, loginQueue). */
  static async create(
    specs: readonly UserSpec[],
    limits: HashLimits = { concurrency: DEFAULTS.loginConcurrency, queue: DEFAULTS.loginQueue },
  ): Promise<UserDirectory> {
    const entries = await Promise.all(specs.map(async ({ username, password }) => {
      const salt = randomBytes(16);
      return [username, { salt, key: await hash(password, salt) }] as const;
    }));
    const decoySalt = randomBytes(16);
    const decoy = { salt: decoySalt, key: await hash(randomBytes(16), decoySalt) };
    return new UserDirectory(new Map(entries), decoy, limits);
  }

  get size(): number {
    return this.#users.size;
  }

  /** Hashes of logins being computed now, and logins waiting for a turn. */
  get hashes(): { running: number; waiting: number } {
    return { running: this.#gate.running, waiting: this.#gate.waiting };
  }

  /** True when `username` is a configured user. */
  has(username: string): boolean {
    return this.#users.has(username);
  }

  /** True when `password` is `username`'s; LoginBusyError when too many logins wait already. */
  async verify(username: string, password: string): Promise<boolean> {
    const user = this.#users.get(username);
    const stored = user ?? this.#decoy;
    const attempt = await this.#gate.run(() => hash(password, stored.salt));
    return timingSafeEqual(attempt, stored.key) && user !== undefined;
  }
}
