// What GET /api/logs/:execId sends besides the entries themselves: `?level=` filtering,
// `event: progress` in its place among the entries, `: ping` comments while a script is quiet,
// and `retry:` once at the start.
import { expect } from 'chai';
import type { Client } from './helpers/client.js';
import { expectError } from './helpers/expectations.js';
import { expectUnfinishedWith, openToEnd, submit } from './helpers/executions.js';
import { useServer } from './helpers/server.js';
import { expectBody, expectEvents, type ExpectedEvent } from './helpers/streams.js';

const RETRY_MS = 2000;

describe('GET /api/logs/:execId?level=', () => {
  const server = useServer();
  const PROGRAM = `console.debug("d1"); console.info("i1"); console.warn("w1"); console.error("e1");
    logPrint("i2"); console.debug("d2"); console.error("e2"); console.log("i3"); console.warn("w2"); "levels"`;
  const ALL: ExpectedEvent[] = [
    { seq: 1, level: 'DEBUG', message: 'd1' },
    { seq: 2, level: 'INFO', message: 'i1' },
    { seq: 3, level: 'WARN', message: 'w1' },
    { seq: 4, level: 'ERROR', message: 'e1' },
    { seq: 5, level: 'INFO', message: 'i2' },
    { seq: 6, level: 'DEBUG', message: 'd2' },
    { seq: 7, level: 'ERROR', message: 'e2' },
    { seq: 8, level: 'INFO', message: 'i3' },
    { seq: 9, level: 'WARN', message: 'w2' },
  ];
  const RANK = { DEBUG: 0, INFO: 1, WARN: 2, ERROR: 3 } as const;
  const atOrAbove = (level: keyof typeof RANK): ExpectedEvent[] =>
    ALL.filter((event) => 'level' in event && RANK[event.level!] >= RANK[level]);
  let alice: Client;
  let id = '';

  before(async () => {
    alice = await server.login('alice');
    id = await submit(alice, PROGRAM);
    await (await server.manager.get(id, 'alice')).whenFinished();
  });

  for (const level of ['DEBUG', 'INFO', 'WARN', 'ERROR'] as const) {
    it(`?level=${level.toLowerCase()} sends the entries at ${level} or above, with their own ids, then done`, async () => {
      const stream = await openToEnd(alice, `/api/logs/${id}?level=${level.toLowerCase()}`);
      expectEvents(stream.events, [...atOrAbove(level), { done: 'completed' }]);
      expectBody(stream, RETRY_MS);
    });
  }

  it('takes the level in any case, and sends everything without it', async () => {
    expectEvents((await openToEnd(alice, `/api/logs/${id}?level=WARN`)).events, [...atOrAbove('WARN'), { done: 'completed' }]);
    expectEvents((await openToEnd(alice, `/api/logs/${id}?level=Error`)).events, [...atOrAbove('ERROR'), { done: 'completed' }]);
    expectEvents((await openToEnd(alice, `/api/logs/${id}`)).events, [...ALL, { done: 'completed' }]);
  });

  it('resumes a filtered stream after the id of the last entry it sent', async () => {
    const stream = await openToEnd(alice, `/api/logs/${id}?level=error`, { 'last-event-id': '4' });
    expectEvents(stream.events, [{ seq: 7, level: 'ERROR', message: 'e2' }, { done: 'completed' }]);
  });

  it('treats an empty ?level= as absent', async () => {
    expectEvents((await openToEnd(alice, `/api/logs/${id}?level=`)).events, [...ALL, { done: 'completed' }]);
  });

  for (const bad of ['fatal', 'warning', 'warn,error', '2']) {
    it(`answers 400 for ?level=${bad}`, async () => {
      const res = await alice.json('GET', `/api/logs/${id}?level=${bad}`);
      expectError(res, 400, 'level must be one of debug, info, warn, error', 'BAD_REQUEST');
    });
  }
});

describe('GET /api/logs/:execId: event: progress', () => {
  const server = useServer();
  let alice: Client;

  before(async () => {
    alice = await server.login('alice');
  });

  it('sends each progress report in order with the entries, live', async () => {
    // The script waits 300 ms before its first entry: the window in which the test subscribes.
    // Reports 20 ms apart: the worker posts at most one every 10 ms, the latest (progress.test.ts).
    const id = await submit(alice, `await sleep(300);
      logPrint("start"); progress(10, "ten"); await sleep(20); logPrint("a"); progress(50, "half"); await sleep(20); progress(60);
      logPrint("b"); await sleep(20); progress(100, { done: true }); logPrint("end"); "ok"`);
    const live = await alice.sse(`/api/logs/${id}`);
    await expectUnfinishedWith(alice, id, 0, 'no entry yet when the subscriber is in');
    await live.untilDone();
    expectEvents(live.events, [
      { seq: 1, message: 'start' },
      { progress: 10, message: 'ten' },
      { seq: 2, message: 'a' },
      { progress: 50, message: 'half' },
      { progress: 60, message: '' },
      { seq: 3, message: 'b' },
      { progress: 100, message: '{"done":true}' },
      { seq: 4, message: 'end' },
      { done: 'completed' },
    ]);
    expectBody(live, RETRY_MS);
    // A subscriber after the end replays the latest progress in its place.
    const late = await openToEnd(alice, `/api/logs/${id}`);
    expectEvents(late.events, [
      { seq: 1, message: 'start' },
      { seq: 2, message: 'a' },
      { seq: 3, message: 'b' },
      { progress: 100, message: '{"done":true}' },
      { seq: 4, message: 'end' },
      { done: 'completed' },
    ]);
    // Resumed after the end: the progress only when it came after the entry resumed from.
    const afterThree = await openToEnd(alice, `/api/logs/${id}`, { 'Last-Event-ID': '3' });
    expectEvents(afterThree.events, [{ progress: 100, message: '{"done":true}' }, { seq: 4, message: 'end' }, { done: 'completed' }]);
    const afterFour = await openToEnd(alice, `/api/logs/${id}`, { 'Last-Event-ID': '4' });
    expectEvents(afterFour.events, [{ done: 'completed' }]);
  });

  it('gives a subscriber who comes in while the script runs the latest progress in its place, and a resumed one only if it came after the id', async () => {
    // The script sleeps before its first entry, so that the watcher is in for all of it, and
    // after its second entry: the window in which the other three subscribe.
    const id = await submit(alice, `await sleep(300); logPrint("a"); progress(20, "early"); await sleep(20); progress(30, "latest"); logPrint("b");
      await sleep(500); logPrint("c"); "ok"`);
    const watcher = await alice.sse(`/api/logs/${id}`);
    await expectUnfinishedWith(alice, id, 0, 'no entry yet when the watcher is in');
    await watcher.eventWhere((event) => event.id === '2', 'entry 2');
    const [fresh, afterA, afterB] = await Promise.all([
      alice.sse(`/api/logs/${id}`),
      alice.sse(`/api/logs/${id}`, { 'last-event-id': '1' }),
      alice.sse(`/api/logs/${id}?lastEventId=2`),
    ]);
    await expectUnfinishedWith(alice, id, 2, 'asleep after two entries when the three subscribers are in');
    const a = { seq: 1, message: 'a' };
    const latest = { progress: 30, message: 'latest' };
    const b = { seq: 2, message: 'b' };
    const c = { seq: 3, message: 'c' };
    const done = { done: 'completed' };
    expectEvents(await watcher.untilDone(), [a, { progress: 20, message: 'early' }, latest, b, c, done], 'the live subscriber');
    expectEvents(await fresh!.untilDone(), [a, latest, b, c, done], 'a new subscriber');
    expectEvents(await afterA!.untilDone(), [latest, b, c, done], 'a subscriber resuming after entry 1');
    expectEvents(await afterB!.untilDone(), [c, done], 'a subscriber resuming after entry 2');
  });
});

describe('GET /api/logs/:execId: `: ping` comments (CHARIOT_SSE_PING_MS=50)', () => {
  const server = useServer({ CHARIOT_SSE_PING_MS: '50', CHARIOT_SSE_RETRY_MS: '750' });

  it('sends pings while the script sleeps, as comment blocks between the events, and retry once, first', async () => {
    const alice = await server.login('alice');
    // 600 ms of silence is twelve ping intervals.
    const id = await submit(alice, 'logPrint("before"); await sleep(600); logPrint("after"); 2');
    const stream = await openToEnd(alice, `/api/logs/${id}`);
    expectEvents(stream.events, [{ seq: 1, message: 'before' }, { seq: 2, message: 'after' }, { done: 'completed' }]);
    expectBody(stream, 750, { pings: true });
    const duringSleep = stream.comments.filter((comment) => comment.afterEvents === 1);
    expect(duringSleep.length, 'pings between "before" and "after"').to.be.at.least(1);
    expect(stream.rawText.match(/^retry:/gm), 'retry lines').to.eql(['retry:']);
  });
});
