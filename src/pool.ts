// The worker pool: the only module that imports piscina. Each task is one execution; the
// worker reports its progress over its own parentPort (one port per worker, messages tagged
// by execution id, see worker/protocol.ts), and cancel requests go out on a BroadcastChannel.
import { randomUUID } from 'node:crypto';
import { BroadcastChannel, type Worker } from 'node:worker_threads';
import { Piscina } from 'piscina';
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
  /** Heap of all isolates together, in MiB; each worker gets an even share. */
  readonly sandboxMemoryMb: number;
}

const WORKER_FILE = new URL('../worker/index.js', import.meta.url).href;
/** Host heap of one worker thread, in MiB (the isolates' heaps are not counted in it). */
const WORKER_HEAP_MB = 512;
/** How long workers get to dispose their isolates at close. */
const WORKER_CLOSE_MS = 3000;

export class WorkerPool {
  readonly #piscina: Piscina<ExecTask, TaskResult>;
  readonly #control: BroadcastChannel;
  #closed: Promise<void> | undefined;
  #onWorkerClosed: (() => void) | undefined;
  /** Quarantined isolates per thread (a thread with any is pinned: stopping it would hang the process). */
  readonly #quarantines = new Map<number, number>();
  /** Threads listening on the control channel; one that is not yet cannot hold an isolate. */
  readonly #listening = new Set<number>();
  /** True when the threads did not stop at close within WORKER_CLOSE_MS (one is stuck). */
  #stuck = false;

  constructor(options: PoolOptions, onMessage: (message: ExecutionMessage) => void) {
    const workerData: WorkerConfig = {
      controlChannel: `chariot-control-${randomUUID()}`,
      probeChannel: options.testProbeChannel,
      isolates: {
        memoryMb: options.memoryMb,
        spares: options.spareIsolates,
        kept: options.tasksPerThread,
        budgetMb: Math.floor(options.sandboxMemoryMb / options.threads),
      },
    };
    this.#control = new BroadcastChannel(workerData.controlChannel);
    this.#piscina = new Piscina<ExecTask, TaskResult>({
      filename: WORKER_FILE,
      minThreads: options.threads,
      maxThreads: options.threads,
      concurrentTasksPerWorker: options.tasksPerThread,
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
      workerData,
    });
    this.#piscina.on('message', (message: WorkerMessage) => {
      if (message.kind === 'ready') return void this.#listening.add(message.threadId);
      if (message.kind === 'closed') return this.#onWorkerClosed?.();
      if (message.kind === 'quarantined') return this.#reportQuarantine(message.threadId, message.count, message.message);
      try {
        onMessage(message);
      } catch (error) {
        // A malformed message must not take the process down with everyone's executions.
        console.error('chariot-exec: could not apply a worker message', error);
      }
    });
    // Errors of tasks are reported through their promises; this keeps a stray one from
    // becoming an unhandled 'error' event.
    this.#piscina.on('error', (error: unknown) => console.error('chariot-exec: worker pool error', error));
  }

  get threads(): number {
    return this.#piscina.threads.length;
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

  /** The worker threads (diagnostics and fault tests: a test terminates one). */
  get workers(): readonly Worker[] {
    return this.#piscina.threads;
  }

  /** Runs one execution; rejects only when its worker died. */
  async run(task: ExecTask): Promise<void> {
    const result = await this.#piscina.run(task);
    this.#noteQuarantines(result.threadId, result.quarantines);
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

  /**
   * Has every worker dispose its isolates, then stops the workers; idempotent. A pinned thread
   * never stops, so with one the threads are told to stop and not waited for.
   */
  close(): Promise<void> {
    this.#closed ??= (async () => {
      await this.#disposeIsolates();
      this.#control.close();
      const destroyed = this.#piscina.destroy();
      if (this.pinned) return;
      // A thread parked by a fatal error that never reported it (inside a synchronous call of
      // the worker's own) would make this wait forever.
      let deadline: NodeJS.Timeout | undefined;
      const stopped = await Promise.race([
        destroyed.then(() => true),
        new Promise<boolean>((resolve) => (deadline = setTimeout(() => resolve(false), WORKER_CLOSE_MS))),
      ]);
      clearTimeout(deadline);
      if (!stopped) {
        this.#stuck = true;
        console.error(`chariot-exec: a worker thread did not stop within ${WORKER_CLOSE_MS} ms of the shutdown`);
      }
    })();
    return this.#closed;
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
  }

  /**
   * Asks every worker to dispose its isolates and waits for all answers (or a deadline). A
   * thread still loading its module would never answer; it holds no isolate, so it is not
   * waited for (a server closed right after it started would otherwise wait out the deadline).
   */
  #disposeIsolates(): Promise<void> {
    let waiting = this.#piscina.threads.filter((worker) => this.#listening.has(worker.threadId)).length;
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
