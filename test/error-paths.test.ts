// Error paths: a store that fails while an execution is submitted leaves nothing behind (no
// running execution nobody can reach, no admission counted); a failed retention sweep is
// logged, never an unhandled rejection; a client that hangs up on POST /api/execute before its
// answer has its execution cancelled.
//
// The store's failures come from a subclass of MemoryExecutionStore handed to startServer
// (its `executions` part, the same seam a Redis store would use): nothing in the server is
// there for the tests.
import { expect } from 'chai';
import { connect } from 'node:net';
import { loadConfig } from '../src/config.js';
import type { Execution } from '../src/execution.js';
import { startServer, type RunningServer } from '../src/server.js';
import { MemoryExecutionStore, type Placement } from '../src/store.js';
import type { Client } from './helpers/client.js';
import { within } from './helpers/adversary.js';
import { asArray, asObject, expectError, expectLogEntries } from './helpers/expectations.js';
import { doneStatus, getResult, streamToEnd, submit } from './helpers/executions.js';
import { loginAs, PASSWORDS, useServer } from './helpers/server.js';

const USERS = Object.entries(PASSWORDS).map(([name, password]) => `${name}:${password}`).join(',');

/** A MemoryExecutionStore whose add() and sweep() fail, or add() waits, while a test says so. */
class FaultyStore extends MemoryExecutionStore {
  /** add() rejects with this while it is set. */
  addError: Error | undefined;
  /** add() of a program containing the marker waits for this while it is set. */
  held: { readonly marker: string; readonly until: Promise<void>; reached: () => void } | undefined;
  /** sweep() rejects with this while it is set. */
  sweepError: Error | undefined;
  /** Called after every sweep() with whether it failed. */
  onSweep: ((failed: boolean) => void) | undefined;

  override async add(execution: Execution): Promise<Placement> {
    if (this.addError !== undefined) throw this.addError;
    if (this.held !== undefined && execution.program.includes(this.held.marker)) {
      this.held.reached();
      await this.held.until;
    }
    return super.add(execution);
  }

  override async sweep(cutoff: number): Promise<number> {
    if (this.sweepError !== undefined) {
      this.onSweep?.(true);
      throw this.sweepError;
    }
    const removed = await super.sweep(cutoff);
    this.onSweep?.(false);
    return removed;
  }
}

function startWith(store: FaultyStore, env: Readonly<Record<string, string>>): Promise<RunningServer> {
  return startServer(loadConfig({ PORT: '0', CHARIOT_USERS: USERS, ...env }), { executions: store });
}

/** Polls `check` until it holds, for state with no event to wait on (a slot freed after an end). */
async function eventually(check: () => Promise<boolean>, what: string): Promise<void> {
  for (let tries = 0; tries < 200; tries++) {
    if (await check()) return;
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
  expect.fail(`${what} did not happen within 2 s`);
}

async function pool(client: Client): Promise<Record<string, unknown>> {
  const health = await client.json('GET', '/healthz');
  expect(health.status, health.text).to.equal(200);
  return asObject(asObject(health.body).pool);
}

async function executionIds(client: Client): Promise<string[]> {
  const list = await client.json('GET', '/api/executions');
  expect(list.status, list.text).to.equal(200);
  return asArray(list.body).map((item) => String(asObject(item).execution_id));
}

/** Captures console.error lines (the server's own log) while `during` runs. */
async function capturingErrors<T>(during: (lines: string[]) => Promise<T>): Promise<T> {
  const lines: string[] = [];
  const original = console.error;
  console.error = (...args: unknown[]) => {
    lines.push(args.map((arg) => (arg instanceof Error ? `${arg.name}: ${arg.message}` : String(arg))).join(' '));
  };
  try {
    return await during(lines);
  } finally {
    console.error = original;
  }
}

describe('error paths: the execution store fails while an execution is submitted', () => {
  const store = new FaultyStore();
  let server: RunningServer;

  // One slot, one waiting execution at most, one unfinished execution per user: a leaked
  // admission would show as a 429, a leaked slot as a queue that never moves.
  before(async () => {
    server = await startWith(store, { CHARIOT_THREADS: '1', CHARIOT_TASKS_PER_THREAD: '1', CHARIOT_MAX_QUEUE: '1', CHARIOT_MAX_PER_USER: '1' });
  });

  after(() => server.close());

  for (const path of ['/api/execute-async', '/api/execute']) {
    it(`POST ${path}: answers 500, runs nothing, registers nothing, and counts nothing against the user`, async () => {
      const alice = await loginAs(server.url, 'alice');
      const before = await executionIds(alice);
      store.addError = new Error('the disk is on fire');
      const refused = await capturingErrors(async (lines) => {
        const res = await within(5000, alice.json('POST', path, { program: 'logPrint("spinning"); while (true) {}' }), `POST ${path}`);
        expect(lines.join('\n')).to.contain('chariot-exec: unexpected error Error: the disk is on fire');
        return res;
      });
      store.addError = undefined;
      expectError(refused, 500, 'Internal server error', 'INTERNAL');
      expect(await pool(alice)).to.deep.include({ running: 0, queued: 0 });
      expect(await executionIds(alice)).to.eql(before);
      // Her one admission is free: the next execution is taken and runs in the one slot.
      const next = await alice.json('POST', '/api/execute', { program: '"after the failure"' });
      expect(next.status, next.text).to.equal(200);
      expect(asObject(next.body)).to.deep.include({ result: 'after the failure', type: 'string' });
      expect(await executionIds(alice)).to.eql([asObject(next.body).execution_id, ...before]);
    });
  }

  it('answers 503 and forgets the stored record when the queue filled while the store was written', async () => {
    const [alice, bob, carol] = await Promise.all([loginAs(server.url, 'alice'), loginAs(server.url, 'bob'), loginAs(server.url, 'carol')]);
    const running = await submit(alice, 'logPrint("holding the slot"); await sleep(60000)');
    let reached!: () => void;
    const storing = new Promise<void>((resolve) => (reached = resolve));
    let release!: () => void;
    store.held = { marker: 'HELD', until: new Promise((resolve) => (release = resolve)), reached };
    // Carol's submission finds room in the queue, then waits inside the store's add()...
    const carols = carol.json('POST', '/api/execute-async', { program: '"HELD"' });
    await storing;
    // ...while Bob's takes the last place in the queue.
    const waiting = await submit(bob, '"waited"');
    release();
    store.held = undefined;
    const refused = await carols;
    expectError(refused, 503, 'The execution queue is full (1 waiting); try again later', 'QUEUE_FULL');
    expect(refused.headers.get('retry-after')).to.equal('1');
    expect(await executionIds(carol)).to.eql([]);
    expect(await pool(carol)).to.deep.include({ running: 1, queued: 1 });

    expect((await alice.json('POST', `/api/execution/${running}/cancel`)).status).to.equal(202);
    expect(doneStatus(await streamToEnd(bob, waiting))).to.equal('completed');
    const admitted = await carol.json('POST', '/api/execute', { program: '"room again"' });
    expect(admitted.status, admitted.text).to.equal(200);
  });
});

describe('error paths: the retention sweep fails', () => {
  const store = new FaultyStore();
  let server: RunningServer;
  const unhandled: unknown[] = [];
  const onUnhandled = (reason: unknown): void => void unhandled.push(reason);

  before(async () => {
    process.on('unhandledRejection', onUnhandled);
    // A sweep every 10 ms (a quarter of the retention time, at least 10 ms).
    server = await startWith(store, { CHARIOT_RETENTION_MS: '40' });
  });

  after(async () => {
    process.off('unhandledRejection', onUnhandled);
    await server.close();
  });

  it('logs each failure, leaves no unhandled rejection, and sweeps again once the store is back', async () => {
    const alice = await loginAs(server.url, 'alice');
    const lines = await capturingErrors(async (captured) => {
      let failures = 0;
      const failedThrice = new Promise<void>((resolve) => {
        store.onSweep = (failed) => {
          if (failed && ++failures === 3) resolve();
        };
      });
      store.sweepError = new Error('the store is unreachable');
      await within(5000, failedThrice, 'three failed sweeps');
      store.sweepError = undefined;
      // An unhandled rejection is reported after the microtasks of the turn it happened in.
      await new Promise((resolve) => setImmediate(resolve));
      return captured;
    });
    expect(unhandled, 'unhandled rejections').to.eql([]);
    const sweepLines = lines.filter((line) => line.startsWith('chariot-exec: the retention sweep failed'));
    expect(sweepLines.length, lines.join('\n')).to.equal(3);
    for (const line of sweepLines) expect(line).to.equal('chariot-exec: the retention sweep failed Error: the store is unreachable');

    // The service goes on, and so does the sweep once the store answers again.
    const run = await alice.json('POST', '/api/execute', { program: '6 * 7' });
    expect(run.status, run.text).to.equal(200);
    const id = String(asObject(run.body).execution_id);
    const swept = new Promise<void>((resolve) => {
      store.onSweep = (failed) => {
        if (!failed) void getResult(alice, id).then((res) => res.status === 404 && resolve());
      };
    });
    await within(5000, swept, 'the finished execution forgotten by a sweep');
    store.onSweep = undefined;
    expect(unhandled, 'unhandled rejections').to.eql([]);
  });
});

describe('error paths: a client that hangs up on POST /api/execute before its answer', () => {
  // One slot and one unfinished execution per user: a script left running would hold both.
  const server = useServer({ CHARIOT_THREADS: '1', CHARIOT_TASKS_PER_THREAD: '1', CHARIOT_MAX_PER_USER: '1', CHARIOT_CPU_MS: '30000', CHARIOT_WALL_MS: '30000' });

  /** Sends POST /api/execute over a socket of its own, which the caller destroys. */
  function rawExecute(cookie: string, program: string): ReturnType<typeof connect> {
    const { hostname, port } = new URL(server.url);
    const body = JSON.stringify({ program });
    const socket = connect(Number(port), hostname);
    socket.on('error', () => undefined);
    socket.write(`POST /api/execute HTTP/1.1\r\nHost: ${hostname}:${port}\r\nContent-Type: application/json\r\n`
      + `Cookie: ${cookie}\r\nContent-Length: ${Buffer.byteLength(body)}\r\n\r\n${body}`);
    return socket;
  }

  const SCRIPTS: ReadonlyArray<readonly [string, string]> = [
    ['computing', 'logPrint("started"); while (true) {}'],
    ['sleeping', 'logPrint("started"); await sleep(25000); "woke"'],
  ];
  for (const [what, program] of SCRIPTS) {
    it(`cancels its ${what} script at once: the execution ends cancelled, its slot and the user's admission are free`, async () => {
      const alice = await server.login('alice');
      const before = new Set(await executionIds(alice));
      const socket = rawExecute(alice.cookieHeader ?? '', program);
      let id: string | undefined;
      await eventually(async () => {
        id = (await executionIds(alice)).find((known) => !before.has(known));
        return id !== undefined;
      }, 'the synchronous execution to be registered');
      const stream = await alice.sse(`/api/logs/${id!}`);
      await stream.nthEvent(1);
      const hungUp = Date.now();
      socket.destroy();

      expect(doneStatus(await within(3000, stream.untilDone(), 'the end of the abandoned execution'))).to.equal('cancelled');
      expect(Date.now() - hungUp, 'ms from the hang-up to the end').to.be.below(2000);
      const result = await getResult(alice, id!);
      expect(result.status).to.equal(500);
      const body = asObject(result.body);
      expect(body).to.deep.include({ execution_id: id, status: 'cancelled', error: 'Execution cancelled' });
      expectLogEntries(body.logs, [{ level: 'INFO', message: 'started' }]);
      await eventually(async () => (await pool(alice)).running === 0, 'the slot to be free');
      expect(await pool(alice)).to.deep.include({ running: 0, queued: 0 });

      for (const value of [1, 2]) {
        const next = await alice.json('POST', '/api/execute', { program: `${value}` });
        expect(next.status, next.text).to.equal(200);
        expect(asObject(next.body)).to.deep.include({ result: value, type: 'number' });
      }
    });
  }

  it('leaves an execution whose answer was sent alone when the client then hangs up', async () => {
    const alice = await server.login('alice');
    const socket = rawExecute(alice.cookieHeader ?? '', '"answered"');
    const answer = await new Promise<string>((resolve) => {
      let text = '';
      socket.setEncoding('utf8').on('data', (chunk: string) => {
        text += chunk;
        if (text.includes('"answered"')) resolve(text);
      });
    });
    socket.destroy();
    expect(answer).to.match(/^HTTP\/1\.1 200 OK\r\n/);
    const [id] = await executionIds(alice);
    const result = await getResult(alice, id!);
    expect(asObject(result.body)).to.deep.include({ status: 'completed', result: { value: 'answered', type: 'string' } });
  });
});
