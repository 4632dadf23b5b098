// Serves the web UI (built into dist/public by `npm run build`) at `/`: static files only,
// GET and HEAD, revalidated on every load (no-cache) so a new build is never hidden.
import type Koa from 'koa';
import serve from 'koa-static';
import { fileURLToPath } from 'node:url';

/** dist/public, beside dist/src where this module runs from. */
export const PUBLIC_DIR = fileURLToPath(new URL('../../public/', import.meta.url));

export function serveUi(): Koa.Middleware {
  const files = serve(PUBLIC_DIR, {
    index: 'index.html',
    // Only the UI's own files: no dotfiles, no directory listings (koa-static has none).
    hidden: false,
    setHeaders(res) {
      res.setHeader('Cache-Control', 'no-cache');
      res.setHeader('X-Content-Type-Options', 'nosniff');
    },
  });
  // The API's paths never reach the file system.
  return (ctx, next) => (ctx.path.startsWith('/api/') || ctx.path === '/healthz' ? next() : files(ctx, next));
}
