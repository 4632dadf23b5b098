// `npm run bench:sse`: SSE fan-out on this machine, against the real server in a child process.
//
//   A  one execution streamed to 1 subscriber (the baseline), then to N (default 2,000):
//      paced entries, then a burst
//   B  N executions at once, each streamed to one subscriber of its own: paced entries
//
// For each: whether every subscriber got every entry exactly once, in order, then `done`
// (failures are counted, not hidden); the server's memory per subscriber, measured after a
// full GC with the subscribers connected against the same moment with none (same run, same
// executions, none of them logging yet); and delivery times of the paced entries: the spread
// of each entry's arrival across the subscribers (from the first subscriber to get it) and
// the latency from the entry's own timestamp (when the script logged it, on the same clock)
// to its arrival; for the burst, the time from its first entry being logged to the last
// subscriber having all of it.
//
// Knobs (environment): SSE_BENCH_SUBSCRIBERS (2000), SSE_BENCH_ONLY (A or B),
// SSE_BENCH_GATE_MS (B's wait before logging; measured from a probe when unset),
// SSE_BENCH_PROFILE (a directory: the server writes a CPU profile there).
import { fork, spawnSync, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { Agent } from 'node:http';
import { fileURLToPath } from 'node:url';
import type { Client } from '../test/helpers/client.js';
import { submit } from '../test/helpers/executions.js';
import { loginAs, PASSWORDS, type User } from '../test/helpers/server.js';
import type { MemorySample, ServerReport, ServerRequest } from './sse-server.js';
import { forEachLimited } from './lib/parallel.js';
import { formatSpread, spread, type Spread } from './stats.js';
import { now, Subscriber } from './subscriber.js';

function knob(name: string): number | undefined {
  const raw = process.env[name];
  if (raw === undefined || raw === '') return undefined;
  const value = Number(raw);
  if (!Number.isInteger(value) || value < 1) throw new Error(`${name} must be a positive whole number, got "${raw}"`);
  return value;
}

const SUBSCRIBERS = knob('SSE_BENCH_SUBSCRIBERS') ?? 2000;
const ONLY = process.env.SSE_BENCH_ONLY ?? '';
const PROFILE = process.env.SSE_BENCH_PROFILE ?? '';
/** Requests in flight at once while connecting or submitting (the listen backlog is 511). */
const CONCURRENCY = 100;
const USERS = Object.keys(PASSWORDS) as User[];

/** What one execution logs: `paced` entries `intervalMs` apart, then `burst` at once. */
interface Load {
  readonly paced: number;
  readonly intervalMs: number;
  readonly burst: number;
}

/** A: 100 entries at 50 a second, then 200 at once, to every subscriber. */
const FAN_OUT: Load = { paced: 100, intervalMs: 20, burst: 200 };
/** B: 20 entries at 10 a second from each execution: 20,000 a second in all at N = 2,000. */
const MANY: Load = { paced: 20, intervalMs: 100, burst: 0 };

// ---------------------------------------------------------------------------------------------
// The server process.

class ServerProcess {
  readonly url: string;
  readonly #child: ChildProcess;

  private constructor(child: ChildProcess, url: string) {
    this.#child = child;
    this.url = url;
  }

  static async start(env: Readonly<Record<string, string>>): Promise<ServerProcess> {
    const users = Object.entries(PASSWORDS).map(([name, password]) => `${name}:${password}`).join(',');
    const profile = PROFILE === '' ? [] : ['--cpu-prof', `--cpu-prof-dir=${PROFILE}`];
    const child = fork(fileURLToPath(new URL('./sse-server.js', import.meta.url)), {
      execArgv: ['--no-node-snapshot', '--expose-gc', ...profile],
      env: { PATH: process.env.PATH ?? '', PORT: '0', CHARIOT_USERS: users, ...env },
      stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
    });
    const [report] = (await Promise.race([
      once(child, 'message'),
      once(child, 'exit').then(([code]) => Promise.reject(new Error(`the server exited with ${String(code)}`))),
    ])) as [ServerReport];
    if (report.kind !== 'listening') throw new Error(`unexpected report ${JSON.stringify(report)}`);
    return new ServerProcess(child, report.url);
  }

  async memory(): Promise<MemorySample> {
    this.#child.send({ kind: 'measure' } satisfies ServerRequest);
    const [report] = (await once(this.#child, 'message')) as [ServerReport];
    if (report.kind !== 'memory') throw new Error(`unexpected report ${JSON.stringify(report)}`);
    return report.sample;
  }

  async stop(): Promise<void> {
    const exited = once(this.#child, 'exit');
    this.#child.send({ kind: 'stop' } satisfies ServerRequest);
    await exited;
  }
}

// ---------------------------------------------------------------------------------------------
// Helpers.

/** Opens one subscriber per id (spread over the clients) and resolves once the server has them all. */
function connect(server: ServerProcess, clients: readonly Client[], ids: readonly string[], agent: Agent): Promise<Subscriber[]> {
  return forEachLimited(ids.length, CONCURRENCY, async (i) => {
    const client = clients[i % clients.length]!;
    const subscriber = new Subscriber(`${server.url}/api/logs/${ids[i]!}`, client.cookieHeader ?? '', agent);
    await subscriber.connected;
    return subscriber;
  });
}

function program(load: Load, gate = ''): string {
  return `${gate}
    for (let i = 1; i <= ${load.paced}; i++) { logPrint("paced " + i); await sleep(${load.intervalMs}); }
    for (let i = 1; i <= ${load.burst}; i++) logPrint("burst " + i);
    "streamed"`;
}

interface Row {
  readonly scenario: string;
  readonly subscribers: number;
  readonly failed: number;
  /** Undefined for too few subscribers to measure above the noise of a GC. */
  readonly heapPerSubscriber: number | undefined;
  readonly rssPerSubscriber: number | undefined;
  readonly spread: Spread | undefined;
  readonly latency: Spread;
  readonly burstMs: number | undefined;
  readonly notes: string[];
}

/** The spread of each paced entry's arrival across subscribers, from the first to get it. */
function arrivalSpread(subscribers: readonly Subscriber[], paced: number): Spread {
  const arrivals = subscribers.map((subscriber) => {
    const bySeq = new Float64Array(paced + 1).fill(Number.NaN);
    for (const receipt of subscriber.receipts) if (receipt.seq <= paced) bySeq[receipt.seq] = receipt.at;
    return bySeq;
  });
  const gaps: number[] = [];
  for (let seq = 1; seq <= paced; seq++) {
    let first = Number.POSITIVE_INFINITY;
    for (const bySeq of arrivals) first = Math.min(first, bySeq[seq]!);
    for (const bySeq of arrivals) if (!Number.isNaN(bySeq[seq]!)) gaps.push(bySeq[seq]! - first);
  }
  return spread(gaps);
}

/** From the burst's first entry being logged to its last arrival anywhere, in ms. */
function burstTime(subscribers: readonly Subscriber[], paced: number): number {
  let start = Number.POSITIVE_INFINITY;
  let end = Number.NEGATIVE_INFINITY;
  for (const subscriber of subscribers) {
    for (const receipt of subscriber.receipts) {
      if (receipt.seq <= paced) continue;
      start = Math.min(start, receipt.loggedAt);
      end = Math.max(end, receipt.at);
    }
  }
  return end - start;
}

/** Checks every subscriber and computes memory per subscriber and delivery times. */
function analyse(scenario: string, load: Load, subscribers: readonly Subscriber[], before: MemorySample, after: MemorySample, fanOut: boolean): Row {
  const shortfalls = subscribers.map((subscriber) => subscriber.shortfall(load.paced + load.burst));
  const perSubscriber = (bytes: number): number | undefined => (subscribers.length < 100 ? undefined : bytes / subscribers.length);
  const latency: number[] = [];
  for (const subscriber of subscribers) {
    for (const receipt of subscriber.receipts) if (receipt.seq <= load.paced) latency.push(receipt.at - receipt.loggedAt);
  }
  return {
    scenario,
    subscribers: subscribers.length,
    failed: shortfalls.filter((list) => list.length > 0).length,
    heapPerSubscriber: perSubscriber(after.heapUsed + after.external - before.heapUsed - before.external),
    rssPerSubscriber: perSubscriber(after.rss - before.rss),
    spread: fanOut ? arrivalSpread(subscribers, load.paced) : undefined,
    latency: spread(latency),
    burstMs: load.burst > 0 ? burstTime(subscribers, load.paced) : undefined,
    notes: [...new Set(shortfalls.flat())].slice(0, 3),
  };
}

// ---------------------------------------------------------------------------------------------
// The scenarios.

/** A: one execution, queued behind a blocker while the subscribers connect, then released. */
async function fanOut(server: ServerProcess, alice: Client, count: number): Promise<Row> {
  const blocker = await submit(alice, 'await sleep(600000)');
  const id = await submit(alice, program(FAN_OUT));
  const agent = new Agent({ keepAlive: true });
  const before = await server.memory();
  const subscribers = await connect(server, [alice], Array.from({ length: count }, () => id), agent);
  const after = await server.memory();
  const cancel = await alice.json('POST', `/api/execution/${blocker}/cancel`);
  if (cancel.status !== 202) throw new Error(`cancelling the blocker: ${cancel.status} ${cancel.text}`);
  await Promise.all(subscribers.map((subscriber) => subscriber.finished));
  agent.destroy();
  return analyse(`A: 1 execution, ${count} subscriber${count === 1 ? '' : 's'}`, FAN_OUT, subscribers, before, after, true);
}

/**
 * How long B's executions wait before logging: two and a half times what submitting and subscribing
 * them is expected to take, from a probe of 100 quick ones; at least 3 s, at most 30 s.
 */
async function gateFor(server: ServerProcess, clients: readonly Client[], count: number): Promise<number> {
  const given = knob('SSE_BENCH_GATE_MS');
  if (given !== undefined) return given;
  const probe = Math.min(100, count);
  const agent = new Agent({ keepAlive: true });
  const started = now();
  const ids = await forEachLimited(probe, CONCURRENCY, (i) => submit(clients[i % clients.length]!, '"probe"'));
  const subscribers = await connect(server, clients, ids, agent);
  const perExecution = (now() - started) / probe;
  await Promise.all(subscribers.map((subscriber) => subscriber.finished));
  agent.destroy();
  return Math.min(30_000, Math.max(3000, Math.round(2.5 * perExecution * count)));
}

/** B: `count` executions that all wait for one moment, each with a subscriber of its own. */
async function manyExecutions(server: ServerProcess, clients: readonly Client[], count: number): Promise<Row> {
  const gate = await gateFor(server, clients, count);
  const start = Date.now() + gate;
  const source = program(MANY, `await sleep(${start} - Date.now());`);
  const ids = await forEachLimited(count, CONCURRENCY, (i) => submit(clients[i % clients.length]!, source));
  const agent = new Agent({ keepAlive: true });
  const before = await server.memory();
  const subscribers = await connect(server, clients, ids, agent);
  const after = await server.memory();
  const ready = Date.now();
  await Promise.all(subscribers.map((subscriber) => subscriber.finished));
  agent.destroy();
  const row = analyse(`B: ${count} executions, 1 subscriber each`, MANY, subscribers, before, after, false);
  row.notes.push(`all ${count} subscribed ${((start - ready) / 1000).toFixed(1)} s before the executions began to log (gate ${gate} ms)`);
  if (ready > start) row.notes.push('GATE MISSED: the memory delta includes entries logged meanwhile; set SSE_BENCH_GATE_MS higher');
  return row;
}

// ---------------------------------------------------------------------------------------------

function openFiles(): number {
  const text = spawnSync('sh', ['-c', 'ulimit -n']).stdout.toString().trim();
  return text === 'unlimited' ? Number.POSITIVE_INFINITY : Number(text);
}

function print(rows: readonly Row[]): void {
  const kib = (bytes: number | undefined): string => (bytes === undefined ? '-' : (bytes / 1024).toFixed(1));
  const header = ['scenario', 'subs', 'failed', 'heap+ext KiB/sub', 'RSS KiB/sub', 'spread ms p50/p90/p99/max', 'latency ms p50/p90/p99/max', `burst of ${FAN_OUT.burst}, ms`];
  const lines = rows.map((row) => [
    row.scenario,
    String(row.subscribers),
    String(row.failed),
    kib(row.heapPerSubscriber),
    kib(row.rssPerSubscriber),
    row.spread === undefined ? '-' : formatSpread(row.spread),
    formatSpread(row.latency),
    row.burstMs === undefined ? '-' : row.burstMs.toFixed(0),
  ]);
  const widths = header.map((title, i) => Math.max(title.length, ...lines.map((line) => line[i]!.length)));
  const format = (cells: readonly string[]): string => cells.map((cell, i) => cell.padEnd(widths[i]!)).join('  ').trimEnd();
  console.log(format(header));
  console.log(widths.map((width) => '-'.repeat(width)).join('  '));
  for (const line of lines) console.log(format(line));
  for (const row of rows) if (row.notes.length > 0) console.log(`${row.scenario}: ${row.notes.join('; ')}`);
}

async function main(): Promise<void> {
  const limit = openFiles();
  if (limit < SUBSCRIBERS + 200) {
    throw new Error(`ulimit -n is ${limit}: ${SUBSCRIBERS} subscribers need more open files (raise it, e.g. ulimit -n 65536, or set SSE_BENCH_SUBSCRIBERS)`);
  }
  console.log(`SSE fan-out, ${SUBSCRIBERS} subscribers; node ${process.version}`);
  console.log(`A: ${FAN_OUT.paced} entries ${FAN_OUT.intervalMs} ms apart, then ${FAN_OUT.burst} at once; B: ${MANY.paced} entries ${MANY.intervalMs} ms apart from each execution\n`);
  const rows: Row[] = [];

  if (ONLY === '' || ONLY === 'A') {
    // One worker slot, so that the execution waits behind the blocker while subscribers connect.
    const single = await ServerProcess.start({
      CHARIOT_THREADS: '1',
      CHARIOT_TASKS_PER_THREAD: '1',
      CHARIOT_LOG_BUFFER: String(FAN_OUT.paced + FAN_OUT.burst),
      CHARIOT_MAX_STREAMS_PER_USER: String(SUBSCRIBERS),
    });
    try {
      const alice = await loginAs(single.url, 'alice');
      rows.push(await fanOut(single, alice, 1));
      rows.push(await fanOut(single, alice, SUBSCRIBERS));
    } finally {
      await single.stop();
    }
  }

  if (ONLY === '' || ONLY === 'B') {
    // Room for every execution at once (asleep, they hold no thread), spread over four users.
    const many = await ServerProcess.start({
      CHARIOT_TASKS_PER_THREAD: String(SUBSCRIBERS),
      CHARIOT_MAX_PER_USER: String(SUBSCRIBERS),
      CHARIOT_MAX_STREAMS_PER_USER: String(SUBSCRIBERS),
      CHARIOT_MAX_QUEUE: String(SUBSCRIBERS),
      CHARIOT_MEMORY_MB: '512',
      CHARIOT_WALL_MS: '600000',
    });
    try {
      const clients = await Promise.all(USERS.map((user) => loginAs(many.url, user)));
      rows.push(await manyExecutions(many, clients, SUBSCRIBERS));
    } finally {
      await many.stop();
    }
  }
  console.log('');
  print(rows);
}

main().catch((error: unknown) => {
  console.error(error);
  process.exit(1);
});
