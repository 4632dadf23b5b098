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
  /** Began running (on `instance`, in Redis mode). */
  running: [];
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

/**
 * An execution as a store keeps it (Redis): everything but its log, to build a copy of it on
 * another instance (Execution.restore()).
 */
export interface ExecutionState {
  readonly id: string;
  readonly owner: string;
  readonly program: string;
  readonly createdAt: Date;
  readonly status: ExecutionStatus;
  readonly startedAt: Date | undefined;
  /** The instance that runs or ran it, once it started. */
  readonly instance: string | undefined;
  readonly progress: ProgressRecord | undefined;
  readonly progressAfterSeq: number;
  /** How it ended, for a finished one, and when. */
  readonly outcome: Outcome | undefined;
  readonly completedAt: Date | undefined;
}

export class Execution extends EventEmitter<ExecutionEvents> {
  readonly id: string;
  readonly owner: string;
  readonly program: string;
  /** What GET /api/executions shows of the program (programPreview()), made once. */
  readonly preview: string;
  readonly logs: LogBuffer;
  readonly createdAt: Date;
  #status: ExecutionStatus = 'queued';
  #startedAt: Date | undefined;
  #instance: string | undefined;
  #completedAt: Date | undefined;
  #result: ExecutionResult | undefined;
  #error: string | undefined;
  #errorReason: ErrorReason | undefined;
  #progress: ProgressRecord | undefined;
  #progressAfterSeq = 0;
  #account: LogAccount | undefined;
  #forgotten = false;

  constructor(id: string, owner: string, program: string, log: ExecutionLogOptions, createdAt = new Date()) {
    super();
    this.id = id;
    this.createdAt = createdAt;
    this.owner = owner;
    this.program = program;
    this.preview = programPreview(program);
    this.#account = log.account;
    this.logs = new LogBuffer(log.capacity, log.lagBudget, log.account);
    log.account?.attach(this.logs);
  }

  /**
   * A copy of an execution that a store keeps (another instance's, in Redis mode), in the state
   * given, with an empty log: the store appends what it read of the log (logs.appendAt()).
   */
  static restore(state: ExecutionState, log: ExecutionLogOptions): Execution {
    const execution = new Execution(state.id, state.owner, state.program, log, state.createdAt);
    if (state.startedAt !== undefined) execution.markRunning(state.instance, state.startedAt);
    if (state.progress !== undefined) {
      execution.#progress = state.progress;
      execution.#progressAfterSeq = state.progressAfterSeq;
    }
    if (state.outcome !== undefined) execution.finish(state.outcome, state.completedAt);
    return execution;
  }

  /**
   * Counts its log in `account` from now on: a copy of a queued execution that this instance
   * takes from the shared queue and runs itself (Redis mode), its streams here reading on.
   */
  countIn(account: LogAccount): void {
    if (this.#account !== undefined) throw new Error('this execution is counted already');
    this.#account = account;
    this.logs.countIn(account);
    account.attach(this.logs);
  }

  get status(): ExecutionStatus {
    return this.#status;
  }

  /** The instance that runs or ran it (Redis mode), once it started. */
  get instance(): string | undefined {
    return this.#instance;
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

  markRunning(instance?: string, at = new Date()): void {
    if (this.#status !== 'queued') return;
    this.#status = 'running';
    this.#startedAt = at;
    this.#instance = instance;
    this.emit('running');
  }

  appendLogs(records: readonly LogRecord[]): void {
    if (!this.finished) this.logs.append(records);
  }

  /** `afterSeq`: the newest log entry's seq when it was reported (given by a copy). */
  setProgress(progress: ProgressRecord, afterSeq = this.logs.lastSeq): void {
    if (this.finished) return;
    this.#progress = progress;
    this.#progressAfterSeq = afterSeq;
    this.emit('progress', progress);
  }

  /** Moves to a final status once, at `at`; later calls are ignored. */
  finish(outcome: Outcome, at = new Date()): void {
    if (this.finished) return;
    if (outcome.status === 'completed') {
      try {
        this.#result = { value: JSON.parse(outcome.json) as unknown, type: outcome.type };
      } catch {
        // The worker serialises results itself; should one ever be unreadable, the execution
        // still ends, as an error, rather than staying "running" for good.
        return this.finish({ status: 'error', reason: 'internal', message: 'The result could not be read back' }, at);
      }
    }
    this.#completedAt = at;
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
