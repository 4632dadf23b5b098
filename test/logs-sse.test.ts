// GET /api/logs/:execId: the Server-Sent Events stream of one execution's log, checked byte
// by byte: headers, framing, order, ids, replay for late subscribers, and the final `done`.
import { expect } from 'chai';
import { randomUUID } from 'node:crypto';
import type { Client, Json } from './helpers/client.js';
import { asObject, expectKeys, expectLogEntries, type Level } from './helpers/expectations.js';
import { getResult, streamToEnd, submit } from './helpers/executions.js';
import { useServer } from './helpers/server.js';
import type { SseStream } from './helpers/sse.js';
import { expectBody, expectEntriesThenDone, summary } from './helpers/streams.js';

const LINES = 5000;

interface Expected {
  readonly level?: Level;
  readonly message: string;
}

/** The whole body is the `retry:` line, then exactly the events' blocks, nothing else. */
function expectNothingButEvents(stream: SseStream): void {
  expectBody(stream, 2000);
}

describe('GET /api/logs/:execId (Server-Sent Events)', () => {
  const server = useServer({ CHARIOT_LOG_BUFFER: '10000' });
  let alice: Client;

  before(async () => {
    alice = await server.login('alice');
  });

  it('answers with exactly the SSE headers: text/event-stream, no-cache, keep-alive, X-Accel-Buffering: no', async () => {
    const id = await submit(alice, '1');
    const stream = await alice.sse(`/api/logs/${id}`);
    expect(stream.status).to.equal(200);
    expect({
      'content-type': stream.headers['content-type'],
      'cache-control': stream.headers['cache-control'],
      connection: stream.headers.connection,
      'x-accel-buffering': stream.headers['x-accel-buffering'],
    }).to.eql({
      'content-type': 'text/event-stream',
      'cache-control': 'no-cache',
      connection: 'keep-alive',
      'x-accel-buffering': 'no',
    });
    await stream.untilDone();
  });

  it('runs the design document\'s curl flow: login, execute-async, stream, result', async () => {
    const client = server.anonymous();
    expect((await client.login('alice', 'alice-pw')).status).to.equal(200);
    const id = await submit(client, 'logPrint("Test"); 1+2');
    const stream = await client.sse(`/api/logs/${id}`);
    expect(stream.status).to.equal(200);
    const events = await stream.untilDone();
    expectEntriesThenDone(events, [{ message: 'Test' }], 'completed');
    expectNothingButEvents(stream);
    expect(stream.comments).to.eql([]);
    const result = await getResult(client, id);
    expect(result.status, result.text).to.equal(200);
    const body = asObject(result.body);
    expect({ execution_id: body.execution_id, status: body.status, result: body.result }).to.eql({
      execution_id: id,
      status: 'completed',
      result: { value: 3, type: 'number' },
    });
    expectLogEntries(body.logs, [{ level: 'INFO', message: 'Test' }]);
    // The entry in the result is the very entry that was streamed.
    expect(asObject((body.logs as Json[])[0])).to.eql(JSON.parse(events[0]!.data) as Json);
  });

  it('sends every entry exactly once, in order, to subscribers that came before the first entry, during the run and after the end', async () => {
    const id = await submit(
      alice,
      'await sleep(500); logPrint("one"); logPrint("two"); await sleep(500); logPrint("three"); console.warn("four"); 4',
    );
    const early = await alice.sse(`/api/logs/${id}`);
    // The script logs nothing for its first 500 ms: this subscriber is in before any entry.
    const atEarly = asObject((await getResult(alice, id)).body);
    expect(atEarly.logs, 'entries when the early subscriber was in').to.eql([]);

    await early.nthEvent(2); // "one" and "two" are out; the script sleeps 500 ms more
    const during = await alice.sse(`/api/logs/${id}`);
    const atDuring = await getResult(alice, id);
    expect(atDuring.status, 'the script still runs when the second subscriber is in').to.equal(202);

    const earlyEvents = await early.untilDone();
    const duringEvents = await during.untilDone();
    const late = await alice.sse(`/api/logs/${id}`);
    const lateEvents = await late.untilDone();

    const entries: Expected[] = [{ message: 'one' }, { message: 'two' }, { message: 'three' }, { level: 'WARN', message: 'four' }];
    expectEntriesThenDone(earlyEvents, entries, 'completed');
    expectEntriesThenDone(duringEvents, entries, 'completed');
    expectEntriesThenDone(lateEvents, entries, 'completed');
    expect(summary(duringEvents)).to.eql(summary(earlyEvents));
    expect(summary(lateEvents)).to.eql(summary(earlyEvents));
    for (const stream of [early, during, late]) expectNothingButEvents(stream);
  });

  it('ends the stream of a failed script with done {"status":"error"}', async () => {
    const id = await submit(alice, 'logPrint("about to fail"); throw new Error("bad")');
    const events = await streamToEnd(alice, id);
    expectEntriesThenDone(events, [{ message: 'about to fail' }], 'error');
  });

  it('ends the stream of a script without any entry with only done', async () => {
    const id = await submit(alice, '"quiet"');
    expectEntriesThenDone(await streamToEnd(alice, id), [], 'completed');
  });

  it('ends the stream of a cancelled script with done {"status":"cancelled"}', async () => {
    const id = await submit(alice, 'logPrint("waiting"); await sleep(30000); 1');
    const stream = await alice.sse(`/api/logs/${id}`);
    await stream.nthEvent(1);
    const cancel = await alice.json('POST', `/api/execution/${id}/cancel`);
    expect(cancel.status, cancel.text).to.equal(202);
    expectEntriesThenDone(await stream.untilDone(), [{ message: 'waiting' }], 'cancelled');
  });

  it(`delivers ${LINES} entries logged in one burst, all in order with seq 1..${LINES}, live and on replay`, async () => {
    const id = await submit(alice, `for (let i = 0; i < ${LINES}; i++) logPrint("line " + i); "logged"`);
    const live = await alice.sse(`/api/logs/${id}`);
    const events = await live.untilDone();
    const entries = Array.from({ length: LINES }, (_, i) => ({ message: `line ${i}` }));
    expectEntriesThenDone(events, entries, 'completed');
    expectNothingButEvents(live);
    const replay = await alice.sse(`/api/logs/${id}`);
    expect(summary(await replay.untilDone())).to.eql(summary(events));
  });

  it('gives two subscribers of one execution identical event lists', async () => {
    const id = await submit(alice, 'for (let i = 0; i < 30; i++) { logPrint("tick " + i); if (i % 5 === 4) await sleep(20); } "ok"');
    const [first, second] = await Promise.all([alice.sse(`/api/logs/${id}`), alice.sse(`/api/logs/${id}`)]);
    const [a, b] = await Promise.all([first!.untilDone(), second!.untilDone()]);
    expectEntriesThenDone(a, Array.from({ length: 30 }, (_, i) => ({ message: `tick ${i}` })), 'completed');
    expect(summary(b)).to.eql(summary(a));
  });

  it('keeps streaming to the other subscribers when one hangs up, and the script runs on', async () => {
    const id = await submit(alice, 'logPrint("a"); await sleep(300); logPrint("b"); await sleep(300); logPrint("c"); 3');
    const leaver = await alice.sse(`/api/logs/${id}`);
    const stayer = await alice.sse(`/api/logs/${id}`);
    await leaver.nthEvent(1);
    leaver.close();
    expectEntriesThenDone(await stayer.untilDone(), [{ message: 'a' }, { message: 'b' }, { message: 'c' }], 'completed');
    const result = await getResult(alice, id);
    expect(result.status).to.equal(200);
    expect(asObject(result.body).result).to.eql({ value: 3, type: 'number' });
  });

  describe('answers 404 {"error":"Execution not found"} as JSON, before any stream, for', () => {
    for (const [what, id] of [
      ['an unknown uuid', randomUUID()],
      ['a malformed id', 'not-a-uuid'],
    ] as const) {
      it(what, async () => {
        const stream = await alice.sse(`/api/logs/${id}`);
        expect(stream.status).to.equal(404);
        expect(stream.headers['content-type']).to.match(/^application\/json; charset=utf-8$/i);
        const body = asObject(JSON.parse(await stream.text()) as Json);
        expectKeys(body, ['error'], ['code']);
        expect(body.error).to.equal('Execution not found');
        expect(stream.events).to.eql([]);
      });
    }
  });
});

describe('GET /api/logs/:execId of a queued execution', () => {
  // One slot in the whole pool: a second execution waits in the queue behind the first.
  const server = useServer({ CHARIOT_THREADS: '1', CHARIOT_TASKS_PER_THREAD: '1' });

  it('misses nothing when the subscriber is in before the execution starts', async () => {
    const alice = await server.login('alice');
    const blocker = await submit(alice, 'await sleep(400); "blocker"');
    const id = await submit(alice, 'logPrint("first"); await sleep(10); logPrint("second"); 2');
    const stream = await alice.sse(`/api/logs/${id}`);
    const queued = await getResult(alice, id);
    expect(queued.status, queued.text).to.equal(202);
    expect(asObject(queued.body)).to.deep.include({ status: 'queued', logs: [], started_at: null });
    const events = await stream.untilDone();
    expectEntriesThenDone(events, [{ message: 'first' }, { message: 'second' }], 'completed');
    expectNothingButEvents(stream);
    expect(asObject((await getResult(alice, blocker)).body).status).to.equal('completed');
  });
});
