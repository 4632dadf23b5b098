// Turns thrown errors into JSON answers: a ChariotError with its status, message and code
// (and headers such as Retry-After); a request the router did not match as 404, 405 (with
// Allow, set by the router) or 501; anything else as a logged 500 with a generic message.
import type { Middleware } from 'koa';
import { ChariotError, MethodNotAllowedError, NotFoundError, NotImplementedError } from '../errors.js';

export function errorMiddleware(): Middleware {
  return async function handleErrors(ctx, next) {
    try {
      await next();
      if (ctx.body != null || ctx.respond === false) return;
      if (ctx.status === 404) throw new NotFoundError(`No such endpoint: ${ctx.method} ${ctx.path}`);
      if (ctx.status === 405) throw new MethodNotAllowedError(ctx.method, ctx.path);
      if (ctx.status === 501) throw new NotImplementedError(ctx.method);
    } catch (error) {
      if (ctx.headerSent || !ctx.writable) {
        console.error('chariot-exec: error after the response started', error);
        return;
      }
      if (error instanceof ChariotError) {
        ctx.status = error.status;
        ctx.set(error.headers);
        ctx.body = { error: error.message, code: error.code };
        return;
      }
      console.error('chariot-exec: unexpected error', error);
      ctx.status = 500;
      ctx.body = { error: 'Internal server error', code: 'INTERNAL' };
    }
  };
}
