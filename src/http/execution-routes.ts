// The execution endpoints. Each handler reads as: parse → authorise → call → answer.
import type Router from '@koa/router';
import type { Context } from 'koa';
import { BadRequestError, ExecutionNotFoundError, MissingProgramError } from '../errors.js';
import { STATUSES, type Execution, type ExecutionStatus } from '../execution.js';
import type { ExecutionManager } from '../execution-manager.js';
import type { InputMessage } from '../input-queue.js';
import { LOG_LEVELS, type LogLevel } from '../log-buffer.js';
import { logPage } from '../log-page.js';
import { streamExecution } from '../sse.js';
import type { StreamSlots } from '../stream-slots.js';
import { currentUser } from './session.js';

export interface RouteOptions {
  /** Interval of `: ping` comments on SSE streams, in ms. */
  readonly ssePingMs: number;
  /** Reconnection delay announced to EventSource clients, in ms. */
  readonly sseRetryMs: number;
  /** A stream whose socket takes no data for this long is ended, in ms. */
  readonly sseStallTimeoutMs: number;
  /** Each user's open streams, against CHARIOT_MAX_STREAMS_PER_USER. */
  readonly streams: StreamSlots;
  /** Redis mode: results say which instance runs or ran the execution. */
  readonly showInstance: boolean;
}

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/;
const MAX_LIST = 1000;
/** Log entries in one /api/result answer (`?limit=`): at most 10,000; by default what the default ring holds. */
const MAX_PAGE = 10_000;
const DEFAULT_PAGE = 1000;

function program(body: unknown): string {
  const value = (body as { program?: unknown } | undefined)?.program;
  if (typeof value !== 'string' || value.trim() === '') throw new MissingProgramError();
  return value;
}

const INPUT_SHAPE = 'Input must be {"data": "<string>"} or {"end": true}';

/** The body of POST .../input: one message, or the end. */
function inputMessage(body: unknown): InputMessage {
  const fields = (typeof body === 'object' && body !== null && !Array.isArray(body) ? body : {}) as { data?: unknown; end?: unknown };
  const { data, end } = fields;
  if (data === undefined && end === undefined) throw new BadRequestError(INPUT_SHAPE);
  if (data !== undefined && end !== undefined) throw new BadRequestError(`${INPUT_SHAPE}, not both`);
  if (end !== undefined) {
    if (end !== true) throw new BadRequestError(`${INPUT_SHAPE}: end must be true`);
    return { end: true };
  }
  if (typeof data !== 'string') throw new BadRequestError(`${INPUT_SHAPE}: data must be a string`);
  return { data };
}

/** A well-formed id; anything else cannot exist, so it is a 404 like an unknown one. */
function execId(ctx: Context): string {
  const id = String((ctx as unknown as { params: Record<string, string> }).params.execId).toLowerCase();
  if (!UUID.test(id)) throw new ExecutionNotFoundError();
  return id;
}

function iso(date: Date | undefined): string | null {
  return date ? date.toISOString() : null;
}

function timing(execution: Execution) {
  return {
    started_at: iso(execution.startedAt),
    completed_at: iso(execution.completedAt),
    duration_ms: execution.durationMs ?? null,
  };
}

/** The page of the log that an /api/result answer carries: entries after `after`, at most `limit`. */
function logsOf(execution: Execution, after: number, limit: number) {
  const page = logPage(execution.logs, after, limit);
  return { logs: page.entries, logs_missed: page.missed, logs_next_after: page.nextAfter, logs_more: page.more };
}

/** The /api/result body and status for an execution in any state. */
function resultOf(execution: Execution, after: number, limit: number, showInstance: boolean): { status: number; body: Record<string, unknown> } {
  const base = {
    execution_id: execution.id,
    status: execution.status,
    ...(showInstance && execution.instance !== undefined ? { instance: execution.instance } : {}),
  };
  const logs = logsOf(execution, after, limit);
  switch (execution.status) {
    case 'queued':
    case 'running':
      return { status: 202, body: { ...base, ...logs, ...timing(execution) } };
    case 'completed':
      return { status: 200, body: { ...base, result: execution.result, ...logs, ...timing(execution) } };
    default:
      return { status: 500, body: { ...base, error: execution.error, ...logs, ...timing(execution) } };
  }
}

function wholeNumber(raw: unknown, name: string, min: number, max: number): number | undefined {
  if (raw === undefined) return undefined;
  const text = String(raw);
  const value = Number(text);
  if (!/^\d+$/.test(text) || value < min || value > max) {
    throw new BadRequestError(`${name} must be a whole number from ${min} to ${max}`);
  }
  return value;
}

function statusFilter(raw: unknown): ExecutionStatus | undefined {
  if (raw === undefined) return undefined;
  if (!STATUSES.includes(raw as ExecutionStatus)) throw new BadRequestError(`status must be one of ${STATUSES.join(', ')}`);
  return raw as ExecutionStatus;
}

/** The lowest level a stream sends; absent or empty means every level. */
function levelFilter(raw: unknown): LogLevel {
  if (raw === undefined || raw === '') return 'DEBUG';
  const level = String(raw).toUpperCase() as LogLevel;
  if (!LOG_LEVELS.includes(level)) throw new BadRequestError(`level must be one of ${LOG_LEVELS.join(', ').toLowerCase()}`);
  return level;
}

/**
 * The seq a stream resumes after: the Last-Event-ID header, else `?lastEventId=`, else 0. The
 * header wins because an EventSource opened on a URL with `?lastEventId=` keeps that URL and
 * sends the newer position in the header when it reconnects. Empty means absent, as the
 * EventSource spec sends no header for an empty id.
 */
function resumeAfter(ctx: Context): number {
  const header = ctx.get('Last-Event-ID');
  if (header !== '') return wholeNumber(header, 'Last-Event-ID', 0, Number.MAX_SAFE_INTEGER) ?? 0;
  const query = ctx.query.lastEventId;
  return wholeNumber(query === '' ? undefined : query, 'lastEventId', 0, Number.MAX_SAFE_INTEGER) ?? 0;
}

/**
 * Waits for the end of a synchronous execution. A client that hangs up first can never get
 * its answer, so its execution is cancelled (and ends `cancelled`) rather than left running.
 */
async function endOrHangUp(ctx: Context, manager: ExecutionManager, execution: Execution): Promise<void> {
  const { res } = ctx;
  const hungUp = (): void => {
    // A finished execution (409) has nothing left to stop.
    if (!res.writableEnded) manager.cancel(execution.id, execution.owner).catch(() => undefined);
  };
  if (res.destroyed) hungUp();
  else res.once('close', hungUp);
  try {
    await execution.whenFinished();
  } finally {
    res.off('close', hungUp);
  }
}

export function addExecutionRoutes(router: Router, manager: ExecutionManager, options: RouteOptions): void {
  router.post('/api/execute-async', async (ctx) => {
    const source = program(ctx.request.body);
    const execution = await manager.submit(currentUser(ctx), source);
    ctx.body = { execution_id: execution.id };
  });

  router.post('/api/execute', async (ctx) => {
    const source = program(ctx.request.body);
    const lease = await manager.run(currentUser(ctx), source);
    try {
      const { execution } = lease;
      await endOrHangUp(ctx, manager, execution);
      const logs = execution.logs.snapshot();
      if (execution.status === 'completed') {
        ctx.body = { result: execution.result?.value ?? null, type: execution.result?.type, logs, execution_id: execution.id };
      } else {
        ctx.status = 500;
        ctx.body = { error: execution.error, status: execution.status, logs, execution_id: execution.id };
      }
    } finally {
      lease.release();
    }
  });

  router.get('/api/logs/:execId', async (ctx) => {
    const id = execId(ctx);
    const after = resumeAfter(ctx);
    const minLevel = levelFilter(ctx.query.level);
    const user = currentUser(ctx);
    const lease = await manager.open(id, user);
    let slot;
    try {
      // After the 404: whether the caller is at the cap says nothing of whose an id is, and an
      // id that is not theirs stays a 404 whatever they have open (docs/API.md).
      slot = options.streams.acquire(user);
    } catch (error) {
      lease.release();
      throw error;
    }
    const { release } = slot;
    ctx.respond = false;
    ctx.req.socket.setNoDelay(true);
    const stream = streamExecution(ctx.res, lease.execution, {
      after,
      minLevel,
      pingMs: options.ssePingMs,
      retryMs: options.sseRetryMs,
      stallTimeoutMs: options.sseStallTimeoutMs,
      onClose: () => {
        release();
        lease.release();
      },
    });
    if (stream !== undefined) slot.attach(() => stream.handOff());
  });

  router.get('/api/result/:execId', async (ctx) => {
    const id = execId(ctx);
    const after = wholeNumber(ctx.query.after, 'after', 0, Number.MAX_SAFE_INTEGER) ?? 0;
    const limit = wholeNumber(ctx.query.limit, 'limit', 1, MAX_PAGE) ?? DEFAULT_PAGE;
    const execution = await manager.get(id, currentUser(ctx));
    const { status, body } = resultOf(execution, after, limit, options.showInstance);
    ctx.status = status;
    ctx.body = body;
  });

  router.get('/api/executions', async (ctx) => {
    const limit = wholeNumber(ctx.query.limit, 'limit', 1, MAX_LIST);
    const status = statusFilter(ctx.query.status);
    const executions = await manager.list(currentUser(ctx), { limit, status });
    ctx.body = executions.map((execution) => ({
      execution_id: execution.id,
      status: execution.status,
      ...timing(execution),
      program_preview: execution.preview,
    }));
  });

  router.post('/api/execution/:execId/input', async (ctx) => {
    const id = execId(ctx);
    const message = inputMessage(ctx.request.body);
    const queuedInputs = await manager.input(id, currentUser(ctx), message);
    ctx.status = 202;
    ctx.body = { execution_id: id, queued_inputs: queuedInputs };
  });

  router.post('/api/execution/:execId/cancel', async (ctx) => {
    const id = execId(ctx);
    const execution = await manager.cancel(id, currentUser(ctx));
    ctx.status = 202;
    ctx.body = { execution_id: execution.id, status: execution.status };
  });
}
