// Signs the session cookie and checks its signature, for Koa's `app.keys` (the `cookies`
// package asks it to sign, and for the index of the key a signature was made with): the same
// signatures keygrip makes (HMAC-SHA1, base64url without padding, the first key signs, every
// key is tried), with each key made into a KeyObject once and the comparison by
// crypto.timingSafeEqual. Given an array, `cookies` makes a new Keygrip on every request,
// which compares with tsscmp, a double HMAC under a fresh random key: measured, about 0.1 ms
// of the main thread's 0.66 ms per trivial execution (bench/README.md, "Where a trivial
// run's time goes").
import { createHmac, createSecretKey, timingSafeEqual, type KeyObject } from 'node:crypto';
import type Keygrip from 'keygrip';

export class CookieSigner implements Keygrip {
  readonly #keys: readonly KeyObject[];

  constructor(keys: readonly string[]) {
    if (keys.length === 0) throw new Error('A cookie signer needs at least one key');
    this.#keys = keys.map((key) => createSecretKey(Buffer.from(key)));
  }

  sign(data: string): string {
    return this.#signWith(this.#keys[0]!, data);
  }

  verify(data: string, digest: string): boolean {
    return this.index(data, digest) >= 0;
  }

  /** The index of the key that made `digest` for `data`, or -1. */
  index(data: string, digest: string): number {
    const given = Buffer.from(String(digest));
    for (let i = 0; i < this.#keys.length; i++) {
      const expected = Buffer.from(this.#signWith(this.#keys[i]!, data));
      if (expected.length === given.length && timingSafeEqual(expected, given)) return i;
    }
    return -1;
  }

  #signWith(key: KeyObject, data: string): string {
    return createHmac('sha1', key).update(data).digest('base64url');
  }
}
