// The users who may log in. Passwords from the configuration are hashed with scrypt and a
// random salt once at start-up and the clear text is dropped; a login is checked by hashing
// the attempt with the same salt and comparing in constant time. An unknown name costs the
// same scrypt as a known one, so timing does not tell which names exist.
import { randomBytes, scrypt, timingSafeEqual, type BinaryLike } from 'node:crypto';
import type { UserSpec } from './config.js';

const KEY_LENGTH = 32;

function hash(password: BinaryLike, salt: Buffer): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    scrypt(password, salt, KEY_LENGTH, (error, key) => (error ? reject(error) : resolve(key)));
  });
}

interface StoredUser {
  readonly salt: Buffer;
  readonly key: Buffer;
}

export class UserDirectory {
  readonly #users: ReadonlyMap<string, StoredUser>;
  readonly #decoy: StoredUser;

  private constructor(users: ReadonlyMap<string, StoredUser>, decoy: StoredUser) {
    this.#users = users;
    this.#decoy = decoy;
  }

  static async create(specs: readonly UserSpec[]): Promise<UserDirectory> {
    const entries = await Promise.all(specs.map(async ({ username, password }) => {
      const salt = randomBytes(16);
      return [username, { salt, key: await hash(password, salt) }] as const;
    }));
    const decoySalt = randomBytes(16);
    return new UserDirectory(new Map(entries), { salt: decoySalt, key: await hash(randomBytes(16), decoySalt) });
  }

  get size(): number {
    return this.#users.size;
  }

  /** True when `username` is a configured user. */
  has(username: string): boolean {
    return this.#users.has(username);
  }

  /** True when `password` is `username`'s. */
  async verify(username: string, password: string): Promise<boolean> {
    const user = this.#users.get(username);
    const stored = user ?? this.#decoy;
    const attempt = await hash(password, stored.salt);
    return timingSafeEqual(attempt, stored.key) && user !== undefined;
  }
}
