// Builds the whole service from a Config and starts listening; `close()` takes it down again.
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { once } from 'node:events';
import type { Config } from './config.js';
import { ExecutionManager } from './execution-manager.js';
import { createApp } from './http/app.js';
import { LoginThrottle } from './login-throttle.js';
import { MemorySessionStore } from './session-store.js';
import { MemoryExecutionStore, type ExecutionStore } from './store.js';
import { StreamSlots } from './stream-slots.js';
import { UserDirectory } from './users.js';

export interface RunningServer {
  /** Base URL, e.g. http://127.0.0.1:41234 */
  readonly url: string;
  readonly port: number;
  /** The service's executions, for diagnostics and tests in the same process. */
  readonly manager: ExecutionManager;
  /** Stops accepting, cancels running scripts, ends SSE streams with done, closes the pool. Idempotent. */
  close(): Promise<void>;
}

/** What the server is built on besides its Config; each defaults to the in-memory one. */
export interface ServerParts {
  /** Where executions are kept. Default: a MemoryExecutionStore. */
  readonly executions?: ExecutionStore;
}

/** How long open connections get to finish after the executions stopped, at shutdown. */
const CLOSE_GRACE_MS = 2000;
const SESSION_SWEEP_MS = 60_000;

async function closeHttp(server: Server): Promise<void> {
  const closed = once(server, 'close');
  server.close();
  server.closeIdleConnections();
  const grace = setTimeout(() => server.closeAllConnections(), CLOSE_GRACE_MS);
  await closed;
  clearTimeout(grace);
}

export async function startServer(config: Config, parts: ServerParts = {}): Promise<RunningServer> {
  if (config.redisUrl !== undefined) {
    throw new Error('CHARIOT_REDIS_URL is set, but this build keeps everything in memory: unset it');
  }
  const users = await UserDirectory.create(config.users, { concurrency: config.loginConcurrency, queue: config.loginQueue });
  const sessions = new MemorySessionStore();
  const manager = new ExecutionManager(config, parts.executions ?? new MemoryExecutionStore());
  const app = createApp({
    manager,
    users,
    sessions,
    sessionKeys: config.sessionKeys,
    bodyLimitBytes: config.bodyLimitBytes,
    ssePingMs: config.ssePingMs,
    sseRetryMs: config.sseRetryMs,
    sseStallTimeoutMs: config.sseStallTimeoutMs,
    streams: new StreamSlots(config.maxStreamsPerUser),
    secureCookies: config.secureCookies,
    trustProxy: config.trustProxy,
    allowedOrigins: config.allowedOrigins,
    loginThrottle: new LoginThrottle({
      failuresPerName: config.loginFailuresPerName,
      failuresPerAddress: config.loginFailuresPerAddress,
      windowMs: config.loginWindowMs,
      isKnownName: (name) => users.has(name),
    }),
  });
  const server = createServer(app.callback());
  const sweep = setInterval(() => sessions.sweep(), SESSION_SWEEP_MS);
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
  let closing: Promise<void> | undefined;
  return {
    url: `http://${host}:${port}`,
    port,
    manager,
    close() {
      closing ??= (async () => {
        clearInterval(sweep);
        server.close();
        await manager.close();
        await closeHttp(server);
      })();
      return closing;
    },
  };
}
