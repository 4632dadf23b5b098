// `npm run bench:cancel`: how fast POST /api/execution/:id/cancel stops a running script.
//
// For each sample an execution starts, its first log entry arrives on its SSE stream (it is
// running), the cancel is sent, and the time until `event: done` with "cancelled" reaches the
// stream is taken: the whole path a client sees. Two kinds, run alternately on one server:
//   spinning  `while (true) {}`: the isolate must be stopped (disposed) mid-computation;
//   sleeping  `await sleep(60000)`: nothing computes; only timers and the stream are involved
//             (the baseline: the cost of the HTTP, worker and stream round trip itself).
// Reported: p50/p90/p99/max per kind, the spinning/sleeping ratio, and how many spinning
// samples took over 100 ms. Usage: npm run bench:cancel [-- --samples N]
import { performance } from 'node:perf_hooks';
import { loadConfig } from '../src/config.js';
import { startServer } from '../src/server.js';
import { Client } from '../test/helpers/client.js';
import { spread } from './stats.js';

const KINDS = {
  spinning: 'logPrint("started"); while (true) {}',
  sleeping: 'logPrint("started"); await sleep(60000)',
} as const;
type Kind = keyof typeof KINDS;

const BUDGET_MS = 100;

function samplesArg(): number {
  const at = process.argv.indexOf('--samples');
  const value = at < 0 ? 60 : Number(process.argv[at + 1]);
  if (!Number.isInteger(value) || value < 1) throw new Error('--samples must be a positive whole number');
  return value;
}


async function cancelOnce(client: Client, kind: Kind): Promise<number> {
  const submitted = await client.json('POST', '/api/execute-async', { program: KINDS[kind] });
  const id = (submitted.body as { execution_id?: string }).execution_id;
  if (submitted.status !== 200 || id === undefined) throw new Error(`submit answered ${submitted.status}: ${submitted.text}`);
  const stream = await client.sse(`/api/logs/${id}`);
  await stream.nthEvent(1);
  const start = performance.now();
  const cancelled = await client.json('POST', `/api/execution/${id}/cancel`);
  if (cancelled.status !== 202) throw new Error(`cancel answered ${cancelled.status}: ${cancelled.text}`);
  const events = await stream.untilDone();
  const elapsed = performance.now() - start;
  const done = events.at(-1)!;
  if (done.data !== '{"status":"cancelled"}') throw new Error(`the stream ended with ${done.event} ${done.data}`);
  return elapsed;
}

async function main(): Promise<void> {
  const samples = samplesArg();
  const server = await startServer(loadConfig({ PORT: '0', CHARIOT_USERS: 'bench:bench-password', CHARIOT_CPU_MS: '60000' }));
  try {
    const client = new Client(server.url);
    const login = await client.login('bench', 'bench-password');
    if (login.status !== 200) throw new Error(`login answered ${login.status}`);
    // Warm-up: the first isolate and context of the user, and the JIT of the paths involved.
    for (const kind of ['spinning', 'sleeping'] as const) await cancelOnce(client, kind);

    const times: Record<Kind, number[]> = { spinning: [], sleeping: [] };
    for (let i = 0; i < samples; i++) {
      for (const kind of ['spinning', 'sleeping'] as const) times[kind].push(await cancelOnce(client, kind));
    }

    const rows = (Object.keys(times) as Kind[]).map((kind) => {
      const { count, p50, p90, p99, max } = spread(times[kind]);
      return { kind, samples: count, p50, p90, p99, max, over100: times[kind].filter((ms) => ms > BUDGET_MS).length };
    });
    const format = (ms: number): string => ms.toFixed(1).padStart(7);
    console.log(`cancel → done "cancelled" on the stream, ms (${samples} samples each, ${server.manager.stats.threads} threads)`);
    console.log('kind        p50      p90      p99      max   over 100 ms');
    for (const row of rows) {
      console.log(`${row.kind.padEnd(9)} ${format(row.p50)}  ${format(row.p90)}  ${format(row.p99)}  ${format(row.max)}   ${row.over100}/${row.samples}`);
    }
    const [spin, sleep] = rows;
    console.log(`spinning / sleeping at p50: ${(spin!.p50 / sleep!.p50).toFixed(2)}×, at p99: ${(spin!.p99 / sleep!.p99).toFixed(2)}×`);
  } finally {
    await server.close();
  }
}

await main();
