// GET /api/logs/:execId under load: a subscriber whose socket stops reading while a flood
// passes is released once it falls more than the lag budget behind, then gets an exact gap and
// holds nothing but its cursor; a keep-alive client that reads slowly gets everything the ring
// still holds; 200 subscribers all get the same stream.
import { expect } from 'chai';
import { Agent } from 'node:http';
import { subscribersOf, WRITE_CHARS } from '../src/sse.js';
import type { SseEvent } from './helpers/sse.js';
import type { Client } from './helpers/client.js';
import { expectUnfinishedWith, holdTheSlot, submit } from './helpers/executions.js';
import { useServer } from './helpers/server.js';
import { entries, entriesOrGaps, expectBody, expectEvents, summary, type ExpectedEvent } from './helpers/streams.js';

const RETRY_MS = 2000;

/**
 * The stream of a subscriber that no entry matches, of an execution that logged `last` entries
 * and reported progress 50 after entry `last / 2` and 100 after the last: gaps that never
 * overlap (none while it keeps within the lag budget, which passing over entries it does not
 * send nearly always does), "half" once after every gap below its place and before every gap
 * beyond it, then "all" and done.
 */
function expectReaderStream(events: readonly SseEvent[], last: number): void {
  const kinds = events.map((event) => event.event);
  const half = kinds.indexOf('progress');
  expect(kinds.filter((kind) => kind !== 'gap'), 'events other than gaps').to.eql(['progress', 'progress', 'done']);
  expectEvents(events.slice(half, half + 1), [{ progress: 50, message: 'half' }], 'the first progress');
  expectEvents(events.slice(-2), [{ progress: 100, message: 'all' }, { done: 'completed' }], 'the end of the reader');
  let passed = 0;
  events.forEach((event, i) => {
    if (event.event !== 'gap') return;
    const through = Number(event.id);
    const missed = Number((JSON.parse(event.data) as { missed: number }).missed);
    expect(through - missed, `gap ${event.id} starts after the previous one`).to.be.at.least(passed);
    expect(through, `gap ${event.id} is on the right side of "half"`).to.satisfy((seq: number) => (i < half ? seq <= last / 2 : seq > last / 2));
    passed = through;
  });
  expect(passed, 'the last gap').to.be.at.most(last);
}

describe('GET /api/logs/:execId with a stalled subscriber (ring of 100 entries)', () => {
  const RING = 100;
  // One slot in the pool: an execution waits in the queue behind a blocker until the test has
  // subscribed and cancels the blocker, so where the streams start does not depend on timing.
  // Room for 200 streams of one user.
  const server = useServer({
    CHARIOT_LOG_BUFFER: String(RING),
    CHARIOT_LOG_BYTE_CAP: '128mb',
    CHARIOT_THREADS: '1',
    CHARIOT_TASKS_PER_THREAD: '1',
    CHARIOT_MAX_STREAMS_PER_USER: '200',
  });
  let alice: Client;

  before(async () => {
    alice = await server.login('alice');
  });

  it('a subscriber whose socket is paused while 10,000 entries are logged is released past the lag budget, gets exact gaps, the ring, the latest progress and done, holds no queue once released, and slows nobody', async () => {
    const LAST = 10_000;
    const PAD = 'x'.repeat(8192);
    // 80 MB in all. What the stalled subscriber is sent fills the kernel's socket buffers on
    // both ends (a few MB here), so TCP pushes back on the server. The script waits 5 ms after
    // every 500th entry, so that the server wakes the subscriber often enough to fill them long
    // before the end even on a busy machine. The log then keeps what it has not been sent past
    // the ring until that is more than the lag budget (64 MiB, some 4,000 of these entries as
    // it counts them) and releases it: it is sent only what the ring still holds when it is
    // woken, and told of the rest as gaps, which take no room in the socket.
    const slot = await holdTheSlot(alice);
    const id = await submit(
      alice,
      `const pad = "x".repeat(8192);
       for (let i = 1; i <= ${LAST}; i++) {
         logPrint(i + " " + pad);
         if (i === ${LAST / 2}) progress(50, "half");
         if (i % 500 === 0) await sleep(5);
       }
       progress(100, "all"); "flooded"`,
    );
    const message = (seq: number): string => `${seq} ${PAD}`;
    const stream = await alice.sse(`/api/logs/${id}`);
    expect(stream.status).to.equal(200);
    stream.pause();
    // Another subscriber, reading as fast as it can (?level=warn: no entry matches, so it is
    // sent only gaps, progress and done, and never pushes back).
    const reader = await alice.sse(`/api/logs/${id}?level=warn`);
    await expectUnfinishedWith(alice, id, 0, 'the script still queued when both are in');
    await slot.release();
    const execution = await server.manager.get(id, 'alice');
    expect(await execution.whenFinished(), 'the script ends while a subscriber is stalled').to.equal('completed');
    const readerEvents = await reader.untilDone();
    expectReaderStream(readerEvents, LAST);

    // What the server holds while the subscriber is stalled: the ring, at its capacity, and
    // a cursor, nothing past the ring; the response holds at most one write past the socket's
    // high-water mark.
    expect({ size: execution.logs.size, capacity: execution.logs.capacity, lastSeq: execution.logs.lastSeq }).to.eql({
      size: RING,
      capacity: RING,
      lastSeq: LAST,
    });
    expect({ heldEntries: execution.logs.heldEntries, heldBytes: execution.logs.heldBytes, holders: execution.logs.holders }, 'kept past the ring').to.eql({
      heldEntries: 0,
      heldBytes: 0,
      holders: 0,
    });
    // The reader has its done; the stalled subscriber is the only one left, still waiting,
    // released.
    const [subscriber, ...others] = subscribersOf(execution);
    expect(others, 'other subscribers').to.eql([]);
    expect(subscriber!.blocked, 'waiting for drain').to.equal(true);
    expect(subscriber!.holding, 'released').to.equal(false);
    const sent = subscriber!.cursor;
    expect(sent, 'entries sent before the socket pushed back').to.be.within(1, LAST - RING - 1);
    const largestEvent = `id: ${LAST}\ndata: {"seq":${LAST},"timestamp":"2026-01-01T00:00:00.000Z","level":"INFO","message":"${message(LAST)}"}\n\n`.length;
    expect(subscriber!.bufferedLength, 'what the response holds').to.be.at.most(subscriber!.highWaterMark + WRITE_CHARS + largestEvent);

    stream.resume();
    await stream.untilDone();
    // Until the socket's buffers were full the server could still write now and then, so the
    // first `sent` seqs may come with gaps of their own, and when they reach past entry 5000
    // (gaps take no room in the socket), "half" comes in its place among them. After that, one
    // gap for everything evicted while the subscriber was stalled, the ring, "all" (by then the
    // latest report) and done: the last 1 + RING + 2 events.
    const head = stream.events.slice(0, Math.max(0, stream.events.length - (1 + RING + 2)));
    expectEvents(stream.events, [
      ...entriesOrGaps(head, 1, sent, message, { after: LAST / 2, progress: 50, message: 'half' }),
      { gap: LAST - RING - sent, through: LAST - RING },
      ...entries(LAST - RING + 1, LAST, message),
      { progress: 100, message: 'all' },
      { done: 'completed' },
    ]);
    expectBody(stream, RETRY_MS);
    expect(subscribersOf(execution), 'subscribers after done').to.eql([]);
    expect(execution.logs.listenerCount('appended'), 'listeners after done').to.equal(0);
  });

  it('200 subscribers of one execution all receive the identical stream', async () => {
    const slot = await holdTheSlot(alice);
    const id = await submit(
      alice,
      `for (let i = 1; i <= 60; i++) { (i % 3 === 0 ? console.warn : logPrint)("entry " + i); if (i % 20 === 0) { progress(i * 100 / 60, "step " + i); await sleep(10); } }
       "fanned out"`,
    );
    const streams = await Promise.all(Array.from({ length: 200 }, () => alice.sse(`/api/logs/${id}`)));
    await expectUnfinishedWith(alice, id, 0, 'the script still queued when all 200 are in');
    await slot.release();
    const lists = await Promise.all(streams.map((stream) => stream.untilDone()));
    const expected: ExpectedEvent[] = [];
    for (let i = 1; i <= 60; i++) {
      expected.push({ seq: i, level: i % 3 === 0 ? 'WARN' : 'INFO', message: `entry ${i}` });
      if (i % 20 === 0) expected.push({ progress: (i * 100) / 60, message: `step ${i}` });
    }
    expected.push({ done: 'completed' });
    expectEvents(lists[0]!, expected, 'subscriber 1');
    lists.forEach((events, i) => expect(summary(events), `subscriber ${i + 1}`).to.eql(summary(lists[0]!)));
    for (const stream of streams) expectBody(stream, RETRY_MS);
  });
});

describe('GET /api/logs/:execId to an HTTP/1.1 keep-alive client that reads slowly', () => {
  const server = useServer();

  it('delivers every entry the ring holds, ends the chunked body cleanly, and leaves the connection usable', async () => {
    const alice = await server.login('alice');
    const LAST = 800;
    const PAD = 'y'.repeat(1024);
    const id = await submit(alice, `const pad = "y".repeat(1024); for (let i = 1; i <= ${LAST}; i++) logPrint(i + " " + pad); "burst"`);
    // One connection, kept alive: the second stream must reuse it.
    const agent = new Agent({ keepAlive: true, maxSockets: 1 });
    try {
      const slow = await alice.sse(`/api/logs/${id}`, {}, agent);
      expect(slow.reusedSocket).to.equal(false);
      // Read one chunk, then nothing for a millisecond, and so on: the server sees a slow reader.
      slow.onChunk(() => {
        slow.pause();
        setTimeout(() => slow.resume(), 1);
      });
      await slow.untilDone();
      expect(slow.endedCleanly).to.equal(true);
      expectEvents(slow.events, [...entries(1, LAST, (seq) => `${seq} ${PAD}`), { done: 'completed' }]);
      expectBody(slow, RETRY_MS);

      const again = await alice.sse(`/api/logs/${id}`, { 'last-event-id': String(LAST - 1) }, agent);
      expect(again.reusedSocket, 'the second stream came over the same connection').to.equal(true);
      await again.untilDone();
      expectEvents(again.events, [{ seq: LAST, message: `${LAST} ${PAD}` }, { done: 'completed' }]);
    } finally {
      agent.destroy();
    }
  });
});
