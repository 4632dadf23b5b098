// One execution in its own isolate: a fresh Context with the script globals, its timers, the
// CPU time it used, and its outcome.
//
// Every entry into the isolate is a call made through the isolate's queue, one at a time, with
// a timeout of min(CPU left, wall-clock left): the compile of the program (untimed: V8 cannot
// stop a parse), its rewrite when a long one needs it (program.ts), the initial `run(program)`
// and each `wake(id)` when a `sleep()` timer fires or an `input()` gets its message. Microtasks
// run inside the call that queued them, so the timeout bounds them too, and the isolate's CPU
// time read before and after each call is this execution's. A Run that awaits holds no thread:
// it is only a Context and a timer (or an input() the main thread has yet to answer) until its
// next call. Whatever ends it (a limit, a memory bomb, a cancel, a fatal V8 error) ends its
// isolate at most: no other execution is in it.
import ivm from 'isolated-vm';
import type { OutputRoom, OutputTuple, SandboxEntryPoints } from './bootstrap.js';
import type { IsolateHost } from './isolate-host.js';
import { cutMessage } from './output.js';
import {
  describeCompileError, describeRejection, errorOutcome, isTimeout, memoryOutcome, quarantineOutcome, sandboxFailure, timeoutOutcome,
} from './outcomes.js';
import { IMPORT_STAND_IN, mentions, ON_THREAD_CHARS, prepareProgram, type PreparedProgram } from './program.js';
import type { ExecTask, Outcome } from './protocol.js';
import { MAX_RESULT_DEPTH, nestedDeeperThan } from './result-depth.js';

/** Where a Run's output goes (see output.ts). */
export interface OutputSink {
  /** Takes a batch and answers the room left under the output caps. */
  output(batch: readonly OutputTuple[]): OutputRoom;
}

/** What a Run asks of the isolates of its thread (isolate-pool.ts). */
export interface RunHooks {
  /**
   * Told once the Run has ended and its Context is released: `clean` when the program settled
   * in a call that returned, with no limit hit and no sleep or input() left pending, so the isolate may
   * serve its owner's next execution.
   */
  finished(host: IsolateHost, clean: boolean): void;
  /** After each call that left the Run going: true when the thread's isolates are over their budget. */
  overBudget(host: IsolateHost): boolean;
  /** The thread's share of CHARIOT_SANDBOX_MEMORY_MB, in MiB, for the error that names it. */
  readonly budgetMb: number;
}

/** Sleeps one Run may have pending at once; more ends it (a guard for the host's timers). */
const MAX_PENDING_SLEEPS = 10_000;
/** input() calls one Run may have pending at once; more ends it (each is a request to the main thread). */
const MAX_PENDING_INPUTS = 10_000;
/** How long past its timeout a call into an isolate may go before the isolate is set aside. */
const STUCK_CALL_GRACE_MS = 10_000;
/**
 * CPU time a call may use past its timeout before its isolate is disposed: isolated-vm's timeout
 * covers the program's code, not what isolated-vm runs in the isolate after it (reading the
 * reason of a rejection nothing handled runs the program's getters and proxy traps).
 */
const OVERRUN_GRACE_MS = 500;
/**
 * How long a call may go on after its isolate was disposed for overrunning before the isolate
 * is set aside: with OVERRUN_GRACE_MS, about the 5 s isolated-vm gives a script it asked to stop.
 */
const DISPOSED_GRACE_MS = 4500;
const MS = 1_000_000n;
/** The program's file name in stack traces and syntax errors. */
const PROGRAM_FILE = 'program.js';
/** Output kind of an ERROR entry (see bootstrap.ts). */
const ERROR_KIND = 3;
/**
 * Characters of messages the isolate buffers before it flushes: one flush copies at most about
 * this much into the worker's heap (256 entries of 64 Ki characters would be 16 Mi), however
 * many isolates flush at once.
 */
const BATCH_CHARS = 1024 * 1024;
/** What an ended Run answers a flush: nothing more is taken. */
const NO_ROOM: OutputRoom = [0, 0];

/** What compiling a program threw. */
interface CompileFailure {
  readonly error: unknown;
}

export class Run {
  readonly task: ExecTask;
  readonly done: Promise<Outcome>;
  /**
   * Settles once the isolate's fate is known, after `done`: true when it was set aside (its
   * owner is charged), false once every call into it has returned and its Context is released.
   */
  readonly setAside: Promise<boolean>;
  readonly #host: IsolateHost;
  readonly #sink: OutputSink;
  readonly #hooks: RunHooks;
  readonly #deadline: number;
  readonly #sleepTimers = new Set<NodeJS.Timeout>();
  /** Asks the main thread for the next input message, once per input() call the Run has nothing for. */
  readonly #wantInput: () => void;
  /** The input() calls asked for and not answered yet, oldest first: each answer goes to the first. */
  #inputWaiters: number[] = [];
  /** The input was ended: every input() from now on resolves null here, without asking. */
  #inputEnded = false;
  #resolve!: (outcome: Outcome) => void;
  #resolveSetAside!: (setAside: boolean) => void;
  #ended = false;
  /** Set when a call ran OVERRUN_GRACE_MS past its timeout and the isolate was disposed for it. */
  #overran: 'cpu' | 'wall' | undefined;
  /** True while one of this Run's calls is inside the isolate. */
  #inCall = false;
  /** The program's own outcome, taken when the call it settled in returns. */
  #settled: Outcome | undefined;
  #cpuUsed = 0n;
  #wallTimer: NodeJS.Timeout | undefined;
  #context: ivm.Context | undefined;
  #script: ivm.Script | undefined;
  #entry: { run: ivm.Reference; wake: ivm.Reference; drain: ivm.Reference } | undefined;

  constructor(task: ExecTask, host: IsolateHost, sink: OutputSink, hooks: RunHooks, wantInput: () => void) {
    this.task = task;
    this.#wantInput = wantInput;
    this.#host = host;
    this.#sink = sink;
    this.#hooks = hooks;
    this.#deadline = Date.now() + task.limits.wallMs;
    this.done = new Promise((resolve) => (this.#resolve = resolve));
    this.setAside = new Promise((resolve) => (this.#resolveSetAside = resolve));
    host.claim(task.owner, (message) => {
      this.end(quarantineOutcome(task.limits, message));
      this.#resolveSetAside(true);
    });
  }

  start(source: string): Promise<Outcome> {
    const { limits } = this.task;
    this.#wallTimer = setTimeout(() => this.end(timeoutOutcome(limits, 'wall')), limits.wallMs);
    this.#begin(source).catch((error: unknown) => this.end(sandboxFailure(error)));
    return this.done;
  }

  /**
   * Compiles the program, rewritten where it needs it (program.ts), then runs it. A program that
   * mentions `await` but not `import` is compiled as it is first, and rewritten only if V8
   * refuses it: one whose `await`s are all inside async functions is never parsed by acorn.
   */
  async #begin(original: string): Promise<void> {
    const mentioned = mentions(original);
    let failure: CompileFailure | undefined;
    if (!mentioned.import) {
      failure = await this.#compile(original);
      if (failure === undefined || !mentioned.await) return this.#open({ source: original, callsImport: false }, failure);
    }
    const program = await this.#prepare(original);
    if (program === undefined) return;
    // Rewritten to the same text: V8's refusal of the original stands.
    if (program.source === original && failure !== undefined) return this.#open(program, failure);
    return this.#open(program, await this.#compile(program.source));
  }

  /**
   * The rewrite: on this thread for a short program, else inside the isolate, timed and charged
   * like the program's own calls. Undefined when the Run ended meanwhile (at a limit).
   */
  async #prepare(original: string): Promise<PreparedProgram | undefined> {
    if (original.length <= ON_THREAD_CHARS) return prepareProgram(original);
    let program: PreparedProgram | undefined;
    await this.#call(async (timeout) => {
      try {
        program = await this.#host.prepare(original, timeout);
      } catch (error) {
        // No program code runs there: what fails it is a limit (#call says which) or isolated-vm.
        if (this.#host.isolate.isDisposed || isTimeout(error)) throw error;
        program = { source: original, callsImport: false };
      }
    });
    return this.#ended ? undefined : program;
  }

  /**
   * Compiles `source` into #script; what it threw if it did not compile. A short one on this
   * thread; a longer one off it, as V8's parse cannot be stopped by a timeout (its time is
   * charged to the execution all the same, and no watchdog sets the isolate aside meanwhile).
   */
  async #compile(source: string): Promise<CompileFailure | undefined> {
    let failure: CompileFailure | undefined;
    const { isolate } = this.#host;
    await this.#call(async () => {
      try {
        const script = source.length <= ON_THREAD_CHARS
          ? isolate.compileScriptSync(source, { filename: PROGRAM_FILE })
          : await isolate.compileScript(source, { filename: PROGRAM_FILE });
        this.#script?.release();
        this.#script = script;
      } catch (error) {
        failure = { error };
      }
    }, true);
    return failure;
  }

  /**
   * Installs the script globals in a fresh Context and runs the compiled program; a program that
   * did not compile is refused with its SyntaxError instead.
   */
  #open(program: PreparedProgram, failure: CompileFailure | undefined): Promise<void> | undefined {
    const { limits } = this.task;
    if (this.#ended) return undefined;
    if (failure !== undefined) {
      // A SyntaxError leaves the isolate as it was; the heap limit reached while compiling does not.
      if (this.#host.isolate.isDisposed) this.end(memoryOutcome(limits));
      else this.end(errorOutcome('syntax', cutMessage(describeCompileError(failure.error), limits.logMessageLimit)), true);
      return undefined;
    }
    return this.#call(async (timeout) => {
      try {
        this.#install(this.#script!, program.callsImport);
      } catch (error) {
        this.end(this.#host.isolate.isDisposed ? memoryOutcome(limits) : sandboxFailure(error));
        return;
      }
      await this.#entry!.run.apply(undefined, [], { timeout });
    });
  }

  /**
   * Ends the Run once; its Context is released after the call in flight, if any, returns, and
   * then the isolate is handed back (`clean`: it may serve the owner again).
   */
  end(outcome: Outcome, clean = false): void {
    if (this.#ended) return;
    this.#ended = true;
    clearTimeout(this.#wallTimer);
    for (const timer of this.#sleepTimers) clearTimeout(timer);
    this.#sleepTimers.clear();
    this.#inputWaiters = [];
    // A call that never returns holds the queue: then the isolate is set aside (see claim above).
    const handBack = (releasedClean: boolean): void => {
      this.#hooks.finished(this.#host, releasedClean);
      this.#resolveSetAside(false);
    };
    void this.#host.enqueue(() => this.#release()).then(() => handBack(clean), () => handBack(false));
    this.#resolve(outcome);
  }

  /**
   * The main thread's answer to the oldest input() asked for: its message, or null for the end
   * of the input, which resolves every input() waiting (and every later one) with null.
   */
  input(data: string | null): void {
    if (this.#ended) return;
    if (data === null) {
      this.#inputEnded = true;
      const waiters = this.#inputWaiters;
      this.#inputWaiters = [];
      for (const id of waiters) this.#wake(id, null);
      return;
    }
    const id = this.#inputWaiters.shift();
    if (id !== undefined) this.#wake(id, data);
  }

  cancel(): void {
    if (this.#ended) return;
    // A Run that is computing can only be stopped by disposing its isolate (isolated-vm has no
    // way to interrupt one call); no other execution is in it.
    this.end({ status: 'cancelled' });
    if (this.#inCall) this.#host.dispose();
  }

  /** A fresh Context with the script globals, and the bootstrap's entry points into it. */
  #install(script: ivm.Script, callsImport: boolean): void {
    const { limits } = this.task;
    const context = this.#host.takeContext();
    this.#context = context;
    const install = this.#host.bootstrap.runSync(context, { reference: true }) as ivm.Reference<unknown>;
    const api = install.applySync(undefined, [
      new ivm.Callback((batch: OutputTuple[]) => this.#output(batch)),
      new ivm.Callback((id: number, ms: number) => this.#sleep(id, ms)),
      new ivm.Callback((id: number) => this.#input(id)),
      new ivm.Callback((ok: boolean, typeOrMessage: string, json: string) => this.#settle(ok, typeOrMessage, json)),
      new ivm.ExternalCopy({
        messageLimit: limits.logMessageLimit,
        resultLimitChars: limits.resultLimitBytes,
        batchEntries: 256,
        batchChars: BATCH_CHARS,
        flushIntervalMs: 5,
        importStandIn: callsImport ? IMPORT_STAND_IN : '',
        walkGuards: limits.walkGuards,
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

  /**
   * One call into the isolate on this Run's behalf, timed and charged to it; none is made once
   * the execution has no time left. A `compile` is not watched (it cannot be stopped, and it
   * ends), and the heap is measured after the call that runs the program, which follows it.
   */
  #call(invoke: (timeout: number) => Promise<void>, compile = false): Promise<void> {
    return this.#host.enqueue(async () => {
      if (this.#ended) return;
      const { isolate } = this.#host;
      const cpuLeft = this.task.limits.cpuMs - Number(this.#cpuUsed / MS);
      const wallLeft = this.#deadline - Date.now();
      const binding = cpuLeft <= wallLeft ? 'cpu' : 'wall';
      // A compile or a rewrite that used it all up: the program does not start.
      if (Math.min(cpuLeft, wallLeft) <= 0) return this.end(timeoutOutcome(this.task.limits, binding));
      const before = isolate.cpuTime;
      const timeout = Math.ceil(Math.min(cpuLeft, wallLeft));
      // isolated-vm reports a call that will not stop 5 s after its timeout as catastrophic;
      // seen once, an isolate parked by a fatal error reported nothing at all. Past this, the
      // isolate is set aside either way.
      const watchdog = !compile
        ? setTimeout(() => this.#host.stuck(`the isolate did not return ${STUCK_CALL_GRACE_MS} ms after a call's timeout`), timeout + STUCK_CALL_GRACE_MS)
        : undefined;
      const overrun = !compile ? this.#watchOverrun(before, timeout, binding) : undefined;
      const started = performance.now();
      let rejection: { readonly reason: unknown } | undefined;
      this.#inCall = true;
      try {
        await invoke(timeout);
      } catch (error) {
        if (!this.#survives(error, performance.now() - started >= timeout - 1, binding)) return;
        rejection = { reason: error };
      } finally {
        this.#inCall = false;
        clearTimeout(watchdog);
        clearTimeout(overrun?.timer);
        if (!isolate.isDisposed) this.#cpuUsed += isolate.cpuTime - before;
      }
      // Disposed by the host without an end: the thread is going away (Sandbox.abandon), and
      // what ends its executions is the main thread's to say.
      if (this.#ended || this.#host.disposedByHost) return;
      if (!compile && !this.#settled && this.#hooks.overBudget(this.#host)) {
        this.end(errorOutcome('memory', `Memory limit exceeded: the isolates of this worker thread passed their share of CHARIOT_SANDBOX_MEMORY_MB (${this.#hooks.budgetMb} MiB)`));
        this.#host.dispose();
        return;
      }
      // What the program logged in the microtasks at the end of the call (once it settled,
      // the bootstrap sends each entry at once), then the rejection nothing handled by then
      // (as a console would report it), then its end if it settled: the program's own result
      // decides its status.
      if (!this.#settled && this.#entry !== undefined) this.#drain();
      if (rejection !== undefined) this.#output([[Date.now(), ERROR_KIND, `Uncaught (in promise) ${describeRejection(rejection.reason)}`, -1]]);
      if (this.#settled) this.end(this.#settled, this.#sleepTimers.size === 0 && this.#inputWaiters.length === 0);
    });
  }

  /**
   * Disposes the isolate once the call in flight has used OVERRUN_GRACE_MS of CPU past its
   * timeout: code that ran on after the timeout (a getter isolated-vm calls once the program's
   * call is over) is stopped as a cancel stops a program, the call fails, and #survives ends
   * the Run at its limit. Measured on the isolate's own clock, so that a call still waiting for
   * a thread of isolated-vm's is not taken for one that overran. A call that goes on
   * DISPOSED_GRACE_MS more is in work V8 cannot stop: its isolate is set aside.
   */
  #watchOverrun(before: bigint, timeout: number, binding: 'cpu' | 'wall'): { timer?: NodeJS.Timeout } {
    const watch: { timer?: NodeJS.Timeout } = {};
    const { isolate } = this.#host;
    const limit = timeout + OVERRUN_GRACE_MS;
    const check = (wait: number): void => {
      watch.timer = setTimeout(() => {
        if (isolate.isDisposed) return;
        const ran = Number((isolate.cpuTime - before) / MS);
        if (ran < limit) return check(limit - ran);
        this.#overran = binding;
        this.#host.dispose();
        watch.timer = setTimeout(() => {
          if (this.#inCall) this.#host.stuck('Script failed to terminate');
        }, DISPOSED_GRACE_MS);
      }, wait);
    };
    check(limit);
    return watch;
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
    const { isolate } = this.#host;
    // A cancel or shutdown disposed the isolate and has decided the outcome; a call that ran
    // on past its timeout ends at its limit.
    if (this.#host.disposedByHost) {
      if (this.#overran !== undefined) this.end(timeoutOutcome(this.task.limits, this.#overran));
      return false;
    }
    if (isolate.isDisposed) {
      // isolated-vm disposed it at the heap limit.
      this.end(memoryOutcome(this.task.limits));
      return false;
    }
    if (!(ranItsTimeout && isTimeout(error))) return true;
    // A call stopped by its timeout can leave reactions queued in the isolate, with no limit
    // of their own: the isolate is disposed, not used again.
    this.end(timeoutOutcome(this.task.limits, binding));
    this.#host.dispose();
    return false;
  }

  /** Delivers what the program logged in microtasks since its last flush. */
  #drain(): void {
    const batch = this.#entry!.drain.applySync(undefined, [], { result: { copy: true }, timeout: 1000 }) as OutputTuple[];
    if (batch.length > 0) this.#output(batch);
  }

  #output(batch: readonly OutputTuple[]): OutputRoom {
    if (this.#ended) return NO_ROOM;
    return this.#sink.output(batch);
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
      this.#wake(id);
    }, delay);
    this.#sleepTimers.add(timer);
  }

  /** One input() call of the program: asked of the main thread, or null at once after the end. */
  #input(id: number): void {
    if (this.#ended) return;
    // Answered in a call of its own, after the one the program is in: a promise resolves later.
    if (this.#inputEnded) return this.#wake(id, null);
    if (this.#inputWaiters.length >= MAX_PENDING_INPUTS) {
      this.end(errorOutcome('script', `Too many pending input() calls: at most ${MAX_PENDING_INPUTS} at once`));
      return;
    }
    this.#inputWaiters.push(id);
    this.#wantInput();
  }

  /** Resolves a sleep() or input() of the program, in a call into the isolate of its own. */
  #wake(id: number, data?: string | null): void {
    void this.#call(async (timeout) => {
      await this.#entry!.wake.apply(undefined, data === undefined ? [id] : [id, data], { timeout });
    });
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
    if (nestedDeeperThan(json, MAX_RESULT_DEPTH)) {
      return errorOutcome('result', `The result is nested too deeply to send: more than ${MAX_RESULT_DEPTH} levels of arrays and objects`);
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
