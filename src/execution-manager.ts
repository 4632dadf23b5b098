// ExecutionManager: registers executions, checks who may see them, admits them to the pool,
// applies what the workers report, hands their scripts the input sent to them, and forgets
// finished ones after the retention time (one periodic sweep, not a timer per execution).
import { randomUUID } from 'node:crypto';
import type { Config } from './config.js';
import { AlreadyFinishedError, ExecutionNotFoundError, queueWaitMessage, RestartNeededError, ShuttingDownError, TooManyExecutionsError } from './errors.js';
import { Execution, type ExecutionStatus } from './execution.js';
import { IdleCollector } from './idle-collector.js';
import { InputQueue, type InputMessage } from './input-queue.js';
import { LogBudget, type LogBudgetStats } from './log-budget.js';
import { ThreadLostError, WorkerPool } from './pool.js';
import { Scheduler } from './scheduler.js';
import { SetAsideLedger } from './set-aside.js';
import type { ExecutionStore, Lease, QueuedWork } from './store.js';
import type { CrashKind, ExecTask, ExecutionLimits, ExecutionMessage, Outcome } from '../worker/protocol.js';

export interface ListOptions {
  readonly limit?: number;
  readonly status?: ExecutionStatus;
}

export interface ManagerStats {
  readonly threads: number;
  readonly queued: number;
  readonly running: number;
  /** Isolates set aside after a catastrophic V8 error since start; each keeps its heap. */
  readonly quarantined: number;
  /** Worker threads replaced since start because they stopped responding. */
  readonly lost: number;
}

/** How long past its wall-clock limit an execution may go without an end: the limit itself, within these bounds. */
const WATCHDOG_GRACE_MIN_MS = 1000;
const WATCHDOG_GRACE_MAX_MS = 10_000;

/** How long a cancel for an execution not here yet is kept, for a claim of it on its way (Redis mode). */
const EARLY_CANCEL_MS = 30_000;

/** How often finished executions are looked at for forgetting, at most. */
const MAX_SWEEP_INTERVAL_MS = 30_000;

/** The message of an execution whose worker thread failed it. */
function workerFailure(error: unknown): string {
  if (error instanceof ThreadLostError) return `The worker thread running this execution stopped responding${error.replaced ? ' and was replaced' : ''}`;
  return `The worker thread running this execution stopped: ${error instanceof Error ? error.message : String(error)}`;
}

/**
 * A new execution id (a UUID) as a flat string. randomUUID() builds its string out of pieces,
 * and V8 keeps the pieces: 490 bytes of heap against 68 for the same 36 characters flattened,
 * held by every execution for its retention time.
 */
function executionId(): string {
  return Buffer.from(randomUUID(), 'latin1').toString('latin1');
}

export class ExecutionManager {
  readonly #config: Config;
  readonly #limits: ExecutionLimits;
  readonly #store: ExecutionStore;
  readonly #pool: WorkerPool;
  readonly #scheduler: Scheduler<Execution>;
  readonly #logBudget: LogBudget;
  readonly #setAside: SetAsideLedger;
  /** Told once, when CHARIOT_QUARANTINE_LIMIT is reached (main.ts restarts the process). */
  readonly #restartListeners = new Set<() => void>();
  #restartAnnounced = false;
  /** Resolved when no execution of this instance is unfinished. */
  readonly #idleWaiters = new Set<() => void>();
  /** Unfinished executions of this instance, by id: where worker messages are applied. */
  readonly #live = new Map<string, Execution>();
  readonly #unfinishedByOwner = new Map<string, number>();
  readonly #cancelRequested = new Set<string>();
  /**
   * Cancels asked for an execution not here (yet): one this instance claimed from the shared
   * queue, whose claim's answer had not come back when the request did. Kept for a while.
   */
  readonly #earlyCancels = new Map<string, NodeJS.Timeout>();
  /** The input of unfinished executions here that were sent some or asked for it, dropped at their end. */
  readonly #inputs = new Map<string, InputQueue>();
  /** Unfinished executions whose end is being recorded (ExecutionStore.end()). */
  readonly #ending = new Set<string>();
  readonly #sweep: NodeJS.Timeout;
  /** The main thread's collection after load (CHARIOT_ISOLATE_IDLE_MS without executions). */
  readonly #idleCollector: IdleCollector;
  #closing: Promise<void> | undefined;
  #draining = false;

  constructor(config: Config, store: ExecutionStore) {
    this.#config = config;
    this.#store = store;
    this.#limits = Object.freeze({
      cpuMs: config.cpuMs,
      wallMs: config.wallMs,
      memoryMb: config.memoryMb,
      resultLimitBytes: config.resultLimitBytes,
      logMessageLimit: config.logMessageLimit,
      logEntryCap: config.logEntryCap,
      logByteCap: config.logByteCap,
      walkGuards: config.walkGuards,
    });
    this.#logBudget = new LogBudget({ total: config.logBudget, perUser: config.logBudgetPerUser });
    this.#setAside = new SetAsideLedger({ perUser: config.quarantinePerUser, cooldownMs: config.quarantineCooldownMs });
    this.#pool = new WorkerPool(config, (message) => this.#onWorkerMessage(message), () => this.#announceRestartIfNeeded());
    this.#scheduler = new Scheduler<Execution>(
      { capacity: config.threads * config.tasksPerThread, maxQueue: config.maxQueue, maxWaitMs: config.maxQueueWaitMs },
      (execution) => this.#run(execution),
      (execution) => this.#finish(execution, { status: 'error', reason: 'queue', message: queueWaitMessage(config.maxQueueWaitMs) }),
    );
    const interval = Math.min(MAX_SWEEP_INTERVAL_MS, Math.max(10, Math.floor(config.retentionMs / 4)));
    this.#sweep = setInterval(() => {
      // A store that fails (Redis unreachable) must not become an unhandled rejection, which
      // ends the process: the next sweep tries again.
      this.#store.sweep(Date.now() - this.#config.retentionMs).catch((error: unknown) => {
        console.error('chariot-exec: the retention sweep failed', error);
      });
    }, interval);
    this.#sweep.unref();
    this.#idleCollector = new IdleCollector(config.isolateIdleMs, () => this.#live.size > 0);
    // Another instance asked (Redis mode), or this one lost its claim on the execution.
    store.onCancelRequest((id) => {
      const execution = this.#live.get(id);
      if (execution !== undefined) this.#requestCancel(execution);
      else this.#cancelEarly(id);
    });
    // Redis mode: the answers to its scripts' input() calls, read from the input every instance reaches.
    // One that comes after the execution ended here is dropped with it.
    store.input?.onInput((id, message) => {
      if (this.#unfinished(id)) this.#pool.input(id, message);
    });
    // Redis mode: this instance takes work from the queue every instance shares while it has a free slot.
    store.queue?.begin(config.threads * config.tasksPerThread, (work) => this.#take(work));
  }

  /** Memory-reducing collections of the main thread's heap after load, so far (test probe). */
  get idleCollections(): number {
    return this.#idleCollector.collections;
  }

  /** Fault injection for tests: the worker running this execution dies as if it crashed. */
  crashWorkerOf(id: string, how: CrashKind): void {
    this.#pool.crashWorkerOf(id, how);
  }

  /** The pool's worker threads (diagnostics and fault tests). */
  get workers(): WorkerPool['workers'] {
    return this.#pool.workers;
  }

  get stats(): ManagerStats {
    return {
      threads: this.#pool.threads,
      queued: this.#store.queue?.queued ?? this.#scheduler.queued,
      running: this.#store.queue?.running ?? this.#scheduler.running,
      quarantined: this.#pool.quarantined,
      lost: this.#pool.lost,
    };
  }

  /** What the logs of all executions keep, against CHARIOT_LOG_BUDGET and CHARIOT_LOG_BUDGET_PER_USER. */
  get logStats(): LogBudgetStats {
    return this.#logBudget.stats;
  }

  /**
   * True once CHARIOT_QUARANTINE_LIMIT isolates were quarantined: their heaps stay in use, so
   * the server takes no new executions (running ones finish) and /healthz says so.
   */
  get needsRestart(): boolean {
    return this.#pool.quarantined >= this.#config.quarantineLimit;
  }

  /**
   * `listener` is called once when the server reaches CHARIOT_QUARANTINE_LIMIT (at once if it
   * has): from then on it takes nothing new, and it is meant to drain and restart.
   */
  onRestartNeeded(listener: () => void): void {
    if (this.#restartAnnounced) return listener();
    this.#restartListeners.add(listener);
  }

  /** Resolves true once no execution is unfinished, or false after `timeoutMs`. */
  whenIdle(timeoutMs: number): Promise<boolean> {
    if (this.#live.size === 0 && this.#scheduler.queued === 0) return Promise.resolve(true);
    return new Promise((resolve) => {
      const done = (idle: boolean): void => {
        clearTimeout(timer);
        this.#idleWaiters.delete(waiter);
        resolve(idle);
      };
      const waiter = (): void => done(true);
      const timer = setTimeout(() => done(false), timeoutMs);
      this.#idleWaiters.add(waiter);
    });
  }

  /**
   * Redis mode, SIGTERM: this instance takes no more work (what waits is for the others, and
   * what is submitted here waits in the shared queue too), and its running executions go on;
   * close() after whenIdle() cancels what is left.
   */
  drain(): void {
    this.#draining = true;
    this.#store.queue?.pause();
  }

  /** True once drain() was called. */
  get draining(): boolean {
    return this.#draining;
  }

  /** True when a worker thread holds a quarantined isolate: the process cannot exit normally. */
  get pinned(): boolean {
    return this.#pool.pinned;
  }

  /**
   * Registers and queues a program, all or nothing: a 429 or 503, or a store that fails,
   * leaves nothing registered, scheduled or counted against the owner. In Redis mode it starts
   * here when a slot is free and nothing waits, else it waits in the shared queue for whichever
   * instance has a free slot first: then the execution returned is not kept up to date here
   * (open() it to follow it).
   */
  async submit(owner: string, program: string): Promise<Execution> {
    if (this.#closing) throw new ShuttingDownError();
    if (this.needsRestart) throw new RestartNeededError(this.#pool.quarantined);
    const refusal = this.#setAside.refusal(owner);
    if (refusal !== undefined) throw refusal;
    const unfinished = this.#unfinishedByOwner.get(owner) ?? 0;
    if (unfinished >= this.#config.maxPerUser) throw new TooManyExecutionsError(this.#config.maxPerUser);
    this.#logBudget.assertRoom(owner);
    const shared = this.#store.queue;
    if (shared === undefined) this.#scheduler.assertRoom(owner);
    const execution = new Execution(executionId(), owner, program, {
      capacity: this.#config.logBuffer,
      lagBudget: this.#config.sseLagBudget,
      account: this.#logBudget.open(owner),
    });
    // A slot here, for taking it at once when nothing waits in the shared queue.
    const reserved = shared?.reserve() ?? false;
    // Counted while the store is written, so that the owner's other submissions meanwhile see it.
    this.#unfinishedByOwner.set(owner, unfinished + 1);
    let placement;
    try {
      placement = await this.#store.add(execution, reserved);
    } catch (error) {
      if (reserved) shared?.unreserve();
      this.#uncount(owner);
      execution.forget();
      throw error;
    }
    if (placement === 'queued') {
      // Any instance takes it from the shared queue (this one too, when a slot frees).
      if (reserved) shared?.unreserve();
      this.#uncount(owner);
      execution.forget();
      return execution;
    }
    try {
      // The server may have started closing, or the queue filled, while the store was written.
      if (this.#closing) throw new ShuttingDownError();
      // Workers report asynchronously, so the execution is in #live before its first message.
      this.#live.set(execution.id, execution);
      this.#idleCollector.worked();
      if (shared === undefined) this.#scheduler.submit(execution);
      else shared.occupy(this.#run(execution));
    } catch (error) {
      if (reserved) shared?.unreserve();
      this.#live.delete(execution.id);
      this.#uncount(owner);
      await this.#store.remove(execution.id).catch((removal: unknown) => {
        // Then it stays readable, ended: never queued for good.
        execution.finish({ status: 'error', reason: 'internal', message: 'The execution could not be scheduled' });
        console.error('chariot-exec: a refused execution could not be removed from the store', removal);
      });
      throw error;
    }
    return execution;
  }

  /** Submits a program and follows it to its end (POST /api/execute): release() the lease when done. */
  async run(owner: string, program: string): Promise<Lease> {
    const execution = await this.submit(owner, program);
    if (this.#live.get(execution.id) === execution || this.#store.queue === undefined) return { execution, release: () => undefined };
    return this.open(execution.id, owner);
  }

  /** Runs an execution this instance took from the shared queue (Redis mode); settles when its slot is free. */
  #take(work: QueuedWork): Promise<void> {
    // The copy its streams here read, if any: they read on from it as it runs here.
    const adopted = this.#store.adopt(work.id);
    adopted?.countIn(this.#logBudget.open(work.owner));
    const execution = adopted ?? new Execution(work.id, work.owner, work.program, {
      capacity: this.#config.logBuffer,
      lagBudget: this.#config.sseLagBudget,
      account: this.#logBudget.open(work.owner),
    }, work.createdAt);
    this.#store.hold(execution);
    this.#unfinishedByOwner.set(work.owner, (this.#unfinishedByOwner.get(work.owner) ?? 0) + 1);
    this.#live.set(execution.id, execution);
    this.#idleCollector.worked();
    const early = this.#earlyCancels.get(work.id);
    if (early !== undefined) {
      clearTimeout(early);
      this.#earlyCancels.delete(work.id);
      this.#finish(execution, { status: 'cancelled' });
      return Promise.resolve();
    }
    return this.#run(execution);
  }

  #cancelEarly(id: string): void {
    clearTimeout(this.#earlyCancels.get(id));
    const timer = setTimeout(() => this.#earlyCancels.delete(id), EARLY_CANCEL_MS);
    timer.unref();
    this.#earlyCancels.set(id, timer);
  }

  /**
   * The owner's execution (this instance's own while it runs here, else as stored);
   * ExecutionNotFoundError for anyone else's, as for an unknown id.
   */
  async get(id: string, owner: string): Promise<Execution> {
    const execution = this.#live.get(id) ?? (await this.#store.get(id));
    if (execution === undefined || execution.owner !== owner) throw new ExecutionNotFoundError();
    return execution;
  }

  /**
   * The owner's execution, kept up to date until released (a stream's): this instance's own, or
   * a copy of one another instance holds. ExecutionNotFoundError as for get().
   */
  async open(id: string, owner: string): Promise<Lease> {
    const local = this.#live.get(id);
    if (local !== undefined) {
      if (local.owner !== owner) throw new ExecutionNotFoundError();
      return { execution: local, release: () => undefined };
    }
    const lease = await this.#store.follow(id);
    if (lease === undefined) throw new ExecutionNotFoundError();
    if (lease.execution.owner !== owner) {
      lease.release();
      throw new ExecutionNotFoundError();
    }
    return lease;
  }

  /** The owner's executions, newest first. */
  async list(owner: string, options: ListOptions = {}): Promise<readonly Execution[]> {
    let executions = await this.#store.listByOwner(owner);
    if (options.status !== undefined) executions = executions.filter((execution) => execution.status === options.status);
    return options.limit === undefined ? executions : executions.slice(0, options.limit);
  }

  /**
   * Cancels a queued or running execution and resolves once it has stopped, whichever instance
   * holds it (Redis mode: the request is stored, then its holder is woken).
   */
  async cancel(id: string, owner: string): Promise<Execution> {
    const local = this.#live.get(id);
    if (local !== undefined && local.owner === owner) {
      this.#requestCancel(local);
      return this.#cancelled(local);
    }
    const lease = await this.open(id, owner);
    try {
      const { execution } = lease;
      if (execution.finished) throw new AlreadyFinishedError(execution.status);
      const asked = await this.#store.requestCancel(id);
      if (asked === 'unknown') throw new ExecutionNotFoundError();
      return await this.#cancelled(execution);
    } finally {
      lease.release();
    }
  }

  /**
   * Hands one message (or the end) to the input of the owner's unfinished execution, queued or
   * running (Redis mode: on any instance, or waiting in the shared queue): at once to an input()
   * of its script that waits, else kept in order for the next one. Resolves with how many
   * messages then wait undelivered. ExecutionNotFoundError as for get(), AlreadyFinishedError
   * once it finished, InputEndedError after the end, TooMuchInputError past
   * CHARIOT_INPUT_MAX_QUEUED or CHARIOT_INPUT_MAX_BYTES (across every instance), and in Redis
   * mode StorageUnavailableError when it could not be kept.
   */
  async input(id: string, owner: string, message: InputMessage): Promise<number> {
    const local = this.#live.get(id);
    // Its end is being recorded: the script reads nothing more.
    if (local !== undefined && local.owner === owner && !this.#unfinished(id)) throw new AlreadyFinishedError(await local.whenFinished());
    const shared = this.#store.input;
    if (shared !== undefined) return shared.send(id, owner, message);
    if (local === undefined || local.owner !== owner) {
      const execution = await this.get(id, owner);
      // Every unfinished execution in memory is live here: this one finished.
      throw new AlreadyFinishedError(execution.status);
    }
    const queue = this.#inputOf(id);
    const answer = queue.offer(message);
    if (answer !== undefined) this.#pool.input(id, answer);
    return queue.queued;
  }

  #inputOf(id: string): InputQueue {
    let queue = this.#inputs.get(id);
    if (queue === undefined) {
      queue = new InputQueue({ maxQueued: this.#config.inputMaxQueued, maxBytes: this.#config.inputMaxBytes });
      this.#inputs.set(id, queue);
    }
    return queue;
  }

  async #cancelled(execution: Execution): Promise<Execution> {
    const status = await execution.whenFinished();
    if (status !== 'cancelled') throw new AlreadyFinishedError(status);
    return execution;
  }

  /** Stops admitting, cancels everything unfinished, waits for it to stop, stops the pool. */
  close(): Promise<void> {
    this.#closing ??= (async () => {
      clearInterval(this.#sweep);
      this.#idleCollector.close();
      // What waits in the shared queue stays there, for the other instances.
      this.#store.queue?.pause();
      for (const execution of this.#scheduler.drain()) this.#finish(execution, { status: 'cancelled' });
      const running = [...this.#live.values()];
      for (const execution of running) this.#requestCancel(execution);
      // A live thread answers these cancels at once. One that does not has stopped responding:
      // the pool takes it out of service, which ends its executions, so shutdown never waits
      // for a watchdog (up to 70 s), nor ends in a process.exit that a frozen thread would hang.
      for (const execution of running) void this.#pool.overdue(execution.id, false);
      await Promise.all(running.map((execution) => execution.whenFinished()));
      await this.#pool.close();
      await this.#store.close();
    })();
    return this.#closing;
  }

  #requestCancel(execution: Execution): void {
    if (this.#scheduler.remove(execution)) {
      this.#finish(execution, { status: 'cancelled' });
      return;
    }
    // Running, or handed to a worker that has not reported 'started' yet: then the request is
    // repeated when it does (see #onWorkerMessage), since the worker could not know the id.
    this.#cancelRequested.add(execution.id);
    this.#pool.cancel(execution.id);
  }

  #task(execution: Execution): ExecTask {
    return { execId: execution.id, owner: execution.owner, program: execution.program, limits: this.#limits };
  }

  async #run(execution: Execution): Promise<void> {
    // Quarantined isolates keep their memory: past the limit, queued work does not start
    // either (each could set aside one more).
    if (this.needsRestart) {
      this.#finish(execution, { status: 'error', reason: 'internal', message: new RestartNeededError(this.#pool.quarantined).message });
      return;
    }
    // So do the queued executions of a user refused for the isolates theirs had set aside.
    const refusal = this.#setAside.refusal(execution.owner);
    if (refusal !== undefined) {
      this.#finish(execution, { status: 'error', reason: 'isolate', message: refusal.message });
      return;
    }
    // Handed to a thread that stopped responding before it began there: it never ran, so it
    // runs on another thread (the lost one's replacement, or any).
    while (!(await this.#attempt(execution)));
  }

  /**
   * Runs the execution on a thread of the pool; false when that thread was found to have
   * stopped responding before the execution began there, so that it may be tried again.
   */
  async #attempt(execution: Execution): Promise<boolean> {
    // The worker ends every execution by its wall-clock limit. One that has not reported an
    // end well after it is held by a thread that stopped responding (a fatal error parked
    // it): the record must not stay running for good, and the pool checks the thread.
    const grace = Math.min(WATCHDOG_GRACE_MAX_MS, Math.max(WATCHDOG_GRACE_MIN_MS, this.#config.wallMs));
    const watchdog = setTimeout(() => {
      // Ended, and its thread still busy with its isolate: the worker waits to learn whether
      // the isolate is set aside (a thread that stopped answering is the heartbeat's to find).
      if (!this.#unfinished(execution.id)) return;
      this.#finish(execution, {
        status: 'error',
        reason: 'worker',
        message: `The worker thread running this execution stopped responding: no end ${grace} ms after the wall-clock limit of ${this.#config.wallMs} ms`,
      });
      void this.#pool.overdue(execution.id);
    }, this.#config.wallMs + grace);
    try {
      // Counted against its owner before its slot is reused, so that their queued executions see it.
      const { setAside } = await this.#pool.run(this.#task(execution));
      if (setAside) this.#setAside.record(execution.owner);
    } catch (error) {
      const unbegun = error instanceof ThreadLostError && error.replaced && execution.status === 'queued';
      if (unbegun && this.#unfinished(execution.id) && !this.needsRestart) return false;
      this.#finish(execution, { status: 'error', reason: 'worker', message: workerFailure(error) });
    } finally {
      clearTimeout(watchdog);
      // The task's answer may be where the pool first learns of a quarantine.
      this.#announceRestartIfNeeded();
    }
    return true;
  }

  #announceRestartIfNeeded(): void {
    if (this.#restartAnnounced || !this.needsRestart) return;
    this.#restartAnnounced = true;
    this.#store.queue?.pause();
    for (const listener of this.#restartListeners) listener();
    this.#restartListeners.clear();
  }

  #onWorkerMessage(message: ExecutionMessage): void {
    const execution = this.#live.get(message.execId);
    if (execution === undefined) return;
    switch (message.kind) {
      case 'started':
        execution.markRunning(this.#config.instanceId);
        if (this.#cancelRequested.has(execution.id)) this.#pool.cancel(execution.id);
        break;
      case 'logs':
        execution.appendLogs(message.records);
        break;
      case 'progress':
        execution.setProgress(message.progress);
        break;
      case 'ended':
        this.#finish(execution, message.outcome);
        break;
      case 'input-wanted': {
        const shared = this.#store.input;
        if (shared !== undefined) {
          shared.want(execution.id);
          break;
        }
        const answer = this.#inputOf(execution.id).want();
        if (answer !== undefined) this.#pool.input(execution.id, answer);
        break;
      }
    }
  }

  /**
   * Ends an execution once: recorded in the store first (Redis mode), so that whoever sees it
   * end here can read its end on any instance.
   */
  #finish(execution: Execution, outcome: Outcome): void {
    if (!this.#unfinished(execution.id)) return;
    this.#ending.add(execution.id);
    const recorded = this.#store.end(execution, outcome);
    if (recorded === undefined) this.#settle(execution, outcome, undefined);
    else void recorded.then((at) => this.#settle(execution, outcome, at));
  }

  /** True while the execution runs or waits here, and its end is not being recorded. */
  #unfinished(id: string): boolean {
    return this.#live.has(id) && !this.#ending.has(id);
  }

  #settle(execution: Execution, outcome: Outcome, at: Date | undefined): void {
    this.#ending.delete(execution.id);
    this.#live.delete(execution.id);
    this.#cancelRequested.delete(execution.id);
    // What its script did not read goes with it.
    this.#inputs.delete(execution.id);
    this.#store.input?.drop(execution.id);
    this.#uncount(execution.owner);
    execution.finish(outcome, at);
    if (this.#live.size === 0 && this.#scheduler.queued === 0) for (const waiter of [...this.#idleWaiters]) waiter();
  }

  /** One unfinished execution of this owner fewer. */
  #uncount(owner: string): void {
    const left = (this.#unfinishedByOwner.get(owner) ?? 1) - 1;
    if (left > 0) this.#unfinishedByOwner.set(owner, left);
    else this.#unfinishedByOwner.delete(owner);
  }
}
