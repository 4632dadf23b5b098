// POST /api/execute (synchronous) and what a script's completion value and logs become,
// read back through both the synchronous answer and GET /api/result.
import { expect } from 'chai';
import type { Client, HttpResult, Json } from './helpers/client.js';
import {
  asArray,
  asObject,
  expectIsoTimestamp,
  expectJson,
  expectKeys,
  expectLogEntries,
  UUID_V4,
  type ExpectedEntry,
} from './helpers/expectations.js';
import { expectWholeLog, PAGE_KEYS, runToEnd } from './helpers/executions.js';
import { useServer } from './helpers/server.js';

/** Keys the result endpoint may add (API.md **ext**). */
const TIMING_KEYS = ['started_at', 'completed_at', 'duration_ms'];

function execute(client: Client, program: string): Promise<HttpResult> {
  return client.json('POST', '/api/execute', { program });
}

/** A 200 from POST /api/execute: `{"result", "type", "logs", "execution_id"}` (docs/API.md). */
function expectExecuted(res: HttpResult, value: Json, type: string, logs: readonly ExpectedEntry[]): void {
  expect(res.status, res.text).to.equal(200);
  expectJson(res);
  const body = asObject(res.body);
  expectKeys(body, ['result', 'type', 'logs', 'execution_id']);
  expect(body.result).to.eql(value);
  expect(body.type, 'type').to.equal(type);
  expectLogEntries(body.logs, logs);
  expect(body.execution_id).to.match(UUID_V4);
}

/** A 500 from POST /api/execute: `{"error": <message>, ...}`. */
function expectFailed(res: HttpResult, message: RegExp): void {
  expect(res.status, res.text).to.equal(500);
  expectJson(res);
  const body = asObject(res.body);
  expect(body.error, 'error').to.be.a('string');
  expect(body.error).to.match(message);
  expect(body.status).to.equal('error');
}

/** A 200 from GET /api/result with `result` (`{value, type}`) and the given logs. */
function expectCompletedResult(res: HttpResult, id: string, result: Json, logs: readonly ExpectedEntry[] = []): void {
  expect(res.status, res.text).to.equal(200);
  expectJson(res);
  const body = asObject(res.body);
  expectKeys(body, ['execution_id', 'status', 'result', 'logs', ...PAGE_KEYS], TIMING_KEYS);
  expect({ execution_id: body.execution_id, status: body.status, result: body.result }).to.eql({
    execution_id: id,
    status: 'completed',
    result,
  });
  expectLogEntries(body.logs, logs);
  expectWholeLog(body, logs.length);
}

/** A 500 from GET /api/result with status "error" and a message matching `message`. */
function expectErrorResult(res: HttpResult, id: string, message: RegExp): void {
  expect(res.status, res.text).to.equal(500);
  expectJson(res);
  const body = asObject(res.body);
  expectKeys(body, ['execution_id', 'status', 'error', 'logs', ...PAGE_KEYS], TIMING_KEYS);
  expect({ execution_id: body.execution_id, status: body.status }).to.eql({ execution_id: id, status: 'error' });
  expect(body.error).to.be.a('string');
  expect(body.error).to.match(message);
  expectWholeLog(body, asArray(body.logs).length);
}

describe('POST /api/execute and script results', () => {
  const server = useServer();
  let alice: Client;

  before(async () => {
    alice = await server.login('alice');
  });

  it('runs logPrint("Test"); 1+2 and answers 200 with result 3 (type number, one INFO entry)', async () => {
    expectExecuted(await execute(alice, 'logPrint("Test"); 1+2'), 3, 'number', [{ level: 'INFO', message: 'Test' }]);
  });

  it('stamps log entries with the ISO-8601 UTC time at which the script logged them', async () => {
    const before = Date.now();
    const { result } = await runToEnd(alice, 'logPrint("t"); 0');
    const after = Date.now();
    const entry = asObject(asArray(asObject(result.body).logs)[0]);
    expectIsoTimestamp(entry.timestamp);
    // Millisecond timestamps: the entry's time lies within the request's, give or take rounding.
    expect(Date.parse(String(entry.timestamp))).to.be.within(before - 1, after + 1);
  });

  it('answers 500 with the message of an uncaught error', async () => {
    expectFailed(await execute(alice, 'throw new Error("boom")'), /Error: boom/);
  });

  it('answers 500 with the message of a rejected promise', async () => {
    expectFailed(await execute(alice, 'Promise.reject(new TypeError("nope"))'), /TypeError: nope/);
  });

  it('answers 500 naming a syntax error', async () => {
    expectFailed(await execute(alice, 'let x = ;'), /SyntaxError/);
  });

  it('supports top-level await: await sleep(10); 5 gives 5', async () => {
    expectExecuted(await execute(alice, 'await sleep(10); 5'), 5, 'number', []);
  });

  it('awaits a promise completion value: Promise.resolve(7) gives 7', async () => {
    expectExecuted(await execute(alice, 'Promise.resolve(7)'), 7, 'number', []);
  });

  it('awaits an async function called as the last expression', async () => {
    expectExecuted(await execute(alice, '(async () => { await sleep(5); return "late"; })()'), 'late', 'string', []);
  });

  describe('result types, as GET /api/result {value, type} and in the synchronous answer', () => {
    const cases: ReadonlyArray<[string, string, Json, string]> = [
      ['a string', '"hi" + "!"', 'hi!', 'string'],
      ['a number', '1.5 * 3', 4.5, 'number'],
      ['a boolean', '1 < 2', true, 'boolean'],
      ['null', 'null', null, 'null'],
      ['undefined', 'let unused = 1; undefined', null, 'undefined'],
      // JSON has no bigint: the value is its decimal string (API.md is silent; a JSON number
      // would lose precision past 2^53).
      ['a bigint', '10n', '10', 'bigint'],
      ['a bigint beyond 2^53', '2n ** 64n', '18446744073709551616', 'bigint'],
      ['an array', '[1, "a", null, [true]]', [1, 'a', null, [true]], 'array'],
      ['an object', '({ a: 1, b: { c: [2, "x"] } })', { a: 1, b: { c: [2, 'x'] } }, 'object'],
    ];
    for (const [what, program, value, type] of cases) {
      it(`${what}: ${program} gives type "${type}"`, async () => {
        const { id, result } = await runToEnd(alice, program);
        let expected: Json;
        if (type === 'undefined') {
          // JSON has no undefined: the value is null (docs/API.md).
          expected = { value: null, type };
        } else {
          expected = { value, type };
        }
        expectCompletedResult(result, id, expected);
        const sync = await execute(alice, program);
        if (type === 'undefined') {
          expect(sync.status, sync.text).to.equal(200);
          const body = asObject(sync.body);
          expectKeys(body, ['result', 'type', 'logs', 'execution_id']);
          expect(body.result).to.equal(null);
          expect(body.type).to.equal('undefined');
          expect(body.logs).to.eql([]);
        } else {
          expectExecuted(sync, value, type, []);
        }
      });
    }
  });

  describe('a result that cannot be represented is an error naming why', () => {
    const cases: ReadonlyArray<[string, string, RegExp]> = [
      ['a function', '(function named() {})', /function/i],
      ['an arrow function', '() => 1', /function/i],
      ['a symbol', 'Symbol("s")', /symbol/i],
      ['a cyclic object', 'const o = { name: "o" }; o.self = o; o', /circular|cyclic/i],
      ['a cyclic array', 'const a = [1]; a.push(a); a', /circular|cyclic/i],
    ];
    for (const [what, program, why] of cases) {
      it(`${what}: ${program}`, async () => {
        const { id, events, result } = await runToEnd(alice, program);
        expect(events.map((e) => [e.event, e.data])).to.eql([['done', '{"status":"error"}']]);
        expectErrorResult(result, id, why);
        expectFailed(await execute(alice, program), why);
      });
    }
  });

  describe('logging', () => {
    it('console.log/info/warn/error/debug log at INFO, INFO, WARN, ERROR, DEBUG', async () => {
      const { id, result } = await runToEnd(
        alice,
        'console.log("l"); console.info("i"); console.warn("w"); console.error("e"); console.debug("d"); 0',
      );
      expectCompletedResult(result, id, { value: 0, type: 'number' }, [
        { level: 'INFO', message: 'l' },
        { level: 'INFO', message: 'i' },
        { level: 'WARN', message: 'w' },
        { level: 'ERROR', message: 'e' },
        { level: 'DEBUG', message: 'd' },
      ]);
    });

    it('logPrint joins its arguments with a space and writes objects as JSON', async () => {
      const { id, result } = await runToEnd(alice, 'logPrint("a", 1, {b:2}); logPrint("n", null, true, [1, "x"]); 0');
      expectCompletedResult(result, id, { value: 0, type: 'number' }, [
        { level: 'INFO', message: 'a 1 {"b":2}' },
        { level: 'INFO', message: 'n null true [1,"x"]' },
      ]);
    });

    it('keeps the entries logged before an uncaught error', async () => {
      const { id, result } = await runToEnd(alice, 'logPrint("before"); throw new Error("after")');
      expectErrorResult(result, id, /Error: after/);
      expectLogEntries(asObject(result.body).logs, [{ level: 'INFO', message: 'before' }]);
    });
  });
});
