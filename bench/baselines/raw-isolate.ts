// Baseline "the limit": isolated-vm with no HTTP. A Piscina pool with the same number of
// threads as the server under comparison, one warm Isolate per thread, configured as the
// service configures its pool (tasks per worker, no Atomics.wait). See raw-worker.ts.
import { randomUUID } from 'node:crypto';
import { BroadcastChannel } from 'node:worker_threads';
import { Piscina } from 'piscina';
import type { RawTask, RawWorkerData, RawWorkerMessage } from './raw-worker.js';

const WORKER = new URL('./raw-worker.js', import.meta.url).href;
const DISPOSE_TIMEOUT_MS = 5000;

export class RawIsolatePool {
  readonly #piscina: Piscina<RawTask, unknown>;
  readonly #control: BroadcastChannel;
  readonly #threads: number;
  #onLog: ((isolateMs: number) => void) | undefined;
  #onDisposed: (() => void) | undefined;
  #closing: Promise<void> | undefined;

  constructor(threads: number, tasksPerThread = 64) {
    const workerData: RawWorkerData = { controlChannel: `raw-isolate-${randomUUID()}` };
    this.#threads = threads;
    this.#control = new BroadcastChannel(workerData.controlChannel);
    this.#piscina = new Piscina<RawTask, unknown>({
      filename: WORKER,
      minThreads: threads,
      maxThreads: threads,
      concurrentTasksPerWorker: tasksPerThread,
      idleTimeout: Number.POSITIVE_INFINITY,
      atomics: 'disabled',
      workerData,
    });
    this.#piscina.on('message', (message: RawWorkerMessage) => {
      if (message.kind === 'log') this.#onLog?.(message.isolateMs);
      else this.#onDisposed?.();
    });
  }

  run(task: RawTask): Promise<unknown> {
    return this.#piscina.run(task);
  }

  /**
   * Runs logStreams tasks (one per thread, say) and calls `onLog` in this thread for every
   * entry they post, with the isolate's Date.now() at the call. Resolves once every entry
   * arrived: a task's result and its log messages travel on different ports, so the result
   * can come first.
   */
  async logStreams(tasks: readonly Extract<RawTask, { kind: 'logStreams' }>[], onLog: (isolateMs: number) => void): Promise<void> {
    let received = 0;
    let expected = Number.POSITIVE_INFINITY;
    let allIn: (() => void) | undefined;
    this.#onLog = (isolateMs) => {
      onLog(isolateMs);
      if (++received >= expected) allIn?.();
    };
    try {
      const counts = await Promise.all(tasks.map((task) => this.#piscina.run(task) as Promise<number>));
      expected = counts.reduce((sum, count) => sum + count, 0);
      if (received < expected) {
        await new Promise<void>((resolve) => {
          const timer = setTimeout(resolve, DISPOSE_TIMEOUT_MS);
          allIn = () => {
            clearTimeout(timer);
            resolve();
          };
        });
      }
    } finally {
      this.#onLog = undefined;
    }
  }

  /** Has every thread dispose its isolate, then stops the threads. Idempotent. */
  close(): Promise<void> {
    this.#closing ??= (async () => {
      let left = this.#piscina.threads.length;
      if (left > 0) {
        const disposed = new Promise<void>((resolve) => {
          const timer = setTimeout(resolve, DISPOSE_TIMEOUT_MS);
          this.#onDisposed = () => {
            if (--left === 0) {
              clearTimeout(timer);
              resolve();
            }
          };
        });
        this.#control.postMessage('dispose');
        await disposed;
      }
      this.#control.close();
      await this.#piscina.close();
    })();
    return this.#closing;
  }

  get threads(): number {
    return this.#threads;
  }
}
