// GET /api/executions: the caller's executions, newest first, with ?limit= and ?status=.
import { expect } from 'chai';
import type { Client, HttpResult } from './helpers/client.js';
import { asArray, asObject, expectError, expectIsoTimestamp, expectJson, expectKeys, UUID_V4, type JsonObject } from './helpers/expectations.js';
import { runToEnd } from './helpers/executions.js';
import { useServer } from './helpers/server.js';

const FIELDS = ['execution_id', 'status', 'started_at', 'completed_at', 'duration_ms', 'program_preview'];

/** A 200 list answer, each item with exactly the documented fields. */
function list(res: HttpResult): JsonObject[] {
  expect(res.status, res.text).to.equal(200);
  expectJson(res);
  return asArray(res.body).map((item) => {
    const execution = asObject(item);
    expectKeys(execution, FIELDS);
    return execution;
  });
}

describe('GET /api/executions', () => {
  const server = useServer();
  let carol: Client;
  /** carol's executions, oldest first: [id, program, status]. */
  const made: Array<[string, string, string]> = [];

  before(async () => {
    carol = await server.login('carol');
    for (const [program, status] of [
      ['logPrint("first"); 1', 'completed'],
      ['throw new Error("second")', 'error'],
      ['"third"', 'completed'],
      ['missing_variable', 'error'],
    ] as const) {
      const { id } = await runToEnd(carol, program);
      made.push([id, program, status]);
    }
  });

  it("lists the caller's finished executions newest first, each with exactly the documented fields", async () => {
    const items = list(await carol.json('GET', '/api/executions'));
    const expected = [...made].reverse();
    expect(items.map((item) => [item.execution_id, item.program_preview, item.status])).to.eql(expected);
    for (const item of items) {
      expect(item.execution_id).to.match(UUID_V4);
      expectIsoTimestamp(item.started_at, 'started_at');
      expectIsoTimestamp(item.completed_at, 'completed_at');
      expect(item.duration_ms).to.be.a('number');
      expect(item.duration_ms as number).to.be.at.least(0);
    }
    const started = items.map((item) => Date.parse(String(item.started_at)));
    expect([...started].sort((a, b) => b - a), 'started_at descending').to.eql(started);
  });

  it('shows a running execution with status running and null end time and duration', async () => {
    const dave = await server.login('dave');
    const { id: first } = await runToEnd(dave, '0');
    const res = await dave.json('POST', '/api/execute-async', { program: 'logPrint("go"); await sleep(1000); 1' });
    const id = String(asObject(res.body).execution_id);
    const stream = await dave.sse(`/api/logs/${id}`);
    await stream.nthEvent(1); // running, and sleeping for 1 s
    const items = list(await dave.json('GET', '/api/executions'));
    expect(items.map((item) => item.execution_id)).to.eql([id, first]);
    expect({ status: items[0]!.status, completed_at: items[0]!.completed_at, duration_ms: items[0]!.duration_ms }).to.eql({
      status: 'running',
      completed_at: null,
      duration_ms: null,
    });
    expectIsoTimestamp(items[0]!.started_at);
    await stream.untilDone();
  });

  it('returns the newest n with ?limit=n', async () => {
    const items = list(await carol.json('GET', '/api/executions?limit=2'));
    expect(items.map((item) => item.execution_id)).to.eql([made[3]![0], made[2]![0]]);
  });

  it('returns all when ?limit= is larger than the list', async () => {
    expect(list(await carol.json('GET', '/api/executions?limit=1000'))).to.have.lengthOf(made.length);
  });

  it('filters by ?status=error and by ?status=completed', async () => {
    for (const status of ['error', 'completed']) {
      const items = list(await carol.json('GET', `/api/executions?status=${status}`));
      const expected = [...made].reverse().filter(([, , s]) => s === status).map(([id]) => id);
      expect(items.map((item) => item.execution_id), status).to.eql(expected);
    }
  });

  it('combines ?status= and ?limit=', async () => {
    const items = list(await carol.json('GET', '/api/executions?status=error&limit=1'));
    expect(items.map((item) => item.execution_id)).to.eql([made[3]![0]]);
  });

  it('answers an empty list for a status nobody has', async () => {
    expect(list(await carol.json('GET', '/api/executions?status=cancelled'))).to.eql([]);
  });

  it('answers an empty list to a user without executions', async () => {
    const bob = await server.login('bob');
    expect(list(await bob.json('GET', '/api/executions'))).to.eql([]);
  });

  for (const query of ['limit=abc', 'limit=0', 'limit=-1', 'limit=1.5', 'limit=2x']) {
    it(`answers 400 with an error for ?${query}`, async () => {
      expectError(await carol.json('GET', `/api/executions?${query}`), 400, /\S/);
    });
  }

  for (const query of ['status=bogus', 'status=done']) {
    it(`answers 400 with an error for ?${query}`, async () => {
      expectError(await carol.json('GET', `/api/executions?${query}`), 400, /\S/);
    });
  }
});
