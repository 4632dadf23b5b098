// Builds the whole service from a Config and starts listening; `close()` takes it down again.
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { once } from 'node:events';
import type { Config } from './config.js';
import { ExecutionManager } from './execution-manager.js';
import { createApp } from './http/app.js';
import { LoginThrottle } from './login-throttle.js';
import { openRedis } from './redis/connection.js';
import { RedisExecutionStore } from './redis/execution-store.js';
import { RedisSessionStore } from './redis/session-store.js';
import { MemorySessionStore, type SessionStore } from './session-store.js';
import { MemoryExecutionStore, type ExecutionStore } from './store.js';
import { StreamSlots } from './stream-slots.js';
import { UserDirectory } from './users.js';
import { WebSocketHub } from './ws/hub.js';

export interface RunningServer {
  /** Base URL, e.g. http://127.0.0.1:41234 */
  readonly url: string;
  readonly port: number;
  /** The service's executions, for diagnostics and tests in the same process. */
  readonly manager: ExecutionManager;
  /** Stops accepting, cancels running scripts, ends SSE streams with done, closes the pool. Idempotent. */
  close(): Promise<void>;
  /**
   * Redis mode, SIGTERM: stops accepting connections and taking work, hands every open stream off
   * (ended without `done`: its client resumes on another instance), lets the running executions
   * finish for up to `ms`, then close()s. Idempotent.
   */
  drain(ms: number): Promise<void>;
}

/** What the server is built on besides its Config; each defaults to the in-memory one. */
export interface ServerParts {
  /** Where executions are kept. Default: a MemoryExecutionStore. */
  readonly executions?: ExecutionStore;
}

/** How long open connections get to finish after the executions stopped, at shutdown. */
const CLOSE_GRACE_MS = 2000;
const SESSION_SWEEP_MS = 60_000;

/** Stops listening (again: a drain stopped it already), then waits for the open connections, for a grace time. */
async function closeHttp(server: Server, closed: Promise<unknown>): Promise<void> {
  if (server.listening) server.close();
  server.closeIdleConnections();
  const grace = setTimeout(() => server.closeAllConnections(), CLOSE_GRACE_MS);
  await closed;
  clearTimeout(grace);
}

interface Storage {
  readonly executions: ExecutionStore;
  readonly sessions: SessionStore;
  /** Sessions kept here, swept now and then. */
  readonly memorySessions: MemorySessionStore | undefined;
  /** Redis mode: whether Redis can be used now (/healthz). */
  readonly redisAvailable: (() => boolean) | undefined;
}

/** In memory by default; in Redis with CHARIOT_REDIS_URL (start-up fails when it cannot be reached). */
async function openStorage(config: Config, parts: ServerParts): Promise<Storage> {
  if (config.redisUrl === undefined) {
    const sessions = new MemorySessionStore();
    return { executions: parts.executions ?? new MemoryExecutionStore(), sessions, memorySessions: sessions, redisAvailable: undefined };
  }
  const redis = await openRedis(config.redisUrl, config.instanceId);
  try {
    const executions = await RedisExecutionStore.open(redis, {
      instance: config.instanceId,
      maxPerUser: config.maxPerUser,
      maxQueue: config.maxQueue,
      maxQueueWaitMs: config.maxQueueWaitMs,
      capacity: config.logBuffer,
      lagBudget: config.sseLagBudget,
      retentionMs: config.retentionMs,
      instanceTimeoutMs: config.instanceTimeoutMs,
      input: { maxQueued: config.inputMaxQueued, maxBytes: config.inputMaxBytes },
    });
    return { executions, sessions: new RedisSessionStore(redis.command), memorySessions: undefined, redisAvailable: () => executions.available };
  } catch (error) {
    await redis.close();
    throw error;
  }
}

export async function startServer(config: Config, parts: ServerParts = {}): Promise<RunningServer> {
  const users = await UserDirectory.create(config.users, { concurrency: config.loginConcurrency, queue: config.loginQueue });
  const storage = await openStorage(config, parts);
  const { sessions, redisAvailable } = storage;
  const manager = new ExecutionManager(config, storage.executions);
  const streams = new StreamSlots(config.maxStreamsPerUser);
  const app = createApp({
    manager,
    users,
    sessions,
    sessionKeys: config.sessionKeys,
    bodyLimitBytes: config.bodyLimitBytes,
    ssePingMs: config.ssePingMs,
    sseRetryMs: config.sseRetryMs,
    sseStallTimeoutMs: config.sseStallTimeoutMs,
    streams,
    secureCookies: config.secureCookies,
    trustProxy: config.trustProxy,
    allowedOrigins: config.allowedOrigins,
    webSockets: () => sockets.open,
    loginThrottle: new LoginThrottle({
      failuresPerName: config.loginFailuresPerName,
      failuresPerAddress: config.loginFailuresPerAddress,
      windowMs: config.loginWindowMs,
      isKnownName: (name) => users.has(name),
    }),
    ...(redisAvailable === undefined ? {} : { redis: { ready: redisAvailable } }),
  });
  const server = createServer(app.koa.callback());
  const sockets = new WebSocketHub(server, {
    manager,
    streams,
    authenticate: (req) => app.authenticateUpgrade(req),
    pingMs: config.ssePingMs,
    stallTimeoutMs: config.sseStallTimeoutMs,
    maxMessageBytes: config.wsMaxMessageBytes,
    maxUnreadBytes: config.wsMaxUnreadBytes,
  });
  const sweep = setInterval(() => storage.memorySessions?.sweep(), SESSION_SWEEP_MS);
  sweep.unref();
  try {
    server.listen(config.port, config.host);
    await once(server, 'listening');
  } catch (error) {
    clearInterval(sweep);
    await manager.close();
    throw error;
  }
  const { port } = server.address() as AddressInfo;
  const host = config.host.includes(':') ? `[${config.host}]` : config.host;
  // Once: a drain stops listening long before close() waits for the last connection.
  const closed = once(server, 'close');
  let closing: Promise<void> | undefined;
  let draining: Promise<void> | undefined;
  const running: RunningServer = {
    url: `http://${host}:${port}`,
    port,
    manager,
    close() {
      closing ??= (async () => {
        clearInterval(sweep);
        if (server.listening) server.close();
        await manager.close();
        // After the executions ended: their subscribers have had `done`.
        await sockets.close();
        await closeHttp(server, closed);
      })();
      return closing;
    },
    drain(ms) {
      draining ??= (async () => {
        // New connections go to the other instances (a proxy tries the next on a refusal).
        server.close();
        server.closeIdleConnections();
        manager.drain();
        streams.handOffAll();
        sockets.handOffAll();
        await manager.whenIdle(ms);
        await running.close();
      })();
      return draining;
    },
  };
  return running;
}
