// The steps most tests share: submit a program, follow its stream to `done`, read its result.
import { expect } from 'chai';
import type { Client, HttpResult, Json } from './client.js';
import { asArray, asObject, expectIsoTimestamp, expectJson, expectKeys, expectLogEntries, redisModeKeys, UUID_V4, type ExpectedEntry, type JsonObject } from './expectations.js';
import type { SseEvent, SseStream } from './sse.js';

/** POST /api/execute-async; asserts 200 `{"execution_id": <uuid v4>}` and returns the id. */
export async function submit(client: Client, program: string): Promise<string> {
  const res = await client.json('POST', '/api/execute-async', { program });
  expect(res.status, res.text).to.equal(200);
  expectJson(res);
  const body = asObject(res.body);
  expectKeys(body, ['execution_id']);
  expect(body.execution_id).to.match(UUID_V4);
  return String(body.execution_id);
}

/**
 * Opens an event stream at `path` (e.g. `/api/logs/<id>?level=warn`), asserts 200 and the
 * event-stream type, and reads it through `done` and the end of the response.
 */
export async function openToEnd(client: Client, path: string, headers: Readonly<Record<string, string>> = {}): Promise<SseStream> {
  const stream = await client.sse(path, headers);
  expect(stream.status, `GET ${path} ${JSON.stringify(headers)}`).to.equal(200);
  expect(stream.headers['content-type'], `content-type of GET ${path}`).to.equal('text/event-stream');
  await stream.untilDone();
  return stream;
}

/** Opens /api/logs/:id, asserts 200, and returns every event through `done` (the stream ended). */
export async function streamToEnd(client: Client, id: string): Promise<SseEvent[]> {
  return (await openToEnd(client, `/api/logs/${id}`)).events;
}

/**
 * Asserts the execution is still queued or running with exactly `entries` log entries: the
 * precondition of a test that subscribes at a known point (during a sleep, or while queued).
 */
export async function expectUnfinishedWith(client: Client, id: string, entries: number, what: string): Promise<void> {
  const res = await getResult(client, id);
  const body = asObject(res.body);
  expect({ status: res.status, entries: asArray(body.logs).length }, what).to.eql({ status: 202, entries });
}

/** The status carried by the `done` event that ends `events`. */
export function doneStatus(events: readonly SseEvent[]): string {
  const last = events[events.length - 1];
  expect(last?.event, 'last event').to.equal('done');
  const data = asObject(JSON.parse(last!.data), 'done data');
  expectKeys(data, ['status']);
  return String(data.status);
}

export function getResult(client: Client, id: string): Promise<HttpResult> {
  return client.json('GET', `/api/result/${id}`);
}

/** The keys of an /api/result answer that say which page of the log it carries (docs/API.md). */
export const PAGE_KEYS = ['logs_missed', 'logs_next_after', 'logs_more'] as const;

export interface PageFields {
  readonly logs_missed: number;
  readonly logs_next_after: number;
  readonly logs_more: boolean;
}

/** The page fields of an /api/result body, as they came. */
export function pageOf(body: JsonObject): { [key in keyof PageFields]: Json | undefined } {
  return { logs_missed: body.logs_missed, logs_next_after: body.logs_next_after, logs_more: body.logs_more };
}

/** Asserts that the body carries the whole log in one page: seq 1 to `entries`, nothing missed, nothing more. */
export function expectWholeLog(body: JsonObject, entries: number): void {
  expect(pageOf(body), 'the page fields of a whole log').to.eql({ logs_missed: 0, logs_next_after: entries, logs_more: false });
}

/** Submits `program`, waits for its `done` event, and returns its id and GET /api/result answer. */
export async function runToEnd(client: Client, program: string): Promise<{ id: string; events: SseEvent[]; result: HttpResult }> {
  const id = await submit(client, program);
  const events = await streamToEnd(client, id);
  return { id, events, result: await getResult(client, id) };
}

/**
 * On a server with one slot in its pool (CHARIOT_THREADS=1, CHARIOT_TASKS_PER_THREAD=1), takes
 * it with a sleeper: what is submitted next waits in the queue until `release()` cancels the
 * sleeper, so that streams opened meanwhile all start before its first entry.
 */
export async function holdTheSlot(client: Client): Promise<{ release(): Promise<void> }> {
  const blocker = await submit(client, 'await sleep(60000)');
  return {
    async release() {
      const res = await client.json('POST', `/api/execution/${blocker}/cancel`);
      expect(res.status, `cancel the blocker: ${res.text}`).to.equal(202);
    },
  };
}

/** How a finished execution ended, as its answers say it. */
export type Ending =
  | { readonly status: 'completed'; readonly value: Json; readonly type: string }
  | { readonly status: 'error' | 'cancelled'; readonly error: string };

/**
 * A whole POST /api/execute answer, keys in their order and nothing else: 200 `{result, type,
 * logs, execution_id}` or 500 `{error, status, logs, execution_id}`. Returns the id.
 */
export function expectExecuteAnswer(res: HttpResult, ending: Ending, logs: readonly ExpectedEntry[]): string {
  const completed = ending.status === 'completed';
  expect(res.status, res.text.slice(0, 300)).to.equal(completed ? 200 : 500);
  expectJson(res);
  const body = asObject(res.body);
  expect(Object.keys(body)).to.eql(completed ? ['result', 'type', 'logs', 'execution_id'] : ['error', 'status', 'logs', 'execution_id']);
  expect(completed ? { result: body.result, type: body.type } : { error: body.error, status: body.status })
    .to.eql(completed ? { result: ending.value, type: ending.type } : { error: ending.error, status: ending.status });
  expectLogEntries(body.logs, logs);
  expect(body.execution_id).to.match(UUID_V4);
  return String(body.execution_id);
}

/**
 * A whole GET /api/result answer of a finished execution, keys in their order and nothing else:
 * 200 with `result` `{value, type}` or 500 with `error`, the whole log in one page, and the
 * timing of an execution that started.
 */
export function expectResultAnswer(res: HttpResult, id: string, ending: Ending, logs: readonly ExpectedEntry[]): void {
  const completed = ending.status === 'completed';
  expect(res.status, res.text.slice(0, 300)).to.equal(completed ? 200 : 500);
  expectJson(res);
  const body = asObject(res.body);
  expect(Object.keys(body)).to.eql(['execution_id', 'status', ...redisModeKeys(body), completed ? 'result' : 'error', 'logs', ...PAGE_KEYS, 'started_at', 'completed_at', 'duration_ms']);
  expect({ execution_id: body.execution_id, status: body.status, outcome: completed ? body.result : body.error })
    .to.eql({ execution_id: id, status: ending.status, outcome: completed ? { value: ending.value, type: ending.type } : ending.error });
  expectLogEntries(body.logs, logs);
  expectWholeLog(body, logs.length);
  expectIsoTimestamp(body.started_at, 'started_at');
  expectIsoTimestamp(body.completed_at, 'completed_at');
  expect(body.duration_ms, 'duration_ms').to.be.a('number');
}
