// POST /api/execution/:execId/input across instances (docs/API.md "Input from any instance"):
// two instances of one slot each on one real redis-server of their own (this file is in Redis
// mode in both suites, as shared-queue.test.ts is). Input sent to B for an execution running on
// A arrives in order and exactly once; input to one waiting in the shared queue is kept for
// whichever instance runs it; the limits hold across instances; the end from B answers A's
// pending input() with null; 409 and 404 as on one instance; two senders on two instances at
// once keep each one's order; input to an execution whose instance was SIGKILLed ends with it;
// a Redis outage answers 503 and loses no input() call.
import { expect } from 'chai';
import { openRedis } from '../src/redis/connection.js';
import { inputKey, recordKey } from '../src/redis/keys.js';
import type { RunningServer } from '../src/server.js';
import { spawnServer, within, type ServerProcess } from './helpers/adversary.js';
import { Client, type HttpResult, type Json } from './helpers/client.js';
import { asArray, asObject, expectError } from './helpers/expectations.js';
import { doneStatus, getResult, holdTheSlot, streamToEnd, submit } from './helpers/executions.js';
import { startRedis, type RedisProcess } from './helpers/redis.js';
import { loginAs, startTestServer } from './helpers/server.js';
import type { SseStream } from './helpers/sse.js';
import { useTwoInstances } from './helpers/two-instances.js';

const SESSION_KEYS = 'input-redis-test-key-0123456789abcdef';
const TIMEOUT_MS = 2000;
const UNKNOWN = '00000000-0000-4000-8000-000000000000';
/** Reads until the end, logging each message, and returns them all. */
const READ_ALL = `const lines = [];
for (let line = await input(); line !== null; line = await input()) { logPrint("got " + line); lines.push(line); }
lines`;

function instanceEnv(redisUrl: string, id: string): Record<string, string> {
  return {
    CHARIOT_REDIS_URL: redisUrl,
    CHARIOT_SESSION_KEYS: SESSION_KEYS,
    CHARIOT_INSTANCE_ID: id,
    CHARIOT_INSTANCE_TIMEOUT_MS: String(TIMEOUT_MS),
    CHARIOT_THREADS: '1',
    CHARIOT_TASKS_PER_THREAD: '1',
    CHARIOT_INPUT_MAX_QUEUED: '3',
    CHARIOT_INPUT_MAX_BYTES: '12',
  };
}

/** The same session, used on another instance. */
function on(url: string, client: Client): Client {
  return new Client(url, client.cookieHeader);
}

function send(client: Client, id: string, body: Json): Promise<HttpResult> {
  return client.json('POST', `/api/execution/${id}/input`, body);
}

async function expectQueued(client: Client, id: string, body: Json, queued: number): Promise<void> {
  const res = await send(client, id, body);
  expect({ status: res.status, body: res.body }, res.text).to.eql({ status: 202, body: { execution_id: id, queued_inputs: queued } });
}

/** The messages of its log, as /api/result gives them. */
async function logMessages(client: Client, id: string): Promise<string[]> {
  return asArray(asObject((await getResult(client, id)).body).logs).map((entry) => String(asObject(entry).message));
}

/** 202, whatever waits (the script may or may not have asked by now). */
async function expectAccepted(client: Client, id: string, body: Json): Promise<void> {
  const res = await send(client, id, body);
  expect(res.status, res.text).to.equal(202);
}

/** Its final answer: status, the instance it ran on, and its result's value. */
async function outcome(client: Client, id: string): Promise<{ status: unknown; instance: unknown; value: unknown }> {
  await streamToEnd(client, id);
  const body = asObject((await getResult(client, id)).body);
  return { status: body.status, instance: body.instance, value: body.result === undefined ? body.error : asObject(body.result).value };
}

describe('scale-out: input from any instance', function () {
  this.timeout(60_000);
  const instances = useTwoInstances(instanceEnv);
  let alice: Client;
  let aliceOnB: Client;

  before(async () => {
    alice = await loginAs(instances.a.url, 'alice');
    aliceOnB = on(instances.b.url, alice);
  });

  /** Submits `program` to A, where it runs at once (A's slot is free), and follows it on A. */
  async function runOnA(program: string): Promise<{ id: string; stream: SseStream }> {
    const id = await submit(alice, program);
    const stream = await alice.sse(`/api/logs/${id}`);
    expect(stream.status).to.equal(200);
    return { id, stream };
  }

  /** Holds both slots: what is submitted next waits in the shared queue until a release. */
  async function holdBoth(): Promise<{ onA: { release(): Promise<void> }; onB: { release(): Promise<void> } }> {
    const onA = await holdTheSlot(alice);
    const onB = await holdTheSlot(aliceOnB);
    return { onA, onB };
  }

  it('delivers input POSTed to B for an execution running on A, in order and exactly once, and drops its key at the end', async () => {
    const { id, stream } = await runOnA(`const lines = [];
      for (let i = 1; ; i++) { const next = input(); logPrint("asked " + i); const line = await next; if (line === null) break; lines.push(line); }
      lines`);
    // The script waits each time (its "asked N" is logged after it asked): each goes to it at once.
    const sends: Array<[Client, Json]> = [[aliceOnB, { data: 'one' }], [alice, { data: 'two' }], [aliceOnB, { data: 'three' }], [aliceOnB, { data: 'four' }], [aliceOnB, { end: true }]];
    for (const [i, [client, body]] of sends.entries()) {
      await stream.nthEvent(i + 1);
      await expectQueued(client, id, body, 0);
    }
    expect(await outcome(alice, id)).to.eql({ status: 'completed', instance: 'instance-a', value: ['one', 'two', 'three', 'four'] });
    expect(await logMessages(aliceOnB, id)).to.eql(['asked 1', 'asked 2', 'asked 3', 'asked 4', 'asked 5']);
    const redis = await openRedis(instances.redis.url, 'input-redis-test');
    try {
      expect(await redis.command.exists(inputKey(id)), 'the input list after the end').to.equal(0);
      expect(await redis.command.pTTL(recordKey(id)), 'the record expires').to.be.above(0);
    } finally {
      await redis.close();
    }
  });

  it('keeps input sent to an execution waiting in the shared queue for the instance that takes it', async () => {
    const blockers = await holdBoth();
    const id = await submit(alice, READ_ALL);
    expect(asObject((await getResult(aliceOnB, id)).body).status).to.equal('queued');
    await expectQueued(aliceOnB, id, { data: 'x' }, 1);
    await expectQueued(alice, id, { data: 'y' }, 2);
    await expectQueued(aliceOnB, id, { end: true }, 2);
    // Sent to A and B, taken by B, whose slot frees first.
    await blockers.onB.release();
    expect(await outcome(alice, id)).to.eql({ status: 'completed', instance: 'instance-b', value: ['x', 'y'] });
    await blockers.onA.release();
  });

  it('holds CHARIOT_INPUT_MAX_QUEUED and CHARIOT_INPUT_MAX_BYTES across instances with 413, and loses nothing accepted', async () => {
    const blockers = await holdBoth();
    const counted = await submit(alice, READ_ALL);
    const sized = await submit(aliceOnB, READ_ALL);
    await expectQueued(alice, counted, { data: '1' }, 1);
    await expectQueued(aliceOnB, counted, { data: '2' }, 2);
    await expectQueued(alice, counted, { data: '3' }, 3);
    expectError(await send(aliceOnB, counted, { data: '4' }), 413, 'Too much input waiting: 3 messages the script has not read yet (CHARIOT_INPUT_MAX_QUEUED)', 'INPUT_LIMIT');
    await expectQueued(aliceOnB, counted, { end: true }, 3);
    await expectQueued(aliceOnB, sized, { data: 'héllo' }, 1); // 6 bytes
    expectError(await send(alice, sized, { data: 'x'.repeat(7) }), 413,
      'Too much input waiting: this message of 7 bytes would take the input the script has not read yet over CHARIOT_INPUT_MAX_BYTES (12 bytes)', 'INPUT_LIMIT');
    await expectQueued(alice, sized, { data: '€€' }, 2); // 6 bytes: 12 in all, the limit
    expectError(await send(aliceOnB, sized, { data: 'y'.repeat(13) }), 413, 'The input message is 13 bytes, over CHARIOT_INPUT_MAX_BYTES (12 bytes)', 'INPUT_LIMIT');
    await expectQueued(alice, sized, { end: true }, 2);
    await blockers.onA.release();
    await blockers.onB.release();
    expect((await outcome(alice, counted)).value).to.eql(['1', '2', '3']);
    expect((await outcome(alice, sized)).value).to.eql(['héllo', '€€']);
  });

  it('resolves A\'s pending input() with null on the end sent to B, then answers 409 INPUT_ENDED on both', async () => {
    // It stays unfinished after reading, so that what comes next meets the end, not the finish.
    const { id, stream } = await runOnA('const first = input(); logPrint("asked"); logPrint(JSON.stringify([await first, await input()])); await sleep(60000)');
    await stream.nthEvent(1);
    await expectQueued(aliceOnB, id, { end: true }, 0);
    await stream.nthEvent(2);
    for (const client of [alice, aliceOnB]) expectError(await send(client, id, { data: 'late' }), 409, 'The input of this execution was ended', 'INPUT_ENDED');
    const cancel = await aliceOnB.json('POST', `/api/execution/${id}/cancel`);
    expect(cancel.status, cancel.text).to.equal(202);
    expect(await logMessages(aliceOnB, id)).to.eql(['asked', '[null,null]']);
  });

  it('answers 409 ALREADY_FINISHED from B for one that finished on A, and 404 for an unknown id or another user\'s', async () => {
    const finished = await submit(alice, '1');
    expect(doneStatus(await streamToEnd(alice, finished))).to.equal('completed');
    expectError(await send(aliceOnB, finished, { data: 'x' }), 409, 'Execution already finished with status completed', 'ALREADY_FINISHED');
    expectError(await send(aliceOnB, finished, { end: true }), 409, 'Execution already finished with status completed', 'ALREADY_FINISHED');
    expectError(await send(aliceOnB, UNKNOWN, { data: 'x' }), 404, 'Execution not found', 'EXECUTION_NOT_FOUND');
    const { id, stream } = await runOnA('const next = input(); logPrint("asked"); await next');
    await stream.nthEvent(1);
    const bobOnB = await loginAs(instances.b.url, 'bob');
    expectError(await send(bobOnB, id, { data: 'from bob' }), 404, 'Execution not found', 'EXECUTION_NOT_FOUND');
    await expectQueued(aliceOnB, id, { data: 'from alice' }, 0);
    expect(await outcome(alice, id)).to.eql({ status: 'completed', instance: 'instance-a', value: 'from alice' });
  });

  it('keeps each sender\'s order with two instances sending 400 messages at once, never more than the limit waiting', async () => {
    const { id } = await runOnA('const lines = []; for (let line = await input(); line !== null; line = await input()) lines.push(line); lines');
    const PER_SENDER = 200;
    const sender = async (client: Client, name: string): Promise<void> => {
      for (let i = 0; i < PER_SENDER; i++) {
        // A 413 says the script has not read enough yet: the message is sent again.
        for (;;) {
          const res = await send(client, id, { data: `${name}${i}` });
          if (res.status === 413) continue;
          expect(res.status, res.text).to.equal(202);
          expect(asObject(res.body).queued_inputs).to.be.within(0, 3);
          break;
        }
      }
    };
    await Promise.all([sender(alice, 'a'), sender(aliceOnB, 'b')]);
    await expectAccepted(aliceOnB, id, { end: true });
    const { status, value } = await outcome(alice, id);
    expect(status).to.equal('completed');
    const lines = value as string[];
    for (const name of ['a', 'b']) {
      expect(lines.filter((line) => line.startsWith(name)), `${name}'s messages`).to.eql(Array.from({ length: PER_SENDER }, (_, i) => `${name}${i}`));
    }
    expect(lines).to.have.length(2 * PER_SENDER);
  });
});

describe('scale-out: input to an execution whose instance is gone, and through a Redis outage', function () {
  this.timeout(60_000);
  let redis: RedisProcess;
  let a: ServerProcess | undefined;
  let b: RunningServer;

  before(async () => {
    redis = await startRedis();
    a = await spawnServer(instanceEnv(redis.url, 'instance-a'));
    b = await startTestServer(instanceEnv(redis.url, 'instance-b'));
  });

  after(async () => {
    await a?.kill();
    await b?.close();
    await redis?.close();
  });

  it('keeps input for an execution of a SIGKILLed instance until it is declared lost, then answers 409, its input gone', async () => {
    const alice = await a!.login('alice');
    const onB = on(b.url, alice);
    const id = await submit(alice, 'const next = input(); logPrint("asked"); await next; await sleep(50000)');
    const stream = await onB.sse(`/api/logs/${id}`);
    await stream.nthEvent(1);
    await expectQueued(onB, id, { data: 'read' }, 0);
    await a!.kill();
    a = undefined;
    // Not declared lost yet (CHARIOT_INSTANCE_TIMEOUT_MS): kept, and dropped with it.
    await expectQueued(onB, id, { data: 'unread' }, 1);
    await within(3 * TIMEOUT_MS, stream.untilDone(), 'the done of the lost one');
    expectError(await send(onB, id, { data: 'after' }), 409, 'Execution already finished with status error', 'ALREADY_FINISHED');
    const connections = await openRedis(redis.url, 'input-redis-test');
    try {
      expect(await connections.command.exists(inputKey(id)), 'the input list of a lost one').to.equal(0);
    } finally {
      await connections.close();
    }
  });

  it('answers 503 while Redis is down, and an input() that asked meanwhile gets the next message once it is back', async () => {
    const alice = await loginAs(b.url, 'alice');
    const id = await submit(alice, 'const first = await input(); logPrint("got " + first); await sleep(300); const next = input(); logPrint("asked"); [first, await next]');
    const stream = await alice.sse(`/api/logs/${id}`);
    await expectAccepted(alice, id, { data: 'before' });
    await stream.nthEvent(1);
    // The script's sleep waits out the stop: its second input() asks while Redis is down.
    await redis.stop();
    await stream.nthEvent(2);
    expectError(await send(alice, id, { data: 'during' }), 503, 'Storage unavailable', 'REDIS_UNAVAILABLE');
    await redis.start();
    for (;;) {
      const res = await send(alice, id, { data: 'after' });
      if (res.status === 503) continue; // B reconnects on its own schedule
      // 1 when the holder's ask, tried again at its own pace, has not reached Redis yet.
      expect(res.status, res.text).to.equal(202);
      expect([{ execution_id: id, queued_inputs: 0 }, { execution_id: id, queued_inputs: 1 }]).to.deep.include(res.body);
      break;
    }
    expect(await outcome(alice, id)).to.eql({ status: 'completed', instance: 'instance-b', value: ['before', 'after'] });
  });
});
