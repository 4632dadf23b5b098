// POST /api/execution/:execId/input and input() in scripts: messages reach the script in order
// whether they were sent before it asked (kept, within CHARIOT_INPUT_MAX_QUEUED and
// CHARIOT_INPUT_MAX_BYTES) or while it waits; the end resolves every input() with null; a script
// waiting for input holds no thread and stays bound by its wall-clock limit.
//
// A script logs right after it calls input(): the worker asks for the message in that call, on
// the same port and before the entry, so once the test has read the entry the main thread knows
// that the script waits.
import { expect } from 'chai';
import type { Client, HttpResult, Json } from './helpers/client.js';
import { escapePrelude, expectExactStream, expectNoMarker, markerPath } from './helpers/adversary.js';
import { asObject, expectError, expectJson, expectLogEntries, type ExpectedEntry } from './helpers/expectations.js';
import { doneStatus, expectResultAnswer, getResult, holdTheSlot, streamToEnd, submit } from './helpers/executions.js';
import { useServer } from './helpers/server.js';
import type { SseStream } from './helpers/sse.js';

const UNKNOWN = '00000000-0000-4000-8000-000000000000';
/** Reads three messages, logging `asked N` as it waits for each, and returns them joined. */
const THREE_LINES = `const lines = [];
for (let i = 1; i <= 3; i++) { const next = input(); logPrint("asked " + i); lines.push(await next); }
lines.join("|")`;
/** Reads until the end, logging each message, and returns how many it read. */
const READ_ALL = `let count = 0;
for (let line = await input(); line !== null; line = await input()) { logPrint("got " + line); count++; }
count`;

function send(client: Client, id: string, body: Json): Promise<HttpResult> {
  return client.json('POST', `/api/execution/${id}/input`, body);
}

/** POST .../input answers exactly 202 `{"execution_id", "queued_inputs"}`. */
async function expectQueued(client: Client, id: string, body: Json, queued: number): Promise<void> {
  const res = await send(client, id, body);
  expect(res.status, res.text).to.equal(202);
  expectJson(res);
  expect(res.body).to.eql({ execution_id: id, queued_inputs: queued });
}

/** Submits `program` and opens its log stream before it can have logged anything it is asked for. */
async function start(client: Client, program: string): Promise<{ id: string; stream: SseStream }> {
  const id = await submit(client, program);
  const stream = await client.sse(`/api/logs/${id}`);
  expect(stream.status).to.equal(200);
  return { id, stream };
}

function entries(...messages: string[]): ExpectedEntry[] {
  return messages.map((message) => ({ level: 'INFO', message }));
}

/** The stream and the result say exactly: these entries, then `value`. */
async function expectCompleted(client: Client, id: string, stream: SseStream, logs: readonly ExpectedEntry[], value: Json, type: string): Promise<void> {
  expectExactStream(await stream.untilDone(), logs, 'completed');
  expectResultAnswer(await getResult(client, id), id, { status: 'completed', value, type }, logs);
}

describe('POST /api/execution/:execId/input: order and limits', () => {
  // One slot: what is submitted behind a blocker waits in the queue, where it cannot ask yet.
  const server = useServer({ CHARIOT_THREADS: '1', CHARIOT_TASKS_PER_THREAD: '1', CHARIOT_INPUT_MAX_QUEUED: '3', CHARIOT_INPUT_MAX_BYTES: '12' });
  let alice: Client;

  before(async () => {
    alice = await server.login('alice');
  });

  /**
   * Submits `program` so that it has surely not asked for input yet: queued behind a blocker
   * (input to a queued execution is kept for it; in Redis mode it waits in the shared queue, and
   * its input in Redis); `open()` lets it run.
   */
  async function gated(program: string): Promise<{ id: string; stream: SseStream; open(): Promise<void> }> {
    const blocker = await holdTheSlot(alice);
    const started = await start(alice, program);
    expect(asObject((await getResult(alice, started.id)).body).status).to.equal('queued');
    return { ...started, open: () => blocker.release() };
  }

  it('delivers input sent before the script asks and while it waits, in order; queued_inputs counts what waits', async () => {
    const { id, stream, open } = await gated(THREE_LINES);
    await expectQueued(alice, id, { data: 'one' }, 1);
    await expectQueued(alice, id, { data: 'two' }, 2);
    await open();
    await stream.nthEvent(3); // "asked 3": the first two were taken, the third input() waits
    await expectQueued(alice, id, { data: 'three' }, 0);
    await expectCompleted(alice, id, stream, entries('asked 1', 'asked 2', 'asked 3'), 'one|two|three', 'string');
  });

  it('answers several input() calls pending at once in the order they were made', async () => {
    const { id, stream } = await start(alice, 'const all = [input(), input(), input()]; logPrint("asked"); (await Promise.all(all)).join("|")');
    await stream.nthEvent(1);
    for (const data of ['a', 'b', 'c']) await expectQueued(alice, id, { data }, 0);
    await expectCompleted(alice, id, stream, entries('asked'), 'a|b|c', 'string');
  });

  it('refuses the message past CHARIOT_INPUT_MAX_QUEUED with 413, and the script reads exactly the accepted ones', async () => {
    const { id, stream, open } = await gated(READ_ALL);
    for (const [i, data] of ['1', '2', '3'].entries()) await expectQueued(alice, id, { data }, i + 1);
    expectError(await send(alice, id, { data: '4' }), 413, 'Too much input waiting: 3 messages the script has not read yet (CHARIOT_INPUT_MAX_QUEUED)', 'INPUT_LIMIT');
    // The end is not a message: it is taken past the count, after what waits.
    await expectQueued(alice, id, { end: true }, 3);
    await open();
    await expectCompleted(alice, id, stream, entries('got 1', 'got 2', 'got 3'), 3, 'number');
  });

  it('refuses a message that would take the waiting input over CHARIOT_INPUT_MAX_BYTES (UTF-8), and one message over it, with 413', async () => {
    const { id, stream, open } = await gated(READ_ALL);
    await expectQueued(alice, id, { data: 'héllo' }, 1); // 6 bytes
    expectError(await send(alice, id, { data: 'x'.repeat(7) }), 413,
      'Too much input waiting: this message of 7 bytes would take the input the script has not read yet over CHARIOT_INPUT_MAX_BYTES (12 bytes)', 'INPUT_LIMIT');
    await expectQueued(alice, id, { data: '€€' }, 2); // 6 bytes: 12 in all, the limit
    expectError(await send(alice, id, { data: 'y'.repeat(13) }), 413, 'The input message is 13 bytes, over CHARIOT_INPUT_MAX_BYTES (12 bytes)', 'INPUT_LIMIT');
    await expectQueued(alice, id, { end: true }, 2);
    await open();
    await expectCompleted(alice, id, stream, entries('got héllo', 'got €€'), 2, 'number');
  });

  it('refuses one message over CHARIOT_INPUT_MAX_BYTES even while the script waits', async () => {
    const { id, stream } = await start(alice, 'const next = input(); logPrint("asked"); await next');
    await stream.nthEvent(1);
    expectError(await send(alice, id, { data: 'z'.repeat(13) }), 413, 'The input message is 13 bytes, over CHARIOT_INPUT_MAX_BYTES (12 bytes)', 'INPUT_LIMIT');
    await expectQueued(alice, id, { data: 'fits' }, 0);
    await expectCompleted(alice, id, stream, entries('asked'), 'fits', 'string');
  });
});

describe('POST /api/execution/:execId/input: the end, refusals, and what waiting costs', () => {
  // One thread: an execution that waits for input must leave it to the others.
  const server = useServer({ CHARIOT_THREADS: '1', CHARIOT_WALL_MS: '4000' });
  let alice: Client;
  let bob: Client;

  before(async () => {
    [alice, bob] = await Promise.all([server.login('alice'), server.login('bob')]);
  });

  it('resolves the pending and every later input() with null after {"end": true}, then refuses input with 409 INPUT_ENDED', async () => {
    // The script stays unfinished after it read the nulls (until the test cancels it), so that
    // the late message meets an ended input, not a finished execution.
    const { id, stream } = await start(alice, `const first = input(); logPrint("asked");
      const a = await first; const b = await input(); const c = await input(); logPrint(JSON.stringify([a, b, c])); await sleep(60000)`);
    await stream.nthEvent(1);
    await expectQueued(alice, id, { end: true }, 0);
    await stream.nthEvent(2);
    expectError(await send(alice, id, { data: 'late' }), 409, 'The input of this execution was ended', 'INPUT_ENDED');
    expect((await alice.json('POST', `/api/execution/${id}/cancel`)).status).to.equal(202);
    expectExactStream(await stream.untilDone(), entries('asked', '[null,null,null]'), 'cancelled');
  });

  it('gives the messages sent before the end first, then null', async () => {
    const { id, stream } = await start(alice, `const first = input(); logPrint("asked");
      [await first, await input(), await input(), await input()]`);
    await stream.nthEvent(1);
    await expectQueued(alice, id, { data: 'x' }, 0);
    // The script may or may not have asked again by now: what it has not read waits for it.
    const second = await send(alice, id, { data: 'y' });
    expect(second.status, second.text).to.equal(202);
    expect([{ execution_id: id, queued_inputs: 0 }, { execution_id: id, queued_inputs: 1 }]).to.deep.include(second.body);
    const ended = await send(alice, id, { end: true });
    expect(ended.status, ended.text).to.equal(202);
    expect([{ execution_id: id, queued_inputs: 0 }, { execution_id: id, queued_inputs: 1 }]).to.deep.include(ended.body);
    await expectCompleted(alice, id, stream, entries('asked'), ['x', 'y', null, null], 'array');
  });

  it('answers 409 for a finished execution, and 404 for an unknown id or another user\'s execution', async () => {
    const finished = await submit(alice, '1');
    expect(doneStatus(await streamToEnd(alice, finished))).to.equal('completed');
    expectError(await send(alice, finished, { data: 'x' }), 409, 'Execution already finished with status completed', 'ALREADY_FINISHED');
    expectError(await send(alice, finished, { end: true }), 409, 'Execution already finished with status completed', 'ALREADY_FINISHED');
    expectError(await send(alice, UNKNOWN, { data: 'x' }), 404, 'Execution not found', 'EXECUTION_NOT_FOUND');
    expectError(await send(alice, 'not-an-id', { data: 'x' }), 404, 'Execution not found', 'EXECUTION_NOT_FOUND');
    const { id, stream } = await start(alice, 'const next = input(); logPrint("asked"); await next');
    await stream.nthEvent(1);
    expectError(await send(bob, id, { data: 'from bob' }), 404, 'Execution not found', 'EXECUTION_NOT_FOUND');
    await expectQueued(alice, id, { data: 'from alice' }, 0);
    await expectCompleted(alice, id, stream, entries('asked'), 'from alice', 'string');
  });

  it('answers 400 for a body that is neither one message nor the end, each with its message', async () => {
    const { id, stream } = await start(alice, 'const next = input(); logPrint("asked"); await next');
    await stream.nthEvent(1);
    const shape = 'Input must be {"data": "<string>"} or {"end": true}';
    const bad: readonly [Json, string][] = [
      [{}, shape],
      [{ other: 'x' }, shape],
      [[], shape],
      ['text', 'Request body is not valid JSON: invalid JSON, only supports object and array'],
      [{ data: 'x', end: true }, `${shape}, not both`],
      [{ data: 1 }, `${shape}: data must be a string`],
      [{ data: null }, `${shape}: data must be a string`],
      [{ end: false }, `${shape}: end must be true`],
      [{ end: 'true' }, `${shape}: end must be true`],
    ];
    for (const [body, message] of bad) expectError(await send(alice, id, body), 400, message, 'BAD_REQUEST');
    // Nothing of them reached the script.
    await expectQueued(alice, id, { data: 'good' }, 0);
    await expectCompleted(alice, id, stream, entries('asked'), 'good', 'string');
  });

  it('holds no thread while it waits: with one thread, executions of the same and of another user run to completion meanwhile', async () => {
    const waiter = await start(alice, 'const next = input(); logPrint("waiting"); "got " + await next');
    await waiter.stream.nthEvent(1);
    for (const [client, program, value] of [[alice, 'let s = 0; for (let i = 0; i < 1e6; i++) s += i; s', 499999500000], [bob, '6*7', 42]] as const) {
      const res = await client.json('POST', '/api/execute', { program });
      expect(res.status, res.text).to.equal(200);
      expect(asObject(res.body)).to.deep.include({ result: value, type: 'number', logs: [] });
    }
    expect(asObject((await getResult(alice, waiter.id)).body).status).to.equal('running');
    await expectQueued(alice, waiter.id, { data: 'it' }, 0);
    await expectCompleted(alice, waiter.id, waiter.stream, entries('waiting'), 'got it', 'string');
  });

  it('ends a script whose input never comes at the wall-clock limit', async () => {
    const { id, stream } = await start(alice, 'logPrint("waiting"); await input(); "never"');
    const events = await stream.untilDone();
    const error = 'Wall-clock time limit exceeded: the execution took more than 4000 ms';
    expectExactStream(events, entries('waiting'), 'error');
    expectResultAnswer(await getResult(alice, id), id, { status: 'error', error }, entries('waiting'));
    expectError(await send(alice, id, { data: 'too late' }), 409, 'Execution already finished with status error', 'ALREADY_FINISHED');
  });

  it('ends a script with more than 10,000 input() calls pending at once with an error saying so', async () => {
    const { id, stream } = await start(alice, 'logPrint("asking"); for (let i = 0; i <= 10000; i++) input(); await input()');
    const error = 'Too many pending input() calls: at most 10000 at once';
    expectExactStream(await stream.untilDone(), entries('asking'), 'error');
    expectResultAnswer(await getResult(alice, id), id, { status: 'error', error }, entries('asking'));
  });

  it('cancels a script that waits for input, dropping what it did not read', async () => {
    const { id, stream } = await start(alice, 'const next = input(); logPrint("waiting"); await next; await new Promise(() => {})');
    await stream.nthEvent(1);
    await expectQueued(alice, id, { data: 'read' }, 0);
    await expectQueued(alice, id, { data: 'unread' }, 1);
    const res = await alice.json('POST', `/api/execution/${id}/cancel`);
    expect(res.status, res.text).to.equal(202);
    expect(res.body).to.eql({ execution_id: id, status: 'cancelled' });
    expectExactStream(await stream.untilDone(), entries('waiting'), 'cancelled');
    expectResultAnswer(await getResult(alice, id), id, { status: 'cancelled', error: 'Execution cancelled' }, entries('waiting'));
    expectError(await send(alice, id, { data: 'after' }), 409, 'Execution already finished with status cancelled', 'ALREADY_FINISHED');
  });

  it('gives the script no host object through input: its constructor chain, its promise, odd arguments, a replaced global', async () => {
    const marker = markerPath();
    const program = `${escapePrelude(marker)}
      const first = input({ valueOf() { pwn(this, 'argument valueOf'); return 1; } }, Symbol('s'), () => pwn(this, 'argument call'));
      logPrint("asked");
      const found = [input, input.constructor, input.prototype, Object.getPrototypeOf(input), first, Object.getPrototypeOf(first),
        Object.getPrototypeOf(Object.getPrototypeOf(first)), first.constructor, first.then];
      found.forEach((x, i) => pwn(x, 'input #' + i));
      const line = await first;
      pwn(line, 'the message');
      const original = input;
      Object.defineProperty(globalThis, 'input', { configurable: true, get() { pwn(this, 'input getter'); return original; } });
      const caller = (() => { try { return original.caller; } catch (error) { return String(error); } })();
      [typeof line, line, typeof caller, verdict()]`;
    const { id, stream } = await start(alice, program);
    await stream.nthEvent(1);
    await expectQueued(alice, id, { data: 'hello' }, 0);
    const events = await stream.untilDone();
    expectNoMarker(marker);
    expectExactStream(events, entries('asked'), 'completed');
    const result = await getResult(alice, id);
    expect(result.status, result.text).to.equal(200);
    const body = asObject(result.body);
    expect(body.result).to.eql({ value: ['string', 'hello', 'string', 'contained'], type: 'array' });
    expectLogEntries(body.logs, entries('asked'));
  });
});
