// A flood of wrong logins from many addresses (a botnet: every attempt a new name and a new
// X-Forwarded-For, so the throttle never steps in) against the real server: password hashes
// run one at a time with 16 waiting, the rest are refused with 503 and Retry-After, and the
// libuv thread pool stays free for everything else. The server runs in this process, so the
// test's own file reads queue in the same pool as the server's.
import { expect } from 'chai';
import { readFile } from 'node:fs/promises';
import { setTimeout as sleep } from 'node:timers/promises';
import type { Client, HttpResult } from './helpers/client.js';
import { asArray, asObject, expectError } from './helpers/expectations.js';
import { useServer } from './helpers/server.js';

const FLOODERS = 64;
/** Each flooder sends its next login this long after its answer: a login flood, not a plain HTTP flood (which no login check could help with). */
const THINK_MS = 25;
const FLOOD_MS = 4000;

interface Timed {
  readonly ms: number;
  readonly res: HttpResult;
}

async function timed(request: () => Promise<HttpResult>): Promise<Timed> {
  const start = performance.now();
  const res = await request();
  return { ms: performance.now() - start, res };
}

/** Runs `probe` back to back, `pauseMs` apart, until `until` settles; returns every result. */
async function repeatUntil<T>(until: Promise<unknown>, pauseMs: number, probe: () => Promise<T>): Promise<T[]> {
  let done = false;
  void until.finally(() => {
    done = true;
  });
  const results: T[] = [];
  while (!done) {
    results.push(await probe());
    await sleep(pauseMs);
  }
  return results;
}

const max = (values: readonly number[]): number => Math.max(...values);
const median = (values: readonly number[]): number => [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)]!;

describe('a flood of wrong logins', function () {
  this.timeout(60_000);
  const server = useServer({ CHARIOT_TRUST_PROXY: '1' });
  let alice: Client;

  before(async () => {
    alice = await server.login('alice');
  });

  it('is hashed one at a time (503 + Retry-After beyond 16 waiting) while file reads, /healthz, the UI and a user\'s executions answer at once', async () => {
    const executionsBefore = asArray((await alice.json('GET', '/api/executions')).body);
    let attempt = 0;
    const floodAnswers: HttpResult[] = [];
    const flood = (async () => {
      const deadline = performance.now() + FLOOD_MS;
      await Promise.all(Array.from({ length: FLOODERS }, async () => {
        while (performance.now() < deadline) {
          const n = attempt++;
          const address = `10.${(n >> 16) & 255}.${(n >> 8) & 255}.${n & 255}`;
          floodAnswers.push(await server.anonymous().json('POST', '/login', { username: `flood-${n}`, password: 'hunter2' }, { 'x-forwarded-for': address }));
          await sleep(THINK_MS);
        }
      }));
    })();
    // Let the queue fill before measuring.
    await sleep(300);

    const [fileReads, health, ui, runs] = await Promise.all([
      repeatUntil(flood, 10, async () => {
        const start = performance.now();
        await readFile(new URL(import.meta.url));
        return performance.now() - start;
      }),
      repeatUntil(flood, 50, () => timed(() => server.anonymous().json('GET', '/healthz'))),
      repeatUntil(flood, 100, () => timed(() => server.anonymous().json('GET', '/'))),
      repeatUntil(flood, 200, () => timed(() => alice.json('POST', '/api/execute', { program: '1+2' }))),
    ]);
    await flood;

    // The flood's answers: a check (401) or a refusal before any hashing (503), nothing else.
    const byStatus = new Map<number, number>();
    for (const res of floodAnswers) {
      byStatus.set(res.status, (byStatus.get(res.status) ?? 0) + 1);
      if (res.status === 401) {
        expectError(res, 401, 'Invalid credentials', 'INVALID_CREDENTIALS');
      } else {
        expectError(res, 503, 'Too many logins are being checked at once: try again in a moment', 'LOGIN_BUSY');
        expect(res.headers.get('retry-after')).to.equal('1');
      }
      expect(res.headers.getSetCookie()).to.eql([]);
    }
    expect([...byStatus.keys()].sort(), 'statuses of the flood').to.eql([401, 503]);
    // One hash at a time takes tens of ms: in FLOOD_MS, a few dozen to a few hundred checks.
    expect(byStatus.get(401), 'logins checked').to.be.within(10, FLOOD_MS / 10);
    expect(byStatus.get(503), 'logins refused').to.be.above(byStatus.get(401)!);

    // Everything else kept its share of the thread pool (file reads, the UI's static files)
    // and of the event loop. Measured with the hashes unbounded (64 at once) instead: a file
    // read and GET / waited 6.6 s behind the queued hashes; with the bound, at most 0.23 s.
    const report = JSON.stringify({
      fileReadMs: { median: median(fileReads), max: max(fileReads), n: fileReads.length },
      healthMs: { median: median(health.map((h) => h.ms)), max: max(health.map((h) => h.ms)) },
      uiMs: { median: median(ui.map((u) => u.ms)), max: max(ui.map((u) => u.ms)) },
      runMs: runs.map((r) => Math.round(r.ms)),
      flood: Object.fromEntries(byStatus),
    });
    expect(fileReads.length, `file reads done during the flood: ${report}`).to.be.at.least(FLOOD_MS / 100);
    expect(max(fileReads), `slowest file read during the flood: ${report}`).to.be.below(1000);
    for (const { res } of health) expect(res.status, res.text).to.equal(200);
    expect(max(health.map((h) => h.ms)), `slowest /healthz: ${report}`).to.be.below(1000);
    for (const { res } of ui) expect(res.status).to.equal(200);
    expect(max(ui.map((u) => u.ms)), `slowest GET /: ${report}`).to.be.below(1000);
    expect(runs.length, report).to.be.at.least(5);
    for (const { res } of runs) {
      expect(res.status, res.text).to.equal(200);
      expect(asObject(res.body).result).to.equal(3);
    }
    expect(max(runs.map((r) => r.ms)), `slowest execution: ${report}`).to.be.below(2000);

    // Nothing else happened: alice has exactly the executions she ran, and the flood locked
    // nobody out (every attempt came from a new address on a new name).
    const executionsAfter = asArray((await alice.json('GET', '/api/executions')).body);
    expect(executionsAfter.length).to.equal(executionsBefore.length + runs.length);
    const bob = await server.login('bob');
    expect((await bob.json('GET', '/api/me')).body).to.eql({ username: 'bob' });
  });
});
