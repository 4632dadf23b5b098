// The worker pool: the only module that imports piscina. Each task is one execution; the
// worker reports its progress over its own parentPort (one port per worker, messages tagged
// by execution id, see worker/protocol.ts), and cancel requests go out on a BroadcastChannel.
// Each thread is a Piscina of one worker, so that a thread that stops responding can be taken
// out of service alone: its tasks fail, a new thread takes its place (docs/API.md).
import { randomUUID } from 'node:crypto';
import { BroadcastChannel, type Worker } from 'node:worker_threads';
import { Piscina } from 'piscina';
import { contextLockBuffer } from '../worker/context-lock.js';
import type { InputMessage } from './input-queue.js';
import type { ControlMessage, CrashKind, ExecTask, ExecutionMessage, TaskResult, WorkerConfig, WorkerMessage } from '../worker/protocol.js';

export interface PoolOptions {
  /** Worker threads, started at once and kept alive. */
  readonly threads: number;
  /** Executions one worker holds at once (most of them awaiting, which holds no thread). */
  readonly tasksPerThread: number;
  /** Test seam (src/test-probe.ts): the workers' probe channel; undefined in production. */
  readonly testProbeChannel: string | undefined;
  /** Heap limit of each isolate, in MiB. */
  readonly memoryMb: number;
  /** Spare isolates each worker keeps warm, made off the request path. */
  readonly spareIsolates: number;
  /** A kept isolate idle this long is disposed (CHARIOT_ISOLATE_IDLE_MS). */
  readonly isolateIdleMs: number;
  /** Heap of all isolates together, in MiB; each worker gets an even share. */
  readonly sandboxMemoryMb: number;
  /** A thread that has not answered the heartbeat for this long is taken out of service (CHARIOT_THREAD_STALL_MS). */
  readonly threadStallMs: number;
  /** The worker threads' nice value (CHARIOT_WORKER_NICE). */
  readonly workerNice: number;
}

/** Told of an isolate set aside (or a lost thread that never stopped, which counts as one). */
export type SetAsideListener = () => void;

/** A task failed because its thread stopped responding and was taken out of service. */
export class ThreadLostError extends Error {
  override name = 'ThreadLostError';
  /** False at shutdown, when no thread takes the lost one's place. */
  readonly replaced: boolean;

  constructor(replaced: boolean, cause: unknown) {
    super(`The worker thread stopped responding${replaced ? ' and was replaced' : ''}`, { cause });
    this.replaced = replaced;
  }
}

/** One worker thread in service: a Piscina of one worker, and the tasks handed to it. */
interface Thread {
  readonly piscina: Piscina<ExecTask, TaskResult>;
  running: number;
  lost: boolean;
  replaced: boolean;
  /** When its worker last answered the heartbeat (or started), on performance.now()'s clock. */
  answeredAt: number;
}

const WORKER_FILE = new URL('../worker/index.js', import.meta.url).href;
/** Host heap of one worker thread, in MiB (the isolates' heaps are not counted in it). */
const WORKER_HEAP_MB = 512;
/** How long workers get to dispose their isolates at close, and a lost thread to stop. */
const WORKER_CLOSE_MS = 3000;
/** How long the thread of an overdue execution gets to answer a cancel before it counts as lost. */
const ANSWER_MS = 1000;
/** The heartbeat's period at most: a stalled thread is found within CHARIOT_THREAD_STALL_MS and this. */
const HEARTBEAT_MAX_MS = 1000;

/** True when `promise` settles within `ms`. */
function settlesWithin(promise: Promise<unknown>, ms: number): Promise<boolean> {
  let timer: NodeJS.Timeout | undefined;
  return Promise.race([
    promise.then(() => true, () => true),
    new Promise<boolean>((resolve) => (timer = setTimeout(() => resolve(false), ms))),
  ]).finally(() => clearTimeout(timer));
}

export class WorkerPool {
  readonly #options: PoolOptions;
  readonly #workerData: WorkerConfig;
  readonly #onMessage: (message: ExecutionMessage) => void;
  readonly #onSetAside: SetAsideListener;
  readonly #control: BroadcastChannel;
  /** The threads in service; a lost one's place is taken by its replacement. */
  readonly #threads: Thread[];
  /** Tasks not yet settled, by execution id: which thread holds each, and when it settles. */
  readonly #tasks = new Map<string, { readonly thread: Thread; readonly settled: Promise<unknown> }>();
  #closed: Promise<void> | undefined;
  #onWorkerClosed: (() => void) | undefined;
  /** Quarantined isolates per thread (a thread with any is pinned: stopping it would hang the process). */
  readonly #quarantines = new Map<number, number>();
  /** Threads listening on the control channel; one that is not yet cannot hold an isolate. */
  readonly #listening = new Set<number>();
  /** True when the threads did not stop at close within WORKER_CLOSE_MS (one is stuck). */
  #stuck = false;
  /** Threads taken out of service since start because they stopped responding. */
  #lost = 0;
  /** Lost threads being stopped (each settles within WORKER_CLOSE_MS). */
  readonly #stopping = new Set<Promise<void>>();
  readonly #heartbeat: NodeJS.Timeout;
  readonly #beatMs: number;
  #lastBeat = performance.now();
  #beatSeq = 0;

  /** `onSetAside` hears of each isolate quarantined, and each lost thread that never stopped, once. */
  constructor(options: PoolOptions, onMessage: (message: ExecutionMessage) => void, onSetAside: SetAsideListener = () => undefined) {
    this.#options = options;
    this.#onMessage = onMessage;
    this.#onSetAside = onSetAside;
    this.#workerData = {
      controlChannel: `chariot-control-${randomUUID()}`,
      probeChannel: options.testProbeChannel,
      contextLock: contextLockBuffer(),
      nice: options.workerNice,
      isolates: {
        memoryMb: options.memoryMb,
        spares: options.spareIsolates,
        idleMs: options.isolateIdleMs,
        kept: options.tasksPerThread,
        budgetMb: Math.floor(options.sandboxMemoryMb / options.threads),
      },
    };
    this.#control = new BroadcastChannel(this.#workerData.controlChannel);
    this.#threads = Array.from({ length: options.threads }, () => this.#startThread());
    this.#beatMs = Math.min(HEARTBEAT_MAX_MS, Math.max(50, Math.floor(options.threadStallMs / 4)));
    this.#heartbeat = setInterval(() => this.#beat(), this.#beatMs);
    this.#heartbeat.unref();
  }

  get threads(): number {
    let total = 0;
    for (const thread of this.#threads) total += thread.piscina.threads.length;
    return total;
  }

  /** Threads taken out of service since start because they stopped responding. */
  get lost(): number {
    return this.#lost;
  }

  /** Isolates set aside after a catastrophic error since start (each keeps its heap). */
  get quarantined(): number {
    let total = 0;
    for (const count of this.#quarantines.values()) total += count;
    return total;
  }

  /**
   * True when some thread holds a quarantined isolate. Such a thread can never stop, and a
   * process that waits for its threads (process.exit does) never ends: see main.ts.
   */
  get pinned(): boolean {
    return this.#quarantines.size > 0 || this.#stuck;
  }

  /** The worker threads in service (diagnostics and fault tests: a test terminates one). */
  get workers(): readonly Worker[] {
    return this.#threads.flatMap((thread) => thread.piscina.threads);
  }

  /**
   * Runs one execution on the least busy thread and resolves with whether its isolate was set
   * aside; rejects only when its worker died, or with ThreadLostError when its thread stopped
   * responding and was taken out of service.
   */
  async run(task: ExecTask): Promise<{ readonly setAside: boolean }> {
    const thread = this.#leastBusy();
    const running = thread.piscina.run(task);
    thread.running++;
    this.#tasks.set(task.execId, { thread, settled: running });
    try {
      const result = await running;
      this.#noteQuarantines(result.threadId, result.quarantines);
      return { setAside: result.setAside };
    } catch (error) {
      if (thread.lost) throw new ThreadLostError(thread.replaced, error);
      throw error;
    } finally {
      thread.running--;
      this.#tasks.delete(task.execId);
    }
  }

  /**
   * The execution is overdue (the manager's watchdog, or a shutdown): it is cancelled, and if
   * its thread does not answer within ANSWER_MS the thread has stopped responding. It is then
   * taken out of service (its tasks fail at once; unless `replace` is false, at shutdown, a new
   * thread takes its place) and stopped.
   */
  async overdue(execId: string, replace = true): Promise<void> {
    const task = this.#tasks.get(execId);
    if (task === undefined || task.thread.lost) return;
    this.cancel(execId);
    if (await settlesWithin(task.settled, ANSWER_MS)) return;
    if (!task.thread.lost && this.#closed === undefined) this.#lose(task.thread, `it did not answer a cancel of execution ${execId} within ${ANSWER_MS} ms`, replace);
  }

  /** Fault injection for tests: the worker holding this execution dies as if it crashed. */
  crashWorkerOf(execId: string, how: CrashKind): void {
    const message: ControlMessage = { kind: 'crash', execId, how };
    this.#control.postMessage(message);
  }

  /** Asks every worker to stop this execution if it holds it. */
  cancel(execId: string): void {
    const message: ControlMessage = { kind: 'cancel', execId };
    this.#control.postMessage(message);
  }

  /** Hands a message (or the end) of an execution's input to the worker that holds it (docs/API.md "Input"). */
  input(execId: string, message: InputMessage): void {
    const control: ControlMessage = 'end' in message ? { kind: 'input', execId, end: true } : { kind: 'input', execId, data: message.data };
    this.#control.postMessage(control);
  }

  /**
   * Has every worker dispose its isolates, then stops the workers; idempotent. A pinned thread
   * never stops, so with one the threads are told to stop and not waited for.
   */
  close(): Promise<void> {
    this.#closed ??= (async () => {
      clearInterval(this.#heartbeat);
      await this.#disposeIsolates();
      this.#control.close();
      const destroyed = Promise.all(this.#threads.map((thread) => thread.piscina.destroy()));
      await Promise.all(this.#stopping);
      if (this.pinned) return;
      // A thread parked by a fatal error that never reported it (inside a synchronous call of
      // the worker's own) would make this wait forever.
      if (!(await settlesWithin(destroyed, WORKER_CLOSE_MS))) {
        this.#stuck = true;
        console.error(`chariot-exec: a worker thread did not stop within ${WORKER_CLOSE_MS} ms of the shutdown`);
      }
    })();
    return this.#closed;
  }

  #startThread(): Thread {
    const piscina = new Piscina<ExecTask, TaskResult>({
      filename: WORKER_FILE,
      minThreads: 1,
      maxThreads: 1,
      concurrentTasksPerWorker: this.#options.tasksPerThread,
      // Workers stay up: starting and stopping threads that host isolates is where native
      // crashes have been reported (nodejs/node#56312).
      idleTimeout: Number.POSITIVE_INFINITY,
      // A worker waits on timers between calls into its isolates; Piscina's default
      // Atomics.wait would park its event loop whenever no task message is pending.
      atomics: 'disabled',
      // The isolates' heaps are limited on their own; this bounds the worker's host heap, so
      // a runaway worker ends in ERR_WORKER_OUT_OF_MEMORY (its executions fail, Piscina
      // replaces it) rather than taking the process down.
      resourceLimits: { maxOldGenerationSizeMb: WORKER_HEAP_MB },
      // No execArgv: each worker inherits the process's node flags, --permission and its grants
      // among them. A worker given an execArgv of its own would not be under the permission
      // model at all (README "Permissions"; test/permissions.test.ts would fail).
      workerData: this.#workerData,
    });
    piscina.on('message', (message: WorkerMessage) => this.#onWorkerMessage(message));
    // Errors of tasks are reported through their promises; this keeps a stray one from
    // becoming an unhandled 'error' event.
    piscina.on('error', (error: unknown) => console.error('chariot-exec: worker pool error', error));
    return { piscina, running: 0, lost: false, replaced: false, answeredAt: performance.now() };
  }

  /**
   * One beat: a thread that has answered no ping for CHARIOT_THREAD_STALL_MS is taken out of
   * service, then every thread is pinged again. A beat that comes late finds the main thread
   * itself held up, with answers perhaps still waiting in its ports: every thread starts over.
   */
  #beat(): void {
    const now = performance.now();
    const late = now - this.#lastBeat > 2 * this.#beatMs;
    this.#lastBeat = now;
    for (const thread of [...this.#threads]) {
      if (late) thread.answeredAt = now;
      else if (!thread.lost && now - thread.answeredAt > this.#options.threadStallMs && this.#closed === undefined) {
        this.#lose(thread, `it did not answer the heartbeat for ${this.#options.threadStallMs} ms (CHARIOT_THREAD_STALL_MS)`, true);
      }
    }
    const message: ControlMessage = { kind: 'ping', seq: ++this.#beatSeq };
    this.#control.postMessage(message);
  }

  /** Notes a worker's answer to the heartbeat on the thread it serves. */
  #answered(threadId: number): void {
    const thread = this.#threads.find((candidate) => candidate.piscina.threads.some((worker) => worker.threadId === threadId));
    if (thread !== undefined) thread.answeredAt = performance.now();
  }

  #onWorkerMessage(message: WorkerMessage): void {
    if (message.kind === 'pong') return this.#answered(message.threadId);
    if (message.kind === 'ready') {
      this.#answered(message.threadId);
      return void this.#listening.add(message.threadId);
    }
    if (message.kind === 'closed') return this.#onWorkerClosed?.();
    if (message.kind === 'quarantined') return this.#reportQuarantine(message.threadId, message.count, message.message);
    try {
      this.#onMessage(message);
    } catch (error) {
      // A malformed message must not take the process down with everyone's executions.
      console.error('chariot-exec: could not apply a worker message', error);
    }
  }

  /** The thread in service with the fewest tasks (the scheduler keeps the total within capacity). */
  #leastBusy(): Thread {
    let best = this.#threads[0];
    if (best === undefined) throw new Error('No worker thread is in service (the pool is closing)');
    for (const thread of this.#threads) if (thread.running < best.running) best = thread;
    return best;
  }

  /**
   * Takes a thread that stopped responding out of service: a new thread takes its place
   * (unless at shutdown), its tasks fail now (Piscina's destroy() settles them whether or not the thread ever stops),
   * and it is terminated. A thread spinning in JavaScript stops; one blocked inside a call into
   * an isolate (a fatal error parked it) never does, so it keeps its memory and pins the
   * process like a quarantined isolate, and is counted as one (docs/API.md).
   */
  #lose(thread: Thread, why: string, replace: boolean): void {
    thread.lost = true;
    thread.replaced = replace;
    this.#lost++;
    // At shutdown nothing more runs: a thread started only to be stopped again is not.
    if (replace) this.#threads[this.#threads.indexOf(thread)] = this.#startThread();
    else this.#threads.splice(this.#threads.indexOf(thread), 1);
    const ids = thread.piscina.threads.map((worker) => worker.threadId);
    const what = `worker thread ${ids.join(', ')}`;
    console.error(`chariot-exec: ${what} stopped responding (${why}); `
      + `${replace ? 'a new thread takes its place, and ' : ''}the executions it held (${thread.running}) end with an error`
      + `${replace ? ', but for those it had not begun, which run on another thread' : ''}`);
    const stopping = settlesWithin(thread.piscina.destroy(), WORKER_CLOSE_MS).then((stopped) => {
      this.#stopping.delete(stopping);
      if (stopped) return console.error(`chariot-exec: the lost ${what} stopped`);
      for (const id of ids) this.#quarantines.set(id, Math.max(1, this.#quarantines.get(id) ?? 0));
      console.error(`chariot-exec: the lost ${what} did not stop within ${WORKER_CLOSE_MS} ms: it keeps its memory, counts as a quarantined isolate, `
        + 'and the process now ends by signal at shutdown');
      this.#onSetAside();
    });
    this.#stopping.add(stopping);
  }

  /** Counts are per thread and only grow: whichever report comes first counts. */
  #noteQuarantines(threadId: number, count: number): void {
    if (count > (this.#quarantines.get(threadId) ?? 0)) this.#quarantines.set(threadId, count);
  }

  /** One line per quarantine, from the message that carries its reason. */
  #reportQuarantine(threadId: number, count: number, message: string): void {
    this.#noteQuarantines(threadId, count);
    console.error(`chariot-exec: an isolate in worker thread ${threadId} was quarantined after "${message}"; `
      + 'its memory stays in use until the process restarts, and the process now ends by signal at shutdown');
    this.#onSetAside();
  }

  /**
   * Asks every worker to dispose its isolates and waits for all answers (or a deadline). A
   * thread still loading its module would never answer; it holds no isolate, so it is not
   * waited for (a server closed right after it started would otherwise wait out the deadline).
   */
  #disposeIsolates(): Promise<void> {
    let waiting = this.workers.filter((worker) => this.#listening.has(worker.threadId)).length;
    if (waiting === 0) return Promise.resolve();
    return new Promise((resolve) => {
      const deadline = setTimeout(resolve, WORKER_CLOSE_MS);
      this.#onWorkerClosed = () => {
        if (--waiting > 0) return;
        clearTimeout(deadline);
        resolve();
      };
      const message: ControlMessage = { kind: 'shutdown' };
      this.#control.postMessage(message);
    });
  }
}
