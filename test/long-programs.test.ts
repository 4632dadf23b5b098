// What a long program's source goes through before it runs (over ON_THREAD_CHARS, 2,048
// characters): V8's compile, and acorn's parse where it must be rewritten (top-level await,
// import()), run off the worker thread, in the program's own isolate, and count against its
// own limits. Each program here held the only worker thread of main for seconds to minutes
// (acorn is superlinear: the names of a scope are kept in arrays, a `var` is added to every
// block around it), or ran it out of heap; now another user's 1+2, submitted while it is being
// parsed, is answered at once, and the program itself ends exactly as its limits say.
import { expect } from 'chai';
import type { Client } from './helpers/client.js';
import { asObject, type ExpectedEntry } from './helpers/expectations.js';
import { expectExactStream, spawnServer, within, type ServerProcess } from './helpers/adversary.js';
import { expectExecuteAnswer, expectResultAnswer, getResult, streamToEnd, submit, type Ending } from './helpers/executions.js';

const LIMITS = { CHARIOT_THREADS: '1', CHARIOT_CPU_MS: '3000', CHARIOT_WALL_MS: '60000' };
const CPU: Ending = { status: 'error', error: 'CPU time limit exceeded: the script ran for more than 3000 ms' };

/** `let a0,a1,…` with as many names as fit in `chars` characters, then top-level await. */
function letOfManyNames(chars: number): string {
  const names: string[] = [];
  // The separators: one comma fewer than names, and `let ;await 1`.
  for (let length = 'let ;await 1'.length - 1; ; ) {
    const name = `a${names.length.toString(36)}`;
    if (length + name.length + 1 > chars) break;
    names.push(name);
    length += name.length + 1;
  }
  return `let ${names.join(',')};await 1`;
}

/** `var a;` repeated inside `depth` nested blocks, to about `chars` characters, then `tail`. */
function varsInBlocks(depth: number, chars: number, tail: string): string {
  return '{'.repeat(depth) + 'var a;'.repeat(Math.floor((chars - 2 * depth - tail.length) / 6)) + '}'.repeat(depth) + tail;
}

/** Resolves once the execution is running (the worker thread has it), polling every 5 ms. */
async function untilRunning(client: Client, id: string): Promise<void> {
  for (;;) {
    const status = asObject((await getResult(client, id)).body).status;
    if (status === 'running') return;
    expect(status, 'the long program before it runs').to.equal('queued');
    // The race waited out: the 'started' message of the worker thread reaching the main thread.
    await new Promise((resolve) => setTimeout(resolve, 5));
  }
}

describe('long programs, against a server process of its own with 1 worker thread', function () {
  this.timeout(120_000);
  let child: ServerProcess | undefined;
  let alice: Client;
  let bob: Client;

  afterEach(async () => {
    await child?.kill();
    child = undefined;
  });

  async function start(env: Readonly<Record<string, string>>): Promise<void> {
    child = await spawnServer(env);
    [alice, bob] = await Promise.all([child.login('alice'), child.login('bob')]);
  }

  /**
   * alice's program; once it runs, bob's 1+2, answered exactly (with `slow`, while alice's is
   * still running); then alice's stream and result, exactly as `ending` and `logs` say.
   */
  async function alongside(program: string, ending: Ending, logs: readonly ExpectedEntry[], slow: boolean): Promise<void> {
    const id = await submit(alice, program);
    await untilRunning(alice, id);
    const bobs = await within(10_000, bob.json('POST', '/api/execute', { program: '1+2' }), "bob's 1+2");
    expectExecuteAnswer(bobs, { status: 'completed', value: 3, type: 'number' }, []);
    if (slow) expect(asObject((await getResult(alice, id)).body).status, "alice's, when bob's is answered").to.equal('running');
    expectExactStream(await streamToEnd(alice, id), logs, ending.status);
    expectResultAnswer(await getResult(alice, id), id, ending, logs);
  }

  // On main acorn parsed it for 93 s on the worker thread (each name is looked up in an array
  // of the names before it), and bob's 1+2 waited as long.
  it("`let` with 175,000 names and top-level await (1,000,000 characters): the CPU limit ends its parse, and another user's 1+2 is answered meanwhile", async () => {
    await start(LIMITS);
    await alongside(letOfManyNames(1_000_000), CPU, [], true);
  });

  // On main 113 s on the worker thread: the calls were renamed one at a time, each copying the
  // whole source.
  it("100,000 import() calls (1,000,000 characters): each is renamed, the last one's refusal is the error, and another user's 1+2 is answered", async () => {
    await start(LIMITS);
    const refusal = 'TypeError: Cannot import "0": programs here run without modules';
    // The others are left rejected with the first: isolated-vm reports the first only.
    await alongside('import(0);'.repeat(100_000), { status: 'error', error: refusal }, [{ level: 'ERROR', message: `Uncaught (in promise) ${refusal}` }], false);
  });

  // V8 checks each `var` against every block around it. On main the compile ran on the worker
  // thread for 8.8 s, then overflowed its stack.
  it("`var` 166,000 times inside 3,000 nested blocks (1,000,000 characters, no await): V8's compile takes seconds off the worker thread, counts as CPU time, and the program does not start; another user's 1+2 is answered meanwhile", async () => {
    await start(LIMITS);
    await alongside(varsInBlocks(3000, 1_000_000, '1'), CPU, [], true);
  });

  // acorn adds each `var` to every block around it. On main this one took 3.2 s of the worker
  // thread; 1,500 blocks deep at 1,000,000 characters it ran the thread out of heap, and
  // bob's execution on it failed too.
  it("`var` 21,000 times inside 1,000 nested blocks, then top-level await (130,000 characters): acorn's scopes fill the isolate, the memory limit ends it, and another user's 1+2 is answered", async () => {
    await start({ ...LIMITS, CHARIOT_CPU_MS: '10000', CHARIOT_MEMORY_MB: '32' });
    await alongside(varsInBlocks(1000, 130_000, 'await 1'), { status: 'error', error: "Memory limit exceeded: the isolate's heap passed 32 MiB" }, [], false);
  });

  it('a long program runs as a short one does: top-level await with its last value, import() refused after converting its specifier, syntax errors where they are', async () => {
    await start(LIMITS);
    /** Past the length the worker thread rewrites itself, on a second line. */
    const long = (program: string): string => `${program}\n//${'x'.repeat(5000)}`;
    const cases: ReadonlyArray<readonly [string, Ending, readonly ExpectedEntry[]]> = [
      ['logPrint("a"); await sleep(10); logPrint("b"); [1, 2]', { status: 'completed', value: [1, 2], type: 'array' }, [{ level: 'INFO', message: 'a' }, { level: 'INFO', message: 'b' }]],
      ['let x = await sleep(1);', { status: 'completed', value: null, type: 'undefined' }, []],
      ['(async () => { await sleep(1); return 2 })()', { status: 'completed', value: 2, type: 'number' }, []],
      [
        'import({ toString() { logPrint("converted"); return "x"; } }).then(() => "loaded", (e) => [e.constructor === TypeError, e.message])',
        { status: 'completed', value: [true, 'Cannot import "x": programs here run without modules'], type: 'array' },
        [{ level: 'INFO', message: 'converted' }],
      ],
      ['await import("a").catch((e) => e.message)', { status: 'completed', value: 'Cannot import "a": programs here run without modules', type: 'string' }, []],
      ['const imported = 1; imported', { status: 'completed', value: 1, type: 'number' }, []],
      ['Object.getOwnPropertyNames(globalThis).filter((name) => name.startsWith("__"))', { status: 'completed', value: [], type: 'array' }, []],
      ['logPrint(1);\nlogPrint(2 +;', { status: 'error', error: "SyntaxError: Unexpected token ';' (line 2, column 13)" }, []],
      ['await sleep(1); let x = ;', { status: 'error', error: 'SyntaxError: await is only valid in async functions and the top level bodies of modules (line 1, column 1)' }, []],
      ['let undefined;', { status: 'error', error: "SyntaxError: Identifier 'undefined' has already been declared" }, []],
    ];
    for (const [program, ending, logs] of cases) {
      expectExecuteAnswer(await alice.json('POST', '/api/execute', { program: long(program) }), ending, logs);
    }
    expectExecuteAnswer(await bob.json('POST', '/api/execute', { program: '1+2' }), { status: 'completed', value: 3, type: 'number' }, []);
  });
});
