// POST /api/execution/:execId/cancel: a queued execution never runs, a running one is stopped
// even inside an endless loop, its subscribers get done "cancelled", and everything after it
// runs normally.
import { expect } from 'chai';
import type { Client } from './helpers/client.js';
import { asArray, asObject, expectError, expectJson, expectKeys, expectLogEntries } from './helpers/expectations.js';
import { doneStatus, expectWholeLog, getResult, PAGE_KEYS, runToEnd, streamToEnd, submit } from './helpers/executions.js';
import { useServer } from './helpers/server.js';

async function cancel(client: Client, id: string) {
  return client.json('POST', `/api/execution/${id}/cancel`);
}

async function expectCancelled(client: Client, id: string): Promise<void> {
  const res = await cancel(client, id);
  expect(res.status, res.text).to.equal(202);
  expectJson(res);
  expect(res.body).to.eql({ execution_id: id, status: 'cancelled' });
  const result = await getResult(client, id);
  expect(result.status).to.equal(500);
  const body = asObject(result.body);
  expectKeys(body, ['execution_id', 'status', 'error', 'logs', ...PAGE_KEYS, 'started_at', 'completed_at', 'duration_ms']);
  expect(body).to.deep.include({ execution_id: id, status: 'cancelled', error: 'Execution cancelled' });
  expectWholeLog(body, asArray(body.logs).length);
}

describe('cancelling a running execution', () => {
  // A CPU limit far above the test's length: only the cancel can stop these loops.
  const server = useServer({ CHARIOT_CPU_MS: '120000', CHARIOT_WALL_MS: '120000' });
  let alice: Client;
  let bob: Client;

  before(async () => {
    [alice, bob] = await Promise.all([server.login('alice'), server.login('bob')]);
  });

  it('stops while(true){} inside the isolate, ends its stream with done "cancelled", and the same user runs again', async () => {
    const id = await submit(alice, 'logPrint("spinning"); while (true) {}');
    const stream = await alice.sse(`/api/logs/${id}`);
    await stream.nthEvent(1); // the loop has started
    await expectCancelled(alice, id);
    const events = await stream.untilDone();
    expect(events.map((event) => event.event)).to.eql(['message', 'done']);
    expect(doneStatus(events)).to.equal('cancelled');
    const again = await alice.json('POST', '/api/execute', { program: '1+2' });
    expect(again.status, again.text).to.equal(200);
    expect(asObject(again.body).result).to.equal(3);
  });

  it("stops a sleeping script without touching another user's running one", async () => {
    const sleeper = await submit(alice, 'logPrint("zz"); await sleep(60000)');
    const other = await submit(bob, 'logPrint("b1"); await sleep(300); logPrint("b2"); "bob done"');
    const stream = await alice.sse(`/api/logs/${sleeper}`);
    await stream.nthEvent(1);
    await expectCancelled(alice, sleeper);
    expect(doneStatus(await streamToEnd(bob, other))).to.equal('completed');
    const result = await getResult(bob, other);
    expect(result.status, result.text).to.equal(200);
    const body = asObject(result.body);
    expect(body.result).to.eql({ value: 'bob done', type: 'string' });
    expectLogEntries(body.logs, [{ level: 'INFO', message: 'b1' }, { level: 'INFO', message: 'b2' }]);
  });

  it('survives twenty cancelled endless loops in a row, from two users, and then serves normally', async () => {
    for (let round = 0; round < 10; round++) {
      const ids = await Promise.all([submit(alice, 'while (true) {}'), submit(bob, 'for (;;) { Math.random() }')]);
      // A cancel may reach a loop before or after it entered the isolate: both must stop it.
      await Promise.all([expectCancelled(alice, ids[0]!), expectCancelled(bob, ids[1]!)]);
    }
    const res = await bob.json('POST', '/api/execute', { program: 'logPrint("after"); 6*7' });
    expect(res.status, res.text).to.equal(200);
    expect(asObject(res.body)).to.deep.include({ result: 42, type: 'number' });
  });

  it('answers 409 for a finished execution and 404 for an unknown one', async () => {
    const { id } = await runToEnd(alice, '1');
    expectError(await cancel(alice, id), 409, 'Execution already finished with status completed', 'ALREADY_FINISHED');
    expectError(await cancel(alice, '00000000-0000-4000-8000-000000000000'), 404, 'Execution not found', 'EXECUTION_NOT_FOUND');
  });
});

describe('cancelling a queued execution', () => {
  // One slot in the whole pool: the second execution waits behind the first.
  const server = useServer({ CHARIOT_THREADS: '1', CHARIOT_TASKS_PER_THREAD: '1' });

  it('takes it out of the queue: it never runs, never logs, never starts', async () => {
    const alice = await server.login('alice');
    const blocker = await submit(alice, 'await sleep(300); "blocker"');
    const queued = await submit(alice, 'logPrint("must not run"); 1');
    const stream = await alice.sse(`/api/logs/${queued}`);
    expect(asObject((await getResult(alice, queued)).body).status).to.equal('queued');
    await expectCancelled(alice, queued);
    const events = await stream.untilDone();
    expect(events.map((event) => event.raw)).to.eql(['event: done\ndata: {"status":"cancelled"}\n\n']);
    // The blocker finishes and frees the slot; the cancelled one must still not have run.
    expect(doneStatus(await streamToEnd(alice, blocker))).to.equal('completed');
    const next = await runToEnd(alice, '"next"');
    expect(asObject(next.result.body).result).to.eql({ value: 'next', type: 'string' });
    const body = asObject((await getResult(alice, queued)).body);
    expect(body).to.deep.include({ status: 'cancelled', logs: [], started_at: null });
  });
});
