// GET /api/logs/:execId resumed with Last-Event-ID or ?lastEventId=: the stream continues after
// that entry, never repeating one and never leaving a hole it does not announce with a gap.
import { expect } from 'chai';
import type { Client } from './helpers/client.js';
import { expectError, type Level } from './helpers/expectations.js';
import { expectUnfinishedWith, openToEnd, submit } from './helpers/executions.js';
import { useServer } from './helpers/server.js';
import type { SseStream } from './helpers/sse.js';
import { entries, expectBody, expectEvents, summary, type ExpectedEvent } from './helpers/streams.js';

const RETRY_MS = 2000;

/** The stream at `path`, read to its end; its body is the retry line and its events, nothing else. */
async function resumed(client: Client, path: string, headers: Readonly<Record<string, string>> = {}): Promise<SseStream> {
  const stream = await openToEnd(client, path, headers);
  expectBody(stream, RETRY_MS);
  return stream;
}

describe('GET /api/logs/:execId resumed from an id, with a ring of 10 entries', () => {
  const server = useServer({ CHARIOT_LOG_BUFFER: '10' });
  const LAST = 25;
  // Every fifth entry is an ERROR, the others INFO: the ring keeps entries 16..25.
  const PROGRAM = `for (let i = 1; i <= ${LAST}; i++) (i % 5 === 0 ? console.error : logPrint)("entry " + i); "logged"`;
  const level = (seq: number): Level => (seq % 5 === 0 ? 'ERROR' : 'INFO');
  const range = (from: number, to: number): ExpectedEvent[] => entries(from, to, (seq) => `entry ${seq}`, level);
  const done: ExpectedEvent = { done: 'completed' };
  let alice: Client;
  let id = '';

  before(async () => {
    alice = await server.login('alice');
    id = await submit(alice, PROGRAM);
    expect(await (await server.manager.get(id, 'alice')).whenFinished()).to.equal('completed');
    const { logs } = await server.manager.get(id, 'alice');
    expect({ firstSeq: logs.firstSeq, lastSeq: logs.lastSeq }, 'the ring').to.eql({ firstSeq: 16, lastSeq: LAST });
  });

  it('from the middle of the ring: the entries after the id, then done; the header and the query give the same stream', async () => {
    const byHeader = await resumed(alice, `/api/logs/${id}`, { 'last-event-id': '20' });
    expectEvents(byHeader.events, [...range(21, 25), done]);
    const byQuery = await resumed(alice, `/api/logs/${id}?lastEventId=20`);
    expect(summary(byQuery.events)).to.eql(summary(byHeader.events));
  });

  it('from the last entry: only done', async () => {
    expectEvents((await resumed(alice, `/api/logs/${id}`, { 'last-event-id': String(LAST) })).events, [done]);
    expectEvents((await resumed(alice, `/api/logs/${id}?lastEventId=${LAST}`)).events, [done]);
  });

  it("from before the ring's start: a gap counting exactly the evicted entries after the id, then the whole ring", async () => {
    const byHeader = await resumed(alice, `/api/logs/${id}`, { 'last-event-id': '3' });
    expectEvents(byHeader.events, [{ gap: 12, through: 15 }, ...range(16, 25), done]);
    const byQuery = await resumed(alice, `/api/logs/${id}?lastEventId=3`);
    expect(summary(byQuery.events)).to.eql(summary(byHeader.events));
    const fresh = await resumed(alice, `/api/logs/${id}`);
    expectEvents(fresh.events, [{ gap: 15, through: 15 }, ...range(16, 25), done]);
  });

  it("from a gap's id: the entries after the gap, without the gap again", async () => {
    expectEvents((await resumed(alice, `/api/logs/${id}`, { 'last-event-id': '15' })).events, [...range(16, 25), done]);
  });

  it('from an id beyond the last entry of a finished execution: only done', async () => {
    expectEvents((await resumed(alice, `/api/logs/${id}`, { 'last-event-id': '1000' })).events, [done]);
    expectEvents((await resumed(alice, `/api/logs/${id}?lastEventId=${Number.MAX_SAFE_INTEGER}`)).events, [done]);
  });

  it('with both the header and the query: the header wins', async () => {
    const both = await resumed(alice, `/api/logs/${id}?lastEventId=18`, { 'last-event-id': '22' });
    expectEvents(both.events, [...range(23, 25), done]);
  });

  it('treats an empty Last-Event-ID or lastEventId as absent', async () => {
    const whole = [{ gap: 15, through: 15 }, ...range(16, 25), done];
    expectEvents((await resumed(alice, `/api/logs/${id}`, { 'last-event-id': '' })).events, whole);
    expectEvents((await resumed(alice, `/api/logs/${id}?lastEventId=`)).events, whole);
    // An empty header does not hide the query.
    expectEvents((await resumed(alice, `/api/logs/${id}?lastEventId=22`, { 'last-event-id': '' })).events, [...range(23, 25), done]);
  });

  it('with ?level=: the gap counts every evicted entry whatever its level, then the retained entries at that level', async () => {
    const stream = await resumed(alice, `/api/logs/${id}?level=error&lastEventId=12`);
    expectEvents(stream.events, [{ gap: 3, through: 15 }, ...range(20, 20), ...range(25, 25), done]);
  });

  describe('answers 400 as JSON, before any stream, for an id that is not a whole number from 0 to 2^53-1:', () => {
    const HEADER = 'Last-Event-ID must be a whole number from 0 to 9007199254740991';
    const QUERY = 'lastEventId must be a whole number from 0 to 9007199254740991';
    for (const value of ['abc', '-1', '1.5', '1e3', '0x10', '9007199254740992']) {
      it(`Last-Event-ID: ${value}`, async () => {
        const res = await alice.json('GET', `/api/logs/${id}`, undefined, { 'last-event-id': value });
        expectError(res, 400, HEADER, 'BAD_REQUEST');
      });
      it(`?lastEventId=${value}`, async () => {
        const res = await alice.json('GET', `/api/logs/${id}?lastEventId=${encodeURIComponent(value)}`);
        expectError(res, 400, QUERY, 'BAD_REQUEST');
      });
    }
    it('?lastEventId given twice', async () => {
      expectError(await alice.json('GET', `/api/logs/${id}?lastEventId=1&lastEventId=2`), 400, QUERY, 'BAD_REQUEST');
    });
    it('a bad Last-Event-ID even beside a good ?lastEventId=', async () => {
      const res = await alice.json('GET', `/api/logs/${id}?lastEventId=3`, undefined, { 'last-event-id': 'x' });
      expectError(res, 400, HEADER, 'BAD_REQUEST');
    });
  });
});

describe('GET /api/logs/:execId resumed while the script runs', () => {
  const server = useServer();
  let alice: Client;

  before(async () => {
    alice = await server.login('alice');
  });

  it('a client that hangs up and reconnects with the last id it saw gets every later entry exactly once', async () => {
    const id = await submit(alice, 'for (let i = 1; i <= 30; i++) { logPrint("tick " + i); await sleep(10); } 30');
    const first = await alice.sse(`/api/logs/${id}`);
    await first.nthEvent(5);
    first.close();
    const seen = first.events.length;
    const lastId = first.events.at(-1)!.id!;
    expect(lastId, 'the id of the last event the first connection saw').to.equal(String(seen));
    const second = await resumed(alice, `/api/logs/${id}`, { 'last-event-id': lastId });
    const ticks = (from: number, to: number): ExpectedEvent[] => entries(from, to, (seq) => `tick ${seq}`);
    expectEvents(first.events, ticks(1, seen), 'the first connection');
    expectEvents(second.events, [...ticks(seen + 1, 30), { done: 'completed' }], 'the second connection');
  });

  it('from an id beyond the last entry: the entries still to come, none of them skipped', async () => {
    // The script sleeps between its two pairs of entries: the window in which the test subscribes.
    const id = await submit(alice, 'logPrint("one"); logPrint("two"); await sleep(500); logPrint("three"); logPrint("four"); 4');
    const watcher = await alice.sse(`/api/logs/${id}`);
    await watcher.nthEvent(2);
    const future = await alice.sse(`/api/logs/${id}`, { 'last-event-id': '1000' });
    expect(future.status).to.equal(200);
    // The subscription is made before the headers are sent: if the script is still asleep
    // now, the subscriber came in when entry 2 was the newest.
    await expectUnfinishedWith(alice, id, 2, 'still asleep after two entries');
    await future.untilDone();
    expectBody(future, RETRY_MS);
    expectEvents(future.events, [{ seq: 3, message: 'three' }, { seq: 4, message: 'four' }, { done: 'completed' }]);
    watcher.close();
  });
});
