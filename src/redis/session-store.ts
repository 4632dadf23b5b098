// Sessions in Redis, so that a session made on one instance works on every other: one string
// of JSON per session key, expiring with the session (PX), and deleted at logout. While Redis
// cannot be used, every call that needs a session answers 503 REDIS_UNAVAILABLE.
import type { SessionStore } from '../session-store.js';
import type { RedisClient } from './connection.js';
import { sessionKey } from './keys.js';
import { guarded } from './unavailable.js';

export class RedisSessionStore implements SessionStore {
  readonly #redis: RedisClient;

  constructor(redis: RedisClient) {
    this.#redis = redis;
  }

  async get(key: string): Promise<Record<string, unknown> | undefined> {
    const text = await guarded(() => this.#redis.get(sessionKey(key)));
    if (text === null) return undefined;
    const session = JSON.parse(text) as unknown;
    return typeof session === 'object' && session !== null ? (session as Record<string, unknown>) : undefined;
  }

  async set(key: string, session: Record<string, unknown>, maxAgeMs: number): Promise<void> {
    await guarded(() => this.#redis.set(sessionKey(key), JSON.stringify(session), { PX: Math.max(1, Math.floor(maxAgeMs)) }));
  }

  async destroy(key: string): Promise<void> {
    await guarded(() => this.#redis.del(sessionKey(key)));
  }
}
