// The worker thread of the QuickJS baseline (a Piscina task file; see quickjs-server.ts).
// The WebAssembly module is loaded once per thread, as a user of quickjs-emscripten would;
// each execution gets a fresh runtime (its own heap, memory limit, stack limit and deadline)
// and a fresh context in it, both disposed at the end.
//
// The program runs as global code: its completion value is the result (`1+2` → 3), as in
// chariot-exec. A promise result is settled by running QuickJS's pending jobs; nothing in
// the context waits on the host (no sleep, no timers), so one pass settles it or nothing will.
import {
  newQuickJSWASMModule,
  RELEASE_SYNC,
  shouldInterruptAfterDeadline,
  type QuickJSContext,
  type QuickJSHandle,
  type QuickJSWASMModule,
} from 'quickjs-emscripten';
import type { ExecutionReply, LogEntry } from './minimal-front.js';
import { show } from './show-value.js';

/** chariot-exec's defaults: 10 s of CPU (here wall time of a thread that does nothing else), 128 MiB of heap. */
const TIMEOUT_MS = 10_000;
const MEMORY_LIMIT_BYTES = 128 * 1024 * 1024;
/**
 * QuickJS's own stack check, below the host's: without it a deep recursion overflows the
 * thread's native stack inside the WebAssembly, which throws a host RangeError mid-way and
 * leaves the module's memory unusable. 1 MiB allows several thousand frames in a worker
 * thread (whose native stack is 4 MiB).
 */
const STACK_LIMIT_BYTES = 1024 * 1024;

// The release build of the synchronous variant: the fastest and smallest, and the default of getQuickJS().
let quickjs: QuickJSWASMModule = await newQuickJSWASMModule(RELEASE_SYNC);

/** logPrint and console.{log,info,warn,error,debug}, collecting entries into `logs`. */
function installLogging(context: QuickJSContext, logs: LogEntry[]): void {
  const logger = (level: string): QuickJSHandle => context.newFunction(level, (...args) => {
    logs.push({ timestamp: new Date().toISOString(), level, message: args.map((arg) => show(context.dump(arg))).join(' ') });
  });
  logger('INFO').consume((handle) => context.setProp(context.global, 'logPrint', handle));
  context.newObject().consume((console) => {
    for (const [name, level] of [['log', 'INFO'], ['info', 'INFO'], ['warn', 'WARN'], ['error', 'ERROR'], ['debug', 'DEBUG']] as const) {
      logger(level).consume((handle) => context.setProp(console, name, handle));
    }
    context.setProp(context.global, 'console', console);
  });
}

/** An exception of the program as chariot-exec words it: "Name: message", or "Uncaught <value>". */
function describeError(context: QuickJSContext, handle: QuickJSHandle, deadline: number): string {
  const error: unknown = context.dump(handle);
  if (typeof error === 'object' && error !== null && typeof (error as { name?: unknown }).name === 'string') {
    const { name, message } = error as { name: string; message?: unknown };
    const text = typeof message === 'string' && message !== '' ? `${name}: ${message}` : name;
    return message === 'interrupted' && Date.now() >= deadline ? `${text} (the time limit of ${TIMEOUT_MS} ms passed)` : text;
  }
  return `Uncaught ${show(error)}`;
}

/** The result and its type as chariot-exec reports them (undefined → null of type "undefined"). */
function describeValue(context: QuickJSContext, handle: QuickJSHandle, logs: LogEntry[]): ExecutionReply {
  const kind = context.typeof(handle);
  if (kind === 'function' || kind === 'symbol') return { ok: false, error: `The result is a ${kind}, which cannot be represented as JSON`, logs };
  if (kind === 'bigint') return { ok: true, value: String(context.getBigInt(handle)), type: 'bigint', logs };
  const value: unknown = context.dump(handle);
  const type = value === null ? 'null' : Array.isArray(value) ? 'array' : kind;
  return { ok: true, value: value === undefined ? null : value, type, logs };
}

function run(module: QuickJSWASMModule, program: string): ExecutionReply {
  const logs: LogEntry[] = [];
  const deadline = Date.now() + TIMEOUT_MS;
  const runtime = module.newRuntime();
  try {
    runtime.setMemoryLimit(MEMORY_LIMIT_BYTES);
    runtime.setMaxStackSize(STACK_LIMIT_BYTES);
    runtime.setInterruptHandler(shouldInterruptAfterDeadline(deadline));
    const context = runtime.newContext();
    try {
      installLogging(context, logs);
      const evaluated = context.evalCode(program, 'program.js', { type: 'global' });
      if (evaluated.error !== undefined) return evaluated.error.consume((error) => ({ ok: false, error: describeError(context, error, deadline), logs }));
      return evaluated.value.consume((value) => {
        const jobs = runtime.executePendingJobs();
        if (jobs.error !== undefined) return jobs.error.consume((error) => ({ ok: false, error: describeError(context, error, deadline), logs }));
        const state = context.getPromiseState(value);
        if (state.type === 'pending') return { ok: false, error: 'The result is a promise that never settles', logs };
        if (state.type === 'rejected') return state.error.consume((error) => ({ ok: false, error: describeError(context, error, deadline), logs }));
        // A value that is not a promise comes back as itself, owned by the caller (disposed by consume above).
        if (state.notAPromise === true) return describeValue(context, value, logs);
        return state.value.consume((settled) => describeValue(context, settled, logs));
      });
    } finally {
      context.dispose();
    }
  } finally {
    runtime.dispose();
  }
}

export default async function runInQuickJS(program: string): Promise<ExecutionReply> {
  try {
    return run(quickjs, program);
  } catch (error) {
    // An exception of the host rather than of the program (the WebAssembly aborted, or the
    // native stack overflowed in it) leaves the module in an unknown state: the next
    // execution gets a freshly loaded one.
    quickjs = await newQuickJSWASMModule(RELEASE_SYNC);
    return { ok: false, error: `QuickJS failed: ${error instanceof Error ? error.message : String(error)}`, logs: [] };
  }
}
