// Serves the web UI (built into dist/public by `npm run build`) at `/`: static files only,
// GET and HEAD, revalidated on every load (no-cache) so a new build is never hidden.
import type Koa from 'koa';
import serve from 'koa-static';
import { fileURLToPath } from 'node:url';

/** dist/public, beside dist/src where this module runs from. */
export const PUBLIC_DIR = fileURLToPath(new URL('../../public/', import.meta.url));

/**
 * The page loads only its own script and styles, talks only to this server, and may not be
 * framed. CodeMirror writes its styles into <style> elements, hence 'unsafe-inline' for styles
 * (never for scripts). The favicon is an empty data: URL.
 */
const CONTENT_SECURITY_POLICY = [
  "default-src 'self'",
  "script-src 'self'",
  "style-src 'self' 'unsafe-inline'",
  "img-src 'self' data:",
  "connect-src 'self'",
  "frame-ancestors 'none'",
  "base-uri 'none'",
  "form-action 'self'",
].join('; ');

/** koa-send's refusals (a path it cannot decode, a traversal): 4xx errors with a status. */
function isRefusal(error: unknown): boolean {
  const status = (error as { status?: unknown } | null)?.status;
  return typeof status === 'number' && status >= 400 && status < 500;
}

export function serveUi(): Koa.Middleware {
  const files = serve(PUBLIC_DIR, {
    index: 'index.html',
    // Only the UI's own files: no dotfiles, no directory listings (koa-static has none).
    hidden: false,
    setHeaders(res) {
      res.setHeader('Cache-Control', 'no-cache');
      res.setHeader('X-Content-Type-Options', 'nosniff');
      res.setHeader('Content-Security-Policy', CONTENT_SECURITY_POLICY);
    },
  });
  return async (ctx, next) => {
    // The API's paths never reach the file system.
    if (ctx.path.startsWith('/api/') || ctx.path === '/healthz') return next();
    let passedOn = false;
    try {
      await files(ctx, () => {
        passedOn = true;
        return next();
      });
    } catch (error) {
      // koa-send refused the path: it is not a file of the UI, so the usual 404 JSON, not a
      // 500. Errors of the routes after it are theirs to answer.
      if (passedOn || !isRefusal(error)) throw error;
      await next();
    }
  };
}
