// Sessions: koa-session with a server-side store, and the routes and guard built on it. A
// login passes the failed-login throttle first, and gets a new session key (the one the
// request came with, if any, is destroyed): a key planted before login is worth nothing after.
import type Koa from 'koa';
import type { Context, Middleware } from 'koa';
import createSession from 'koa-session';
import type Router from '@koa/router';
import { BadRequestError, HttpsRequiredError, InvalidCredentialsError, UnauthorizedError } from '../errors.js';
import type { LoginThrottle } from '../login-throttle.js';
import type { SessionStore } from '../session-store.js';
import type { UserDirectory } from '../users.js';

const SESSION_MAX_AGE_MS = 24 * 60 * 60 * 1000;

interface SessionData {
  username?: string;
}

/** koa-session's session object: the data, and regenerate() (a new key, the old one destroyed). */
type Session = SessionData & { regenerate(): Promise<void> };

function session(ctx: Context): SessionData | null {
  return (ctx as unknown as { session: SessionData | null }).session;
}

/** The logged-in user's name, or UnauthorizedError. */
export function currentUser(ctx: Context): string {
  const username = session(ctx)?.username;
  if (typeof username !== 'string') throw new UnauthorizedError();
  return username;
}

export function sessionMiddleware(app: Koa, store: SessionStore, secure: boolean): Middleware {
  return createSession({
    key: 'chariot.sid',
    maxAge: SESSION_MAX_AGE_MS,
    httpOnly: true,
    sameSite: 'lax',
    signed: true,
    secure,
    store: {
      get: (key: string) => store.get(key),
      set: (key: string, data: Record<string, unknown>, maxAge: number) => store.set(key, data, maxAge),
      destroy: (key: string) => store.destroy(key),
    },
  }, app);
}

/** Every path under `prefix` needs a session, matched or not: 401 JSON, never a redirect. */
export function requireUser(prefix: string): Middleware {
  return async function guard(ctx, next) {
    if (ctx.path.startsWith(prefix)) currentUser(ctx);
    await next();
  };
}

function credentials(body: unknown): { username: string; password: string } {
  const { username, password } = (body ?? {}) as Record<string, unknown>;
  if (typeof username !== 'string' || typeof password !== 'string' || username === '' || password === '') {
    throw new BadRequestError('Body must be {"username": string, "password": string}');
  }
  return { username, password };
}

/** Starts `username`'s session under a new key; the request's old session, if any, is destroyed. */
async function startSession(ctx: Context, username: string): Promise<void> {
  const holder = ctx as unknown as { session: SessionData | Session };
  holder.session = { username };
  await (holder.session as Session).regenerate();
}

export interface SessionRouteOptions {
  readonly users: UserDirectory;
  readonly throttle: LoginThrottle;
  /** The cookie is Secure: log in and out only over HTTPS (a Secure cookie cannot be set otherwise). */
  readonly secureCookies: boolean;
}

export function addSessionRoutes(router: Router, { users, throttle, secureCookies }: SessionRouteOptions): void {
  const requireHttps = (ctx: Context): void => {
    if (secureCookies && !ctx.secure) throw new HttpsRequiredError();
  };

  router.post('/login', async (ctx) => {
    requireHttps(ctx);
    const { username, password } = credentials(ctx.request.body);
    const attempt = throttle.begin(username, ctx.ip);
    const valid = await users.verify(username, password).catch((error: unknown) => {
      attempt.abandoned();
      throw error;
    });
    if (!valid) {
      attempt.failed();
      throw new InvalidCredentialsError();
    }
    attempt.succeeded();
    await startSession(ctx, username);
    ctx.body = { username };
  });

  router.post('/logout', async (ctx) => {
    requireHttps(ctx);
    (ctx as unknown as { session: null }).session = null;
    ctx.status = 204;
  });

  router.get('/api/me', async (ctx) => {
    ctx.body = { username: currentUser(ctx) };
  });
}
