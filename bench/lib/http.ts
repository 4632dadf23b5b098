// An HTTP client for one server under load: an undici Pool (keep-alive connections, no
// per-request allocation of sockets) and the session cookies of the users it logged in.
import { Pool } from 'undici';

export interface HttpAnswer {
  readonly status: number;
  readonly text: string;
}

export class HttpTarget {
  readonly url: string;
  readonly #pool: Pool;

  /** `connections`: the most sockets open at once (a closed loop needs one per worker). */
  constructor(url: string, connections: number) {
    this.url = url;
    // No timeouts of undici's own: a slow answer is a measurement, not an error.
    this.#pool = new Pool(url, { connections, pipelining: 1, headersTimeout: 0, bodyTimeout: 0 });
  }

  /** Logs in and returns the Cookie header for that session. */
  async login(username: string, password: string): Promise<string> {
    const { statusCode, headers, body } = await this.#pool.request({
      method: 'POST',
      path: '/login',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ username, password }),
    });
    await body.dump();
    if (statusCode !== 200) throw new Error(`login as ${username} at ${this.url} answered ${statusCode}`);
    const setCookie = headers['set-cookie'];
    const lines = Array.isArray(setCookie) ? setCookie : setCookie === undefined ? [] : [setCookie];
    const cookie = lines.map((line) => line.split(';')[0]!.trim()).join('; ');
    if (cookie === '') throw new Error(`login as ${username} at ${this.url} set no cookie`);
    return cookie;
  }

  async post(path: string, json: unknown, cookie: string): Promise<HttpAnswer> {
    const { statusCode, body } = await this.#pool.request({
      method: 'POST',
      path,
      headers: { 'content-type': 'application/json', cookie },
      body: JSON.stringify(json),
    });
    return { status: statusCode, text: await body.text() };
  }

  /** A GET whose whole body is read: for an event stream, until the server ends it. */
  async get(path: string, cookie?: string): Promise<HttpAnswer> {
    const { statusCode, body } = await this.#pool.request({ method: 'GET', path, headers: cookie === undefined ? {} : { cookie } });
    return { status: statusCode, text: await body.text() };
  }

  close(): Promise<void> {
    return this.#pool.close();
  }
}

/** Logs in each named user (password: see passwordOf) and returns their Cookie headers, in order. */
export async function loginUsers(target: HttpTarget, names: readonly string[]): Promise<string[]> {
  return Promise.all(names.map((name) => target.login(name, passwordOf(name))));
}

export function passwordOf(name: string): string {
  return `${name}-bench-pw`;
}

/** The users of a benchmark and the CHARIOT_USERS (or FORK_USERS) value that declares them. */
export function benchUsers(count: number): { readonly names: string[]; readonly env: string } {
  const names = Array.from({ length: count }, (_, i) => `user${i}`);
  return { names, env: names.map((name) => `${name}:${passwordOf(name)}`).join(',') };
}
