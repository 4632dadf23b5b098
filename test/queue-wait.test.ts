// A bounded wait (docs/API.md "A bounded wait"): with every slot busy, a submission whose
// predicted wait is over CHARIOT_MAX_QUEUE_WAIT_MS is refused at once (503 QUEUE_WAIT, with an
// honest Retry-After) and leaves nothing behind, while another user's still gets in; one that
// waited that long without starting ends as an error naming the limit, with `done` on its
// stream. One slot (one thread, one task), against the real server; in Redis mode
// (CHARIOT_TEST_REDIS=1) the same through the shared queue.
import { expect } from 'chai';
import { asArray, asObject, expectError } from './helpers/expectations.js';
import { getResult, PAGE_KEYS, streamToEnd, submit } from './helpers/executions.js';
import { useServer } from './helpers/server.js';
import { expectEvents } from './helpers/streams.js';

const LIMIT_MS = 2500;
const REFUSAL = /^The predicted wait for a slot \((\d+) ms\) is over CHARIOT_MAX_QUEUE_WAIT_MS \(2500 ms\); try again later$/;
const ONE_SLOT = { CHARIOT_THREADS: '1', CHARIOT_TASKS_PER_THREAD: '1', CHARIOT_MAX_QUEUE_WAIT_MS: String(LIMIT_MS) };

describe('a bounded wait for a slot (CHARIOT_MAX_QUEUE_WAIT_MS): one that waited the limit', function () {
  this.timeout(30_000);
  const server = useServer(ONE_SLOT);

  it('ends an execution that waited the limit without starting: error naming the limit, done on its stream', async () => {
    const alice = await server.login('alice');
    const holder = await submit(alice, 'logPrint("holding"); await sleep(20000)');
    const holderStream = await alice.sse(`/api/logs/${holder}`);
    await holderStream.nthEvent(1);
    const waiting = await submit(alice, 'logPrint("never")');
    const events = await streamToEnd(alice, waiting);
    expectEvents(events, [{ done: 'error' }], 'the stream of the one that waited');
    const res = await getResult(alice, waiting);
    expect(res.status).to.equal(500);
    const body = asObject(res.body);
    expect(Object.keys(body)).to.eql(['execution_id', 'status', 'error', 'logs', ...PAGE_KEYS, 'started_at', 'completed_at', 'duration_ms']);
    expect({ status: body.status, error: body.error, logs: body.logs, started_at: body.started_at }).to.eql({
      status: 'error', error: `Waited ${LIMIT_MS} ms for a slot without starting (CHARIOT_MAX_QUEUE_WAIT_MS)`, logs: [], started_at: null,
    });
    // It never ran: the holder still holds the only slot, and its own stream goes on.
    expect(asObject((await getResult(alice, holder)).body).status).to.equal('running');
    expect((await alice.json('POST', `/api/execution/${holder}/cancel`)).status).to.equal(202);
    expectEvents(await holderStream.untilDone(), [{ seq: 1, message: 'holding' }, { done: 'cancelled' }], 'the holder');
  });

});

describe('a bounded wait for a slot (CHARIOT_MAX_QUEUE_WAIT_MS): the prediction', function () {
  this.timeout(30_000);
  // A server of its own: the pace is of the runs this test makes.
  const server = useServer(ONE_SLOT);

  it('refuses at once a submission predicted to wait longer, with Retry-After, keeping nothing; another user still gets in', async () => {
    const bob = await server.login('bob');
    const carol = await server.login('carol');
    // The pace: runs that hold the slot about 1000 ms each.
    for (let i = 0; i < 3; i++) {
      const res = await bob.json('POST', '/api/execute', { program: 'await sleep(1000); 1' });
      expect(res.status, res.text).to.equal(200);
    }
    const holder = await submit(bob, 'await sleep(20000)');
    for (let i = 0; i < 100 && asObject((await getResult(bob, holder)).body).status !== 'running'; i++) await new Promise((resolve) => setTimeout(resolve, 10));
    // First and second in line: about 1000 and 2000 ms.
    const first = await submit(bob, 'await sleep(100); "first"');
    const second = await submit(bob, 'await sleep(100); "second"');
    // Third: about 3000 ms, over the limit.
    const refused = await bob.json('POST', '/api/execute-async', { program: '"third"' });
    expectError(refused, 503, REFUSAL, 'QUEUE_WAIT');
    const predicted = Number(REFUSAL.exec(String(asObject(refused.body).error))![1]);
    expect(predicted, 'the predicted wait').to.be.within(LIMIT_MS + 1, 3 * LIMIT_MS);
    expect(refused.headers.get('retry-after'), 'Retry-After').to.equal(String(Math.max(1, Math.ceil((predicted - LIMIT_MS) / 1000))));
    // Carol's would come after one turn of bob's: second in line, within the limit.
    const carols = await submit(carol, '"carol"');
    const listed = asArray((await bob.json('GET', '/api/executions')).body).map((item) => asObject(item).execution_id);
    expect(listed.slice(0, 3), "bob's newest executions: nothing of the refused one").to.eql([second, first, holder]);
    expect((await bob.json('POST', `/api/execution/${holder}/cancel`)).status).to.equal(202);
    // Carol's turn comes before bob's second.
    const results = [];
    for (const [client, id] of [[bob, first], [carol, carols], [bob, second]] as const) {
      await streamToEnd(client, id);
      results.push(asObject((await getResult(client, id)).body));
    }
    expect(results.map((result) => [result.status, asObject(result.result).value])).to.eql([['completed', 'first'], ['completed', 'carol'], ['completed', 'second']]);
    expect(Date.parse(String(results[1]!.started_at)), "carol's start, before bob's second").to.be.at.most(Date.parse(String(results[2]!.started_at)));
  });
});
