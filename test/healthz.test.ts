// GET /healthz: liveness and pool occupancy, without a session.
import { expect } from 'chai';
import type { HttpResult } from './helpers/client.js';
import { asObject, expectJson, expectKeys } from './helpers/expectations.js';
import { submit } from './helpers/executions.js';
import { useServer } from './helpers/server.js';

describe('GET /healthz', () => {
  const server = useServer({ CHARIOT_THREADS: '2' });

  function expectHealth(res: HttpResult, queued: number, running: number): void {
    expect(res.status, res.text).to.equal(200);
    expectJson(res);
    expect(res.body).to.eql({ status: 'ok', pool: { threads: 2, queued, running, quarantined: 0, lost: 0 } });
  }

  it('answers 200 {"status":"ok","pool":{"threads":2,"queued":0,"running":0,"quarantined":0,"lost":0}} without a session on an idle server', async () => {
    expectHealth(await server.anonymous().json('GET', '/healthz'), 0, 0);
  });

  it('counts a running (sleeping) execution', async () => {
    const alice = await server.login('alice');
    const id = await submit(alice, 'logPrint("in"); await sleep(1000); 1');
    const stream = await alice.sse(`/api/logs/${id}`);
    await stream.nthEvent(1); // running, and sleeping for 1 s
    expectHealth(await server.anonymous().json('GET', '/healthz'), 0, 1);
    await stream.untilDone();
  });

  it('answers with a session too', async () => {
    const bob = await server.login('bob');
    const res = await bob.json('GET', '/healthz');
    expect(res.status, res.text).to.equal(200);
    const body = asObject(res.body);
    expectKeys(body, ['status', 'pool']);
    expect(body.status).to.equal('ok');
    const pool = asObject(body.pool);
    expectKeys(pool, ['threads', 'queued', 'running', 'quarantined', 'lost']);
    expect(pool.threads).to.equal(2);
  });
});
