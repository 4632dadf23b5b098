// The sandbox of one worker thread: every execution it runs, each in an isolate of its own
// (isolate-pool.ts), as a Run (run.ts). isolate-host.ts and run.ts alone import isolated-vm.
//
// A catastrophic error in an isolate (V8 running out of heap on one large allocation before
// isolated-vm's memory limit acts; a script that would not stop within 5 s of its timeout)
// quarantines it: its execution ends with an error, and the parked isolate keeps its memory
// until the process ends. A thread that holds one can never stop (isolated-vm waits for the
// isolate when the thread exits), so the listener is told.
import { IsolatePool, type IsolatePoolOptions } from './isolate-pool.js';
import type { ExecTask, IsolateCensus, Outcome } from './protocol.js';
import { Run, type OutputSink, type RunHooks } from './run.js';

export type { OutputSink };

/** Told once per quarantined isolate, with this worker's count so far: this thread can no longer be stopped. */
export type QuarantineListener = (message: string, count: number) => void;

export class Sandbox {
  readonly #isolates: IsolatePool;
  readonly #runs = new Map<string, Run>();
  readonly #hooks: RunHooks;
  readonly #onQuarantine: QuarantineListener;
  #quarantines = 0;

  /** `onQuiet`: the isolates were found with none kept or busy after executions ran (IsolatePool). */
  constructor(options: IsolatePoolOptions, onQuarantine: QuarantineListener, onQuiet?: () => void) {
    this.#onQuarantine = onQuarantine;
    this.#isolates = new IsolatePool(options, (_host, message) => {
      this.#quarantines += 1;
      this.#onQuarantine(message, this.#quarantines);
    }, onQuiet);
    const isolates = this.#isolates;
    this.#hooks = {
      finished: (host, clean) => isolates.giveBack(host, clean),
      overBudget: (host) => isolates.overBudget(host),
      budgetMb: options.budgetMb,
    };
  }

  /**
   * Runs one execution to its outcome (`wantInput` asks the main thread for its next input
   * message), then tells (`setAside`, which settles later: once every
   * call into its isolate returned, or the isolate was set aside) whether its isolate was set
   * aside. Never throws.
   */
  async execute(task: ExecTask, sink: OutputSink, wantInput: () => void): Promise<{ readonly outcome: Outcome; readonly setAside: Promise<boolean> }> {
    const host = this.#isolates.take(task.owner, task.limits.memoryMb);
    const run = new Run(task, host, sink, this.#hooks, wantInput);
    this.#runs.set(task.execId, run);
    try {
      const outcome = await run.start(task.program);
      return { outcome, setAside: run.setAside };
    } finally {
      this.#runs.delete(task.execId);
    }
  }

  /** Isolates of this worker quarantined so far. */
  /** The isolates by role (the test probe's census). */
  get census(): IsolateCensus {
    return this.#isolates.census;
  }

  get quarantines(): number {
    return this.#quarantines;
  }

  /** True when this worker holds the execution. */
  holds(execId: string): boolean {
    return this.#runs.has(execId);
  }

  /** Cancels a running execution of this worker; unknown ids are ignored. */
  cancel(execId: string): void {
    this.#runs.get(execId)?.cancel();
  }

  /** The main thread's answer to an input() of a running execution (Run.input); unknown ids are ignored. */
  input(execId: string, data: string | null): void {
    this.#runs.get(execId)?.input(data);
  }

  /** Disposes every isolate, without ending any execution, and waits for their calls to settle. */
  abandon(): Promise<void> {
    return this.#isolates.close();
  }

  /**
   * Ends every execution as cancelled, disposes every isolate, and resolves once every call
   * into them has settled. Only then may the thread stop: a call that fails while its thread
   * is being terminated aborts the process ("terminate called after throwing an instance of
   * 'ivm::RuntimeError'", from ivm::StackTraceHolder::ChainStack in Phase3Failure).
   */
  close(): Promise<void> {
    for (const run of this.#runs.values()) run.end({ status: 'cancelled' });
    return this.#isolates.close();
  }
}
