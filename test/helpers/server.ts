// Starts the real server on an ephemeral port for one test file, with test users and
// overrides of the environment, and hands out logged-in clients.
import { expect } from 'chai';
import { loadConfig } from '../../src/config.js';
import type { ExecutionManager } from '../../src/execution-manager.js';
import { startServer, type RunningServer } from '../../src/server.js';
import { Client, type HttpResult } from './client.js';
import { asObject, expectJson, expectKeys } from './expectations.js';
import { withRedisMode } from './redis-mode.js';

export const PASSWORDS = Object.freeze({
  alice: 'alice-pw',
  bob: 'bob-pw',
  carol: 'carol-pw',
  dave: 'dave-pw',
});
export type User = keyof typeof PASSWORDS;

const USERS = Object.entries(PASSWORDS).map(([name, password]) => `${name}:${password}`).join(',');

/**
 * Starts a server: port 0, 2 threads, the test users, then `overrides` (CHARIOT_* variables); in
 * Redis mode (CHARIOT_TEST_REDIS=1, helpers/redis-mode.ts) on a redis-server of its own, closed
 * with it.
 */
export async function startTestServer(overrides: Readonly<Record<string, string>> = {}): Promise<RunningServer> {
  const { env, redis } = await withRedisMode({ PORT: '0', CHARIOT_THREADS: '2', CHARIOT_USERS: USERS, ...overrides });
  let server: RunningServer;
  try {
    server = await startServer(loadConfig(env));
  } catch (error) {
    await redis?.close();
    throw error;
  }
  if (redis === undefined) return server;
  let closing: Promise<void> | undefined;
  const close = (): Promise<void> => (closing ??= server.close().finally(() => redis.close()));
  return {
    url: server.url,
    port: server.port,
    manager: server.manager,
    close,
    drain: (ms) => server.drain(ms).then(close),
  };
}

/** A client that logged in as `user` (the login is asserted to succeed). */
export async function loginAs(url: string, user: User): Promise<Client> {
  const client = new Client(url);
  const res = await client.login(user, PASSWORDS[user]);
  expect(res.status, `login as ${user}: ${res.text}`).to.equal(200);
  expect(client.cookieHeader, 'session cookie after login').to.be.a('string');
  return client;
}

export interface ServerFixture {
  /** The running server's base URL (valid inside tests and hooks after `before`). */
  readonly url: string;
  /** The server's ExecutionManager, for facts only the server knows (same process). */
  readonly manager: ExecutionManager;
  login(user: User): Promise<Client>;
  /** A client without a session. */
  anonymous(): Client;
}

/** Registers mocha `before`/`after` hooks that start and close one server for the file. */
export function useServer(overrides: Readonly<Record<string, string>> = {}): ServerFixture {
  let server: RunningServer | undefined;
  before(async () => {
    server = await startTestServer(overrides);
  });
  after(async () => {
    // A quarantined isolate pins its worker thread, and this test process could never exit:
    // attacks that can cause one belong in a server process of their own (spawnServer).
    const pinned = server?.manager.pinned ?? false;
    await server?.close();
    server = undefined;
    if (pinned) {
      // Better a failed run that says why than one that hangs until CI gives up.
      console.error('chariot-exec tests: an isolate of an in-process test server was quarantined (a fatal V8 error): '
        + 'this process can never exit, so it ends itself now. Run such attacks with spawnServer.');
      process.kill(process.pid, 'SIGKILL');
    }
  });
  const running = (): RunningServer => {
    if (server === undefined) throw new Error('the test server is not running');
    return server;
  };
  const url = (): string => running().url;
  return {
    get url() {
      return url();
    },
    get manager() {
      return running().manager;
    },
    login: (user) => loginAs(url(), user),
    anonymous: () => new Client(url()),
  };
}

/**
 * GET /healthz once its body passes `ready` (the server sees a client hang up, and a finished
 * execution gives its slot back, a moment after the client sees it); after `withinMs`, the last
 * answer, for the caller's assertion to show.
 */
export async function healthWhen(server: ServerFixture, ready: (body: Record<string, unknown>) => boolean, withinMs = 5000): Promise<HttpResult> {
  const deadline = Date.now() + withinMs;
  for (;;) {
    const res = await server.anonymous().json('GET', '/healthz');
    const body = res.body;
    if (typeof body === 'object' && body !== null && !Array.isArray(body) && ready(body)) return res;
    if (Date.now() > deadline) return res;
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}

/** GET /healthz once it counts `streams` open log streams (see healthWhen). */
export function healthWithStreams(server: ServerFixture, streams: number, withinMs = 5000): Promise<HttpResult> {
  return healthWhen(server, (body) => body.streams === streams, withinMs);
}

/** GET /healthz once its pool has `running` executions in its slots (see healthWhen). */
export function healthWithRunning(server: ServerFixture, running: number, withinMs = 5000): Promise<HttpResult> {
  return healthWhen(server, (body) => {
    const pool = body.pool;
    return typeof pool === 'object' && pool !== null && (pool as Record<string, unknown>).running === running;
  }, withinMs);
}

/**
 * A /healthz answer that counts `streams` open log streams, asserted whole but for the figures
 * of the pool (a finished execution gives its slot back a moment after its done) and the logs.
 */
export function expectStreams(res: HttpResult, streams: number, what: string): void {
  expect(res.status, res.text).to.equal(200);
  expectJson(res);
  const body = asObject(res.body);
  expectKeys(body, ['status', 'pool', 'logs', 'streams', 'websockets']);
  expect({ status: body.status, streams: body.streams, websockets: body.websockets }, what).to.eql({ status: 'ok', streams, websockets: 0 });
}
