// GET /healthz: liveness, pool occupancy and what the logs keep, without a session.
import { expect } from 'chai';
import { loadConfig } from '../src/config.js';
import type { HttpResult } from './helpers/client.js';
import { asObject, expectJson, expectKeys } from './helpers/expectations.js';
import { submit } from './helpers/executions.js';
import { useServer } from './helpers/server.js';

describe('GET /healthz', () => {
  const server = useServer({ CHARIOT_THREADS: '2' });

  const { logBudget, logBudgetPerUser } = loadConfig({});

  /** `kept` and `live`: bytes of log kept, as entryBytes() counts them (2 a character + 420). */
  function expectHealth(res: HttpResult, queued: number, running: number, kept = 0, live = 0): void {
    expect(res.status, res.text).to.equal(200);
    expectJson(res);
    expect(res.body).to.eql({
      status: 'ok',
      pool: { threads: 2, queued, running, quarantined: 0, lost: 0 },
      logs: { kept_bytes: kept, live_bytes: live, budget_bytes: logBudget, user_budget_bytes: logBudgetPerUser, largest_user_bytes: kept, evicted_entries: 0 },
    });
  }

  it('answers 200 {"status":"ok","pool":{"threads":2,"queued":0,"running":0,"quarantined":0,"lost":0},"logs":{...}} without a session on an idle server', async () => {
    expectHealth(await server.anonymous().json('GET', '/healthz'), 0, 0);
  });

  it('counts a running (sleeping) execution and its log, then the log as finished', async () => {
    const alice = await server.login('alice');
    const id = await submit(alice, 'logPrint("in"); await sleep(1000); 1');
    const stream = await alice.sse(`/api/logs/${id}`);
    await stream.nthEvent(1); // running, and sleeping for 1 s
    expectHealth(await server.anonymous().json('GET', '/healthz'), 0, 1, 424, 424);
    await stream.untilDone();
    expectHealth(await server.anonymous().json('GET', '/healthz'), 0, 0, 424, 0);
  });

  it('answers with a session too', async () => {
    const bob = await server.login('bob');
    const res = await bob.json('GET', '/healthz');
    expect(res.status, res.text).to.equal(200);
    const body = asObject(res.body);
    expectKeys(body, ['status', 'pool', 'logs']);
    expect(body.status).to.equal('ok');
    const pool = asObject(body.pool);
    expectKeys(pool, ['threads', 'queued', 'running', 'quarantined', 'lost']);
    expect(pool.threads).to.equal(2);
  });
});
