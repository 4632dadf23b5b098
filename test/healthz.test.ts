// GET /healthz: liveness, pool occupancy, what the logs keep and the open log streams, without a session.
import { expect } from 'chai';
import { loadConfig } from '../src/config.js';
import type { HttpResult } from './helpers/client.js';
import { asObject, expectJson, expectKeys, healthBody } from './helpers/expectations.js';
import { submit } from './helpers/executions.js';
import { expectStreams, healthWithRunning, healthWithStreams, useServer } from './helpers/server.js';

describe('GET /healthz', () => {
  const server = useServer({ CHARIOT_THREADS: '2' });

  const { logBudget, logBudgetPerUser } = loadConfig({});

  /** `kept` and `live`: bytes of log kept, as entryBytes() counts them (2 a character + 420). */
  function expectHealth(res: HttpResult, queued: number, running: number, kept = 0, live = 0, streams = 0): void {
    expect(res.status, res.text).to.equal(200);
    expectJson(res);
    expect(res.body).to.eql(healthBody({
      status: 'ok',
      pool: { threads: 2, queued, running, quarantined: 0, lost: 0 },
      logs: { kept_bytes: kept, live_bytes: live, budget_bytes: logBudget, user_budget_bytes: logBudgetPerUser, largest_user_bytes: kept, evicted_entries: 0 },
      streams,
      websockets: 0,
    }));
  }

  it('answers 200 {"status":"ok","pool":{"threads":2,"queued":0,"running":0,"quarantined":0,"lost":0},"logs":{...},"streams":0,"websockets":0} without a session on an idle server', async () => {
    expectHealth(await server.anonymous().json('GET', '/healthz'), 0, 0);
  });

  it('counts a running (sleeping) execution, its log and its open stream, then the log as finished', async () => {
    const alice = await server.login('alice');
    const id = await submit(alice, 'logPrint("in"); await sleep(1000); 1');
    const stream = await alice.sse(`/api/logs/${id}`);
    await stream.nthEvent(1); // running, and sleeping for 1 s
    expectHealth(await server.anonymous().json('GET', '/healthz'), 0, 1, 424, 424, 1);
    await stream.untilDone();
    // The slot is given back when the worker's task returns, a moment after the done.
    expectHealth(await healthWithRunning(server, 0), 0, 0, 424, 0);
  });

  it('counts every open log stream of every user, from its start until it ends by done or by the client going away', async () => {
    const [alice, bob] = await Promise.all([server.login('alice'), server.login('bob')]);
    const sleeper = await submit(alice, 'logPrint("in"); await sleep(60000)');
    const finished = await submit(bob, '"over"');
    await (await server.manager.get(finished, 'bob')).whenFinished();
    const first = await alice.sse(`/api/logs/${sleeper}`);
    await first.nthEvent(1);
    expectStreams(await server.anonymous().json('GET', '/healthz'), 1, 'one stream');
    const second = await alice.sse(`/api/logs/${sleeper}?level=warn`);
    const bobs = await bob.sse(`/api/logs/${sleeper}`);
    expect(bobs.status, "bob's stream of alice's execution").to.equal(404);
    await bobs.text();
    expectStreams(await server.anonymous().json('GET', '/healthz'), 2, 'two streams, not the 404');
    // A replay ends with done at once: counted while it was open, not after.
    await bob.sse(`/api/logs/${finished}`).then((replay) => replay.untilDone());
    expectStreams(await server.anonymous().json('GET', '/healthz'), 2, 'after a replay');
    first.close();
    expectStreams(await healthWithStreams(server, 1), 1, 'after a client went away');
    expect((await alice.json('POST', `/api/execution/${sleeper}/cancel`)).status).to.equal(202);
    await second.untilDone();
    expectStreams(await server.anonymous().json('GET', '/healthz'), 0, 'after the last done');
  });

  it('answers with a session too', async () => {
    const bob = await server.login('bob');
    const res = await bob.json('GET', '/healthz');
    expect(res.status, res.text).to.equal(200);
    const body = asObject(res.body);
    expectKeys(body, ['status', 'pool', 'logs', 'streams', 'websockets']);
    expect(body.websockets).to.equal(0);
    expect(body.status).to.equal('ok');
    expect(body.streams).to.equal(0);
    const pool = asObject(body.pool);
    expectKeys(pool, ['threads', 'queued', 'running', 'quarantined', 'lost']);
    expect(pool.threads).to.equal(2);
  });
});
