// A worker thread of the reference (reference.ts): runs programs of the conformance suite in
// plain Node, each as a classic script named program.js in a fresh realm, and answers each
// the way POST /api/execute answers.
//
//   realm 'context': programs arrive one at a time over the port; each runs in a new context
//                    made with vm.constants.DONT_CONTEXTIFY (an ordinary global object).
//   realm 'worker':  the one program in workerData runs in this thread's own main context,
//                    once Node's globals are deleted from it.
//
// Either way the program's completion value is handled by the realm runner (realm-runner.ts)
// inside its own realm, and the rejections nothing handled by the end of its turn (Node's
// 'unhandledRejection', which follows V8's promise-reject callback) become ERROR entries.
import process from 'node:process';
import { constants, createContext, runInContext, runInThisContext, Script, type Context } from 'node:vm';
import { parentPort, workerData } from 'node:worker_threads';
import { REALM_RUNNER_SOURCE, type RealmOutcome, type RealmRunner } from './realm-runner.js';
import type { ReferenceAnswer, WorkerTask } from './reference.js';

const task = workerData as WorkerTask;
const port = parentPort!;
// In realm 'worker' the program shares this realm: what runs after it is captured first,
// and the path back to the port takes no promise (a program may replace Promise#then).
const parse = JSON.parse;
const defineProperty = Object.defineProperty;
const immediate = setImmediate;

/** The program being run, and where its unhandled rejections go. */
let current: { readonly runner: RealmRunner; readonly logs: string[] } | undefined;
process.on('unhandledRejection', (reason) => {
  if (current === undefined) return;
  const { logs, runner } = current;
  defineProperty(logs, logs.length, { value: `ERROR Uncaught (in promise) ${runner.describeRejection(reason)}`, enumerable: true });
});

/**
 * A SyntaxError as the service words it, placed from the source line and caret Node adds to
 * its stack ("program.js:3\n  foo bar\n      ^^^\n\nSyntaxError: ..."): the caret starts at
 * V8's column for it.
 */
function describeCompileError(error: unknown): string {
  if (!(error instanceof Error)) return `SyntaxError: ${String(error)}`;
  const place = /^program\.js:(\d+)\n[^\n]*\n([^\n]*)\n/.exec(String(error.stack));
  if (place === null) return `${error.name}: ${error.message}`;
  const caret = place[2]!.indexOf('^');
  const column = (caret === -1 ? place[2]!.length : caret) + 1;
  return `${error.name}: ${error.message} (line ${place[1]}, column ${column})`;
}

function answerOf(outcome: RealmOutcome, logs: readonly string[]): ReferenceAnswer {
  const { http, status, json, type, error } = outcome;
  return status === 'completed'
    ? { http, status, result: parse(json!), type: type!, logs }
    : { http, status, error: error!, logs };
}

/**
 * Compiles `program`, lets `enter` make its realm (returning that realm's runner and how to
 * run the script in it), and answers once the program has settled and the reactions it
 * queued in that turn have run.
 */
function runProgram(program: string, enter: (script: Script) => Entered): void {
  let script: Script;
  try {
    script = new Script(program, { filename: 'program.js' });
  } catch (error) {
    port.postMessage({ http: 500, status: 'error', error: describeCompileError(error), logs: [] } satisfies ReferenceAnswer);
    return;
  }
  const { runner, runScript } = enter(script);
  const logs: string[] = [];
  current = { runner, logs };
  runner.run(runScript, (outcome) => {
    // Node reports a rejection left unhandled once the microtasks have run; the service, at
    // the end of the call into the isolate. A check-phase callback comes after both.
    immediate(() => {
      current = undefined;
      port.postMessage(answerOf(outcome, logs));
    });
  });
}

interface Entered {
  readonly runner: RealmRunner;
  readonly runScript: () => unknown;
}

function inFreshContext(script: Script): Entered {
  const context: Context = createContext(constants.DONT_CONTEXTIFY);
  const runner = (runInContext(REALM_RUNNER_SOURCE, context) as () => RealmRunner)();
  return { runner, runScript: () => script.runInContext(context, { displayErrors: false }) };
}

function inThisRealm(standardGlobals: readonly string[]) {
  return (script: Script): Entered => {
    const runner = (runInThisContext(REALM_RUNNER_SOURCE) as () => RealmRunner)();
    // Node's own globals (process, Buffer, setTimeout, fetch, Symbol.toStringTag "global")
    // are not part of the language.
    const standard = new Set(standardGlobals);
    for (const key of Reflect.ownKeys(globalThis)) {
      if (!standard.has(typeof key === 'string' ? key : String(key))) delete (globalThis as Record<PropertyKey, unknown>)[key];
    }
    return { runner, runScript: () => script.runInThisContext({ displayErrors: false }) };
  };
}

if (task.realm === 'worker') runProgram(task.program, inThisRealm(task.standardGlobals));
else port.on('message', (program: string) => runProgram(program, inFreshContext));
