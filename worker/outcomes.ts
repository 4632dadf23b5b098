// How an execution's end is worded: the outcomes the sandbox reports, and the text of the
// failures isolated-vm hands back. No isolate is touched here.
import type { ErrorReason, ExecTask, Outcome } from './protocol.js';

/** isolated-vm's message for a thrown or rejected object that is neither an Error nor copyable. */
const NOT_AN_ERROR = 'An object was thrown from supplied code within isolated-vm, but that object was not an instance of `Error`.';

export function errorOutcome(reason: ErrorReason, message: string): Outcome {
  return { status: 'error', reason, message };
}

/**
 * The one isolated-vm failure told apart by its text (the library has no error codes), the
 * elapsed timeout: "Script execution timed out." A disposed isolate is told by
 * `isolate.isDisposed` ("Isolate was disposed during execution [due to memory limit]").
 */
export function isTimeout(error: unknown): boolean {
  return error instanceof Error && error.message === 'Script execution timed out.';
}

export function timeoutOutcome(limits: ExecTask['limits'], binding: 'cpu' | 'wall'): Extract<Outcome, { status: 'error' }> {
  return binding === 'cpu'
    ? { status: 'error', reason: 'cpu', message: `CPU time limit exceeded: the script ran for more than ${limits.cpuMs} ms` }
    : { status: 'error', reason: 'wall', message: `Wall-clock time limit exceeded: the execution took more than ${limits.wallMs} ms` };
}

/** A failure of the sandbox itself, not of the program: an isolated-vm call that failed. */
export function sandboxFailure(error: unknown): Outcome {
  return errorOutcome('internal', `Sandbox failure: ${error instanceof Error ? error.message : String(error)}`);
}

export function memoryOutcome(limits: ExecTask['limits']): Outcome {
  return errorOutcome('memory', `Memory limit exceeded: the isolate's heap passed ${limits.memoryMb} MiB`);
}

/** The outcome of an execution whose isolate was set aside after a catastrophic error. */
export function quarantineOutcome(limits: ExecTask['limits'], message: string): Outcome {
  // isolated-vm's messages: "Catastrophic out-of-memory error", "Script failed to terminate".
  return /out-of-memory/i.test(message)
    ? memoryOutcome(limits)
    : errorOutcome('isolate', `Sandbox failure: ${message}; the isolate was set aside`);
}

/**
 * A program's SyntaxError as the compiler reports it. isolated-vm appends the place,
 * "Unexpected end of input [program.js:1:4]"; it is said in words here.
 */
export function describeCompileError(error: unknown): string {
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
export function describeRejection(reason: unknown): string {
  if (reason instanceof Error) {
    if (reason.message === NOT_AN_ERROR) return '#<Object> (an object that is not an Error)';
    return reason.message === '' ? reason.name : `${reason.name}: ${reason.message}`;
  }
  if (typeof reason === 'bigint') return `${reason}n`;
  return String(reason);
}
