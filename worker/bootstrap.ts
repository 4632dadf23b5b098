// The code that runs inside each fresh Context before the user's program: it installs the
// script globals (logPrint, console.*, progress, sleep, input) and returns the entry points the
// worker calls. `install` is sent to the isolate as source text (`BOOTSTRAP_SOURCE`), so it
// must not refer to anything outside itself (no helpers, no closures) but `guardWalks`
// (walk-guards.ts), whose source text goes along.
//
// The program arrives compiled (an isolated-vm Script, with the Context to run it in) and is
// run from here as classic global code: its top-level `var` and `function` declarations
// become global properties, and whatever it throws is caught here as the value itself.
//
// It captures the intrinsics it needs before the program runs, so a program that replaces
// JSON.stringify or Promise.prototype.then only changes what it itself sees. The host
// callbacks stay inside this closure; the program cannot call them directly.

import { guardWalks } from './walk-guards.js';

/** The host functions handed to `install` (ivm.Callback instances on the worker side). */
export interface HostCallbacks {
  /**
   * A batch of [time, kind, text, percent] tuples; kind 0..3 are log levels, 4 is progress,
   * 5 and 6 count log entries and progress reports the isolate dropped itself (in `percent`).
   * Answers the room left under the execution's output caps: entries, and characters.
   */
  flush(batch: readonly OutputTuple[]): OutputRoom;
  /** The program wants to be woken as `wake(id)` after `ms` milliseconds. */
  sleep(id: number, ms: number): void;
  /** The program wants the next input message, as `wake(id, data)` (data null after the end). */
  input(id: number): void;
  /** The program finished: `ok` with a [type, json] pair, or not with a message. */
  settle(ok: boolean, typeOrMessage: string, json: string): void;
}

export type OutputTuple = [time: number, kind: number, text: string, percent: number];

/** Entries and characters the execution's output caps still have room for (output.ts). */
export type OutputRoom = [entries: number, chars: number];

export interface InstallOptions {
  readonly messageLimit: number;
  readonly resultLimitChars: number;
  /** Entries buffered before a flush. */
  readonly batchEntries: number;
  /** Characters of messages buffered before a flush. */
  readonly batchChars: number;
  /** Milliseconds since the last flush after which the next entry flushes at once. */
  readonly flushIntervalMs: number;
  /** The global name the program's import() calls were renamed to (program.ts), or ''. */
  readonly importStandIn: string;
  /** Install walk-guards.ts (CHARIOT_WALK_GUARDS). */
  readonly walkGuards: boolean;
}

/**
 * The program as the worker compiled it (an isolated-vm Script, handed in with its Context):
 * isolated-vm handles keep working inside their own isolate, where a run is a plain call.
 */
export interface CompiledProgram {
  runSync(context: unknown, options: object): { deref(): unknown; release(): void };
}

/** What `install` returns: the worker keeps references to these. */
export interface SandboxEntryPoints {
  /** Runs the program once; its outcome goes to `settle`. */
  run(): void;
  /** Resolves the sleep() or input() call `id` (with `data`, for input()). */
  wake(id: number, data?: string | null): void;
  drain(): OutputTuple[];
}

export function install(
  flushHost: HostCallbacks['flush'],
  sleepHost: HostCallbacks['sleep'],
  inputHost: HostCallbacks['input'],
  settleHost: HostCallbacks['settle'],
  options: InstallOptions,
  compiled: CompiledProgram,
  context: unknown,
): SandboxEntryPoints {
  // Strict code hides itself from the program: `f.caller` of a program function called from
  // here is null rather than this closure's `run`, and `arguments.callee` throws.
  'use strict';
  const global = globalThis as Record<string, unknown>;
  const stringify = JSON.stringify;
  const now = Date.now;
  const isArray = Array.isArray;
  const StringOf = String;
  const NumberOf = Number;
  const ErrorClass = Error;
  const PromiseClass = Promise;
  const then = Promise.prototype.then;
  const mapGet = Map.prototype.get;
  const mapSet = Map.prototype.set;
  const mapDelete = Map.prototype.delete;
  const slice = String.prototype.slice;
  const defineProperty = Object.defineProperty;
  const objectHasOwn = Object.hasOwn;
  const entriesOf = Object.entries;
  const TypeErrorClass = TypeError;
  const SyntaxErrorClass = SyntaxError;

  /** Output kind of a progress report (output.ts); 0 to 3 are the log levels. */
  const PROGRESS_KIND = 4;
  /** Counts of what was dropped here, past the caps (output.ts). */
  const DROPPED_LOGS_KIND = 5;
  const DROPPED_PROGRESS_KIND = 6;
  let buffer: OutputTuple[] = [];
  let bufferedChars = 0;
  let lastFlush = 0;
  /** Once the program has its outcome, whatever it still logs is sent at once. */
  let settled = false;
  // The room left under the output caps, as the host last said, less what is buffered since:
  // what would not fit there is only counted, not copied out of the isolate for nothing.
  let roomEntries = Number.POSITIVE_INFINITY;
  let roomChars = Number.POSITIVE_INFINITY;
  let droppedLogs = 0;
  let droppedProgress = 0;

  const take = (): OutputTuple[] => {
    const time = now();
    if (droppedLogs > 0) defineProperty(buffer, buffer.length, { value: [time, DROPPED_LOGS_KIND, '', droppedLogs], writable: true, enumerable: true, configurable: true });
    if (droppedProgress > 0) defineProperty(buffer, buffer.length, { value: [time, DROPPED_PROGRESS_KIND, '', droppedProgress], writable: true, enumerable: true, configurable: true });
    droppedLogs = 0;
    droppedProgress = 0;
    const batch = buffer;
    buffer = [];
    bufferedChars = 0;
    return batch;
  };

  const flush = (): void => {
    if (buffer.length === 0 && droppedLogs === 0 && droppedProgress === 0) return;
    const batch = take();
    lastFlush = now();
    const room = flushHost(batch);
    roomEntries = NumberOf(room[0]);
    roomChars = NumberOf(room[1]);
  };

  /** A log message or an error message, cut at the message limit (output.ts cuts alike). */
  const cutText = (text: string): string => {
    if (text.length <= options.messageLimit) return text;
    return slice.call(text, 0, options.messageLimit) + ` … [message cut: ${text.length - options.messageLimit} more characters]`;
  };

  const emit = (kind: number, text: string, percent: number): void => {
    const time = now();
    const message = cutText(text);
    // A progress report right after another replaces it: only the latest is ever shown.
    const last = buffer.length - 1;
    const replaces = kind === PROGRESS_KIND && last >= 0 && buffer[last]![1] === PROGRESS_KIND;
    // The report it replaces gives its room back.
    const freedEntries = replaces ? 1 : 0;
    const freedChars = replaces ? buffer[last]![2].length : 0;
    if (roomEntries + freedEntries < 1 || message.length > roomChars + freedChars) {
      if (kind === PROGRESS_KIND) droppedProgress++;
      else droppedLogs++;
    } else {
      roomEntries += freedEntries - 1;
      roomChars += freedChars - message.length;
      bufferedChars += message.length - freedChars;
      defineProperty(buffer, replaces ? last : buffer.length, { value: [time, kind, message, percent], writable: true, enumerable: true, configurable: true });
    }
    if (settled || buffer.length >= options.batchEntries || bufferedChars >= options.batchChars || time - lastFlush >= options.flushIntervalMs) flush();
  };

  const show = (value: unknown): string => {
    if (typeof value === 'string') return value;
    try {
      if (value instanceof ErrorClass) return `${StringOf(value.name)}: ${StringOf(value.message)}`;
      if (typeof value === 'function') return `[Function: ${StringOf(value.name) || '(anonymous)'}]`;
      if (typeof value === 'object' && value !== null) {
        const json = stringify(value);
        if (json !== undefined) return json;
      }
      if (typeof value === 'bigint') return `${StringOf(value)}n`;
      return StringOf(value);
    } catch {
      return '[unprintable value]';
    }
  };

  const logger = (kind: number) =>
    function log(...args: unknown[]): void {
      // Index loops and string concatenation: the program may have replaced the array
      // iterator, Array.prototype.join or push.
      let text = '';
      for (let i = 0; i < args.length; i++) text += (i === 0 ? '' : ' ') + show(args[i]);
      emit(kind, text, -1);
    };

  const describeError = (error: unknown): string => {
    try {
      if (error instanceof ErrorClass) {
        const message = StringOf(error.message);
        return message === '' ? StringOf(error.name) : `${StringOf(error.name)}: ${message}`;
      }
      return `Uncaught ${show(error)}`;
    } catch {
      return 'Uncaught exception';
    }
  };

  const encode = (value: unknown): [ok: boolean, typeOrMessage: string, json: string] => {
    const kind = typeof value;
    if (kind === 'function') return [false, 'The result is a function, which cannot be represented as JSON', ''];
    if (kind === 'symbol') return [false, 'The result is a symbol, which cannot be represented as JSON', ''];
    if (kind === 'undefined') return [true, 'undefined', 'null'];
    if (kind === 'bigint') return [true, 'bigint', stringify(StringOf(value))];
    const type = value === null ? 'null' : isArray(value) ? 'array' : kind;
    let json: string | undefined;
    try {
      json = stringify(value);
    } catch (error) {
      const message = describeError(error);
      if (/circular/i.test(message)) return [false, 'The result is a cyclic object, which cannot be represented as JSON', ''];
      if (/BigInt/.test(message)) return [false, 'The result contains a BigInt, which cannot be represented as JSON', ''];
      return [false, `The result cannot be represented as JSON: ${message}`, ''];
    }
    if (json === undefined) return [false, 'The result cannot be represented as JSON', ''];
    if (json.length > options.resultLimitChars) {
      return [false, `Result size limit exceeded: the result is over ${options.resultLimitChars} bytes as JSON`, ''];
    }
    return [true, type, json];
  };

  const settle = (ok: boolean, value: unknown): void => {
    if (settled) return;
    settled = true;
    flush();
    if (!ok) return settleHost(false, cutText(describeError(value)), '');
    let encoded: [boolean, string, string];
    try {
      encoded = encode(value);
    } catch (error) {
      encoded = [false, `The result cannot be represented as JSON: ${describeError(error)}`, ''];
    }
    settleHost(encoded[0], encoded[1], encoded[2]);
  };

  // The sleep() and input() calls not resolved yet, by one series of ids.
  const pending = new Map<number, (data: string | null | undefined) => void>();
  let nextWait = 0;

  const globals: Record<string, unknown> = {
    logPrint: logger(1),
    console: { log: logger(1), info: logger(1), warn: logger(2), error: logger(3), debug: logger(0) },
    progress(percent: unknown, message?: unknown): void {
      const value = NumberOf(percent);
      const clamped = value >= 0 ? (value <= 100 ? value : 100) : 0;
      emit(PROGRESS_KIND, message === undefined ? '' : show(message), clamped);
    },
    sleep(ms: unknown): Promise<void> {
      const delay = NumberOf(ms);
      return new PromiseClass<void>((resolve) => {
        const id = ++nextWait;
        mapSet.call(pending, id, () => resolve());
        flush();
        sleepHost(id, delay >= 0 ? delay : 0);
      });
    },
    // Takes no arguments: whatever is passed is not looked at.
    input(): Promise<string | null> {
      return new PromiseClass<string | null>((resolve) => {
        const id = ++nextWait;
        mapSet.call(pending, id, (data: string | null | undefined) => resolve(typeof data === 'string' ? data : null));
        flush();
        inputHost(id);
      });
    },
  };
  if (options.importStandIn !== '') {
    // import(specifier, options) where no module can be loaded: the steps of the language's
    // EvaluateImportCall up to loading (ToString of the specifier, the options' checks), each
    // failure rejecting the promise, then the refusal itself.
    globals[options.importStandIn] = function (specifier: unknown, importOptions?: unknown): Promise<never> {
      return new PromiseClass<never>((_resolve, reject) => {
        const name = `${specifier as string}`;
        if (importOptions !== undefined) {
          if (typeof importOptions !== 'object' && typeof importOptions !== 'function' || importOptions === null) {
            throw new TypeErrorClass('The second argument of import() must be an object');
          }
          const attributes = (importOptions as { with?: unknown }).with;
          if (attributes !== undefined) {
            if (typeof attributes !== 'object' && typeof attributes !== 'function' || attributes === null) {
              throw new TypeErrorClass("The 'with' option of import() must be an object");
            }
            const entries = entriesOf(attributes);
            for (let i = 0; i < entries.length; i++) {
              if (typeof entries[i]![1] !== 'string') throw new TypeErrorClass('Import attribute values must be strings');
            }
            for (let i = 0; i < entries.length; i++) {
              if (entries[i]![0] !== 'type') throw new SyntaxErrorClass(`Unsupported import attribute: ${entries[i]![0]}`);
            }
          }
        }
        reject(new TypeErrorClass(`Cannot import "${name}": programs here run without modules`));
      });
    };
  }
  for (const name of Object.keys(globals)) {
    defineProperty(global, name, { value: globals[name], writable: true, configurable: true, enumerable: false });
  }
  // WebAssembly memories live outside the V8 heap, where the memory limit does not see them;
  // the service removes it (docs/API.md).
  delete global.WebAssembly;
  // Memory shared between threads has no use where a program cannot start a thread, and its
  // waits reach native code of isolated-vm's that has aborted the process (Atomics.waitAsync on
  // Node 20): as a browser page without cross-origin isolation, a program gets neither
  // SharedArrayBuffer nor Atomics' waits (Atomics.wait, Atomics.waitAsync). The rest of Atomics
  // works on ordinary typed arrays.
  delete global.SharedArrayBuffer;
  const atomics = global.Atomics as Record<string, unknown>;
  delete atomics.wait;
  delete atomics.waitAsync;
  // A FinalizationRegistry's callbacks run when V8 gets round to them: in a task of their own,
  // outside every call of the execution's and its limits, after it ended as well as during it.
  // One that spun held its isolate for good, and the worker thread that next called into it.
  // Nothing a program leaves behind may run then: there is none. (WeakRef stays: it calls nothing.)
  delete global.FinalizationRegistry;
  // V8 gives a context made while its --expose-gc flag is on a gc() that cannot be deleted.
  // Every context is made holding the lock that taking a thread's own gc() holds
  // (worker/context-lock.ts), so none has it; one that did would not run a program.
  if (objectHasOwn(global, 'gc')) throw new Error("this context has V8's gc(): it was made while the --expose-gc flag was on");
  if (options.walkGuards) guardWalks();

  // Held only until the program has run; the program never sees them.
  let program: CompiledProgram | undefined = compiled;

  return {
    run(): void {
      const script = program;
      const target = context;
      program = undefined;
      context = undefined;
      if (script === undefined) return;
      let value: unknown;
      try {
        // A reference, because the value stays in this isolate; the options have no
        // prototype, so a program that adds `copy` to Object.prototype changes nothing here.
        const completion = script.runSync(target, { __proto__: null, reference: true });
        value = completion.deref();
        completion.release();
      } catch (error) {
        return settle(false, error);
      }
      // A promise of this context is awaited whatever its prototype's `then` now is.
      let thenable = false;
      try {
        thenable = value instanceof PromiseClass || value !== null && (typeof value === 'object' || typeof value === 'function') && typeof (value as { then?: unknown }).then === 'function';
      } catch (error) {
        return settle(false, error);
      }
      if (!thenable) return settle(true, value);
      try {
        const promise = value instanceof PromiseClass ? value : new PromiseClass((resolve) => resolve(value));
        then.call(promise, (result: unknown) => settle(true, result), (error: unknown) => settle(false, error));
      } catch (error) {
        // e.g. a Symbol.species getter on Promise that throws.
        settle(false, error);
      }
    },
    wake(id: number, data?: string | null): void {
      const resolve = mapGet.call(pending, id) as ((data: string | null | undefined) => void) | undefined;
      mapDelete.call(pending, id);
      if (resolve) resolve(data);
    },
    drain(): OutputTuple[] {
      return take();
    },
  };
}

/** `install` as source text for `isolate.compileScript`; evaluates to the function. */
export const BOOTSTRAP_SOURCE = `((guardWalks) => (${install.toString()}))(${guardWalks.toString()})`;
