// Server-side session storage for koa-session: the cookie carries only an opaque key, so a
// logout ends the session for good, and a shared store (Redis) can replace this one.
export interface SessionStore {
  get(key: string): Promise<Record<string, unknown> | undefined>;
  set(key: string, session: Record<string, unknown>, maxAgeMs: number): Promise<void>;
  destroy(key: string): Promise<void>;
}

export class MemorySessionStore implements SessionStore {
  readonly #sessions = new Map<string, { session: Record<string, unknown>; expires: number }>();

  async get(key: string): Promise<Record<string, unknown> | undefined> {
    const entry = this.#sessions.get(key);
    if (entry === undefined) return undefined;
    if (entry.expires <= Date.now()) {
      this.#sessions.delete(key);
      return undefined;
    }
    return entry.session;
  }

  async set(key: string, session: Record<string, unknown>, maxAgeMs: number): Promise<void> {
    this.#sessions.set(key, { session, expires: Date.now() + maxAgeMs });
  }

  async destroy(key: string): Promise<void> {
    this.#sessions.delete(key);
  }

  /** Drops expired sessions; called by the server's periodic sweep. */
  sweep(now = Date.now()): void {
    for (const [key, entry] of this.#sessions) if (entry.expires <= now) this.#sessions.delete(key);
  }
}
