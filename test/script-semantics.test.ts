// How a program runs: as classic global code in a fresh context, its completion value the
// result; a promise rejected with no handler is logged as an ERROR entry and does not by itself
// end the execution; a syntax error says where it is.
import { expect } from 'chai';
import type { Client, HttpResult } from './helpers/client.js';
import { asObject, expectKeys, expectLogEntries, type ExpectedEntry, UUID_V4 } from './helpers/expectations.js';
import { doneStatus, getResult, submit, streamToEnd } from './helpers/executions.js';
import { expectExactStream, spawnServer, type ServerProcess } from './helpers/adversary.js';
import { useServer } from './helpers/server.js';

function execute(client: Client, program: string): Promise<HttpResult> {
  return client.json('POST', '/api/execute', { program });
}

/** POST /api/execute answered 200 with exactly this result, type and log. */
async function expectCompleted(client: Client, program: string, value: unknown, type: string, logs: readonly ExpectedEntry[] = []): Promise<void> {
  const res = await execute(client, program);
  expect(res.status, `${program}: ${res.text}`).to.equal(200);
  const body = asObject(res.body);
  expectKeys(body, ['result', 'type', 'logs', 'execution_id']);
  expect({ result: body.result, type: body.type }, program).to.eql({ result: value, type });
  expect(body.execution_id).to.match(UUID_V4);
  expectLogEntries(body.logs, logs);
}

/** POST /api/execute answered 500 with status error, exactly this message and log. */
async function expectFailed(client: Client, program: string, error: string, logs: readonly ExpectedEntry[] = []): Promise<void> {
  const res = await execute(client, program);
  expect(res.status, `${program}: ${res.text}`).to.equal(500);
  const body = asObject(res.body);
  expectKeys(body, ['error', 'status', 'logs', 'execution_id']);
  expect({ error: body.error, status: body.status }, program).to.eql({ error, status: 'error' });
  expectLogEntries(body.logs, logs);
}

const uncaught = (message: string): ExpectedEntry => ({ level: 'ERROR', message: `Uncaught (in promise) ${message}` });
const info = (message: string): ExpectedEntry => ({ level: 'INFO', message });

describe('how a program runs', () => {
  // One worker thread: every execution of a user shares that user's isolate.
  const server = useServer({ CHARIOT_THREADS: '1' });
  let alice: Client;

  before(async () => {
    alice = await server.login('alice');
  });

  describe('as classic global code', () => {
    it('makes a top-level function declaration a global property that cannot be deleted', async () => {
      await expectCompleted(alice, 'function f() {}\n[delete globalThis.f, typeof f, Object.getOwnPropertyDescriptor(globalThis, "f").configurable]', [false, 'function', false], 'array');
    });

    it("makes a strict program's top-level var a global property", async () => {
      await expectCompleted(alice, '"use strict"; var v = 1; [globalThis.hasOwnProperty("v"), this === globalThis]', [true, true], 'array');
    });

    it('keeps top-level let and const in the global lexical scope, not on the global object', async () => {
      await expectCompleted(alice, 'let l = 1; const c = 2; [typeof l, typeof c, "l" in globalThis, "c" in globalThis]', ['number', 'number', false, false], 'array');
    });

    it('refuses `let undefined;` at the top level, as global code must', async () => {
      await expectFailed(alice, 'let undefined;', "SyntaxError: Identifier 'undefined' has already been declared");
    });

    it('gives a thrown value back as itself: an object thrown is shown as JSON, an Error by name and message', async () => {
      await expectFailed(alice, 'throw { code: 7 }', 'Uncaught {"code":7}');
      await expectFailed(alice, 'class Oops extends Error { constructor() { super("it broke"); this.name = "Oops"; } }\nthrow new Oops()', 'Oops: it broke');
    });

    it('says where a syntax error is, by line and column', async () => {
      await expectFailed(alice, 'let x = ;', "SyntaxError: Unexpected token ';' (line 1, column 9)");
      await expectFailed(alice, 'logPrint(1);\nlogPrint(2 +;', "SyntaxError: Unexpected token ';' (line 2, column 13)");
    });

    it('converts the specifier of import() before refusing it, and rejects with what the conversion threw', async () => {
      await expectCompleted(
        alice,
        'import({ toString() { logPrint("converted"); return "x"; } }).then(() => "loaded", (e) => [e.constructor === TypeError, e.message])',
        [true, 'Cannot import "x": programs here run without modules'],
        'array',
        [info('converted')],
      );
      await expectCompleted(alice, 'const boom = new Error("boom"); import({ toString() { throw boom; } }).catch((e) => e === boom)', true, 'boolean');
      await expectCompleted(alice, 'import(Symbol("s")).catch((e) => e.constructor === TypeError)', true, 'boolean');
    });

    it('checks the options of import() in order: not an object, then `with` not an object, then a value not a string', async () => {
      await expectCompleted(
        alice,
        'Promise.all([import("x", 1), import("x", { with: 1 }), import("x", { with: { type: 1 } }), import("x", { with: { other: "y" } })].map((p) => p.catch((e) => e.constructor.name)))',
        ['TypeError', 'TypeError', 'TypeError', 'SyntaxError'],
        'array',
      );
    });

    it('adds the import() stand-in as a global only to programs that call import()', async () => {
      await expectCompleted(alice, 'Object.getOwnPropertyNames(globalThis).filter((name) => name.startsWith("__"))', [], 'array');
      await expectCompleted(alice, 'import("x").catch(() => {}); Object.getOwnPropertyNames(globalThis).filter((name) => name.startsWith("__"))', ['__chariotImport'], 'array');
    });
  });

  describe('with a promise rejected and never handled', () => {
    it('logs it as an ERROR entry and lets the result decide: completed with 5', async () => {
      await expectCompleted(alice, 'Promise.reject(new Error("x")); 5', 5, 'number', [uncaught('Error: x')]);
    });

    it('reports nothing when a handler comes later in the same turn', async () => {
      await expectCompleted(alice, 'const p = Promise.reject(new Error("x")); Promise.resolve().then(() => p.catch(() => logPrint("handled"))); 5', 5, 'number', [info('handled')]);
    });

    it('logs it after what the program logged in the same turn, and in its place among later entries', async () => {
      const program = 'logPrint("a"); await sleep(5); Promise.reject(new TypeError("t")); logPrint("b"); await sleep(5); logPrint("c"); 6';
      const expected = [info('a'), info('b'), uncaught('TypeError: t'), info('c')];
      await expectCompleted(alice, program, 6, 'number', expected);
      const id = await submit(alice, program);
      expectExactStream(await streamToEnd(alice, id), expected, 'completed');
    });

    it('keeps the error of a program that fails on its own', async () => {
      await expectFailed(alice, 'Promise.reject(new Error("first")); throw new Error("second")', 'Error: second', [uncaught('Error: first')]);
    });

    it('describes the reason: an Error by name and message, a primitive as itself, another object in short', async () => {
      await expectCompleted(alice, 'class MyError extends Error { constructor(m) { super(m); this.name = "MyError"; } }\nPromise.reject(new MyError("m")); 1', 1, 'number', [uncaught('MyError: m')]);
      await expectCompleted(alice, 'Promise.reject(new RangeError("")); 1', 1, 'number', [uncaught('RangeError')]);
      await expectCompleted(alice, 'Promise.reject("text"); 1', 1, 'number', [uncaught('text')]);
      await expectCompleted(alice, 'Promise.reject(42n); 1', 1, 'number', [uncaught('42n')]);
      await expectCompleted(alice, 'Promise.reject(undefined); 1', 1, 'number', [uncaught('undefined')]);
      await expectCompleted(alice, 'Promise.reject({ a: 1 }); 1', 1, 'number', [uncaught('#<Object> (an object that is not an Error)')]);
    });

    it("treats a rejection worded like a timeout as a rejection: the same user's sleeper runs on", async () => {
      const sleeper = await submit(alice, 'await sleep(300); "slept"');
      await expectCompleted(alice, 'Promise.reject(new Error("Script execution timed out.")); "still here"', 'still here', 'string', [uncaught('Error: Script execution timed out.')]);
      expect(doneStatus(await streamToEnd(alice, sleeper))).to.equal('completed');
      expect(asObject((await getResult(alice, sleeper)).body).result).to.eql({ value: 'slept', type: 'string' });
    });
  });
});

describe('how a program runs, in a server process of its own', () => {
  let child: ServerProcess | undefined;

  afterEach(async () => {
    await child?.kill();
    child = undefined;
  });

  it('refuses the one line that aborted the process on Node 20 (Atomics.waitAsync on a SharedArrayBuffer): neither is offered', async () => {
    child = await spawnServer({ CHARIOT_THREADS: '1' });
    const [alice, bob] = await Promise.all([child.login('alice'), child.login('bob')]);
    await expectFailed(alice, 'const i = new Int32Array(new SharedArrayBuffer(16)); Atomics.waitAsync(i, 0, 0, 50).value', 'ReferenceError: SharedArrayBuffer is not defined');
    // Nor on an ordinary buffer, where V8 would refuse it anyway.
    await expectFailed(alice, 'Atomics.waitAsync(new Int32Array(4), 0, 0, 50)', 'TypeError: Atomics.waitAsync is not a function');
    await expectFailed(alice, 'Atomics.wait(new Int32Array(4), 0, 0, 50)', 'TypeError: Atomics.wait is not a function');
    await expectCompleted(bob, '1+2', 3, 'number');
    expect(child.exited()).to.equal(undefined);
  });
});
