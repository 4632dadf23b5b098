// GET /api/result/:execId: 202 while queued or running, 200 completed, 500 failed, 404 unknown.
import { expect } from 'chai';
import type { Client, HttpResult } from './helpers/client.js';
import {
  asObject,
  expectError,
  expectIsoTimestamp,
  expectJson,
  expectKeys,
  expectLogEntries,
  type JsonObject,
} from './helpers/expectations.js';
import { expectWholeLog, getResult, PAGE_KEYS, runToEnd, streamToEnd, submit } from './helpers/executions.js';
import { useServer } from './helpers/server.js';

/** Keys the result endpoint may add (API.md **ext**). */
const TIMING_KEYS = ['started_at', 'completed_at', 'duration_ms'];

/** The body of a result answer, with its fixed keys, the page keys and the ext timing keys checked. */
function resultBody(res: HttpResult, status: number, required: readonly string[]): JsonObject {
  expect(res.status, res.text).to.equal(status);
  expectJson(res);
  const body = asObject(res.body);
  expectKeys(body, [...required, ...PAGE_KEYS, ...TIMING_KEYS]);
  return body;
}

/** While an execution is unfinished, completed_at and duration_ms are null (docs/API.md). */
function expectUnfinishedTiming(body: JsonObject, running: boolean): void {
  if (running) expectIsoTimestamp(body.started_at, 'started_at');
  else if (body.started_at !== null) expectIsoTimestamp(body.started_at, 'started_at');
  expect(body.completed_at, 'completed_at').to.equal(null);
  expect(body.duration_ms, 'duration_ms').to.equal(null);
}

/** Once finished, the timing keys are ISO times in order and a matching duration. */
function expectFinishedTiming(body: JsonObject, atLeastMs = 0): void {
  expectIsoTimestamp(body.started_at, 'started_at');
  expectIsoTimestamp(body.completed_at, 'completed_at');
  const span = Date.parse(String(body.completed_at)) - Date.parse(String(body.started_at));
  expect(span, 'completed_at - started_at').to.be.at.least(0);
  expect(body.duration_ms, 'duration_ms').to.be.a('number');
  expect(body.duration_ms as number).to.be.at.least(atLeastMs);
  // Millisecond timestamps: the duration agrees with them to rounding.
  expect(body.duration_ms as number).to.be.within(span - 2, span + 2);
}

describe('GET /api/result/:execId', () => {
  const server = useServer();
  let alice: Client;

  before(async () => {
    alice = await server.login('alice');
  });

  it('answers 202 {"execution_id","status":"queued"|"running","logs"} right after submission', async () => {
    const id = await submit(alice, 'await sleep(1000); 1');
    // The script sleeps for 1 s: this request is answered long before it ends.
    const body = resultBody(await getResult(alice, id), 202, ['execution_id', 'status', 'logs']);
    expect(body.execution_id).to.equal(id);
    expect(body.status).to.be.oneOf(['queued', 'running']);
    expectLogEntries(body.logs, []);
    expectWholeLog(body, 0);
    expectUnfinishedTiming(body, body.status === 'running');
    await streamToEnd(alice, id);
  });

  it('answers 202 with status "running" and the entries logged so far while the script runs', async () => {
    const id = await submit(alice, 'logPrint("started"); await sleep(1000); logPrint("ended"); 3');
    const stream = await alice.sse(`/api/logs/${id}`);
    await stream.nthEvent(1); // the script has logged, and now sleeps for 1 s
    const body = resultBody(await getResult(alice, id), 202, ['execution_id', 'status', 'logs']);
    expect({ execution_id: body.execution_id, status: body.status }).to.eql({ execution_id: id, status: 'running' });
    expectLogEntries(body.logs, [{ level: 'INFO', message: 'started' }]);
    expectWholeLog(body, 1);
    expectUnfinishedTiming(body, true);
    await stream.untilDone();
  });

  it('answers 200 {"execution_id","status":"completed","result":{"value":3,"type":"number"},"logs"} once done', async () => {
    const { id, result } = await runToEnd(alice, 'logPrint("Test"); await sleep(200); 1+2');
    const body = resultBody(result, 200, ['execution_id', 'status', 'result', 'logs']);
    expect({ execution_id: body.execution_id, status: body.status, result: body.result }).to.eql({
      execution_id: id,
      status: 'completed',
      result: { value: 3, type: 'number' },
    });
    expectLogEntries(body.logs, [{ level: 'INFO', message: 'Test' }]);
    expectWholeLog(body, 1);
    expectFinishedTiming(body, 200);
  });

  it('answers 500 {"execution_id","status":"error","error":"ReferenceError: foo is not defined","logs"} for a failed script', async () => {
    const { id, result } = await runToEnd(alice, 'logPrint("x"); foo');
    const body = resultBody(result, 500, ['execution_id', 'status', 'error', 'logs']);
    expect({ execution_id: body.execution_id, status: body.status, error: body.error }).to.eql({
      execution_id: id,
      status: 'error',
      error: 'ReferenceError: foo is not defined',
    });
    expectLogEntries(body.logs, [{ level: 'INFO', message: 'x' }]);
    expectWholeLog(body, 1);
    expectFinishedTiming(body);
  });

  it('answers the same finished result every time it is asked', async () => {
    const { id, result } = await runToEnd(alice, '[1, 2]');
    const again = await getResult(alice, id);
    expect(again.status).to.equal(result.status);
    expect(again.body).to.eql(result.body);
  });

  describe('answers 404 {"error":"Execution not found"} (never 400 or 500) for', () => {
    const ids: ReadonlyArray<[string, string]> = [
      ['an unknown uuid v4', '3b241101-e2bb-4255-8caf-4136c566a962'],
      ['the nil uuid', '00000000-0000-0000-0000-000000000000'],
      ['a malformed id', 'not-a-uuid'],
      ['a path traversal', encodeURIComponent('../../etc')],
      ['an encoded NUL', '%00'],
      ['a malformed percent escape', '%E0%A4%A'],
      ['a very long id', 'a'.repeat(4000)],
    ];
    for (const [what, id] of ids) {
      it(`${what}: ${id.length > 40 ? id.slice(0, 20) + '…' : id}`, async () => {
        expectError(await getResult(alice, id), 404, 'Execution not found');
      });
    }
  });
});

describe('GET /api/result/:execId after the retention time', () => {
  const RETENTION_MS = 1000;
  const server = useServer({ CHARIOT_RETENTION_MS: String(RETENTION_MS) });

  it('keeps a finished execution readable for the retention time, then answers 404', async () => {
    const alice = await server.login('alice');
    const { id, result } = await runToEnd(alice, '"kept"');
    const doneAt = Date.now();
    expect(result.status, 'right after the end').to.equal(200);
    // Forgetting is driven by the server's clock, with nothing to wait on from outside: poll.
    let res: HttpResult = result;
    while (res.status === 200 && Date.now() - doneAt < RETENTION_MS * 10) {
      await new Promise((resolve) => setTimeout(resolve, 50));
      res = await getResult(alice, id);
    }
    const forgottenAfter = Date.now() - doneAt;
    expectError(res, 404, 'Execution not found');
    expect(forgottenAfter, 'ms until forgotten').to.be.at.least(RETENTION_MS - 100);
    const stream = await alice.sse(`/api/logs/${id}`);
    expect(stream.status, 'its log stream is gone too').to.equal(404);
    await stream.text();
  });

  it('never forgets an execution that is still running', async () => {
    const bob = await server.login('bob');
    const id = await submit(bob, 'logPrint("a"); await sleep(2500); logPrint("b"); 1');
    await streamToEnd(bob, id);
    const body = resultBody(await getResult(bob, id), 200, ['execution_id', 'status', 'result', 'logs']);
    expect(body.result).to.eql({ value: 1, type: 'number' });
    expectLogEntries(body.logs, [
      { level: 'INFO', message: 'a' },
      { level: 'INFO', message: 'b' },
    ]);
    expectWholeLog(body, 2);
  });
});
