// The failed-login throttle: at most N failures per user name and M per client address within
// a sliding window, after which /login answers 429 with Retry-After until the oldest failure
// leaves the window. An attempt counts from the moment it starts, so parallel guesses cannot
// overshoot the limit while their hashes run. Memory is bounded: each table holds at most
// MAX_TRACKED keys of fixed size, oldest first out; configured user names are never pushed out.
import { createHash } from 'node:crypto';
import { isIP } from 'node:net';
import { TooManyLoginAttemptsError } from './errors.js';

export interface LoginThrottleOptions {
  /** Failures per user name within the window before 429. */
  readonly failuresPerName: number;
  /** Failures per client address within the window before 429. */
  readonly failuresPerAddress: number;
  readonly windowMs: number;
  /** Names whose count is never evicted to make room (the configured users). */
  readonly isKnownName: (name: string) => boolean;
  /** Keys per table. Default MAX_TRACKED. */
  readonly maxTracked?: number;
  /** The clock, for tests. Default Date.now. */
  readonly now?: () => number;
}

/** Keys each table keeps at most (user names, addresses): a few MiB at the largest limits. */
export const MAX_TRACKED = 10_000;

/** The end of an attempt that `begin` let through: call exactly one. */
export interface LoginAttempt {
  succeeded(): void;
  failed(): void;
  /** Neither: the password was never checked (the hash queue was full, an error). */
  abandoned(): void;
}

interface Entry {
  /** Times of the failures still in the window, oldest first; at most `limit` of them. */
  readonly failures: number[];
  /** Attempts started and not yet ended. */
  pending: number;
  readonly pinned: boolean;
}

/** One table: failures per key in a sliding window, least recently touched first. */
class FailureWindow {
  readonly #entries = new Map<string, Entry>();
  readonly #limit: number;
  readonly #windowMs: number;
  readonly #cap: number;

  constructor(limit: number, windowMs: number, cap: number) {
    this.#limit = limit;
    this.#windowMs = windowMs;
    this.#cap = cap;
  }

  get size(): number {
    return this.#entries.size;
  }

  /** Milliseconds until another attempt on `key` may start; 0 when it may now. */
  wait(key: string, now: number): number {
    const entry = this.#entries.get(key);
    if (entry === undefined) return 0;
    this.#prune(entry, now);
    const excess = entry.failures.length + entry.pending - this.#limit + 1;
    if (excess <= 0) return 0;
    // Attempts in flight count as failures made now (the pessimistic answer).
    if (excess > entry.failures.length) return this.#windowMs;
    return entry.failures[excess - 1]! + this.#windowMs - now;
  }

  start(key: string, pinned: boolean, now: number): void {
    const entry = this.#touch(key, pinned, now);
    entry.pending += 1;
  }

  end(key: string, outcome: 'failed' | 'cleared' | 'none', now: number): void {
    const entry = this.#touch(key, false, now);
    entry.pending = Math.max(0, entry.pending - 1);
    if (outcome === 'cleared') entry.failures.length = 0;
    if (outcome === 'failed') {
      entry.failures.push(now);
      if (entry.failures.length > this.#limit) entry.failures.shift();
    }
    if (entry.failures.length === 0 && entry.pending === 0) this.#entries.delete(key);
  }

  /** The key's entry, moved to the newest end; made room for when new. */
  #touch(key: string, pinned: boolean, now: number): Entry {
    let entry = this.#entries.get(key);
    if (entry !== undefined) {
      this.#entries.delete(key);
      this.#prune(entry, now);
    } else {
      this.#makeRoom(now);
      entry = { failures: [], pending: 0, pinned };
    }
    this.#entries.set(key, entry);
    return entry;
  }

  #prune(entry: Entry, now: number): void {
    const horizon = now - this.#windowMs;
    let expired = 0;
    while (expired < entry.failures.length && entry.failures[expired]! <= horizon) expired += 1;
    if (expired > 0) entry.failures.splice(0, expired);
  }

  /** Drops expired entries from the old end, then, if still full, the oldest unpinned idle one. */
  #makeRoom(now: number): void {
    for (const [key, entry] of this.#entries) {
      this.#prune(entry, now);
      if (entry.failures.length > 0 || entry.pending > 0) break;
      this.#entries.delete(key);
    }
    if (this.#entries.size < this.#cap) return;
    for (const [key, entry] of this.#entries) {
      if (entry.pinned || entry.pending > 0) continue;
      this.#entries.delete(key);
      return;
    }
    // Every entry is pinned or in flight: both are bounded (configured users; requests that
    // passed the hash queue), so the table may exceed its cap by that much.
  }
}

export class LoginThrottle {
  readonly #names: FailureWindow;
  readonly #addresses: FailureWindow;
  readonly #isKnownName: (name: string) => boolean;
  readonly #now: () => number;

  constructor(options: LoginThrottleOptions) {
    const cap = options.maxTracked ?? MAX_TRACKED;
    this.#names = new FailureWindow(options.failuresPerName, options.windowMs, cap);
    this.#addresses = new FailureWindow(options.failuresPerAddress, options.windowMs, cap);
    this.#isKnownName = options.isKnownName;
    this.#now = options.now ?? Date.now;
  }

  /** User names and client addresses tracked now. */
  get tracked(): { names: number; addresses: number } {
    return { names: this.#names.size, addresses: this.#addresses.size };
  }

  /** Starts an attempt by `address` on `username`, or throws TooManyLoginAttemptsError. */
  begin(username: string, address: string): LoginAttempt {
    const now = this.#now();
    const nameKey = digest(username);
    const addressKey = clientKey(address);
    const nameWait = this.#names.wait(nameKey, now);
    const addressWait = this.#addresses.wait(addressKey, now);
    if (nameWait > 0 || addressWait > 0) {
      const seconds = Math.max(1, Math.ceil(Math.max(nameWait, addressWait) / 1000));
      throw new TooManyLoginAttemptsError(nameWait >= addressWait ? 'user name' : 'address', seconds);
    }
    this.#names.start(nameKey, this.#isKnownName(username), now);
    this.#addresses.start(addressKey, false, now);
    let ended = false;
    const end = (name: 'failed' | 'cleared' | 'none', addressOutcome: 'failed' | 'none'): void => {
      if (ended) return;
      ended = true;
      const at = this.#now();
      this.#names.end(nameKey, name, at);
      this.#addresses.end(addressKey, addressOutcome, at);
    };
    return {
      // A success clears the name's failures, not the address's: a user who knows one
      // password must not buy an address fresh guesses at other names.
      succeeded: () => end('cleared', 'none'),
      failed: () => end('failed', 'failed'),
      abandoned: () => end('none', 'none'),
    };
  }
}

/** A fixed-size key for an attacker-chosen string. */
function digest(text: string): string {
  return createHash('sha256').update(text).digest('base64url');
}

/**
 * The throttle's key for a client address: an IPv4 address as itself (also when IPv4-mapped),
 * an IPv6 address by its /64 (one host usually holds a whole /64), anything else digested.
 */
export function clientKey(address: string): string {
  const bare = address.replace(/%.*$/, '');
  const mapped = /^::ffff:(\d{1,3}(?:\.\d{1,3}){3})$/i.exec(bare);
  if (mapped !== null) return mapped[1]!;
  const family = isIP(bare);
  if (family === 4) return bare;
  if (family === 6) return `${ipv6Groups(bare).slice(0, 4).join(':')}::/64`;
  return `other:${digest(address)}`;
}

/** The eight groups of a valid IPv6 address, each as lower-case hex without leading zeros. */
function ipv6Groups(address: string): string[] {
  const [head = '', tail] = address.toLowerCase().split('::');
  const part = (text: string): string[] => (text === '' ? [] : text.split(':').flatMap((group) => {
    if (!group.includes('.')) return [group];
    const [a = 0, b = 0, c = 0, d = 0] = group.split('.').map(Number);
    return [((a << 8) | b).toString(16), ((c << 8) | d).toString(16)];
  }));
  const first = part(head);
  const last = tail === undefined ? [] : part(tail);
  const zeros = Array.from({ length: 8 - first.length - last.length }, () => '0');
  return [...first, ...zeros, ...last].map((group) => Number.parseInt(group, 16).toString(16));
}
