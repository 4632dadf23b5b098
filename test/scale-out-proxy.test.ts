// Two instances behind a real nginx, round robin with no stickiness, on one real redis-server:
// a client that only knows the balancer logs in, submits, polls and streams, and its requests
// land on both instances in turn; a stream that is cut and reopened through the balancer (on
// whichever instance) resumes exactly after its Last-Event-ID.
import { expect } from 'chai';
import type { RunningServer } from '../src/server.js';
import { Client } from './helpers/client.js';
import { asObject, expectLogEntries } from './helpers/expectations.js';
import { getResult, openToEnd, streamToEnd, submit } from './helpers/executions.js';
import { startNginx, type Nginx } from './helpers/nginx.js';
import { startRedis, type RedisProcess } from './helpers/redis.js';
import { loginAs, startTestServer } from './helpers/server.js';
import { entries, expectEvents } from './helpers/streams.js';

describe('scale-out behind nginx: two instances, round robin, one Redis', function () {
  this.timeout(60_000);
  let redis: RedisProcess;
  let servers: RunningServer[] = [];
  let proxy: Nginx;

  before(async () => {
    redis = await startRedis();
    for (const id of ['instance-a', 'instance-b']) {
      servers.push(await startTestServer({
        CHARIOT_REDIS_URL: redis.url,
        CHARIOT_SESSION_KEYS: 'scale-out-proxy-key-0123456789abcdef',
        CHARIOT_INSTANCE_ID: id,
        CHARIOT_THREADS: '1',
      }));
    }
    proxy = await startNginx(servers.map((server) => server.url), '1.1');
  });

  after(async () => {
    await proxy?.close();
    await Promise.all(servers.map((server) => server.close()));
    servers = [];
    await redis?.close();
  });

  it('every call works through the balancer, and the executions run on both instances', async () => {
    const alice = await loginAs(proxy.url, 'alice');
    const ran = new Set<string>();
    for (let i = 1; i <= 6; i++) {
      const id = await submit(alice, `logPrint("run ${i}"); ${i} * 10`);
      const events = await streamToEnd(alice, id);
      expectEvents(events, [{ seq: 1, message: `run ${i}` }, { done: 'completed' }], `the stream of run ${i}`);
      const res = await getResult(alice, id);
      expect(res.status).to.equal(200);
      const body = asObject(res.body);
      expect(body.result).to.eql({ value: i * 10, type: 'number' });
      expectLogEntries(body.logs, [{ level: 'INFO', message: `run ${i}` }]);
      ran.add(String(body.instance));
    }
    expect([...ran].sort()).to.eql(['instance-a', 'instance-b']);
  });

  it('a stream cut and reopened through the balancer resumes exactly', async () => {
    const alice = await loginAs(proxy.url, 'alice');
    const id = await submit(alice, 'for (let i = 1; i <= 40; i++) { logPrint("tick " + i); await sleep(10); }');
    const seen: number[] = [];
    let after = 0;
    // Three cuts: each reopening goes to the instance the balancer picks next.
    for (let round = 0; round < 3; round++) {
      const stream = await alice.sse(`/api/logs/${id}`, after === 0 ? {} : { 'Last-Event-ID': String(after) });
      expect(stream.status).to.equal(200);
      await stream.nthEvent(5);
      stream.close();
      const five = stream.events.slice(0, 5);
      expectEvents(five, entries(after + 1, after + 5, (seq) => `tick ${seq}`), `round ${round + 1}`);
      after += 5;
      seen.push(...five.map((event) => Number(event.id)));
    }
    const rest = await openToEnd(new Client(proxy.url, alice.cookieHeader), `/api/logs/${id}`, { 'Last-Event-ID': String(after) });
    expectEvents(rest.events, [...entries(after + 1, 40, (seq) => `tick ${seq}`), { done: 'completed' }], 'the last round');
    expect(seen).to.eql(Array.from({ length: 15 }, (_, i) => i + 1));
  });
});
