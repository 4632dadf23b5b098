// A small HTTP client bound to one server, keeping the session cookie the way a browser
// would: every Set-Cookie updates the jar, an expired or emptied cookie leaves it.
import type { Agent } from 'node:http';
import { SseStream } from './sse.js';

export type Json = null | boolean | number | string | Json[] | { [key: string]: Json };

export interface HttpResult {
  readonly status: number;
  readonly headers: Headers;
  /** Parsed JSON when the content type says JSON; otherwise the raw text. */
  readonly body: Json;
  readonly text: string;
}

export class Client {
  readonly baseUrl: string;
  readonly #cookies = new Map<string, string>();

  /** `cookieHeader` seeds the jar, e.g. to replay a captured session. */
  constructor(baseUrl: string, cookieHeader?: string) {
    this.baseUrl = baseUrl;
    for (const pair of cookieHeader?.split(';') ?? []) {
      const eq = pair.indexOf('=');
      if (eq > 0) this.#cookies.set(pair.slice(0, eq).trim(), pair.slice(eq + 1).trim());
    }
  }

  /** The Cookie header this client sends, or undefined when the jar is empty. */
  get cookieHeader(): string | undefined {
    if (this.#cookies.size === 0) return undefined;
    return [...this.#cookies].map(([name, value]) => `${name}=${value}`).join('; ');
  }

  /** POST /login with a JSON body; a session cookie in the answer is kept. */
  login(username: string, password: string): Promise<HttpResult> {
    return this.json('POST', '/login', { username, password });
  }

  /** A request with an optional JSON body and optional extra headers. */
  json(method: string, path: string, body?: Json, headers: Readonly<Record<string, string>> = {}): Promise<HttpResult> {
    if (body === undefined) return this.#send(method, path, undefined, undefined, headers);
    return this.#send(method, path, JSON.stringify(body), 'application/json', headers);
  }

  /** A request whose body is sent exactly as given, e.g. malformed JSON. */
  rawBody(method: string, path: string, raw: string, contentType: string): Promise<HttpResult> {
    return this.#send(method, path, raw, contentType);
  }

  /** Opens an event stream with this client's cookie (over `agent`'s connections, if given). */
  sse(path: string, headers: Readonly<Record<string, string>> = {}, agent?: Agent): Promise<SseStream> {
    const cookie = this.cookieHeader;
    return SseStream.open(this.baseUrl + path, cookie === undefined ? headers : { ...headers, cookie }, agent);
  }

  async #send(
    method: string,
    path: string,
    body: string | undefined,
    contentType: string | undefined,
    extra: Readonly<Record<string, string>> = {},
  ): Promise<HttpResult> {
    const headers: Record<string, string> = { ...extra };
    if (contentType !== undefined) headers['content-type'] = contentType;
    const cookie = this.cookieHeader;
    if (cookie !== undefined) headers.cookie = cookie;
    // Redirects are answers under test (the API promises 401, never a redirect), not followed.
    const response = await fetch(this.baseUrl + path, { method, headers, body, redirect: 'manual' });
    this.#remember(response.headers.getSetCookie());
    const text = await response.text();
    const type = response.headers.get('content-type') ?? '';
    let parsed: Json = text;
    if (/[/+]json\b/i.test(type) && text !== '') {
      try {
        parsed = JSON.parse(text) as Json;
      } catch {
        throw new Error(`${method} ${path} answered ${type} that is not JSON: ${JSON.stringify(text.slice(0, 200))}`);
      }
    }
    return { status: response.status, headers: response.headers, body: parsed, text };
  }

  #remember(setCookies: readonly string[]): void {
    for (const line of setCookies) {
      const [pair = '', ...attributes] = line.split(';');
      const eq = pair.indexOf('=');
      if (eq < 1) continue;
      const name = pair.slice(0, eq).trim();
      const value = pair.slice(eq + 1).trim();
      const expired = attributes.some((attribute) => {
        const [key = '', val = ''] = attribute.split('=');
        const k = key.trim().toLowerCase();
        if (k === 'max-age') return Number(val) <= 0;
        if (k === 'expires') return Date.parse(val) <= Date.now();
        return false;
      });
      if (value === '' || expired) this.#cookies.delete(name);
      else this.#cookies.set(name, value);
    }
  }
}
