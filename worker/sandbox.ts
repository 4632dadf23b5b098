// The sandbox: the only module that imports isolated-vm.
//
// Each owner gets one Isolate per worker thread (a Tenant), reused across that owner's
// executions; each execution (a Run) gets a fresh Context in it. Owners never share an
// isolate, so one owner's memory bomb, endless loop or cancel cannot touch another's.
//
// Every entry into an isolate is a host call made through the Tenant's queue, one at a time,
// with a timeout of min(CPU left, wall-clock left) for that Run: the initial `run(program)`
// and each `wake(id)` when a `sleep()` timer fires. Microtasks run inside the call that queued
// them, so the timeout bounds them too, and the isolate's CPU time read before and after each
// call is charged to exactly one Run. A Run that awaits holds no thread: it is only a Context
// and a timer until its next call.
import ivm from 'isolated-vm';
import { BOOTSTRAP_SOURCE, type OutputTuple, type SandboxEntryPoints } from './bootstrap.js';
import { cutMessage } from './output.js';
import { IMPORT_STAND_IN, type PreparedProgram } from './program.js';
import type { ErrorReason, ExecTask, Outcome } from './protocol.js';

/** Where a Run's output goes (see output.ts). */
export interface OutputSink {
  output(batch: readonly OutputTuple[]): void;
}

/** Sleeps one Run may have pending at once; more ends it (a guard for the host's timers). */
const MAX_PENDING_SLEEPS = 10_000;
/** How long past its timeout a call into an isolate may go before the isolate is set aside. */
const STUCK_CALL_GRACE_MS = 10_000;
/** An idle tenant isolate is disposed after this long without executions. */
const TENANT_IDLE_MS = 60_000;
const MS = 1_000_000n;
/** The program's file name in stack traces and syntax errors. */
const PROGRAM_FILE = 'program.js';
/** Output kind of an ERROR entry (see bootstrap.ts). */
const ERROR_KIND = 3;
/** isolated-vm's message for a thrown or rejected object that is neither an Error nor copyable. */
const NOT_AN_ERROR = 'An object was thrown from supplied code within isolated-vm, but that object was not an instance of `Error`.';

function errorOutcome(reason: ErrorReason, message: string): Outcome {
  return { status: 'error', reason, message };
}

/**
 * The one isolated-vm failure told apart by its text (the library has no error codes), the
 * elapsed timeout: "Script execution timed out." A disposed isolate is told by
 * `isolate.isDisposed` ("Isolate was disposed during execution [due to memory limit]").
 */
function isTimeout(error: unknown): boolean {
  return error instanceof Error && error.message === 'Script execution timed out.';
}

function timeoutOutcome(limits: ExecTask['limits'], binding: 'cpu' | 'wall'): Extract<Outcome, { status: 'error' }> {
  return binding === 'cpu'
    ? { status: 'error', reason: 'cpu', message: `CPU time limit exceeded: the script ran for more than ${limits.cpuMs} ms` }
    : { status: 'error', reason: 'wall', message: `Wall-clock time limit exceeded: the execution took more than ${limits.wallMs} ms` };
}

/**
 * A program's SyntaxError as the compiler reports it. isolated-vm appends the place,
 * "Unexpected end of input [program.js:1:4]"; it is said in words here.
 */
function describeCompileError(error: unknown): string {
  if (!(error instanceof Error)) return `SyntaxError: ${String(error)}`;
  const place = /^(.*) \[[^\]]*:(\d+):(\d+)\]$/s.exec(error.message);
  const message = place ? `${place[1]} (line ${place[2]}, column ${place[3]})` : error.message;
  return `${error.name}: ${message}`;
}

/**
 * The reason of a rejection nothing handled, as isolated-vm copied it out of the isolate: an
 * Error keeps its name and message (custom classes report the `name` they have), a primitive
 * stays itself, and any other object becomes isolated-vm's generic Error, said here in short.
 */
function describeRejection(reason: unknown): string {
  if (reason instanceof Error) {
    if (reason.message === NOT_AN_ERROR) return '#<Object> (an object that is not an Error)';
    return reason.message === '' ? reason.name : `${reason.name}: ${reason.message}`;
  }
  if (typeof reason === 'bigint') return `${reason}n`;
  return String(reason);
}

function memoryOutcome(limits: ExecTask['limits']): Outcome {
  return errorOutcome('memory', `Memory limit exceeded: the isolate's heap passed ${limits.memoryMb} MiB`);
}

/** One owner's isolate in this worker, and the queue of calls into it. */
class Tenant {
  readonly isolate: ivm.Isolate;
  readonly runs = new Set<Run>();
  readonly #bootstrap: ivm.Script;
  readonly #onGone: (tenant: Tenant) => void;
  readonly #onCatastrophe: (tenant: Tenant, message: string) => void;
  #tail: Promise<void> = Promise.resolve();
  #current: Run | undefined;
  #idleSince = Date.now();
  #disposedByHost = false;
  #quarantined = false;

  constructor(memoryMb: number, onGone: (tenant: Tenant) => void, onCatastrophe: (tenant: Tenant, message: string) => void) {
    // Without onCatastrophicError, a fatal V8 error inside the isolate aborts the whole process.
    // With it, isolated-vm parks the isolate's thread for good instead and calls us back.
    this.isolate = new ivm.Isolate({ memoryLimit: memoryMb, onCatastrophicError: (message) => onCatastrophe(this, message) });
    this.#bootstrap = this.isolate.compileScriptSync(BOOTSTRAP_SOURCE);
    this.#onGone = onGone;
    this.#onCatastrophe = onCatastrophe;
  }

  get bootstrap(): ivm.Script {
    return this.#bootstrap;
  }

  /** True when this code disposed the isolate (a cancel, a shutdown), not the heap limit. */
  get disposedByHost(): boolean {
    return this.#disposedByHost;
  }

  /** True once a catastrophic error parked the isolate: no call into it will ever return. */
  get quarantined(): boolean {
    return this.#quarantined;
  }

  dispose(): void {
    if (this.isolate.isDisposed || this.#quarantined) return;
    this.#disposedByHost = true;
    this.isolate.dispose();
  }

  /** The Run whose call is inside the isolate right now. */
  get current(): Run | undefined {
    return this.#current;
  }

  /** Settles once every call queued so far has finished (a disposed isolate fails them fast). */
  settled(): Promise<void> {
    return this.#tail;
  }

  idleFor(now: number): number {
    return this.runs.size === 0 ? now - this.#idleSince : 0;
  }

  /** Runs `job` for `run` after every call queued before it; skipped once the isolate is gone. */
  enqueue(run: Run, job: () => Promise<void> | void): Promise<void> {
    const next = this.#tail.then(async () => {
      if (this.isolate.isDisposed) return;
      this.#current = run;
      try {
        await job();
      } finally {
        this.#current = undefined;
      }
    });
    this.#tail = next.catch(() => undefined);
    return next;
  }

  attach(run: Run): void {
    this.runs.add(run);
  }

  detach(run: Run): void {
    this.runs.delete(run);
    if (this.runs.size === 0) this.#idleSince = Date.now();
  }

  /** Disposes the isolate and ends every Run in it: `culprit` with `outcome`, the others with `others`. */
  destroy(culprit: Run | undefined, outcome: Outcome, others: Outcome): void {
    this.dispose();
    this.#onGone(this);
    for (const run of [...this.runs]) run.end(run === culprit ? outcome : others);
  }

  /** A call that never returned, and no catastrophic error was reported: treated as one. */
  stuck(message: string): void {
    this.#onCatastrophe(this, message);
  }

  /**
   * After a catastrophic error: the call in flight never returns and the isolate cannot be
   * disposed (its thread holds it), so it is left alone for good and every Run in it ends now.
   */
  quarantine(outcome: Outcome): void {
    this.#quarantined = true;
    this.#onGone(this);
    for (const run of [...this.runs]) run.end(outcome);
  }
}

/** One execution: a Context in its owner's isolate, its timers, and its outcome. */
class Run {
  readonly task: ExecTask;
  readonly done: Promise<Outcome>;
  readonly #tenant: Tenant;
  readonly #sink: OutputSink;
  readonly #deadline: number;
  readonly #sleepTimers = new Set<NodeJS.Timeout>();
  #resolve!: (outcome: Outcome) => void;
  #ended = false;
  /** The program's own outcome, taken when the call it settled in returns. */
  #settled: Outcome | undefined;
  #cpuUsed = 0n;
  #wallTimer: NodeJS.Timeout | undefined;
  #context: ivm.Context | undefined;
  #script: ivm.Script | undefined;
  #entry: { run: ivm.Reference; wake: ivm.Reference; drain: ivm.Reference } | undefined;

  constructor(task: ExecTask, tenant: Tenant, sink: OutputSink) {
    this.task = task;
    this.#tenant = tenant;
    this.#sink = sink;
    this.#deadline = Date.now() + task.limits.wallMs;
    this.done = new Promise((resolve) => (this.#resolve = resolve));
    tenant.attach(this);
  }

  start(program: PreparedProgram): Promise<Outcome> {
    const { limits } = this.task;
    this.#wallTimer = setTimeout(
      () => this.end(timeoutOutcome(limits, 'wall')),
      limits.wallMs,
    );
    void this.#call(async (timeout) => {
      const refused = this.#open(program);
      if (refused === undefined) {
        await this.#entry!.run.apply(undefined, [], { timeout });
      } else if (this.#tenant.isolate.isDisposed) {
        // The heap limit was reached while compiling or installing: every Run in it ends.
        this.#tenant.destroy(this, refused, refused);
      } else {
        this.end(refused);
      }
    });
    return this.done;
  }

  /** Ends the Run once; its Context is released after the call in flight, if any, returns. */
  end(outcome: Outcome): void {
    if (this.#ended) return;
    this.#ended = true;
    clearTimeout(this.#wallTimer);
    for (const timer of this.#sleepTimers) clearTimeout(timer);
    this.#sleepTimers.clear();
    this.#tenant.detach(this);
    void this.#tenant.enqueue(this, () => this.#release());
    this.#resolve(outcome);
  }

  cancel(): void {
    if (this.#ended) return;
    // A Run that is computing can only be stopped by disposing its isolate (isolated-vm has no
    // way to interrupt one call); the owner's other Runs in this worker go with it.
    if (this.#tenant.current === this) {
      this.#tenant.destroy(this, { status: 'cancelled' }, errorOutcome('isolate',
        `Stopped: execution ${this.task.execId} of the same user was cancelled while it held the shared isolate`));
    } else {
      this.end({ status: 'cancelled' });
    }
  }

  /**
   * Compiles the program, creates the Context and installs the script globals (the isolate is
   * idle: we hold the queue). A program that does not compile is refused with its SyntaxError.
   */
  #open(program: PreparedProgram): Outcome | undefined {
    const { limits } = this.task;
    const { isolate } = this.#tenant;
    let script: ivm.Script;
    try {
      script = isolate.compileScriptSync(program.source, { filename: PROGRAM_FILE });
    } catch (error) {
      if (isolate.isDisposed) return memoryOutcome(limits);
      return errorOutcome('syntax', cutMessage(describeCompileError(error), limits.logMessageLimit));
    }
    this.#script = script;
    try {
      this.#install(script, program.callsImport);
    } catch (error) {
      if (isolate.isDisposed) return memoryOutcome(limits);
      return errorOutcome('internal', `Sandbox failure: ${error instanceof Error ? error.message : String(error)}`);
    }
    return undefined;
  }

  /** A fresh Context with the script globals, and the bootstrap's entry points into it. */
  #install(script: ivm.Script, callsImport: boolean): void {
    const { limits } = this.task;
    const context = this.#tenant.isolate.createContextSync();
    this.#context = context;
    const install = this.#tenant.bootstrap.runSync(context, { reference: true }) as ivm.Reference<unknown>;
    const api = install.applySync(undefined, [
      new ivm.Callback((batch: OutputTuple[]) => this.#output(batch)),
      new ivm.Callback((id: number, ms: number) => this.#sleep(id, ms)),
      new ivm.Callback((ok: boolean, typeOrMessage: string, json: string) => this.#settle(ok, typeOrMessage, json)),
      new ivm.ExternalCopy({
        messageLimit: limits.logMessageLimit,
        resultLimitChars: limits.resultLimitBytes,
        batchEntries: 256,
        flushIntervalMs: 5,
        importStandIn: callsImport ? IMPORT_STAND_IN : '',
      }).copyInto(),
      script,
      context,
    ], { result: { reference: true } }) as ivm.Reference<SandboxEntryPoints>;
    install.release();
    this.#entry = {
      run: api.getSync('run', { reference: true }),
      wake: api.getSync('wake', { reference: true }),
      drain: api.getSync('drain', { reference: true }),
    };
    api.release();
  }

  /** One call into the isolate on this Run's behalf, timed and charged to it. */
  #call(invoke: (timeout: number) => Promise<void>): Promise<void> {
    return this.#tenant.enqueue(this, async () => {
      if (this.#ended) return;
      const { isolate } = this.#tenant;
      const cpuLeft = this.task.limits.cpuMs - Number(this.#cpuUsed / MS);
      const wallLeft = this.#deadline - Date.now();
      const binding = cpuLeft <= wallLeft ? 'cpu' : 'wall';
      const before = isolate.cpuTime;
      const timeout = Math.max(1, Math.ceil(Math.min(cpuLeft, wallLeft)));
      // isolated-vm reports a call that will not stop 5 s after its timeout as catastrophic;
      // seen once, an isolate parked by a fatal error reported nothing at all. Past this, the
      // isolate is set aside either way, so that its owner's next executions do not queue
      // behind a call that will never return.
      const watchdog = setTimeout(() => this.#tenant.stuck(`the isolate did not return ${STUCK_CALL_GRACE_MS} ms after a call's timeout`), timeout + STUCK_CALL_GRACE_MS);
      const started = performance.now();
      let rejection: { readonly reason: unknown } | undefined;
      try {
        await invoke(timeout);
      } catch (error) {
        if (!this.#survives(error, performance.now() - started >= timeout - 1, binding)) return;
        rejection = { reason: error };
      } finally {
        clearTimeout(watchdog);
        if (!isolate.isDisposed) this.#cpuUsed += isolate.cpuTime - before;
      }
      if (this.#ended) return;
      // What the program logged in the microtasks at the end of the call (once it settled,
      // the bootstrap sends each entry at once), then the rejection nothing handled by then
      // (as a console would report it), then its end if it settled: the program's own result
      // decides its status.
      if (!this.#settled) this.#drain();
      if (rejection !== undefined) this.#output([[Date.now(), ERROR_KIND, `Uncaught (in promise) ${describeRejection(rejection.reason)}`, -1]]);
      if (this.#settled) this.end(this.#settled);
    });
  }

  /**
   * Decides what a failed call means. The entry points catch whatever the program throws, so
   * a call fails only when the isolate was disposed (by a cancel or at the heap limit), when
   * its timeout stopped it, or when a promise was rejected with no handler by the end of it:
   * isolated-vm then fails the call with the first such rejection's reason. Only that last
   * case leaves the Run going (true). The message of a timeout is matched only when the call
   * did last that long: a program can reject a promise with any message it likes.
   */
  #survives(error: unknown, ranItsTimeout: boolean, binding: 'cpu' | 'wall'): boolean {
    const { isolate } = this.#tenant;
    const { limits } = this.task;
    // A cancel or shutdown disposed the isolate and has decided every Run's outcome.
    if (this.#tenant.disposedByHost) return false;
    if (isolate.isDisposed) {
      // isolated-vm disposed it at the heap limit: every Run in it ends.
      this.#tenant.destroy(this, memoryOutcome(limits), memoryOutcome(limits));
      return false;
    }
    if (!(ranItsTimeout && isTimeout(error))) return true;
    // A call stopped by its timeout can leave reactions queued in the isolate that would run
    // in the next call, with no limit of their own: start the owner's isolate afresh. Its
    // other Runs in this worker end.
    const outcome = timeoutOutcome(limits, binding);
    this.#tenant.destroy(this, outcome, errorOutcome('isolate',
      `Stopped: execution ${this.task.execId} of the same user ended with "${outcome.message}" while it held the shared isolate`));
    return false;
  }

  /** Delivers what the program logged in microtasks since its last flush. */
  #drain(): void {
    const batch = this.#entry!.drain.applySync(undefined, [], { result: { copy: true }, timeout: 1000 }) as OutputTuple[];
    if (batch.length > 0) this.#output(batch);
  }

  #output(batch: readonly OutputTuple[]): void {
    if (!this.#ended) this.#sink.output(batch);
  }

  #sleep(id: number, ms: number): void {
    if (this.#ended) return;
    if (this.#sleepTimers.size >= MAX_PENDING_SLEEPS) {
      this.end(errorOutcome('script', `Too many pending sleep() calls: at most ${MAX_PENDING_SLEEPS} at once`));
      return;
    }
    const delay = Math.min(ms, Math.max(0, this.#deadline - Date.now()) + 1);
    const timer = setTimeout(() => {
      this.#sleepTimers.delete(timer);
      void this.#call(async (timeout) => {
        await this.#entry!.wake.apply(undefined, [id], { timeout });
      });
    }, delay);
    this.#sleepTimers.add(timer);
  }

  #settle(ok: boolean, typeOrMessage: string, json: string): void {
    if (this.#settled) return;
    this.#settled = this.#outcomeOf(ok, typeOrMessage, json);
  }

  #outcomeOf(ok: boolean, typeOrMessage: string, json: string): Outcome {
    if (!ok) {
      const reason = /^The result|^Result size/.test(typeOrMessage) ? 'result' : 'script';
      return errorOutcome(reason, cutMessage(typeOrMessage, this.task.limits.logMessageLimit));
    }
    const { resultLimitBytes } = this.task.limits;
    if (Buffer.byteLength(json) > resultLimitBytes) {
      return errorOutcome('result', `Result size limit exceeded: the result is over ${resultLimitBytes} bytes as JSON`);
    }
    return { status: 'completed', type: typeOrMessage as Extract<Outcome, { status: 'completed' }>['type'], json };
  }

  #release(): void {
    if (this.#entry) {
      this.#entry.run.release();
      this.#entry.wake.release();
      this.#entry.drain.release();
      this.#entry = undefined;
    }
    this.#script?.release();
    this.#script = undefined;
    this.#context?.release();
    this.#context = undefined;
  }
}

/** Told once per quarantined isolate, with this worker's count so far: this thread can no longer be stopped (see Sandbox). */
export type QuarantineListener = (message: string, count: number) => void;

/**
 * All tenants of one worker thread.
 *
 * A catastrophic error in an isolate (V8 running out of heap on one large allocation before
 * isolated-vm's memory limit acts; a script that would not stop within 5 s of its timeout)
 * quarantines it: its Runs end with an error, its owner gets a fresh isolate next time, and
 * the parked isolate keeps its memory until the process ends. A thread that holds one can
 * never stop (isolated-vm waits for the isolate when the thread exits), so the listener is told.
 */
export class Sandbox {
  readonly #tenants = new Map<string, Tenant>();
  /** Disposed tenants whose last calls may still be settling. */
  readonly #retired = new Set<Tenant>();
  readonly #runs = new Map<string, Run>();
  readonly #sweep: NodeJS.Timeout;
  readonly #onQuarantine: QuarantineListener;
  #quarantines = 0;

  constructor(onQuarantine: QuarantineListener) {
    this.#onQuarantine = onQuarantine;
    this.#sweep = setInterval(() => this.#disposeIdle(), TENANT_IDLE_MS / 2);
    this.#sweep.unref();
  }

  /** Runs one execution to its outcome; never throws. */
  async execute(task: ExecTask, program: PreparedProgram, sink: OutputSink): Promise<Outcome> {
    const run = new Run(task, this.#tenantFor(task), sink);
    this.#runs.set(task.execId, run);
    try {
      return await run.start(program);
    } finally {
      this.#runs.delete(task.execId);
    }
  }

  /** Isolates of this worker quarantined so far. */
  get quarantines(): number {
    return this.#quarantines;
  }

  /** True when this worker holds the execution. */
  holds(execId: string): boolean {
    return this.#runs.has(execId);
  }

  /** Disposes every isolate, without ending any execution, and waits for their calls to settle. */
  async abandon(): Promise<void> {
    clearInterval(this.#sweep);
    await this.#disposeAll();
  }

  async #disposeAll(): Promise<void> {
    for (const tenant of this.#tenants.values()) this.#retire(tenant);
    this.#tenants.clear();
    await Promise.all([...this.#retired].map((tenant) => tenant.settled()));
    // One more turn of the event loop for the failure callbacks of the calls just settled.
    await new Promise((resolve) => setImmediate(resolve));
  }

  /** Cancels a running execution of this worker; unknown ids are ignored. */
  cancel(execId: string): void {
    this.#runs.get(execId)?.cancel();
  }

  /**
   * Ends every execution as cancelled, disposes every isolate, and resolves once every call
   * into them has settled. Only then may the thread stop: a call that fails while its thread
   * is being terminated aborts the process ("terminate called after throwing an instance of
   * 'ivm::RuntimeError'", from ivm::StackTraceHolder::ChainStack in Phase3Failure).
   */
  async close(): Promise<void> {
    clearInterval(this.#sweep);
    for (const run of this.#runs.values()) run.end({ status: 'cancelled' });
    await this.#disposeAll();
  }

  /** Disposes a tenant's isolate and keeps it until its last call has settled. */
  #retire(tenant: Tenant): void {
    if (tenant.quarantined) return;
    tenant.dispose();
    if (this.#retired.has(tenant)) return;
    this.#retired.add(tenant);
    void tenant.settled().then(() => this.#retired.delete(tenant));
  }

  #tenantFor(task: ExecTask): Tenant {
    let tenant = this.#tenants.get(task.owner);
    if (tenant === undefined || tenant.isolate.isDisposed || tenant.quarantined) {
      const { limits } = task;
      tenant = new Tenant(limits.memoryMb, (gone) => {
        if (this.#tenants.get(task.owner) === gone) this.#tenants.delete(task.owner);
        this.#retire(gone);
      }, (failed, message) => this.#quarantine(failed, message, limits));
      this.#tenants.set(task.owner, tenant);
    }
    return tenant;
  }

  #quarantine(tenant: Tenant, message: string, limits: ExecTask['limits']): void {
    if (tenant.quarantined) return;
    // A cancel may have retired it a moment before: its calls will never settle, so nothing
    // may wait for them (close() and abandon() wait for the retired).
    this.#retired.delete(tenant);
    // isolated-vm's messages: "Catastrophic out-of-memory error", "Script failed to terminate".
    tenant.quarantine(/out-of-memory/i.test(message)
      ? memoryOutcome(limits)
      : errorOutcome('isolate', `Sandbox failure: ${message}; the isolate was set aside`));
    this.#quarantines += 1;
    this.#onQuarantine(message, this.#quarantines);
  }

  #disposeIdle(): void {
    const now = Date.now();
    for (const [owner, tenant] of this.#tenants) {
      if (tenant.idleFor(now) >= TENANT_IDLE_MS) {
        this.#tenants.delete(owner);
        this.#retire(tenant);
      }
    }
  }
}
