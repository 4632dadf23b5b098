// GET /api/result/:execId: 202 while queued or running, 200 completed, 500 failed, 404 unknown;
// one page of the log per answer (?after=N&limit=M), with logs_missed, logs_next_after and
// logs_more in every status, a page ending at `limit` entries or at the entry that brings its
// message text to 1 MiB.
import { expect } from 'chai';
import type { Client, HttpResult, Json } from './helpers/client.js';
import { asArray, asObject, type ExpectedEntry, expectError, expectIsoTimestamp, expectJson, expectKeys, expectLogEntries, expectLogEntry, type JsonObject, redisModeFields } from './helpers/expectations.js';
import { expectWholeLog, getResult, PAGE_KEYS, runToEnd, streamToEnd, submit, type PageFields } from './helpers/executions.js';
import { useServer } from './helpers/server.js';
import type { SseEvent } from './helpers/sse.js';

/** Keys the result endpoint may add (API.md **ext**). */
const TIMING_KEYS = ['started_at', 'completed_at', 'duration_ms'];

/** The body of a result answer, with its fixed keys, the page keys and the ext timing keys checked. */
function resultBody(res: HttpResult, status: number, required: readonly string[]): JsonObject {
  expect(res.status, res.text).to.equal(status);
  expectJson(res);
  const body = asObject(res.body);
  expectKeys(body, [...required, ...PAGE_KEYS, ...TIMING_KEYS]);
  return body;
}

/** While an execution is unfinished, completed_at and duration_ms are null (docs/API.md). */
function expectUnfinishedTiming(body: JsonObject, running: boolean): void {
  if (running) expectIsoTimestamp(body.started_at, 'started_at');
  else if (body.started_at !== null) expectIsoTimestamp(body.started_at, 'started_at');
  expect(body.completed_at, 'completed_at').to.equal(null);
  expect(body.duration_ms, 'duration_ms').to.equal(null);
}

/** Once finished, the timing keys are ISO times in order and a matching duration. */
function expectFinishedTiming(body: JsonObject, atLeastMs = 0): void {
  expectIsoTimestamp(body.started_at, 'started_at');
  expectIsoTimestamp(body.completed_at, 'completed_at');
  const span = Date.parse(String(body.completed_at)) - Date.parse(String(body.started_at));
  expect(span, 'completed_at - started_at').to.be.at.least(0);
  expect(body.duration_ms, 'duration_ms').to.be.a('number');
  expect(body.duration_ms as number).to.be.at.least(atLeastMs);
  // Millisecond timestamps: the duration agrees with them to rounding.
  expect(body.duration_ms as number).to.be.within(span - 2, span + 2);
}

describe('GET /api/result/:execId', () => {
  const server = useServer();
  let alice: Client;

  before(async () => {
    alice = await server.login('alice');
  });

  it('answers 202 {"execution_id","status":"queued"|"running","logs"} right after submission', async () => {
    const id = await submit(alice, 'await sleep(1000); 1');
    // The script sleeps for 1 s: this request is answered long before it ends.
    const body = resultBody(await getResult(alice, id), 202, ['execution_id', 'status', 'logs']);
    expect(body.execution_id).to.equal(id);
    expect(body.status).to.be.oneOf(['queued', 'running']);
    expectLogEntries(body.logs, []);
    expectWholeLog(body, 0);
    expectUnfinishedTiming(body, body.status === 'running');
    await streamToEnd(alice, id);
  });

  it('answers 202 with status "running" and the entries logged so far while the script runs', async () => {
    const id = await submit(alice, 'logPrint("started"); await sleep(1000); logPrint("ended"); 3');
    const stream = await alice.sse(`/api/logs/${id}`);
    await stream.nthEvent(1); // the script has logged, and now sleeps for 1 s
    const body = resultBody(await getResult(alice, id), 202, ['execution_id', 'status', 'logs']);
    expect({ execution_id: body.execution_id, status: body.status }).to.eql({ execution_id: id, status: 'running' });
    expectLogEntries(body.logs, [{ level: 'INFO', message: 'started' }]);
    expectWholeLog(body, 1);
    expectUnfinishedTiming(body, true);
    await stream.untilDone();
  });

  it('answers 200 {"execution_id","status":"completed","result":{"value":3,"type":"number"},"logs"} once done', async () => {
    const { id, result } = await runToEnd(alice, 'logPrint("Test"); await sleep(200); 1+2');
    const body = resultBody(result, 200, ['execution_id', 'status', 'result', 'logs']);
    expect({ execution_id: body.execution_id, status: body.status, result: body.result }).to.eql({
      execution_id: id,
      status: 'completed',
      result: { value: 3, type: 'number' },
    });
    expectLogEntries(body.logs, [{ level: 'INFO', message: 'Test' }]);
    expectWholeLog(body, 1);
    expectFinishedTiming(body, 200);
  });

  it('answers 500 {"execution_id","status":"error","error":"ReferenceError: foo is not defined","logs"} for a failed script', async () => {
    const { id, result } = await runToEnd(alice, 'logPrint("x"); foo');
    const body = resultBody(result, 500, ['execution_id', 'status', 'error', 'logs']);
    expect({ execution_id: body.execution_id, status: body.status, error: body.error }).to.eql({
      execution_id: id,
      status: 'error',
      error: 'ReferenceError: foo is not defined',
    });
    expectLogEntries(body.logs, [{ level: 'INFO', message: 'x' }]);
    expectWholeLog(body, 1);
    expectFinishedTiming(body);
  });

  it('answers the same finished result every time it is asked', async () => {
    const { id, result } = await runToEnd(alice, '[1, 2]');
    const again = await getResult(alice, id);
    expect(again.status).to.equal(result.status);
    expect(again.body).to.eql(result.body);
  });

  describe('answers 404 {"error":"Execution not found"} (never 400 or 500) for', () => {
    const ids: ReadonlyArray<[string, string]> = [
      ['an unknown uuid v4', '3b241101-e2bb-4255-8caf-4136c566a962'],
      ['the nil uuid', '00000000-0000-0000-0000-000000000000'],
      ['a malformed id', 'not-a-uuid'],
      ['a path traversal', encodeURIComponent('../../etc')],
      ['an encoded NUL', '%00'],
      ['a malformed percent escape', '%E0%A4%A'],
      ['a very long id', 'a'.repeat(4000)],
    ];
    for (const [what, id] of ids) {
      it(`${what}: ${id.length > 40 ? id.slice(0, 20) + '…' : id}`, async () => {
        expectError(await getResult(alice, id), 404, 'Execution not found');
      });
    }
  });
});

describe('GET /api/result/:execId after the retention time', () => {
  const RETENTION_MS = 1000;
  const server = useServer({ CHARIOT_RETENTION_MS: String(RETENTION_MS) });

  it('keeps a finished execution readable for the retention time, then answers 404', async () => {
    const alice = await server.login('alice');
    const { id, result } = await runToEnd(alice, '"kept"');
    const doneAt = Date.now();
    expect(result.status, 'right after the end').to.equal(200);
    // Forgetting is driven by the server's clock, with nothing to wait on from outside: poll.
    let res: HttpResult = result;
    while (res.status === 200 && Date.now() - doneAt < RETENTION_MS * 10) {
      await new Promise((resolve) => setTimeout(resolve, 50));
      res = await getResult(alice, id);
    }
    const forgottenAfter = Date.now() - doneAt;
    expectError(res, 404, 'Execution not found');
    expect(forgottenAfter, 'ms until forgotten').to.be.at.least(RETENTION_MS - 100);
    const stream = await alice.sse(`/api/logs/${id}`);
    expect(stream.status, 'its log stream is gone too').to.equal(404);
    await stream.text();
  });

  it('never forgets an execution that is still running', async () => {
    const bob = await server.login('bob');
    const id = await submit(bob, 'logPrint("a"); await sleep(2500); logPrint("b"); 1');
    await streamToEnd(bob, id);
    const body = resultBody(await getResult(bob, id), 200, ['execution_id', 'status', 'result', 'logs']);
    expect(body.result).to.eql({ value: 1, type: 'number' });
    expectLogEntries(body.logs, [
      { level: 'INFO', message: 'a' },
      { level: 'INFO', message: 'b' },
    ]);
    expectWholeLog(body, 2);
  });
});

const MIB = 1024 * 1024;

/** GET /api/result/:id?query, as resultBody() checks it; `outcomeKey` is `result` or `error` once finished. */
async function resultPage(client: Client, id: string, query: string, status: number, outcomeKey?: 'result' | 'error'): Promise<JsonObject> {
  const outcome = outcomeKey === undefined ? [] : [outcomeKey];
  const res = await client.json('GET', `/api/result/${id}${query === '' ? '' : `?${query}`}`);
  return resultBody(res, status, ['execution_id', 'status', ...outcome, 'logs']);
}

/**
 * What a completed answer carries besides its log: its timing as it came, once checked
 * (a finished execution's timing does not change between reads).
 */
function completed(body: JsonObject, id: string, value: number): JsonObject {
  expectFinishedTiming(body);
  return {
    execution_id: id,
    status: 'completed',
    ...redisModeFields(body),
    result: { value, type: 'number' },
    started_at: body.started_at!,
    completed_at: body.completed_at!,
    duration_ms: body.duration_ms!,
  };
}

/** `whole` (an answer carrying every entry) as the page of `entries` with `fields`. */
function asPage(whole: JsonObject, entries: readonly Json[], fields: PageFields): JsonObject {
  return { ...whole, logs: [...entries], ...fields };
}

/** The entry objects of a stream's events, in order. */
function streamedEntries(events: readonly SseEvent[]): Json[] {
  return events.filter((event) => event.event === 'message').map((event) => JSON.parse(event.data) as Json);
}

function lines(from: number, to: number): ExpectedEntry[] {
  return Array.from({ length: to - from + 1 }, (_, i) => ({ level: 'INFO', message: `line ${from + i}` }));
}

const FIFTY = 'for (let i = 1; i <= 50; i++) logPrint("line " + i); 50';

describe('GET /api/result/:execId?after=&limit= (pages of the log)', () => {
  const server = useServer();
  let alice: Client;
  let id: string;
  /** The answer without paging: the whole log of 50 entries, the reference for every page. */
  let whole: JsonObject;
  let entries: Json[];

  before(async () => {
    alice = await server.login('alice');
    ({ id } = await runToEnd(alice, FIFTY));
    whole = await resultPage(alice, id, '', 200, 'result');
    expectLogEntries(whole.logs, lines(1, 50));
    expectWholeLog(whole, 50);
    entries = asArray(whole.logs);
    expect(whole).to.eql({ ...completed(whole, id, 50), logs: entries, logs_missed: 0, logs_next_after: 50, logs_more: false });
  });

  it('pages through 50 entries 7 at a time: every entry exactly once, in order, logs_more false on the last page only', async () => {
    const seen: Json[] = [];
    const nextAfters: Json[] = [];
    let after = 0;
    for (let page = 1; page <= 8; page++) {
      const body = await resultPage(alice, id, `after=${after}&limit=7`, 200, 'result');
      const next = Math.min(after + 7, 50);
      expect(body, `page ${page}`).to.eql(asPage(whole, entries.slice(after, next), { logs_missed: 0, logs_next_after: next, logs_more: page < 8 }));
      seen.push(...asArray(body.logs));
      nextAfters.push(body.logs_next_after ?? null);
      after = Number(body.logs_next_after);
    }
    expect(nextAfters).to.eql([7, 14, 21, 28, 35, 42, 49, 50]);
    expectLogEntries(seen, lines(1, 50));
    expect(seen).to.eql(entries);
    const end = await resultPage(alice, id, 'after=50&limit=7', 200, 'result');
    expect(end, 'after the last entry').to.eql(asPage(whole, [], { logs_missed: 0, logs_next_after: 50, logs_more: false }));
  });

  it('starts after= mid-way: the entries after it, up to limit (default 1000)', async () => {
    expect(await resultPage(alice, id, 'after=20', 200, 'result')).to.eql(
      asPage(whole, entries.slice(20), { logs_missed: 0, logs_next_after: 50, logs_more: false }),
    );
    expect(await resultPage(alice, id, 'after=20&limit=7', 200, 'result')).to.eql(
      asPage(whole, entries.slice(20, 27), { logs_missed: 0, logs_next_after: 27, logs_more: true }),
    );
    expect(await resultPage(alice, id, 'after=49', 200, 'result')).to.eql(
      asPage(whole, entries.slice(49), { logs_missed: 0, logs_next_after: 50, logs_more: false }),
    );
    expect(await resultPage(alice, id, 'limit=1', 200, 'result')).to.eql(
      asPage(whole, entries.slice(0, 1), { logs_missed: 0, logs_next_after: 1, logs_more: true }),
    );
    expect(await resultPage(alice, id, 'after=0&limit=10000', 200, 'result')).to.eql(whole);
  });

  it('answers no entries, nothing missed and logs_next_after = after for an after beyond the newest entry', async () => {
    for (const after of [51, 1000, Number.MAX_SAFE_INTEGER]) {
      expect(await resultPage(alice, id, `after=${after}`, 200, 'result'), `after=${after}`).to.eql(
        asPage(whole, [], { logs_missed: 0, logs_next_after: after, logs_more: false }),
      );
    }
  });

  it('gives the same entries, page by page, as a stream that replays the finished log', async () => {
    const replayed = streamedEntries(await streamToEnd(alice, id));
    const paged: Json[] = [];
    for (let after = 0; after < 50; after += 20) paged.push(...asArray((await resultPage(alice, id, `after=${after}&limit=20`, 200, 'result')).logs));
    expect(paged).to.eql(replayed);
  });

  it('pages a running execution (202) while it logs, then the cancelled one (500)', async () => {
    const running = await submit(
      alice,
      'for (let i = 1; i <= 5; i++) logPrint("line " + i); await sleep(1500); for (let i = 6; i <= 10; i++) logPrint("line " + i); await sleep(30000); 10',
    );
    const stream = await alice.sse(`/api/logs/${running}`);
    await stream.nthEvent(5); // lines 1-5 are out, and the script sleeps for 1.5 s
    const first = await resultPage(alice, running, 'limit=3', 202);
    expectUnfinishedTiming(first, true);
    const streamed = streamedEntries(stream.events);
    expectLogEntries(streamed, lines(1, 5));
    const unfinished = { execution_id: running, status: 'running', ...redisModeFields(first), started_at: first.started_at ?? null, completed_at: null, duration_ms: null };
    expect(first).to.eql({ ...unfinished, logs: streamed.slice(0, 3), logs_missed: 0, logs_next_after: 3, logs_more: true });
    expect(await resultPage(alice, running, 'after=3&limit=3', 202)).to.eql({
      ...unfinished, logs: streamed.slice(3, 5), logs_missed: 0, logs_next_after: 5, logs_more: false,
    });

    await stream.nthEvent(10); // lines 6-10 are out, and the script sleeps for 30 s
    const more = streamedEntries(stream.events);
    expectLogEntries(more, lines(1, 10));
    expect(await resultPage(alice, running, 'after=5&limit=3', 202)).to.eql({
      ...unfinished, logs: more.slice(5, 8), logs_missed: 0, logs_next_after: 8, logs_more: true,
    });
    expect(await resultPage(alice, running, 'after=8&limit=3', 202)).to.eql({
      ...unfinished, logs: more.slice(8, 10), logs_missed: 0, logs_next_after: 10, logs_more: false,
    });

    const cancel = await alice.json('POST', `/api/execution/${running}/cancel`);
    expect(cancel.status, cancel.text).to.equal(202);
    await stream.untilDone();
    const end = await resultPage(alice, running, 'after=10', 500, 'error');
    expect({ status: end.status, error: end.error, started_at: end.started_at }).to.eql({ status: 'cancelled', error: 'Execution cancelled', started_at: first.started_at });
    expectFinishedTiming(end);
    const finished = { ...unfinished, status: 'cancelled', error: 'Execution cancelled', completed_at: end.completed_at ?? null, duration_ms: end.duration_ms ?? null };
    expect(end).to.eql({ ...finished, logs: [], logs_missed: 0, logs_next_after: 10, logs_more: false });
    expect(await resultPage(alice, running, 'after=0&limit=4', 500, 'error')).to.eql({
      ...finished, logs: more.slice(0, 4), logs_missed: 0, logs_next_after: 4, logs_more: true,
    });
  });

  describe('answers 400 {"error","code":"BAD_REQUEST"} for', () => {
    const AFTER = 'after must be a whole number from 0 to 9007199254740991';
    const LIMIT = 'limit must be a whole number from 1 to 10000';
    const bad: ReadonlyArray<[string, string]> = [
      ['after=abc', AFTER],
      ['after=-1', AFTER],
      ['after=1.5', AFTER],
      ['after=1e3', AFTER],
      ['after=', AFTER],
      ['after=%201', AFTER],
      ['after=9007199254740992', AFTER],
      ['after=1&after=2', AFTER],
      ['limit=0', LIMIT],
      ['limit=10001', LIMIT],
      ['limit=abc', LIMIT],
      ['limit=-1', LIMIT],
      ['limit=2.5', LIMIT],
      ['limit=', LIMIT],
      ['limit=1&limit=2', LIMIT],
      ['after=x&limit=0', AFTER],
    ];
    for (const [query, message] of bad) {
      it(`?${query}`, async () => {
        expectError(await alice.json('GET', `/api/result/${id}?${query}`), 400, message, 'BAD_REQUEST');
      });
    }

    it('a bad value on an unknown id too (the query is read before the execution is looked up, as on /api/logs)', async () => {
      expectError(await alice.json('GET', '/api/result/3b241101-e2bb-4255-8caf-4136c566a962?limit=0'), 400, LIMIT, 'BAD_REQUEST');
    });
  });
});

describe('GET /api/result/:execId?after= below the ring (CHARIOT_LOG_BUFFER=5)', () => {
  const server = useServer({ CHARIOT_LOG_BUFFER: '5' });

  it('counts exactly the entries after `after` that were evicted, in logs_missed, and goes on after them', async () => {
    const alice = await server.login('alice');
    // The stream may come in after the script has logged (then with a gap): the ring's five
    // entries are read from the default page, and checked one by one.
    const { id } = await runToEnd(alice, 'for (let i = 1; i <= 20; i++) logPrint("line " + i); 20');
    const whole = await resultPage(alice, id, '', 200, 'result');
    const ring = asArray(whole.logs, 'the default page');
    expect(ring.length, 'entries in the ring').to.equal(5);
    ring.forEach((entry, i) => expectLogEntry(entry, 16 + i, { level: 'INFO', message: `line ${16 + i}` }));
    expect(whole, 'the default page').to.eql({ ...completed(whole, id, 20), logs: ring, logs_missed: 15, logs_next_after: 20, logs_more: false });
    // Entries 1..20 by index; only 16..20 are kept.
    const kept: Json[] = [...new Array<Json>(15).fill(null), ...ring];
    const cases: ReadonlyArray<[string, number, number, PageFields]> = [
      ['after=0&limit=1', 15, 16, { logs_missed: 15, logs_next_after: 16, logs_more: true }],
      ['after=3&limit=2', 15, 17, { logs_missed: 12, logs_next_after: 17, logs_more: true }],
      ['after=14', 15, 20, { logs_missed: 1, logs_next_after: 20, logs_more: false }],
      ['after=15', 15, 20, { logs_missed: 0, logs_next_after: 20, logs_more: false }],
      ['after=17', 17, 20, { logs_missed: 0, logs_next_after: 20, logs_more: false }],
      ['after=20', 20, 20, { logs_missed: 0, logs_next_after: 20, logs_more: false }],
    ];
    for (const [query, from, to, fields] of cases) {
      expect(await resultPage(alice, id, query, 200, 'result'), query).to.eql(asPage(whole, kept.slice(from, to), fields));
    }
  });
});

describe('GET /api/result/:execId pages end at 1 MiB of message text (CHARIOT_LOG_MESSAGE_LIMIT=300 KiB)', () => {
  const LIMIT = 300 * 1024;
  const LOGGED = 400 * 1024;
  const server = useServer({ CHARIOT_LOG_MESSAGE_LIMIT: String(LIMIT) });
  const cut = (n: number): string => `${String(n % 10).repeat(LIMIT)} … [message cut: ${LOGGED - LIMIT} more characters]`;

  it('holds 4 entries of 300 KiB where limit would allow 10: the 4th brings the page to 1 MiB', async () => {
    // 3 entries are 921,720 characters, under 1 MiB (1,048,576); the 4th takes the page past it.
    expect(cut(1).length).to.equal(307_240);
    expect(3 * cut(1).length).to.be.below(MIB);
    expect(4 * cut(1).length).to.be.at.least(MIB);
    const alice = await server.login('alice');
    const { id } = await runToEnd(alice, `for (let i = 1; i <= 10; i++) logPrint(String(i % 10).repeat(${LOGGED})); 10`);
    const expected = (from: number, to: number): ExpectedEntry[] =>
      Array.from({ length: to - from + 1 }, (_, i) => ({ level: 'INFO', message: cut(from + i) }));

    const first = await resultPage(alice, id, '', 200, 'result');
    expectLogEntries(first.logs, expected(1, 4));
    const outcome = completed(first, id, 10);
    expect(first, 'the default page').to.eql({ ...outcome, logs: first.logs ?? null, logs_missed: 0, logs_next_after: 4, logs_more: true });

    const pages: ReadonlyArray<[string, PageFields]> = [
      ['after=0&limit=10', { logs_missed: 0, logs_next_after: 4, logs_more: true }],
      ['after=4&limit=10', { logs_missed: 0, logs_next_after: 8, logs_more: true }],
      ['after=8&limit=10', { logs_missed: 0, logs_next_after: 10, logs_more: false }],
    ];
    const seen: Json[] = [];
    for (const [query, fields] of pages) {
      const body = await resultPage(alice, id, query, 200, 'result');
      const { logs, ...rest } = body;
      expect(rest, query).to.eql({ ...outcome, ...fields });
      seen.push(...asArray(logs));
    }
    expectLogEntries(seen, expected(1, 10));
    expect(asArray(first.logs), 'the first page, read twice').to.eql(seen.slice(0, 4));

    const three = await resultPage(alice, id, 'limit=3', 200, 'result');
    expect(three, 'limit before the text runs out').to.eql({ ...outcome, logs: seen.slice(0, 3), logs_missed: 0, logs_next_after: 3, logs_more: true });
  });
});

describe('GET /api/result/:execId pages hold at least one entry (CHARIOT_LOG_MESSAGE_LIMIT=2 MiB)', () => {
  const LIMIT = 2 * MIB;
  const server = useServer({ CHARIOT_LOG_MESSAGE_LIMIT: String(LIMIT) });

  it('answers one entry a page when each message is over 1 MiB', async () => {
    const alice = await server.login('alice');
    const { id } = await runToEnd(alice, `logPrint("a".repeat(${3 * MIB})); logPrint("b".repeat(${3 * MIB})); 2`);
    const cut = (letter: string): string => `${letter.repeat(LIMIT)} … [message cut: ${MIB} more characters]`;
    const first = await resultPage(alice, id, '', 200, 'result');
    expectLogEntries(first.logs, [{ level: 'INFO', message: cut('a') }]);
    const outcome = completed(first, id, 2);
    expect(first).to.eql({ ...outcome, logs: first.logs ?? null, logs_missed: 0, logs_next_after: 1, logs_more: true });
    const second = await resultPage(alice, id, 'after=1&limit=10000', 200, 'result');
    const logs = asArray(second.logs);
    expect(logs.length, 'entries in the second page').to.equal(1);
    expectLogEntry(logs[0], 2, { level: 'INFO', message: cut('b') });
    expect(second).to.eql({ ...outcome, logs, logs_missed: 0, logs_next_after: 2, logs_more: false });
  });
});
