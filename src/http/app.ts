// The Koa application: error mapping, the Origin check, sessions, then the routes, whose
// bodies must be JSON.
import { ServerResponse, type IncomingMessage } from 'node:http';
import Koa from 'koa';
import Router from '@koa/router';
import { bodyParser } from '@koa/bodyparser';
import { BadRequestError, PayloadTooLargeError } from '../errors.js';
import type { ExecutionManager } from '../execution-manager.js';
import type { LoginThrottle } from '../login-throttle.js';
import type { SessionStore } from '../session-store.js';
import type { StreamSlots } from '../stream-slots.js';
import type { UserDirectory } from '../users.js';
import { CookieSigner } from './cookie-signer.js';
import { checkOrigin, refuseCrossOrigin, requireJsonBody } from './cross-site.js';
import { errorMiddleware } from './error-middleware.js';
import { addExecutionRoutes } from './execution-routes.js';
import { addSessionRoutes, currentUser, requireUser, sessionMiddleware } from './session.js';
import { serveUi } from './ui.js';

export interface AppDeps {
  readonly manager: ExecutionManager;
  readonly users: UserDirectory;
  readonly sessions: SessionStore;
  readonly sessionKeys: readonly string[];
  readonly bodyLimitBytes: number;
  /** Interval of `: ping` comments on SSE streams, in ms. */
  readonly ssePingMs: number;
  /** Reconnection delay announced to EventSource clients, in ms. */
  readonly sseRetryMs: number;
  /** A stream whose socket takes no data for this long is ended, in ms. */
  readonly sseStallTimeoutMs: number;
  /** Each user's open log streams, against CHARIOT_MAX_STREAMS_PER_USER. */
  readonly streams: StreamSlots;
  /** Mark the session cookie Secure (production behind TLS). */
  readonly secureCookies: boolean;
  /** Proxies in front whose X-Forwarded-For/-Proto/-Host are believed; 0 believes none. */
  readonly trustProxy: number;
  /** Origins besides the server's own that may make state-changing requests (canonical). */
  readonly allowedOrigins: readonly string[];
  readonly loginThrottle: LoginThrottle;
  /** Open WebSockets (/healthz). */
  readonly webSockets: () => number;
  /** Redis mode: whether Redis can be written now (/healthz). */
  readonly redis?: { readonly ready: () => boolean };
}

function jsonBody(limit: number): Koa.Middleware {
  return bodyParser({
    enableTypes: ['json'],
    // requireJsonBody() has refused every other type already, and lets +json types through.
    detectJSON: () => true,
    jsonLimit: limit,
    onError(error: Error & { status?: number }) {
      if (error.status === 413) throw new PayloadTooLargeError(limit);
      throw new BadRequestError(`Request body is not valid JSON: ${error.message}`);
    },
  });
}

export interface ChariotApp {
  readonly koa: Koa;
  /**
   * The user of a WebSocket upgrade request, by the same rules as the routes: CrossOriginError
   * (403) for a cross-site Origin, UnauthorizedError (401) without a session.
   */
  authenticateUpgrade(req: IncomingMessage): Promise<string>;
}

export function createApp(deps: AppDeps): ChariotApp {
  // maxIpsCount: the client address is the one the outermost trusted proxy saw, not an
  // X-Forwarded-For entry the client wrote itself.
  const app = new Koa({ proxy: deps.trustProxy > 0, maxIpsCount: deps.trustProxy });
  app.keys = new CookieSigner(deps.sessionKeys);
  const router = new Router();
  const api = new Router();

  // Router middleware runs only for a matched route: an unknown path stays 404, a wrong method 405.
  for (const routes of [router, api]) routes.use(requireJsonBody(), jsonBody(deps.bodyLimitBytes));
  addSessionRoutes(router, { users: deps.users, throttle: deps.loginThrottle, secureCookies: deps.secureCookies });
  addExecutionRoutes(api, deps.manager, {
    ssePingMs: deps.ssePingMs,
    sseRetryMs: deps.sseRetryMs,
    sseStallTimeoutMs: deps.sseStallTimeoutMs,
    streams: deps.streams,
    showInstance: deps.redis !== undefined,
  });
  router.get('/healthz', (ctx) => {
    // 503 once the server needs a restart, or drains, so that a load balancer or supervisor notices.
    const redisReady = deps.redis?.ready();
    const { manager } = deps;
    const status = manager.needsRestart ? 'restart-needed' : manager.draining ? 'draining' : redisReady === false ? 'redis-unavailable' : 'ok';
    if (status !== 'ok') ctx.status = 503;
    ctx.body = {
      status,
      pool: deps.manager.stats,
      logs: deps.manager.logStats,
      streams: deps.streams.open,
      websockets: deps.webSockets(),
      ...(redisReady === undefined ? {} : { redis: redisReady ? 'ok' : 'unavailable' }),
    };
  });

  const session = sessionMiddleware(app, deps.sessions, deps.secureCookies);
  app.use(errorMiddleware());
  app.use(refuseCrossOrigin(deps.allowedOrigins));
  app.use(session);
  app.use(requireUser('/api/'));
  app.use(serveUi());
  app.use(router.routes()).use(router.allowedMethods());
  app.use(api.routes()).use(api.allowedMethods());

  const allowedOrigins = new Set(deps.allowedOrigins);
  return {
    koa: app,
    async authenticateUpgrade(req) {
      // A response that is never sent: the upgrade answers on the socket (src/ws/hub.ts).
      const ctx = app.createContext(req, new ServerResponse(req));
      checkOrigin(ctx, allowedOrigins);
      let user = '';
      await session(ctx, async () => {
        user = currentUser(ctx);
      });
      return user;
    },
  };
}
