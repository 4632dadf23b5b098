// GET /api/logs/:execId within bounds: at most CHARIOT_MAX_STREAMS_PER_USER open streams per
// user (the next is 429 before any stream starts, after the 404 of an id that is not theirs),
// a slot free the moment its stream ends; and a stream whose socket takes nothing for
// CHARIOT_SSE_STALL_TIMEOUT_MS ended by the server, while one that reads slowly never is.
import { expect } from 'chai';
import { randomUUID } from 'node:crypto';
import { subscribersOf, type SubscriberStats } from '../src/sse.js';
import type { Client, HttpResult, Json } from './helpers/client.js';
import { holdTheSlot, submit } from './helpers/executions.js';
import { expectStreams, healthWithStreams, useServer, type ServerFixture } from './helpers/server.js';
import type { SseStream } from './helpers/sse.js';
import { entries, expectBody, expectEvents } from './helpers/streams.js';

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

/** Polls `check` for what no event announces outside the server (its stall check ending a stream). */
async function eventually(check: () => boolean, what: string, withinMs: number): Promise<void> {
  const deadline = Date.now() + withinMs;
  while (!check()) {
    if (Date.now() > deadline) expect.fail(`${what} did not happen within ${withinMs} ms`);
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
}

/**
 * Reads in bursts: `readMs` of reading, then `pauseMs` paused, until the stream closes. The
 * socket takes data at every burst, so the server sees it progress.
 */
function readInBursts(stream: SseStream, readMs: number, pauseMs: number): void {
  const pause = (): void => {
    if (stream.closed) return;
    stream.pause();
    setTimeout(read, pauseMs);
  };
  const read = (): void => {
    if (stream.closed) return;
    stream.resume();
    setTimeout(pause, readMs);
  };
  pause();
}

describe('GET /api/logs/:execId with CHARIOT_SSE_STALL_TIMEOUT_MS=2000 (ring of 100, 2 streams per user)', () => {
  const RING = 100;
  const STALL_TIMEOUT_MS = 2000;
  // One slot in the pool, so that every stream starts before the first entry.
  const server = useServer({
    CHARIOT_THREADS: '1',
    CHARIOT_TASKS_PER_THREAD: '1',
    CHARIOT_LOG_BUFFER: String(RING),
    CHARIOT_SSE_STALL_TIMEOUT_MS: String(STALL_TIMEOUT_MS),
    CHARIOT_MAX_STREAMS_PER_USER: '2',
  });

  it('ends a stream whose socket takes nothing for the stall timeout (its slot and what the log kept for it freed), never one that reads in bursts with pauses of 250 ms, which gets every entry; resuming from the Last-Event-ID of the ended one gets an exact gap, the ring and done', async () => {
    const alice = await server.login('alice');
    const LAST = 16_000;
    const PAD = 's'.repeat(1000);
    const message = (seq: number): string => `${seq} ${PAD}`;
    // 16 MB of events, logged as fast as the script can: far more than the sockets take, so
    // the server waits on both subscribers' sockets. 39 MB as the lag budget (64 MiB) counts
    // them, so neither is released meanwhile, and the stall timeout is below STALL_MS (5 s):
    // the paused one gets no gap before it is ended.
    const slot = await holdTheSlot(alice);
    const id = await submit(alice, `const pad = "s".repeat(1000); for (let i = 1; i <= ${LAST}; i++) logPrint(i + " " + pad); "flooded"`);
    const stalled = await alice.sse(`/api/logs/${id}`);
    stalled.pause();
    const slow = await alice.sse(`/api/logs/${id}`);
    readInBursts(slow, 20, 250);
    const execution = await server.manager.get(id, 'alice');
    const [stalledStats, slowStats, ...others] = subscribersOf(execution) as SubscriberStats[];
    expect(others, 'other subscribers').to.eql([]);
    expect([stalledStats!.cursor, slowStats!.cursor], 'cursors before the script runs').to.eql([0, 0]);
    await expectRefused(alice, `/api/logs/${id}`, 429, tooMany(2));
    expectStreams(await health(server), 2, 'both streams');
    // Whether the slow reader was ever pushed back, or this test would prove nothing of it.
    let slowWaited = false;
    const watch = setInterval(() => {
      slowWaited ||= slowStats!.blocked;
    }, 5);
    try {
      await slot.release();
      expect(await execution.whenFinished(), 'the script ends while a subscriber is stalled').to.equal('completed');
      const events = await slow.untilDone();
      expect(slowWaited, 'the slow reader was pushed back, and waited for its socket').to.equal(true);
      expect(events.filter((event) => event.event === 'gap'), 'gaps sent to the slow reader').to.eql([]);
      expectEvents(events, [...entries(1, LAST, message), { done: 'completed' }], 'the slow reader');
      expectBody(slow, RETRY_MS);
    } finally {
      clearInterval(watch);
    }

    await eventually(() => subscribersOf(execution).length === 0, 'the end of the stalled stream', STALL_TIMEOUT_MS * 2 + 10_000);
    expect(stalledStats!.holding, 'the ended subscriber holds').to.equal(false);
    const { heldEntries, heldBytes, holders } = execution.logs;
    expect({ heldEntries, heldBytes, holders }, 'kept past the ring').to.eql({ heldEntries: 0, heldBytes: 0, holders: 0 });
    expect(execution.logs.listenerCount('appended'), 'listeners').to.equal(0);
    expectStreams(await health(server), 0, 'after the server ended the stalled stream');

    // What the stalled client gets when it reads on: whole entries from the first on, as many
    // as had reached it before the reset (which drops what the sockets still held), maybe the
    // start of the next, and no done.
    stalled.resume();
    await stalled.text();
    expect(stalled.endedCleanly, 'the stalled stream ended cleanly').to.equal(false);
    const got = stalled.events.length;
    expect(got, 'entries the stalled client got').to.be.within(0, LAST - RING - 1);
    expectEvents(stalled.events, entries(1, got, message), 'the stalled client');
    expect(stalled.comments, 'comments').to.eql([]);
    const whole = `retry: ${RETRY_MS}\n\n${stalled.events.map((event) => event.raw).join('')}`;
    const text = stalled.rawText;
    expect(text.startsWith(whole) || (got === 0 && whole.startsWith(text)), `the stalled body starts ${JSON.stringify(text.slice(0, 40))}`).to.equal(true);
    const next = `id: ${got + 1}\ndata: `;
    expect(next.startsWith(stalled.pending) || stalled.pending.startsWith(next), `the cut-off end ${JSON.stringify(stalled.pending.slice(0, 40))}`).to.equal(true);
    expect(stalled.pending, 'the cut-off end holds no whole event').to.not.include('\n\n');

    // Its slot is free: both of alice's slots open, as an EventSource reconnecting with the
    // Last-Event-ID it has, and a replay from the start.
    const resumed = await alice.sse(`/api/logs/${id}`, got === 0 ? {} : { 'last-event-id': stalled.events.at(-1)!.lastEventId });
    const replay = await alice.sse(`/api/logs/${id}`);
    expect([resumed.status, replay.status]).to.eql([200, 200]);
    expectEvents(await resumed.untilDone(), [{ gap: LAST - RING - got, through: LAST - RING }, ...entries(LAST - RING + 1, LAST, message), { done: 'completed' }], 'the resumed stream');
    expectBody(resumed, RETRY_MS);
    expectEvents(await replay.untilDone(), [{ gap: LAST - RING, through: LAST - RING }, ...entries(LAST - RING + 1, LAST, message), { done: 'completed' }], 'the replay');
  });
});
