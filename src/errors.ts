// Every error the service answers with on purpose: a fixed `code` and HTTP `status` each.
// Handlers only throw these; `errorMiddleware` (src/http/error-middleware.ts) turns them into
// `{"error": message, "code": code}` responses. Anything else is a 500 with a generic message.

export class ChariotError extends Error {
  readonly code: string = 'CHARIOT_ERR';
  readonly status: number = 500;
  /** Extra response headers, e.g. Retry-After. */
  readonly headers: Readonly<Record<string, string>> = {};

  /**
   * Without a stack trace: these are answers, not faults, and under overload most requests
   * end in one (a 429 or 503). Capturing the stack through Koa's middleware was 4 % of the
   * main thread's busy time in bench scenario 5.
   */
  constructor(message?: string) {
    const limit = Error.stackTraceLimit;
    Error.stackTraceLimit = 0;
    super(message);
    Error.stackTraceLimit = limit;
  }
}

export class BadRequestError extends ChariotError {
  override readonly code = 'BAD_REQUEST';
  override readonly status = 400;
}

export class MissingProgramError extends ChariotError {
  override readonly code = 'MISSING_PROGRAM';
  override readonly status = 400;
  constructor() {
    super('Missing program in request');
  }
}

export class InvalidCredentialsError extends ChariotError {
  override readonly code = 'INVALID_CREDENTIALS';
  override readonly status = 401;
  constructor() {
    super('Invalid credentials');
  }
}

export class UnauthorizedError extends ChariotError {
  override readonly code = 'UNAUTHORIZED';
  override readonly status = 401;
  constructor() {
    super('Unauthorized');
  }
}

export class NotFoundError extends ChariotError {
  override readonly code: string = 'NOT_FOUND';
  override readonly status = 404;
}

export class ExecutionNotFoundError extends NotFoundError {
  override readonly code = 'EXECUTION_NOT_FOUND';
  constructor() {
    super('Execution not found');
  }
}

export class MethodNotAllowedError extends ChariotError {
  override readonly code = 'METHOD_NOT_ALLOWED';
  override readonly status = 405;
  constructor(method: string, path: string) {
    super(`Method ${method} is not allowed on ${path}`);
  }
}

export class NotImplementedError extends ChariotError {
  override readonly code = 'NOT_IMPLEMENTED';
  override readonly status = 501;
  constructor(method: string) {
    super(`Method ${method} is not implemented`);
  }
}

export class AlreadyFinishedError extends ChariotError {
  override readonly code = 'ALREADY_FINISHED';
  override readonly status = 409;
  constructor(status: string) {
    super(`Execution already finished with status ${status}`);
  }
}

export class InputEndedError extends ChariotError {
  override readonly code = 'INPUT_ENDED';
  override readonly status = 409;
  constructor() {
    super('The input of this execution was ended');
  }
}

/** What of the input limits a message is refused for (src/input-queue.ts). */
export type InputLimit = 'message' | 'messages' | 'bytes';

export class TooMuchInputError extends ChariotError {
  override readonly code = 'INPUT_LIMIT';
  override readonly status = 413;
  constructor(limit: InputLimit, bytes: number, limits: { readonly maxQueued: number; readonly maxBytes: number }) {
    super(limit === 'message'
      ? `The input message is ${bytes} bytes, over CHARIOT_INPUT_MAX_BYTES (${limits.maxBytes} bytes)`
      : limit === 'messages'
        ? `Too much input waiting: ${limits.maxQueued} messages the script has not read yet (CHARIOT_INPUT_MAX_QUEUED)`
        : `Too much input waiting: this message of ${bytes} bytes would take the input the script has not read yet over CHARIOT_INPUT_MAX_BYTES (${limits.maxBytes} bytes)`);
  }
}

export class TooManyExecutionsError extends ChariotError {
  override readonly code = 'TOO_MANY_EXECUTIONS';
  override readonly status = 429;
  constructor(limit: number) {
    super(`Too many unfinished executions: at most ${limit} per user`);
  }
}

export class TooManyStreamsError extends ChariotError {
  override readonly code = 'TOO_MANY_STREAMS';
  override readonly status = 429;
  constructor(limit: number) {
    super(`Too many open log streams: at most ${limit} per user`);
  }
}

export class QueueFullError extends ChariotError {
  override readonly code = 'QUEUE_FULL';
  override readonly status = 503;
  override readonly headers: Readonly<Record<string, string>>;
  constructor(limit: number, retryAfterSeconds: number) {
    super(`The execution queue is full (${limit} waiting); try again later`);
    this.headers = { 'Retry-After': String(retryAfterSeconds) };
  }
}

export class QueueWaitError extends ChariotError {
  override readonly code = 'QUEUE_WAIT';
  override readonly status = 503;
  override readonly headers: Readonly<Record<string, string>>;
  constructor(predictedMs: number, limitMs: number) {
    super(`The predicted wait for a slot (${predictedMs} ms) is over CHARIOT_MAX_QUEUE_WAIT_MS (${limitMs} ms); try again later`);
    // When the queue ahead, going at the same pace, would have shrunk to the limit.
    this.headers = { 'Retry-After': String(Math.max(1, Math.ceil((predictedMs - limitMs) / 1000))) };
  }
}

/** How an execution that waited CHARIOT_MAX_QUEUE_WAIT_MS without starting ends. */
export function queueWaitMessage(limitMs: number): string {
  return `Waited ${limitMs} ms for a slot without starting (CHARIOT_MAX_QUEUE_WAIT_MS)`;
}

export class LogBudgetFullError extends ChariotError {
  override readonly code = 'LOG_BUDGET_FULL';
  override readonly status = 503;
  override readonly headers: Readonly<Record<string, string>>;
  constructor(scope: 'user' | 'total', budgetBytes: number, retryAfterSeconds: number) {
    const which = scope === 'user' ? `this user's running executions fill their log budget (CHARIOT_LOG_BUDGET_PER_USER, ${budgetBytes} bytes)` : `running executions fill the log budget of the server (CHARIOT_LOG_BUDGET, ${budgetBytes} bytes)`;
    super(`No room for another execution's log: ${which}; try again when some have finished`);
    this.headers = { 'Retry-After': String(retryAfterSeconds) };
  }
}

export class ShuttingDownError extends ChariotError {
  override readonly code = 'SHUTTING_DOWN';
  override readonly status = 503;
  override readonly headers: Readonly<Record<string, string>> = { 'Retry-After': '5' };
  constructor() {
    super('The server is shutting down');
  }
}

export class RestartNeededError extends ChariotError {
  override readonly code = 'RESTART_NEEDED';
  override readonly status = 503;
  constructor(quarantined: number) {
    super(`The server takes no new executions until it is restarted: ${quarantined} isolates were set aside after fatal errors`);
  }
}

export class SetAsideLimitError extends ChariotError {
  override readonly code = 'TOO_MANY_SET_ASIDE';
  override readonly status = 429;
  override readonly headers: Readonly<Record<string, string>>;
  constructor(limit: number, retryAfterSeconds: number) {
    super(`This user's executions had ${limit} isolates set aside that the sandbox could not stop or free (CHARIOT_QUARANTINE_PER_USER): their new executions are refused for ${retryAfterSeconds} s more`);
    this.headers = { 'Retry-After': String(retryAfterSeconds) };
  }
}

export class PayloadTooLargeError extends ChariotError {
  override readonly code = 'PAYLOAD_TOO_LARGE';
  override readonly status = 413;
  constructor(limit: number) {
    super(`Request body is over the limit of ${limit} bytes`);
  }
}

export class UnsupportedMediaTypeError extends ChariotError {
  override readonly code = 'UNSUPPORTED_MEDIA_TYPE';
  override readonly status = 415;
}

export class CrossOriginError extends ChariotError {
  override readonly code = 'CROSS_ORIGIN';
  override readonly status = 403;
  constructor(origin: string) {
    const shown = origin.length > 200 ? `${origin.slice(0, 200)}…` : origin;
    super(`Cross-origin request refused: Origin ${JSON.stringify(shown)} is neither this server's origin nor in CHARIOT_ALLOWED_ORIGINS`);
  }
}

export class HttpsRequiredError extends ChariotError {
  override readonly code = 'HTTPS_REQUIRED';
  override readonly status = 403;
  constructor() {
    super('This server sends its session cookie over HTTPS only (CHARIOT_SECURE_COOKIES): log in and out over https');
  }
}

export class TooManyLoginAttemptsError extends ChariotError {
  override readonly code = 'TOO_MANY_LOGIN_ATTEMPTS';
  override readonly status = 429;
  override readonly headers: Readonly<Record<string, string>>;
  constructor(scope: 'user name' | 'address', retryAfterSeconds: number) {
    super(`Too many failed logins ${scope === 'address' ? 'from this address' : 'for this user name'}: try again in ${retryAfterSeconds} s`);
    this.headers = { 'Retry-After': String(retryAfterSeconds) };
  }
}

export class LoginBusyError extends ChariotError {
  override readonly code = 'LOGIN_BUSY';
  override readonly status = 503;
  override readonly headers: Readonly<Record<string, string>> = { 'Retry-After': '1' };
  constructor() {
    super('Too many logins are being checked at once: try again in a moment');
  }
}

/** Redis mode: Redis cannot be reached (or written) now; the call changed nothing. */
export class StorageUnavailableError extends ChariotError {
  override readonly code = 'REDIS_UNAVAILABLE';
  override readonly status = 503;
  override readonly headers: Readonly<Record<string, string>> = { 'Retry-After': '1' };
  constructor() {
    super('Storage unavailable');
  }
}
