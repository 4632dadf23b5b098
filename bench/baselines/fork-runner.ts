// The child of the fork-per-execution baseline (fork-server.ts): receives one program over
// IPC, runs it as plain code with logPrint/console collecting entries, sends back the
// result or the error, and exits. The process boundary is the isolation; the parent's
// timeout (SIGKILL) is the time limit, since nothing inside can stop a synchronous loop.

// Types only from the front (erased when compiled): the child loads none of its code.
import type { ExecutionReply, LogEntry } from './minimal-front.js';
import { show } from './show-value.js';

const logs: LogEntry[] = [];

function logger(level: string) {
  return (...args: unknown[]): void => {
    logs.push({ timestamp: new Date().toISOString(), level, message: args.map(show).join(' ') });
  };
}

const globals = globalThis as Record<string, unknown>;
globals.logPrint = logger('INFO');
globals.console = { log: logger('INFO'), info: logger('INFO'), warn: logger('WARN'), error: logger('ERROR'), debug: logger('DEBUG') };

function typeOf(value: unknown): string {
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'array';
  return typeof value;
}

async function run(program: string): Promise<ExecutionReply> {
  try {
    // Indirect eval: global scope, completion value as the result, like chariot-exec's `1+2` → 3.
    let value: unknown = (0, eval)(program);
    if (typeof (value as { then?: unknown } | null)?.then === 'function') value = await value;
    return { ok: true, value: value === undefined ? null : value, type: typeOf(value), logs };
  } catch (error) {
    return { ok: false, error: error instanceof Error ? `${error.name}: ${error.message}` : `Uncaught ${show(error)}`, logs };
  }
}

process.once('message', (message: { program: string }) => {
  void run(message.program).then((reply) => process.send!(reply, () => process.exit(0)));
});
