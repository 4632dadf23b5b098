// Defences against requests a page on another site makes with the user's cookie. A browser
// lets any page send a "simple" cross-origin POST (a form, or fetch in no-cors mode) without
// asking the server first, but only with a form or text/plain body and always with an Origin
// header: so state-changing requests must come from an allowed Origin (or name none, as curl
// and servers do), and a body must say it is JSON.
import type { Context, Middleware } from 'koa';
import { CrossOriginError, UnsupportedMediaTypeError } from '../errors.js';
import { canonicalOrigin } from '../origin.js';

/** Methods that change nothing: the only ones served whatever their Origin. */
const SAFE_METHODS: ReadonlySet<string> = new Set(['GET', 'HEAD', 'OPTIONS']);

/** The origin the request reached, as the client named it (behind a trusted proxy: the forwarded one). */
function ownOrigin(ctx: Context): string | undefined {
  return canonicalOrigin(`${ctx.protocol}://${ctx.host}`);
}

/**
 * CrossOriginError when the request's Origin header is present and is neither the server's own
 * origin nor in `allowed` (canonical origins). No Origin passes: curl and servers send none.
 */
export function checkOrigin(ctx: Context, allowed: ReadonlySet<string>): void {
  const origin = ctx.req.headers.origin;
  if (origin === undefined) return;
  const canonical = canonicalOrigin(origin);
  if (canonical === undefined || (canonical !== ownOrigin(ctx) && !allowed.has(canonical))) throw new CrossOriginError(origin);
}

/**
 * 403 for a request with a method other than GET, HEAD or OPTIONS whose Origin header is
 * present and is neither the server's own origin nor one of `allowed` (canonical origins).
 * A WebSocket upgrade is a GET and is checked apart (src/ws/hub.ts), whatever its method.
 */
export function refuseCrossOrigin(allowed: readonly string[]): Middleware {
  const allowedOrigins = new Set(allowed);
  return async function sameOriginOnly(ctx, next) {
    if (!SAFE_METHODS.has(ctx.method)) checkOrigin(ctx, allowedOrigins);
    await next();
  };
}

/** True when the request carries a body (a Content-Length above 0, or a chunked one). */
function hasBody(ctx: Context): boolean {
  const { 'content-length': length, 'transfer-encoding': encoding } = ctx.req.headers;
  return encoding !== undefined || (length !== undefined && Number(length) !== 0);
}

/** application/json, or any type with the +json suffix (application/merge-patch+json…). */
const JSON_TYPE = /^(?:application\/json|[a-z0-9][a-z0-9!#$&^_.+-]*\/[a-z0-9][a-z0-9!#$&^_.+-]*\+json)$/;

/**
 * 415 for a request with a method other than GET, HEAD or OPTIONS that has a body, or names
 * a Content-Type, unless that type is JSON in UTF-8 (no charset, or charset utf-8).
 */
export function requireJsonBody(): Middleware {
  return async function jsonOnly(ctx, next) {
    if (!SAFE_METHODS.has(ctx.method) && (hasBody(ctx) || ctx.get('Content-Type') !== '')) {
      const type = ctx.request.type.trim().toLowerCase();
      if (!JSON_TYPE.test(type)) {
        const got = type === '' ? 'none' : JSON.stringify(type.length > 100 ? `${type.slice(0, 100)}…` : type);
        throw new UnsupportedMediaTypeError(`Request body must be JSON, sent with Content-Type: application/json (got ${got})`);
      }
      const charset = ctx.request.charset.toLowerCase();
      if (charset !== '' && charset !== 'utf-8' && charset !== 'utf8') {
        throw new UnsupportedMediaTypeError(`A JSON body must be UTF-8 (got charset=${JSON.stringify(charset.slice(0, 40))})`);
      }
    }
    await next();
  };
}
