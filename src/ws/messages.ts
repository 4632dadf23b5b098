// The WebSocket API's messages (docs/API.md, "WebSocket"): what a client may send, read from
// one text frame into a checked ClientMessage or a refusal, and the text of what the server
// sends. Knows nothing of sockets or executions.
import type { LogEntry, LogLevel } from '../log-buffer.js';
import { LOG_LEVELS } from '../log-buffer.js';
import type { ExecutionResult, FinalStatus } from '../execution.js';
import type { ProgressRecord } from '../../worker/protocol.js';

export type ClientMessage =
  | { readonly type: 'run'; readonly ref: string; readonly program: string }
  | { readonly type: 'subscribe'; readonly ref: string | undefined; readonly executionId: string; readonly after: number; readonly minLevel: LogLevel }
  | { readonly type: 'unsubscribe'; readonly ref: string | undefined; readonly executionId: string }
  | { readonly type: 'input'; readonly ref: string | undefined; readonly executionId: string; readonly input: { readonly data: string } | { readonly end: true } }
  | { readonly type: 'cancel'; readonly ref: string | undefined; readonly executionId: string };

/** A message the server refuses, answered with an `error` message; the socket stays open. */
export class RefusedMessage extends Error {
  readonly code: string;
  /** What the refused message said of itself, echoed so that the client can match the answer. */
  readonly ref: string | undefined;
  readonly executionId: string | undefined;

  constructor(code: string, message: string, about: { ref?: string | undefined; executionId?: string | undefined } = {}) {
    super(message);
    this.code = code;
    this.ref = about.ref;
    this.executionId = about.executionId;
  }
}

const TYPES = ['run', 'subscribe', 'unsubscribe', 'input', 'cancel'] as const;
const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/;
/** The longest `ref` echoed back: a client's own id, not a payload. */
export const MAX_REF_CHARS = 256;

type Fields = Readonly<Record<string, unknown>>;

function optionalRef(fields: Fields): string | undefined {
  const { ref } = fields;
  if (ref === undefined) return undefined;
  if (typeof ref !== 'string' || ref.length > MAX_REF_CHARS) {
    throw new RefusedMessage('BAD_MESSAGE', `"ref" must be a string of at most ${MAX_REF_CHARS} characters`);
  }
  return ref;
}

/**
 * A well-formed execution id, lower-cased. One that is no id at all cannot exist, so it is
 * refused as unknown (EXECUTION_NOT_FOUND), as the HTTP routes answer 404 for it.
 */
function executionIdOf(fields: Fields, ref: string | undefined): string {
  const raw = fields.execution_id;
  if (raw === undefined) throw new RefusedMessage('BAD_MESSAGE', `"execution_id" is missing`, { ref });
  if (typeof raw !== 'string') throw new RefusedMessage('BAD_MESSAGE', `"execution_id" must be a string`, { ref });
  const id = raw.toLowerCase();
  if (!UUID.test(id)) throw new RefusedMessage('EXECUTION_NOT_FOUND', 'Execution not found', { ref, executionId: raw.slice(0, 64) });
  return id;
}

function afterOf(fields: Fields, about: { ref: string | undefined; executionId: string }): number {
  const { after } = fields;
  if (after === undefined) return 0;
  if (typeof after !== 'number' || !Number.isSafeInteger(after) || after < 0) {
    throw new RefusedMessage('BAD_MESSAGE', `"after" must be a whole number from 0 to ${Number.MAX_SAFE_INTEGER}`, about);
  }
  return after;
}

function levelOf(fields: Fields, about: { ref: string | undefined; executionId: string }): LogLevel {
  const { level } = fields;
  if (level === undefined || level === '') return 'DEBUG';
  const upper = typeof level === 'string' ? (level.toUpperCase() as LogLevel) : undefined;
  if (upper === undefined || !LOG_LEVELS.includes(upper)) {
    throw new RefusedMessage('BAD_MESSAGE', `"level" must be one of ${LOG_LEVELS.join(', ').toLowerCase()}`, about);
  }
  return upper;
}

function inputOf(fields: Fields, about: { ref: string | undefined; executionId: string }): { data: string } | { end: true } {
  const hasData = fields.data !== undefined;
  const hasEnd = fields.end !== undefined;
  if (hasData && !hasEnd && typeof fields.data === 'string') return { data: fields.data };
  if (hasEnd && !hasData && fields.end === true) return { end: true };
  throw new RefusedMessage('BAD_MESSAGE', 'An input message needs either "data" (a string) or "end": true', about);
}

/** The message in one text frame; RefusedMessage when it is not one the API knows. */
export function parseClientMessage(text: string): ClientMessage {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (error) {
    throw new RefusedMessage('BAD_JSON', `A message must be one JSON object: ${(error as Error).message}`);
  }
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    throw new RefusedMessage('BAD_MESSAGE', 'A message must be one JSON object');
  }
  const fields = value as Fields;
  const ref = optionalRef(fields);
  const { type } = fields;
  if (type === undefined) throw new RefusedMessage('BAD_MESSAGE', `"type" is missing`, { ref });
  if (typeof type !== 'string' || !(TYPES as readonly string[]).includes(type)) {
    const shown = typeof type === 'string' ? JSON.stringify(type.slice(0, 40)) : typeof type;
    throw new RefusedMessage('UNKNOWN_TYPE', `Unknown message type ${shown}: one of ${TYPES.join(', ')}`, { ref });
  }
  if (type === 'run') {
    if (ref === undefined) throw new RefusedMessage('BAD_MESSAGE', `"ref" is missing: a run is answered by "started" with its ref`);
    const { program } = fields;
    if (typeof program !== 'string' || program.trim() === '') throw new RefusedMessage('MISSING_PROGRAM', 'Missing program in request', { ref });
    return { type, ref, program };
  }
  const executionId = executionIdOf(fields, ref);
  const about = { ref, executionId };
  switch (type) {
    case 'subscribe':
      return { type, ref, executionId, after: afterOf(fields, about), minLevel: levelOf(fields, about) };
    case 'input':
      return { type, ref, executionId, input: inputOf(fields, about) };
    default:
      return { type: type as 'unsubscribe' | 'cancel', ref, executionId };
  }
}

// What the server sends. Log entries are the hot path: an entry belongs to one execution, so
// its whole message is made once, as UTF-8 bytes, for every socket that sends it (ws sends a
// Buffer as it is, where it would encode a string again for each).
const entryFrames = new WeakMap<LogEntry, Buffer>();

export function entryMessage(executionId: string, entry: LogEntry): Buffer {
  let frame = entryFrames.get(entry);
  if (frame === undefined) {
    // `{"seq":…}` becomes `{"type":"entry","execution_id":"…","seq":…}`.
    frame = Buffer.from(`{"type":"entry","execution_id":"${executionId}",${JSON.stringify(entry).slice(1)}`);
    entryFrames.set(entry, frame);
  }
  return frame;
}

/** A gap says the seq of the last entry it stands for (`seq`), so that `after` resumes exactly. */
export function gapMessage(executionId: string, lastMissed: number, missed: number): string {
  return JSON.stringify({ type: 'gap', execution_id: executionId, missed, seq: lastMissed });
}

export function progressMessage(executionId: string, progress: ProgressRecord): string {
  return JSON.stringify({ type: 'progress', execution_id: executionId, percent: progress.percent, message: progress.message });
}

export interface DoneOutcome {
  readonly status: FinalStatus;
  readonly result: ExecutionResult | undefined;
  readonly error: string | undefined;
}

export function doneMessage(executionId: string, outcome: DoneOutcome): string {
  return JSON.stringify({
    type: 'done',
    execution_id: executionId,
    status: outcome.status,
    ...(outcome.status === 'completed' && outcome.result !== undefined ? { result: outcome.result } : {}),
    ...(outcome.error !== undefined ? { error: outcome.error } : {}),
  });
}

export function startedMessage(ref: string, executionId: string): string {
  return JSON.stringify({ type: 'started', ref, execution_id: executionId });
}

export function errorMessage(code: string, error: string, about: { ref?: string | undefined; executionId?: string | undefined }): string {
  return JSON.stringify({
    type: 'error',
    ...(about.ref !== undefined ? { ref: about.ref } : {}),
    ...(about.executionId !== undefined ? { execution_id: about.executionId } : {}),
    code,
    error,
  });
}
