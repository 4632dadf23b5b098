// Shape checks shared by the HTTP tests: whole-body assertions where values are not
// deterministic (ids, timestamps), exact ones everywhere else.
import { expect } from 'chai';
import type { HttpResult, Json } from './client.js';
import { REDIS_MODE } from './redis-mode.js';

export const UUID_V4 = /^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/;
/** ISO-8601 in UTC as Date#toISOString writes it (fraction optional). */
export const ISO_UTC = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(?:\.\d{1,9})?Z$/;

export type JsonObject = { [key: string]: Json };
export type Level = 'DEBUG' | 'INFO' | 'WARN' | 'ERROR';

export function asObject(value: Json | undefined, what = 'value'): JsonObject {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    expect.fail(`${what} should be a JSON object, got ${JSON.stringify(value)}`);
  }
  return value;
}

export function asArray(value: Json | undefined, what = 'value'): Json[] {
  if (!Array.isArray(value)) expect.fail(`${what} should be a JSON array, got ${JSON.stringify(value)}`);
  return value;
}

/** Asserts the object has every key of `required`, and no keys beyond `required` and `optional`. */
/**
 * The keys Redis mode adds to an answer (docs/API.md "Scale-out on Redis"), asserted rather than
 * ignored: `instance` in a GET /api/result answer of an execution that started, and `redis` in
 * /healthz. In memory, none.
 */
export function redisModeKeys(object: JsonObject): string[] {
  if (!REDIS_MODE) return [];
  if ('logs_missed' in object && 'execution_id' in object && object.started_at !== null && object.started_at !== undefined) {
    expect(object.instance, `instance in ${JSON.stringify(object).slice(0, 300)}`).to.be.a('string');
    return ['instance'];
  }
  if ('pool' in object && 'streams' in object) {
    expect(object.redis, `redis in ${JSON.stringify(object).slice(0, 300)}`).to.be.oneOf(['ok', 'unavailable']);
    return ['redis'];
  }
  return [];
}

/** The fields redisModeKeys() names, with their values as `object` has them (once checked): for a whole-body comparison. */
export function redisModeFields(object: JsonObject): JsonObject {
  return Object.fromEntries(redisModeKeys(object).map((key) => [key, object[key]!]));
}

/** A whole /healthz body as expected, with Redis mode's `"redis":"ok"` at its end when the suite runs in it. */
export function healthBody<T extends object>(body: T): T | (T & { redis: 'ok' }) {
  return REDIS_MODE ? { ...body, redis: 'ok' } : body;
}

export function expectKeys(object: JsonObject, required: readonly string[], optional: readonly string[] = []): void {
  required = [...required, ...redisModeKeys(object)];
  const keys = Object.keys(object);
  for (const key of required) expect(keys, `key "${key}" in ${JSON.stringify(object)}`).to.include(key);
  const extra = keys.filter((key) => !required.includes(key) && !optional.includes(key));
  expect(extra, `unexpected keys in ${JSON.stringify(object)}`).to.eql([]);
}

export function expectIsoTimestamp(value: Json | undefined, what = 'timestamp'): void {
  expect(value, what).to.be.a('string');
  expect(value, what).to.match(ISO_UTC);
  expect(Number.isNaN(Date.parse(String(value))), `${what} parses as a date`).to.equal(false);
}

/** The API's JSON content type, exactly. */
export function expectJson(res: HttpResult): void {
  expect(res.headers.get('content-type'), 'content-type').to.match(/^application\/json; charset=utf-8$/i);
}

/**
 * A JSON error answer: `status`, body `{"error": message, "code": CODE}` (docs/API.md), and
 * `code` when given.
 */
export function expectError(res: HttpResult, status: number, message: string | RegExp, code?: string): void {
  expect(res.status, `status of ${res.text}`).to.equal(status);
  expectJson(res);
  const body = asObject(res.body, 'error body');
  expectKeys(body, ['error', 'code']);
  expect(body.code, 'code').to.match(/^[A-Z_]+$/);
  if (code !== undefined) expect(body.code, 'code').to.equal(code);
  expect(body.error, 'error').to.be.a('string');
  if (typeof message === 'string') expect(body.error).to.equal(message);
  else expect(body.error).to.match(message);
}

export interface ExpectedEntry {
  readonly level: Level;
  readonly message: string;
}

/** One log entry exactly: `{seq, timestamp, level, message}`, nothing else. */
export function expectLogEntry(actual: Json | undefined, seq: number, expected: ExpectedEntry): void {
  const entry = asObject(actual, `log entry ${seq}`);
  expectKeys(entry, ['seq', 'timestamp', 'level', 'message']);
  expectIsoTimestamp(entry.timestamp, `timestamp of entry ${seq}`);
  expect({ seq: entry.seq, level: entry.level, message: entry.message }).to.eql({ seq, ...expected });
}

/** A whole list of log entries: seq 1..n in order, each exactly as expected. */
export function expectLogEntries(actual: Json | undefined, expected: readonly ExpectedEntry[]): void {
  const entries = asArray(actual, 'logs');
  expect(
    entries.map((entry) => {
      const { level, message } = asObject(entry);
      return { level, message };
    }),
  ).to.eql(expected);
  entries.forEach((entry, i) => expectLogEntry(entry, i + 1, expected[i]!));
}

/**
 * The `logs` of a /healthz answer from a server whose executions have all finished and whose
 * budgets evicted nothing, when the exact bytes kept are not known (a server in another process).
 */
export function expectIdleLogStats(logs: Json | undefined): void {
  const stats = asObject(logs, '/healthz logs');
  expectKeys(stats, ['kept_bytes', 'live_bytes', 'budget_bytes', 'user_budget_bytes', 'largest_user_bytes', 'evicted_entries']);
  expect(stats, 'nothing running, nothing evicted').to.deep.include({ live_bytes: 0, evicted_entries: 0 });
  for (const value of Object.values(stats)) expect(value).to.be.a('number');
  expect(Number(stats.largest_user_bytes), 'the largest user within everything').to.be.at.most(Number(stats.kept_bytes));
  expect(Number(stats.kept_bytes), 'within the budget').to.be.at.most(Number(stats.budget_bytes));
}
