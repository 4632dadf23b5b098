// Admission control: at most CHARIOT_MAX_PER_USER unfinished executions per user (429), at most
// CHARIOT_MAX_QUEUE waiting for a slot (503 with Retry-After), nothing registered for a refused
// request, and free slots handed to users in turn so one user's flood does not hold back another.
import { expect } from 'chai';
import type { Client } from './helpers/client.js';
import { asArray, asObject, expectError, healthBody } from './helpers/expectations.js';
import { doneStatus, getResult, streamToEnd, submit } from './helpers/executions.js';
import { useServer } from './helpers/server.js';

function submitRaw(client: Client, program: string) {
  return client.json('POST', '/api/execute-async', { program });
}

async function executionIds(client: Client): Promise<string[]> {
  return asArray((await client.json('GET', '/api/executions')).body).map((item) => String(asObject(item).execution_id));
}

describe('admission: unfinished executions per user', () => {
  const server = useServer({ CHARIOT_MAX_PER_USER: '2' });

  it('answers 429 past the limit, registers nothing, keeps other users free, and admits again once one ends', async () => {
    const [alice, bob] = await Promise.all([server.login('alice'), server.login('bob')]);
    const first = await submit(alice, 'await sleep(60000)');
    const second = await submit(alice, 'await sleep(60000)');
    for (const endpoint of ['/api/execute-async', '/api/execute']) {
      expectError(await alice.json('POST', endpoint, { program: '1' }), 429, 'Too many unfinished executions: at most 2 per user', 'TOO_MANY_EXECUTIONS');
    }
    expect(await executionIds(alice)).to.eql([second, first]);
    const bobs = await bob.json('POST', '/api/execute', { program: '"bob is free"' });
    expect(bobs.status, bobs.text).to.equal(200);
    expect((await alice.json('POST', `/api/execution/${first}/cancel`)).status).to.equal(202);
    const third = await submit(alice, '"admitted"');
    expect(doneStatus(await streamToEnd(alice, third))).to.equal('completed');
    expect((await alice.json('POST', `/api/execution/${second}/cancel`)).status).to.equal(202);
  });
});

describe('admission: the queue', () => {
  // One slot and room for one waiting execution.
  const server = useServer({ CHARIOT_THREADS: '1', CHARIOT_TASKS_PER_THREAD: '1', CHARIOT_MAX_QUEUE: '1' });

  it('answers 503 with Retry-After when the queue is full, registers nothing, and admits again when there is room', async () => {
    const [alice, bob, carol] = await Promise.all([server.login('alice'), server.login('bob'), server.login('carol')]);
    const running = await submit(alice, 'await sleep(60000)');
    const waiting = await submit(bob, '"waited"');
    const refused = await submitRaw(carol, '1');
    expectError(refused, 503, 'The execution queue is full (1 waiting); try again later', 'QUEUE_FULL');
    expect(refused.headers.get('retry-after')).to.equal('1');
    expect(await executionIds(carol)).to.eql([]);
    const health = await server.anonymous().json('GET', '/healthz');
    expect(health.body).to.eql(healthBody({ status: 'ok', pool: { threads: 1, queued: 1, running: 1, quarantined: 0, lost: 0 }, logs: server.manager.logStats, streams: 0, websockets: 0 }));

    expect((await alice.json('POST', `/api/execution/${running}/cancel`)).status).to.equal(202);
    expect(doneStatus(await streamToEnd(bob, waiting))).to.equal('completed');
    const admitted = await carol.json('POST', '/api/execute', { program: '"room again"' });
    expect(admitted.status, admitted.text).to.equal(200);
  });
});

describe('admission: fairness between users', () => {
  // One slot: every execution waits its turn, and the turns go round the users.
  const server = useServer({ CHARIOT_THREADS: '1', CHARIOT_TASKS_PER_THREAD: '1' });

  it("runs another user's execution after at most one more of a flooding user's, not after the whole flood", async () => {
    const [alice, bob] = await Promise.all([server.login('alice'), server.login('bob')]);
    // alice0 holds the slot until it is cancelled, after everything is queued.
    const flood = [await submit(alice, 'await sleep(60000)')];
    for (let i = 1; i < 8; i++) flood.push(await submit(alice, `await sleep(20); ${i}`));
    const bobs = await submit(bob, '"bob"');
    expect((await alice.json('POST', `/api/execution/${flood[0]}/cancel`)).status).to.equal(202);
    for (const id of [...flood, bobs]) await streamToEnd(id === bobs ? bob : alice, id);
    const starts = await Promise.all([...flood.map((id) => getResult(alice, id)), getResult(bob, bobs)]);
    const order = starts
      .map((res, i) => ({ who: i < flood.length ? `alice${i}` : 'bob', started: Date.parse(String(asObject(res.body).started_at)) }))
      .sort((a, b) => a.started - b.started)
      .map((entry) => entry.who);
    // alice0 held the slot when bob came; alice1 was next in alice's turn; then bob's turn.
    expect(order).to.eql(['alice0', 'alice1', 'bob', 'alice2', 'alice3', 'alice4', 'alice5', 'alice6', 'alice7']);
  });
});
