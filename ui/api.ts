// The few HTTP calls of the UI. The session is the httpOnly cookie the browser keeps; a 401
// from anything under /api/ means it ended, and `onUnauthorized` brings the login back.

export interface ApiResult<T> {
  readonly status: number;
  readonly body: T;
}

export interface ErrorBody {
  readonly error: string;
  readonly code?: string;
}

export type ExecutionStatus = 'queued' | 'running' | 'completed' | 'error' | 'cancelled';

export interface LogEntry {
  readonly seq: number;
  readonly timestamp: string;
  readonly level: Level;
  readonly message: string;
}

export const LEVELS = ['DEBUG', 'INFO', 'WARN', 'ERROR'] as const;
export type Level = (typeof LEVELS)[number];

/** GET /api/result: the status, the outcome once there is one, and one page of the log. */
export interface ResultBody {
  readonly execution_id: string;
  readonly status: ExecutionStatus;
  readonly result?: { readonly value: unknown; readonly type: string };
  readonly error?: string;
  readonly logs: readonly LogEntry[];
  readonly logs_missed: number;
  readonly logs_next_after: number;
  readonly logs_more: boolean;
  readonly started_at: string | null;
  readonly completed_at: string | null;
  readonly duration_ms: number | null;
}

export interface ExecutionSummary {
  readonly execution_id: string;
  readonly status: ExecutionStatus;
  readonly started_at: string | null;
  readonly completed_at: string | null;
  readonly duration_ms: number | null;
  readonly program_preview: string;
}

let unauthorized: () => void = () => undefined;

/** Called whenever a call under /api/ answers 401. */
export function onUnauthorized(handler: () => void): void {
  unauthorized = handler;
}

/**
 * A JSON request. Never throws: a network failure is status 0 with a null body, and a body
 * that is not JSON is null. Callers read `body` as T only after checking `status`.
 */
export async function call<T>(method: string, path: string, body?: unknown): Promise<ApiResult<T>> {
  const init: RequestInit = { method, credentials: 'same-origin', headers: { accept: 'application/json' } };
  if (body !== undefined) {
    init.body = JSON.stringify(body);
    init.headers = { ...init.headers, 'content-type': 'application/json' };
  }
  let response: Response;
  let text: string;
  try {
    response = await fetch(path, init);
    text = await response.text();
  } catch {
    return { status: 0, body: null as T };
  }
  let parsed: unknown = null;
  try {
    parsed = text === '' ? null : JSON.parse(text);
  } catch {
    parsed = null;
  }
  if (response.status === 401 && path.startsWith('/api/')) unauthorized();
  return { status: response.status, body: parsed as T };
}

/**
 * The status and outcome of an execution. The page reads the log from the stream, never from
 * here, so it asks for the smallest page (one entry) rather than the whole kept log.
 */
export function getResult(execId: string): Promise<ApiResult<ResultBody>> {
  return call<ResultBody>('GET', `/api/result/${encodeURIComponent(execId)}?limit=1`);
}

/** The message of an error answer, or a generic one. */
export function errorMessage(result: ApiResult<unknown>): string {
  if (result.status === 0) return 'The server could not be reached';
  const body = result.body as Partial<ErrorBody> | null;
  return typeof body?.error === 'string' ? body.error : `The server answered ${result.status}`;
}
