// GET /api/logs/:execId to subscribers that keep up with a burst far larger than the ring: every
// entry, in order, no gap. Beside them a stalled subscriber (a paused socket) is released, past
// the lag budget or after STALL_MS without the socket taking data, and then gets exact gaps; it
// slows nobody, and what the log kept for it is freed when it is released or goes away.
import { expect } from 'chai';
import type { Execution } from '../src/execution.js';
import { subscribersOf, STALL_MS, type SubscriberStats } from '../src/sse.js';
import type { Client } from './helpers/client.js';
import { ISO_UTC } from './helpers/expectations.js';
import { expectUnfinishedWith, getResult, submit } from './helpers/executions.js';
import { useServer, type ServerFixture } from './helpers/server.js';
import type { SseEvent, SseStream } from './helpers/sse.js';
import { entries, entriesOrGaps, expectBody, expectEvents, type ExpectedEvent } from './helpers/streams.js';

const RETRY_MS = 2000;
const RING = 100;

/** The exact text of an event the stream must carry; an entry's timestamp is taken from `event` once it is valid. */
function expectedRaw(want: ExpectedEvent, event: SseEvent): string | undefined {
  if ('seq' in want) {
    const timestamp = (JSON.parse(event.data) as { timestamp?: unknown }).timestamp;
    if (typeof timestamp !== 'string' || !ISO_UTC.test(timestamp) || Number.isNaN(Date.parse(timestamp))) return undefined;
    const data = JSON.stringify({ seq: want.seq, timestamp, level: want.level ?? 'INFO', message: want.message });
    return `id: ${want.seq}\ndata: ${data}\n\n`;
  }
  if ('gap' in want) return `id: ${want.through}\nevent: gap\ndata: {"missed":${want.gap}}\n\n`;
  if ('progress' in want) return `event: progress\ndata: ${JSON.stringify({ percent: want.progress, message: want.message })}\n\n`;
  return `event: done\ndata: ${JSON.stringify({ status: want.done })}\n\n`;
}

/**
 * What expectEvents asserts (the exact events in order, each with its exact framing and
 * nothing more), at the speed a stream of 100,000 entries needs: compared as text, and only
 * a mismatch goes through expectEvents, for its readable account of where the lists differ.
 */
function expectEventsQuickly(events: readonly SseEvent[], expected: readonly ExpectedEvent[], what: string): void {
  let at = events.length === expected.length ? -1 : Math.min(events.length, expected.length);
  for (let i = 0; i < expected.length && at === -1; i++) {
    const event = events[i]!;
    let raw: string | undefined;
    try {
      raw = expectedRaw(expected[i]!, event);
    } catch {
      raw = undefined; // data that is not JSON
    }
    if (raw !== event.raw) at = i;
  }
  if (at === -1) return;
  expectEvents(events, expected, what);
  expect.fail(`event ${at + 1} of ${what} differs from what was expected: ${JSON.stringify(events[at]?.raw)}`);
}

function gapsIn(events: readonly SseEvent[]): number {
  return events.filter((event) => event.event === 'gap').length;
}

/** What the log keeps, beyond the ring, and for how many readers. */
function held(execution: Execution): { heldEntries: number; heldBytes: number; holders: number } {
  const { heldEntries, heldBytes, holders } = execution.logs;
  return { heldEntries, heldBytes, holders };
}

/** The most the log kept past the ring after any append from now on. */
function peakHeld(execution: Execution): () => number {
  let peak = 0;
  execution.logs.on('appended', () => {
    peak = Math.max(peak, execution.logs.heldBytes);
  });
  return () => peak;
}

/** Polls `check` for state that no event announces outside the server (a socket's close reaching it, its stall timer). */
async function eventually(check: () => boolean, what: string, withinMs: number): Promise<void> {
  const deadline = Date.now() + withinMs;
  while (!check()) {
    if (Date.now() > deadline) expect.fail(`${what} did not happen within ${withinMs} ms`);
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}

/**
 * One slot in the pool: an execution waits in the queue behind a blocker until the test has
 * subscribed and cancels the blocker, so every stream starts before the first entry.
 */
function queuedServer(overrides: Readonly<Record<string, string>>): ServerFixture {
  return useServer({ CHARIOT_THREADS: '1', CHARIOT_TASKS_PER_THREAD: '1', ...overrides });
}

/** Submits a blocker, then `program` (queued behind it); `release()` cancels the blocker. */
async function queueBehindBlocker(alice: Client, program: string): Promise<{ id: string; release(): Promise<void> }> {
  const blocker = await submit(alice, 'await sleep(60000)');
  const id = await submit(alice, program);
  return {
    id,
    async release() {
      await expectUnfinishedWith(alice, id, 0, 'the script still queued when the subscribers are in');
      const res = await alice.json('POST', `/api/execution/${blocker}/cancel`);
      expect(res.status, `cancel the blocker: ${res.text}`).to.equal(202);
    },
  };
}

/**
 * A stalled subscriber's stream once it has read on after the end: what it got before its
 * socket pushed back (entries, and gaps if it was released and drained on the way), one gap
 * over everything evicted while it was stalled, the ring, and done.
 */
function expectStalledStream(stream: SseStream, sent: number, last: number, message: (seq: number) => string): void {
  const head = stream.events.slice(0, Math.max(0, stream.events.length - (1 + RING + 1)));
  expectEventsQuickly(
    stream.events,
    [...entriesOrGaps(head, 1, sent, message), { gap: last - RING - sent, through: last - RING }, ...entries(last - RING + 1, last, message), { done: 'completed' }],
    'the stalled subscriber',
  );
  expectBody(stream, RETRY_MS);
}

for (const [lines, ring] of [
  [5000, undefined],
  [100_000, RING],
] as const) {
  describe(`GET /api/logs/:execId to two subscribers that keep up with a burst of ${lines} lines (ring of ${ring ?? 'default 1000'} entries)`, () => {
    const server = queuedServer(ring === undefined ? {} : { CHARIOT_LOG_BUFFER: String(ring) });

    it(`both get entries 1..${lines} in order with no gap, then done; the log keeps at most the lag budget past the ring meanwhile and nothing afterwards`, async () => {
      const alice = await server.login('alice');
      const message = (seq: number): string => `line ${seq}`;
      const { id, release } = await queueBehindBlocker(alice, `for (let i = 1; i <= ${lines}; i++) logPrint("line " + i); "burst"`);
      const streams = [await alice.sse(`/api/logs/${id}`), await alice.sse(`/api/logs/${id}`)];
      const execution = await server.manager.get(id, 'alice');
      const peak = peakHeld(execution);
      await release();
      const lists = await Promise.all(streams.map((stream) => stream.untilDone()));
      expect(lists.map(gapsIn), 'gaps').to.eql([0, 0]);
      const whole: ExpectedEvent[] = [...entries(1, lines, message), { done: 'completed' }];
      lists.forEach((events, i) => expectEventsQuickly(events, whole, `subscriber ${i + 1}`));
      for (const stream of streams) expectBody(stream, RETRY_MS);
      expect(peak(), 'the most kept past the ring').to.be.at.most(execution.logs.lagBudget);
      expect(execution.logs.size, 'the ring').to.equal(ring ?? 1000);
      expect(held(execution), 'kept past the ring once both streams ended').to.eql({ heldEntries: 0, heldBytes: 0, holders: 0 });
      expect(subscribersOf(execution), 'subscribers after done').to.eql([]);
    });
  });
}

describe(`GET /api/logs/:execId with a stalled subscriber beside one that keeps up (ring of ${RING}, lag budget 8mb)`, () => {
  const server = queuedServer({ CHARIOT_LOG_BUFFER: String(RING), CHARIOT_SSE_LAG_BUDGET: '8mb', CHARIOT_LOG_BYTE_CAP: '64mb' });

  it('the stalled one is released past the budget and gets exact gaps, the ring and done; the other gets every entry; the script ends while the first is stalled; the log never keeps more than the budget past the ring', async () => {
    const alice = await server.login('alice');
    const LAST = 20_000;
    const PAD = 'p'.repeat(1000);
    const message = (seq: number): string => `${seq} ${PAD}`;
    // 20 MB of events, 48 MB as the lag budget counts entries. The paused socket takes a few MB
    // before TCP pushes back, then falls 8 MB behind long before the end. The script waits 2 ms
    // after every 25th entry (61 KB as counted), so a reader that keeps up stays far within
    // the budget even when the machine is busy.
    const { id, release } = await queueBehindBlocker(
      alice,
      `const pad = "p".repeat(1000);
       for (let i = 1; i <= ${LAST}; i++) { logPrint(i + " " + pad); if (i % 25 === 0) await sleep(2); }
       "flooded"`,
    );
    const stalled = await alice.sse(`/api/logs/${id}`);
    stalled.pause();
    const keepingUp = await alice.sse(`/api/logs/${id}`);
    const execution = await server.manager.get(id, 'alice');
    const peak = peakHeld(execution);
    await release();
    expect(await execution.whenFinished(), 'the script ends while a subscriber is stalled').to.equal('completed');
    const result = await getResult(alice, id);
    expect({ status: result.status, result: (result.body as { result?: unknown }).result }).to.eql({
      status: 200,
      result: { value: 'flooded', type: 'string' },
    });
    const events = await keepingUp.untilDone();
    expect(gapsIn(events), 'gaps sent to the subscriber that keeps up').to.equal(0);
    expectEventsQuickly(events, [...entries(1, LAST, message), { done: 'completed' }], 'the subscriber that keeps up');
    expectBody(keepingUp, RETRY_MS);

    // The stalled subscriber is the only one left: released, still waiting for its socket, and
    // the log keeps nothing for it past the ring.
    const [subscriber, ...others] = subscribersOf(execution) as SubscriberStats[];
    expect(others, 'other subscribers').to.eql([]);
    expect({ blocked: subscriber!.blocked, holding: subscriber!.holding }).to.eql({ blocked: true, holding: false });
    expect(held(execution), 'kept past the ring').to.eql({ heldEntries: 0, heldBytes: 0, holders: 0 });
    expect(peak(), 'the most kept past the ring').to.be.within(1, 8 * 1024 * 1024);
    const sent = subscriber!.cursor;
    expect(sent, 'entries sent before the socket pushed back').to.be.within(1, LAST - RING - 1);

    stalled.resume();
    await stalled.untilDone();
    expect(gapsIn(stalled.events), 'gaps sent to the stalled subscriber').to.be.at.least(1);
    expectStalledStream(stalled, sent, LAST, message);
    expect(subscribersOf(execution), 'subscribers after done').to.eql([]);
  });
});

describe(`GET /api/logs/:execId with a paused subscriber within the lag budget (ring of ${RING}, default budget)`, () => {
  const server = queuedServer({ CHARIOT_LOG_BUFFER: String(RING) });
  const LAST = 16_000;
  const PAD = 'q'.repeat(1000);
  const message = (seq: number): string => `${seq} ${PAD}`;
  // 16 MB of events, at most 39 MB as the lag budget (64 MiB) counts them: more than the
  // sockets take, so the paused subscriber falls behind the ring, but within the budget.
  const PROGRAM = `const pad = "q".repeat(1000); for (let i = 1; i <= ${LAST}; i++) logPrint(i + " " + pad); "burst"`;

  /** A finished burst and one paused subscriber that the log keeps the rest of it for. */
  async function pausedThroughBurst(): Promise<{ execution: Execution; stream: SseStream; subscriber: SubscriberStats }> {
    const alice = await server.login('alice');
    const { id, release } = await queueBehindBlocker(alice, PROGRAM);
    const stream = await alice.sse(`/api/logs/${id}`);
    stream.pause();
    await release();
    const execution = await server.manager.get(id, 'alice');
    expect(await execution.whenFinished(), 'the script ends while its subscriber is paused').to.equal('completed');
    const [subscriber] = subscribersOf(execution) as SubscriberStats[];
    // The last batches and the end can reach the server in one turn, before the subscriber
    // is woken to send them: it pushes back once it has.
    await eventually(() => subscriber!.blocked, 'the socket pushing back', 2000);
    expect(subscriber!.holding, 'the paused subscriber holds').to.equal(true);
    expect(held(execution).heldEntries, 'kept for it past the ring').to.equal(LAST - RING - subscriber!.cursor);
    expect(held(execution).heldBytes, 'what that counts as').to.be.within(1, execution.logs.lagBudget);
    return { execution, stream, subscriber: subscriber! };
  }

  it('a subscriber that goes away frees what the log kept for it', async () => {
    const { execution, stream } = await pausedThroughBurst();
    stream.close();
    await eventually(() => subscribersOf(execution).length === 0, 'the server seeing the close', 2000);
    expect(held(execution), 'kept past the ring').to.eql({ heldEntries: 0, heldBytes: 0, holders: 0 });
    expect(execution.logs.listenerCount('appended'), 'listeners').to.equal(0);
  });

  it(`a subscriber whose socket takes no data for ${STALL_MS} ms is released (the log frees what it kept), and reading on gets the exact gap, the ring and done`, async () => {
    const { execution, stream, subscriber } = await pausedThroughBurst();
    await eventually(() => !subscriber.holding, 'the release', STALL_MS + 2000);
    expect(held(execution), 'kept past the ring').to.eql({ heldEntries: 0, heldBytes: 0, holders: 0 });
    expect(subscriber.blocked, 'still waiting for its socket').to.equal(true);
    const sent = subscriber.cursor;
    stream.resume();
    await stream.untilDone();
    expectStalledStream(stream, sent, LAST, message);
  });
});
