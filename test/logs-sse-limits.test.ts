// GET /api/logs/:execId within bounds: at most CHARIOT_MAX_STREAMS_PER_USER open streams per
// user (the next is 429 before any stream starts, after the 404 of an id that is not theirs),
// a slot free the moment its stream ends.
import { expect } from 'chai';
import { randomUUID } from 'node:crypto';
import type { Client, HttpResult, Json } from './helpers/client.js';
import { submit } from './helpers/executions.js';
import { expectStreams, healthWithStreams, useServer, type ServerFixture } from './helpers/server.js';
import type { SseStream } from './helpers/sse.js';
import { expectBody, expectEvents } from './helpers/streams.js';

const RETRY_MS = 2000;
/** Logs one entry, then sleeps until it is cancelled. */
const SLEEPER = 'logPrint("in"); await sleep(60000)';
const NOT_FOUND = { error: 'Execution not found', code: 'EXECUTION_NOT_FOUND' };

function tooMany(limit: number): Json {
  return { error: `Too many open log streams: at most ${limit} per user`, code: 'TOO_MANY_STREAMS' };
}

/** Asserts GET `path` is refused with `status` and exactly `body` as JSON, and no stream started. */
async function expectRefused(client: Client, path: string, status: number, body: Json, headers: Readonly<Record<string, string>> = {}): Promise<void> {
  const stream = await client.sse(path, headers);
  if (stream.status === 200) {
    stream.close();
    expect.fail(`GET ${path} started a stream instead of answering ${status}`);
  }
  const text = await stream.text();
  expect({ status: stream.status, type: stream.headers['content-type'], body: JSON.parse(text) as Json }, `GET ${path}`).to.eql({
    status,
    type: 'application/json; charset=utf-8',
    body,
  });
  expect(stream.events).to.eql([]);
}

/** Opens a stream of a SLEEPER execution and waits for its entry. */
async function openLive(client: Client, id: string): Promise<SseStream> {
  const stream = await client.sse(`/api/logs/${id}`);
  expect(stream.status, `GET /api/logs/${id}`).to.equal(200);
  await stream.nthEvent(1);
  return stream;
}

async function health(server: ServerFixture): Promise<HttpResult> {
  return server.anonymous().json('GET', '/healthz');
}

/** Cancels a SLEEPER and asserts each of its streams got its entry, then done, and nothing else. */
async function cancelAndExpectEnds(client: Client, id: string, streams: readonly SseStream[]): Promise<void> {
  expect((await client.json('POST', `/api/execution/${id}/cancel`)).status, `cancel ${id}`).to.equal(202);
  for (const stream of streams) {
    expectEvents(await stream.untilDone(), [{ seq: 1, message: 'in' }, { done: 'cancelled' }]);
    expectBody(stream, RETRY_MS);
  }
}

describe('GET /api/logs/:execId with CHARIOT_MAX_STREAMS_PER_USER=3', () => {
  const server = useServer({ CHARIOT_MAX_STREAMS_PER_USER: '3' });

  it('opens exactly 3 streams per user and refuses the next with 429 TOO_MANY_STREAMS before any stream starts; another user opens their own 3', async () => {
    const [alice, bob] = await Promise.all([server.login('alice'), server.login('bob')]);
    const [alicesRun, bobsRun] = [await submit(alice, SLEEPER), await submit(bob, SLEEPER)];
    const alices = [await openLive(alice, alicesRun), await openLive(alice, alicesRun), await openLive(alice, alicesRun)];
    await expectRefused(alice, `/api/logs/${alicesRun}`, 429, tooMany(3));
    await expectRefused(alice, `/api/logs/${alicesRun}?level=warn`, 429, tooMany(3), { 'last-event-id': '1' });
    expectStreams(await health(server), 3, "alice's 3 streams, not the refused ones");
    const bobs = [await openLive(bob, bobsRun), await openLive(bob, bobsRun), await openLive(bob, bobsRun)];
    await expectRefused(bob, `/api/logs/${bobsRun}`, 429, tooMany(3));
    expectStreams(await health(server), 6, 'both users at the cap');
    await cancelAndExpectEnds(alice, alicesRun, alices);
    await cancelAndExpectEnds(bob, bobsRun, bobs);
    expectStreams(await health(server), 0, 'after the last done');
  });

  it('frees a slot the moment its stream ends with done, and once the server sees that a client went away', async () => {
    const alice = await server.login('alice');
    const sleeper = await submit(alice, SLEEPER);
    const quick = await submit(alice, 'logPrint("in"); "quick"');
    await (await server.manager.get(quick, 'alice')).whenFinished();
    const open = [await openLive(alice, sleeper), await openLive(alice, sleeper)];
    // The third slot, taken and given back by replays that end with done at once: each next one
    // is admitted straight after the one before ended, with nothing waited for in between.
    for (let round = 1; round <= 5; round++) {
      const replay = await alice.sse(`/api/logs/${quick}`);
      expect(replay.status, `replay ${round}`).to.equal(200);
      expectEvents(await replay.untilDone(), [{ seq: 1, message: 'in' }, { done: 'completed' }], `replay ${round}`);
    }
    open.push(await openLive(alice, sleeper));
    await expectRefused(alice, `/api/logs/${sleeper}`, 429, tooMany(3));
    open.shift()!.close();
    expectStreams(await healthWithStreams(server, 2), 2, 'after a client went away');
    open.push(await openLive(alice, sleeper));
    await expectRefused(alice, `/api/logs/${sleeper}`, 429, tooMany(3));
    await cancelAndExpectEnds(alice, sleeper, open);
  });

  it("answers 404 for an id that is not the caller's and 400 for a bad parameter whatever the caller has open; 429 only once the execution is found theirs", async () => {
    // 404 first: a caller at the cap learns from it only what any caller learns, that the id is
    // not theirs; and a client told 404 stops asking (an EventSource does not reconnect).
    const [alice, bob] = await Promise.all([server.login('alice'), server.login('bob')]);
    const [alicesRun, bobsRun] = [await submit(alice, SLEEPER), await submit(bob, SLEEPER)];
    const alices = [await openLive(alice, alicesRun), await openLive(alice, alicesRun), await openLive(alice, alicesRun)];
    await expectRefused(alice, `/api/logs/${bobsRun}`, 404, NOT_FOUND);
    await expectRefused(alice, `/api/logs/${randomUUID()}`, 404, NOT_FOUND);
    await expectRefused(alice, '/api/logs/not-a-uuid', 404, NOT_FOUND);
    await expectRefused(alice, `/api/logs/${alicesRun}?level=loud`, 400, { error: 'level must be one of debug, info, warn, error', code: 'BAD_REQUEST' });
    await expectRefused(alice, `/api/logs/${alicesRun}`, 400, { error: 'Last-Event-ID must be a whole number from 0 to 9007199254740991', code: 'BAD_REQUEST' }, { 'last-event-id': 'abc' });
    await expectRefused(alice, `/api/logs/${alicesRun}`, 429, tooMany(3));
    const bobs = [await openLive(bob, bobsRun)];
    expectStreams(await health(server), 4, "alice's 3 and bob's 1");
    await cancelAndExpectEnds(alice, alicesRun, alices);
    await cancelAndExpectEnds(bob, bobsRun, bobs);
  });
});
