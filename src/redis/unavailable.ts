// Which failures mean "Redis cannot be used now" (unreachable, restarting, read-only, out of
// memory), as opposed to a bug: the calls that need Redis answer those with 503
// REDIS_UNAVAILABLE and Retry-After, having changed nothing (every change is one script).
import {
  ClientClosedError,
  ClientOfflineError,
  ConnectionTimeoutError,
  DisconnectsClientError,
  ErrorReply,
  MultiErrorReply,
  ReconnectStrategyError,
  SocketClosedUnexpectedlyError,
  SocketTimeoutError,
  TimeoutError,
} from 'redis';
import { StorageUnavailableError } from '../errors.js';

const UNAVAILABLE_CLASSES = [
  ClientClosedError,
  ClientOfflineError,
  ConnectionTimeoutError,
  DisconnectsClientError,
  ReconnectStrategyError,
  SocketClosedUnexpectedlyError,
  SocketTimeoutError,
  TimeoutError,
];

/** Replies of a Redis that is there but cannot serve: loading its data, a read-only replica, full. */
const UNAVAILABLE_REPLY = /^(LOADING|READONLY|MISCONF|OOM|MASTERDOWN|NOREPLICAS|BUSY|TRYAGAIN|CLUSTERDOWN)\b/;

const NETWORK_CODES = new Set(['ECONNREFUSED', 'ECONNRESET', 'EPIPE', 'ETIMEDOUT', 'EHOSTUNREACH', 'ENETUNREACH']);

export function isUnavailable(error: unknown): boolean {
  if (UNAVAILABLE_CLASSES.some((type) => error instanceof type)) return true;
  if (error instanceof MultiErrorReply) return [...error.errors()].some((reply) => isUnavailable(reply));
  if (error instanceof ErrorReply) return UNAVAILABLE_REPLY.test(error.message);
  const code = (error as { code?: unknown } | null)?.code;
  return typeof code === 'string' && NETWORK_CODES.has(code);
}

/** The call's answer, or StorageUnavailableError when it failed because Redis cannot be used now. */
export async function guarded<T>(call: () => Promise<T>): Promise<T> {
  try {
    return await call();
  } catch (error) {
    if (isUnavailable(error)) throw new StorageUnavailableError();
    throw error;
  }
}
