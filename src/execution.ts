// Execution: one submitted program and everything known about it, as a state machine
//   queued → running → completed | error | cancelled
// It owns the LogBuffer its worker's output is appended to, the latest progress, and the
// outcome. The result endpoint, the sync endpoint and the SSE stream all read this one object.
// Its log is counted in a LogBudget account when it has one; forget() gives the log up.
import { EventEmitter } from 'eventemitter3';
import type { LogAccount } from './log-budget.js';
import { LogBuffer, type LogRecord } from './log-buffer.js';
import { programPreview } from './preview.js';
import type { ErrorReason, Outcome, ProgressRecord, ResultType } from '../worker/protocol.js';

export type ExecutionStatus = 'queued' | 'running' | 'completed' | 'error' | 'cancelled';
export type FinalStatus = Extract<ExecutionStatus, 'completed' | 'error' | 'cancelled'>;

export const STATUSES: readonly ExecutionStatus[] = ['queued', 'running', 'completed', 'error', 'cancelled'];

export interface ExecutionResult {
  readonly value: unknown;
  readonly type: ResultType;
}

interface ExecutionEvents {
  progress: [progress: ProgressRecord];
  end: [status: FinalStatus];
  /** The store forgot it (retention): its log is gone, its streams end. */
  forgotten: [];
}

export interface ExecutionLogOptions {
  /** The ring, in entries (CHARIOT_LOG_BUFFER). */
  readonly capacity: number;
  /** Bytes a live reader may fall behind the ring (CHARIOT_SSE_LAG_BUDGET). */
  readonly lagBudget: number;
  /** Where what the log keeps is counted (CHARIOT_LOG_BUDGET, CHARIOT_LOG_BUDGET_PER_USER). */
  readonly account?: LogAccount;
}

export class Execution extends EventEmitter<ExecutionEvents> {
  readonly id: string;
  readonly owner: string;
  readonly program: string;
  /** What GET /api/executions shows of the program (programPreview()), made once. */
  readonly preview: string;
  readonly logs: LogBuffer;
  readonly createdAt = new Date();
  #status: ExecutionStatus = 'queued';
  #startedAt: Date | undefined;
  #completedAt: Date | undefined;
  #result: ExecutionResult | undefined;
  #error: string | undefined;
  #errorReason: ErrorReason | undefined;
  #progress: ProgressRecord | undefined;
  #progressAfterSeq = 0;
  readonly #account: LogAccount | undefined;
  #forgotten = false;

  constructor(id: string, owner: string, program: string, log: ExecutionLogOptions) {
    super();
    this.id = id;
    this.owner = owner;
    this.program = program;
    this.preview = programPreview(program);
    this.#account = log.account;
    this.logs = new LogBuffer(log.capacity, log.lagBudget, log.account);
    log.account?.attach(this.logs);
  }

  get status(): ExecutionStatus {
    return this.#status;
  }

  get finished(): boolean {
    return this.#status !== 'queued' && this.#status !== 'running';
  }

  get startedAt(): Date | undefined {
    return this.#startedAt;
  }

  get completedAt(): Date | undefined {
    return this.#completedAt;
  }

  /** Milliseconds from start (or submission, if it never started) to completion. */
  get durationMs(): number | undefined {
    if (!this.#completedAt) return undefined;
    return this.#completedAt.getTime() - (this.#startedAt ?? this.createdAt).getTime();
  }

  get result(): ExecutionResult | undefined {
    return this.#result;
  }

  get error(): string | undefined {
    return this.#error;
  }

  get errorReason(): ErrorReason | undefined {
    return this.#errorReason;
  }

  /** The latest progress reported; progress is state, so earlier reports are not kept. */
  get progress(): ProgressRecord | undefined {
    return this.#progress;
  }

  /** Seq of the newest log entry when the latest progress was reported: its place in the log. */
  get progressAfterSeq(): number {
    return this.#progressAfterSeq;
  }

  markRunning(): void {
    if (this.#status !== 'queued') return;
    this.#status = 'running';
    this.#startedAt = new Date();
  }

  appendLogs(records: readonly LogRecord[]): void {
    if (!this.finished) this.logs.append(records);
  }

  setProgress(progress: ProgressRecord): void {
    if (this.finished) return;
    this.#progress = progress;
    this.#progressAfterSeq = this.logs.lastSeq;
    this.emit('progress', progress);
  }

  /** Moves to a final status once; later calls are ignored. */
  finish(outcome: Outcome): void {
    if (this.finished) return;
    if (outcome.status === 'completed') {
      try {
        this.#result = { value: JSON.parse(outcome.json) as unknown, type: outcome.type };
      } catch {
        // The worker serialises results itself; should one ever be unreadable, the execution
        // still ends, as an error, rather than staying "running" for good.
        return this.finish({ status: 'error', reason: 'internal', message: 'The result could not be read back' });
      }
    }
    this.#completedAt = new Date();
    switch (outcome.status) {
      case 'completed':
        break;
      case 'error':
        this.#error = outcome.message;
        this.#errorReason = outcome.reason;
        break;
      case 'cancelled':
        this.#error = 'Execution cancelled';
        break;
    }
    this.#status = outcome.status;
    // From now on its log is the first a budget evicts from, before any running execution's.
    this.#account?.finish();
    this.emit('end', outcome.status);
  }

  /** True once the store forgot it. */
  get forgotten(): boolean {
    return this.#forgotten;
  }

  /**
   * The store forgot it: the log gives up every entry at once, even those a stalled reader still
   * holds (retention wins), its account is closed, and its streams end. Runs once.
   */
  forget(): void {
    if (this.#forgotten) return;
    this.#forgotten = true;
    this.logs.evictOldest(Number.POSITIVE_INFINITY);
    this.#account?.close();
    this.emit('forgotten');
  }

  /** Resolves with the final status, at once if there is one. */
  whenFinished(): Promise<FinalStatus> {
    if (this.finished) return Promise.resolve(this.#status as FinalStatus);
    return new Promise((resolve) => this.once('end', resolve));
  }
}
