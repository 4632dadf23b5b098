// SIGTERM drains (docs/API.md "Scale-out on Redis", "Draining"): two instances, real server
// processes on fixed ports, behind a real nginx that tries the next instance when one refuses the
// connection, on one real redis-server. Under steady load (clients submitting and following their
// executions through nginx, resuming with Last-Event-ID when a stream ends without `done`), A is
// stopped with SIGTERM and started again, then B: no execution is lost, none fails, each runs
// once, and the streams handed off by a draining instance resume on the other without a repeat.
import { expect } from 'chai';
import { spawnServer, type ServerProcess } from './helpers/adversary.js';
import { Client } from './helpers/client.js';
import { asArray, asObject } from './helpers/expectations.js';
import { getResult } from './helpers/executions.js';
import { startNginx, type Nginx } from './helpers/nginx.js';
import { freePort } from './helpers/ports.js';
import { startRedis, type RedisProcess } from './helpers/redis.js';
import { loginAs, type User } from './helpers/server.js';
import type { SseEvent } from './helpers/sse.js';

const SESSION_KEYS = 'rolling-restart-key-0123456789abcdef';

interface Outcome {
  readonly user: User;
  readonly id: string;
  readonly n: number;
  /** Every event of every stream opened for it, in order. */
  readonly events: readonly SseEvent[];
  /** Streams it took (1 + the resumptions after a hand-off). */
  readonly streams: number;
}

/** Follows an execution's log to `done`, resuming after the last event id whenever a stream ends without it. */
async function follow(client: Client, id: string): Promise<{ events: SseEvent[]; streams: number }> {
  const events: SseEvent[] = [];
  for (let streams = 1; streams <= 20; streams++) {
    const after = events.at(-1)?.id;
    const stream = await client.sse(`/api/logs/${id}`, after === undefined ? {} : { 'Last-Event-ID': after });
    expect(stream.status, `stream ${streams} of ${id}`).to.equal(200);
    await stream.text();
    events.push(...stream.events);
    if (events.at(-1)?.event === 'done') return { events, streams };
  }
  throw new Error(`${id}: no done after 20 streams: ${JSON.stringify(events)}`);
}

describe('scale-out: a rolling restart of two instances under steady load', function () {
  this.timeout(120_000);
  let redis: RedisProcess;
  let proxy: Nginx;
  const ports: number[] = [];
  const instances: (ServerProcess | undefined)[] = [undefined, undefined];

  const start = (i: number): Promise<ServerProcess> => spawnServer({
    PORT: String(ports[i]),
    CHARIOT_REDIS_URL: redis.url,
    CHARIOT_SESSION_KEYS: SESSION_KEYS,
    CHARIOT_INSTANCE_ID: `instance-${'ab'[i]}`,
    CHARIOT_INSTANCE_TIMEOUT_MS: '2000',
    CHARIOT_THREADS: '1',
    CHARIOT_TASKS_PER_THREAD: '2',
    CHARIOT_DRAIN_MS: '20000',
    CHARIOT_MAX_PER_USER: '1000',
  });

  before(async () => {
    redis = await startRedis();
    ports.push(await freePort(), await freePort());
    instances[0] = await start(0);
    instances[1] = await start(1);
    proxy = await startNginx(instances.map((instance) => instance!.url), '1.0', { failover: true });
  });

  after(async () => {
    await proxy?.close();
    for (const instance of instances) await instance?.kill();
    await redis?.close();
  });

  it('loses no execution, runs each once, and hands the streams of a draining instance to the other', async () => {
    const users: User[] = ['alice', 'bob', 'carol'];
    const clients = await Promise.all(users.map((user) => loginAs(proxy.url, user)));
    let stop = false;
    let n = 0;
    const outcomes: Outcome[] = [];
    const refusals: string[] = [];
    const worker = async (client: Client, user: User): Promise<void> => {
      while (!stop) {
        const k = ++n;
        const res = await client.json('POST', '/api/execute-async', { program: `logPrint("start ${k}"); await sleep(400); logPrint("end ${k}"); ${k}` });
        if (res.status !== 200) {
          refusals.push(`${res.status} ${res.text}`);
          continue;
        }
        const id = String(asObject(res.body).execution_id);
        const { events, streams } = await follow(client, id);
        outcomes.push({ user, id, n: k, events, streams });
      }
    };
    const load = Promise.all(clients.flatMap((client, i) => [worker(client, users[i]!), worker(client, users[i]!)]));
    const settle = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));
    await settle(1500);
    for (const i of [0, 1]) {
      const instance = instances[i]!;
      process.kill(instance.pid, 'SIGTERM');
      expect(await instance.waitExit(30_000), `instance ${i} exits after its drain`).to.equal('code 0');
      expect(instance.output()).to.contain('SIGTERM received, draining');
      instances[i] = await start(i);
      await settle(1500);
    }
    stop = true;
    await load;

    expect(refusals, 'submissions refused').to.eql([]);
    expect(outcomes.length, 'executions run').to.be.at.least(20);
    const handedOff = outcomes.filter((outcome) => outcome.streams > 1).length;
    expect(handedOff, 'executions whose stream a draining instance handed off').to.be.at.least(1);
    for (const { id, n: k, events } of outcomes) {
      // Exactly once, in order, across the streams it took.
      expect(events.map((event) => [event.event, event.id ?? null, event.event === 'message' ? asObject(JSON.parse(event.data)).message : event.data]), id)
        .to.eql([['message', '1', `start ${k}`], ['message', '2', `end ${k}`], ['done', null, '{"status":"completed"}']]);
    }
    // Every result, from whichever instance answers: completed, its one run's value and log; and
    // each user's list has exactly the executions it submitted.
    const ranOn = new Set<string>();
    for (const [i, client] of clients.entries()) {
      const mine = outcomes.filter((outcome) => outcome.user === users[i]);
      const list = asArray((await client.json('GET', '/api/executions?limit=1000')).body).map((item) => asObject(item));
      expect(list.map((item) => [item.execution_id, item.status]).sort(), `${users[i]}'s executions`)
        .to.eql(mine.map((outcome) => [outcome.id, 'completed']).sort());
      for (const outcome of mine) {
        const body = asObject((await getResult(client, outcome.id)).body);
        expect({ status: body.status, value: asObject(body.result).value, logs: asArray(body.logs).map((entry) => asObject(entry).message) })
          .to.eql({ status: 'completed', value: outcome.n, logs: [`start ${outcome.n}`, `end ${outcome.n}`] });
        ranOn.add(String(body.instance));
      }
    }
    expect([...ranOn].sort(), 'where they ran').to.eql(['instance-a', 'instance-b']);
  });
});
